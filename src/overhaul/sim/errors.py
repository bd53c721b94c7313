"""API errors as the apiserver reports them: a `Status` body with code, reason and details."""

from __future__ import annotations

from typing import Any

JSONDict = dict[str, Any]


class ApiError(Exception):
    """An error response; `status()` is the `v1 Status` body the apiserver would send."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: JSONDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> JSONDict:
        body: JSONDict = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(name: str | None, group: str, plural: str, causes: list[JSONDict] | None = None) -> JSONDict:
    d: JSONDict = {"kind": plural}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if causes:
        d["causes"] = causes
    return d


def qualified(group: str, plural: str) -> str:
    """`deployments.apps`, or `pods` for the core group, as the apiserver names resources."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(group, plural)} "{name}" not found', _details(name, group, plural)
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(group, plural)} "{name}" already exists',
        _details(name, group, plural),
    )


def conflict(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(group, plural)} "{name}": {why}',
        _details(name, group, plural),
    )


def stale_conflict(group: str, plural: str, name: str) -> ApiError:
    return conflict(
        group,
        plural,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid; `causes` are (field, reason type, message) triples."""
    text = "; ".join(f"{f}: {m}" for f, _t, m in causes)
    gk = f"{kind}.{group}" if group else kind
    details: JSONDict = {
        "name": name,
        "kind": kind,
        "causes": [{"reason": t, "message": m, "field": f} for f, t, m in causes],
    }
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", f'{gk} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(message: str, details: JSONDict | None = None) -> ApiError:
    return ApiError(403, "Forbidden", message, details)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_supported(group: str, plural: str, verb: str) -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", f"{verb} is not supported on resources of kind {qualified(group, plural)!r}"
    )


def unsupported_media_type(content_type: str) -> ApiError:
    accepted = (
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
        "application/strategic-merge-patch+json"
    )
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}; "
        f"got {content_type!r}",
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")
