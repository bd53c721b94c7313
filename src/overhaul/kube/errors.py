"""Failures of talking to a cluster, each with a one-line message a user can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class KubeError(Exception):
    """Any failure of cluster access; `str(err)` is one line fit for users."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(KubeError):
    """No usable connection settings: a missing or malformed kubeconfig, an unknown context, ..."""


class Unreachable(KubeError):
    """The API server could not be reached: connection refused, DNS, TLS, timeouts."""

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"cannot reach the cluster at {server}: {reason}")
        self.server = server
        self.reason = reason
        self.transient = False  # the connection broke mid-request: a GET may be sent again


@dataclass(frozen=True)
class StatusCause:
    """One of `details.causes` of a Status (e.g. reason DisruptionBudget for a refused eviction)."""

    reason: str
    message: str
    field: str = ""


class ApiError(KubeError):
    """The API server answered with an error Status; subclasses name the common codes."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        method: str = "",
        path: str = "",
        causes: tuple[StatusCause, ...] = (),
        retry_after: float | None = None,
        status: dict[str, Any] | None = None,
        name_request: bool = True,
    ) -> None:
        text = message or reason or "error"
        what = f"{method} {path}: " if method and path and name_request else ""
        super().__init__(f"{what}{text} ({code}{' ' + reason if reason else ''})")
        self.code = code
        self.reason = reason
        self.status_message = message
        self.method = method
        self.path = path
        self.causes = causes
        self.retry_after = retry_after
        self.status = status or {}


class Unauthorized(ApiError):
    """401: the credentials were refused (expired token, wrong certificate, ...)."""


class Forbidden(ApiError):
    """403: authenticated, but RBAC (or admission) does not allow it."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409: the object changed (resourceVersion precondition) or already exists."""


class Gone(ApiError):
    """410 Expired: a resourceVersion or continue token older than the server keeps."""


class TooManyRequests(ApiError):
    """429: throttled, or an eviction refused by a PodDisruptionBudget (see `causes`)."""


_BY_CODE: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    429: TooManyRequests,
}


def api_error(
    code: int,
    body: Any,
    *,
    method: str = "",
    path: str = "",
    retry_after: float | None = None,
) -> ApiError:
    """The typed error for an HTTP error `code` and its (decoded) body, a Status when the server sent one."""
    status = body if isinstance(body, dict) and body.get("kind") == "Status" else {}
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "")
    if not status and isinstance(body, str):
        message = body.strip().splitlines()[0][:200] if body.strip() else ""
    raw_details = status.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    causes = tuple(
        StatusCause(str(c.get("reason") or ""), str(c.get("message") or ""), str(c.get("field") or ""))
        for c in (details.get("causes") or [])
        if isinstance(c, dict)
    )
    if retry_after is None and isinstance(details.get("retryAfterSeconds"), int):
        retry_after = float(details["retryAfterSeconds"])
    cls = _BY_CODE.get(code, ApiError)
    if not reason:
        reason = _DEFAULT_REASONS.get(code, "")
    return cls(
        code,
        reason,
        message,
        method=method,
        path=path,
        causes=causes,
        retry_after=retry_after,
        status=status or None,
    )


_DEFAULT_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
