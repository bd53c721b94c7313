"""A small synchronous Kubernetes API client: raw JSON in, decoded dicts out.

Built on the httpx client that lightkube's config adapter sets up (TLS and credentials from the
kubeconfig; lightkube >= 1.0 uses `httpx2`, the maintained fork of httpx with the same API), but
without lightkube's typed models: a 150,000-pod cluster is read page by page and decoded with
orjson, and callers keep only the fields they need. Every failure is one of the typed errors of
`overhaul.kube.errors`, with a one-line message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx2 as httpx
import orjson
from lightkube.config.client_adapter import ExecAuth, user_auth, verify_cluster
from lightkube.config.models import User
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from overhaul import __version__
from overhaul.domain.cluster import ServedResource
from overhaul.domain.convert import served_resources
from overhaul.kube.config import Connection, resolve_connection
from overhaul.kube.errors import ApiError, ConfigError, Gone, KubeError, Unauthorized, Unreachable, api_error

JSON = dict[str, Any]
Params = Mapping[str, str | int | bool]
PatchType = Literal["merge", "strategic", "json", "apply"]

USER_AGENT = f"overhaul/{__version__}"
DEFAULT_PAGE_SIZE = 500
# PartialObjectMetadataList: only the metadata of each object (the server falls back to the full
# objects when it cannot; readers then simply ignore spec and status).
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

_PATCH_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
_RETRIES = 4
_RETRYABLE = (429, 500, 502, 503, 504)
_MAX_RETRY_WAIT = 10.0
_MAX_RELISTS = 5


@dataclass(frozen=True)
class ListPage:
    """One page of a list. `restarted` marks the first page of a list started over (its continue
    token expired): what was collected from earlier pages must be dropped."""

    items: list[JSON]
    resource_version: str
    restarted: bool = False


@dataclass(frozen=True)
class Discovery:
    """What the API server serves: every resource of every group-version it listed."""

    resources: tuple[ServedResource, ...]
    preferred: Mapping[str, str]  # group ("" for core) -> preferred version
    failed: tuple[tuple[str, str], ...] = ()  # (group-version, why its discovery failed)

    @property
    def group_versions(self) -> frozenset[str]:
        return frozenset(r.group_version for r in self.resources)

    def find(self, group: str, version: str, name: str) -> ServedResource | None:
        for r in self.resources:
            if r.group == group and r.version == version and r.name == name:
                return r
        return None

    def preferred_resources(self) -> tuple[ServedResource, ...]:
        """Each resource once per group, at the group's preferred version if it is served there
        (else at the first version that serves it), as client-go's ServerPreferredResources."""
        chosen: dict[tuple[str, str], ServedResource] = {}
        for r in self.resources:
            key = (r.group, r.name)
            current = chosen.get(key)
            if current is None or (r.version == self.preferred.get(r.group) and current.version != r.version):
                chosen[key] = r
        return tuple(chosen.values())


def resource_path(group: str, version: str, plural: str, namespace: str | None = None, name: str = "") -> str:
    """The REST path of a collection or an object: /api/v1/..., /apis/<group>/<version>/..."""
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    return f"{base}/{name}" if name else base


class _ExecAuth(ExecAuth):
    """lightkube's exec credential plugin support (token on first use, run again on 401), also
    accepting client.authentication.k8s.io/v1 (GA since Kubernetes 1.22) and telling the plugin,
    through KUBERNETES_EXEC_INFO, that it may not prompt, as kubectl does when not interactive."""

    def _prepare(self) -> tuple[list[str], dict[str, str]]:
        exec_ = self._exec
        if exec_.apiVersion not in _EXEC_API_VERSIONS:
            raise LightkubeConfigError(
                f"exec credential plugin apiVersion {exec_.apiVersion} is not supported"
            )
        env = dict(os.environ)
        env.update((var.name, var.value) for var in exec_.env or [])
        info = {"apiVersion": exec_.apiVersion, "kind": "ExecCredential", "spec": {"interactive": False}}
        env["KUBERNETES_EXEC_INFO"] = orjson.dumps(info).decode()
        return [exec_.command, *(exec_.args or [])], env


_EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)


def _auth(user: User) -> httpx.Auth | None:
    if user.exec is not None and user.token is None and user.token_file is None:
        return _ExecAuth(user.exec)
    return user_auth(user)


class WatchStream:
    """The events of one watch request, decoded; `close()` may be called from another thread.

    A dropped connection raises Unreachable (unless `close()` ended the stream on purpose).
    """

    def __init__(self, response: httpx.Response, server: str) -> None:
        self._response = response
        self._server = server
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[JSON]:
        pending: list[bytes] = []
        try:
            for chunk in self._response.iter_bytes():
                if self._closed.is_set():
                    return
                *complete, rest = chunk.split(b"\n")
                if complete:
                    complete[0] = b"".join((*pending, complete[0]))
                    pending.clear()
                    for line in complete:
                        if line.strip():
                            yield self._decode(line)
                if rest:
                    pending.append(rest)
            tail = b"".join(pending)
            if tail.strip() and not self._closed.is_set():
                yield self._decode(tail)
        except (httpx.TransportError, httpx.StreamError) as err:
            if not self._closed.is_set():
                raise Unreachable(self._server, f"the watch stream broke: {_reason(err)}") from err
        finally:
            self._response.close()

    def _decode(self, line: bytes) -> JSON:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise ApiError(200, "", f"a malformed watch event ({err})", method="WATCH") from err
        if not isinstance(event, dict):
            raise ApiError(200, "", "a malformed watch event (not an object)", method="WATCH")
        return event

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Ends the stream; a thread blocked reading it wakes up (the socket is shut down)."""
        self._closed.set()
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            # The plain socket's shutdown (not SSLSocket's) wakes a blocked reader on any OS.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class ApiClient:
    """Synchronous access to one API server. Thread-safe; use as a context manager or `close()`."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.connection = connection
        self.server = connection.server.rstrip("/")
        self.timeout = timeout
        config = connection.config
        user = config.user or User()
        files = {
            "certificate-authority": config.cluster.certificate_auth,
            "client-certificate": user.client_cert,
            "client-key": user.client_key,
            "tokenFile": user.token_file,
        }
        for key, name in files.items():
            if name and not os.path.isfile(config.abs_file(name)):
                raise ConfigError(f"context {connection.context!r}: {key} {name}: no such file")
        try:
            verify = verify_cluster(config.cluster, user, config.abs_file)
            auth = _auth(user)
        except (LightkubeConfigError, OSError, ssl.SSLError, ValueError) as err:
            raise ConfigError(
                f"context {connection.context!r} ({connection.source}): {_reason(err)}"
            ) from err
        try:
            self._http = httpx.Client(
                base_url=self.server,
                verify=verify,
                auth=auth,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                transport=transport,
                headers={"User-Agent": user_agent, "Accept": "application/json"},
                trust_env=True,
                follow_redirects=False,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as err:
            raise ConfigError(f"context {connection.context!r}: invalid server URL {self.server!r}") from err

    @classmethod
    def from_kubeconfig(
        cls,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        **kwargs: Any,
    ) -> ApiClient:
        """A client for the cluster kubectl would talk to with these options (see `kube.config`)."""
        return cls(resolve_connection(kubeconfig, context), **kwargs)

    # ----- lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----- the one place requests are sent

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Sends one request and returns the successful response, or raises a KubeError."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            content = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        # As client-go: any request the server refused with Retry-After (429, 5xx) was not acted on
        # and is sent again; a GET, which changes nothing, is also retried after a server error
        # without that header, and after a dropped connection.
        retries = _RETRIES
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, path, params, content, headers, timeout, stream=False)
            except Unreachable as err:
                if method != "GET" or retries <= 0 or not err.transient:
                    raise
                retries -= 1
                time.sleep(_backoff(attempt))
                continue
            if response.is_success:
                return response
            wait = _retry_after(response)
            again = wait is not None or (method == "GET" and response.status_code != 429)
            if retries > 0 and response.status_code in _RETRYABLE and again:
                retries -= 1
                response.close()
                time.sleep(min(wait, _MAX_RETRY_WAIT) if wait is not None else _backoff(attempt))
                continue
            raise self._error(method, path, response)

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout: float | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        query = {k: _param(v) for k, v in (params or {}).items()}
        request = self._http.build_request(
            method,
            path,
            params=query,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout is not None else None,
        )
        try:
            return self._http.send(request, stream=stream)
        except httpx.TimeoutException as err:
            phase = "connecting" if isinstance(err, httpx.ConnectTimeout) else "waiting for an answer"
            raise Unreachable(self.server, f"timed out {phase}") from err
        except httpx.TransportError as err:
            failure = Unreachable(self.server, _reason(err))
            # A connection reset or cut mid-answer is worth another try (client-go retries a GET
            # then); a refused connection or an unknown host is not.
            failure.transient = isinstance(
                err, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
            )
            raise failure from err
        except LightkubeConfigError as err:  # an exec credential plugin that failed
            raise ConfigError(f"credentials of context {self.connection.context!r}: {_reason(err)}") from err
        except OSError as err:  # an exec plugin that is not installed, a token file gone
            raise ConfigError(f"credentials of context {self.connection.context!r}: {_reason(err)}") from err

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        response.read()
        try:
            body: Any = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = response.text
        if response.status_code == 401:
            return Unauthorized(
                401,
                "Unauthorized",
                f"the cluster at {self.server} refused the credentials of context "
                f"{self.connection.context!r}: a wrong or expired token or client certificate",
                method=method,
                path=path,
                status=body if isinstance(body, dict) else None,
                name_request=False,
            )
        return api_error(
            response.status_code, body, method=method, path=path, retry_after=_retry_after(response)
        )

    # ----- reads

    def get(self, path: str, params: Params | None = None, *, accept: str | None = None) -> JSON:
        """GET a JSON document (an object, a list, a Status, discovery...)."""
        data = orjson.loads(self.get_bytes(path, params, accept=accept))
        if not isinstance(data, dict):
            raise ApiError(
                200, "", f"expected a JSON object, got {type(data).__name__}", method="GET", path=path
            )
        return data

    def get_bytes(self, path: str, params: Params | None = None, *, accept: str | None = None) -> bytes:
        return self.request("GET", path, params=params, accept=accept).content

    def get_text(self, path: str, params: Params | None = None) -> str:
        """GET a text endpoint (/metrics, /readyz?verbose, /livez)."""
        return self.request("GET", path, params=params, accept="text/plain, */*").text

    def health_text(self, path: str = "/readyz") -> str:
        """A health endpoint's verbose report (`/readyz?verbose`): one `[+]`/`[-]` line per check.
        The server answers 500 when a check fails; that report is returned too, not raised."""
        response = self._send(
            "GET", path, {"verbose": "true"}, None, {"Accept": "text/plain, */*"}, None, stream=False
        )
        if response.is_success or response.status_code == 500:
            return response.text
        raise self._error("GET", path, response)

    def version(self) -> JSON:
        """/version (gitVersion, major, minor, platform, ...)."""
        return self.get("/version")

    def list_pages(
        self,
        path: str,
        params: Params | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        accept: str | None = None,
        prefetch: bool = False,
    ) -> Iterator[ListPage]:
        """Pages of a list (`limit` items each), following `continue` until done.

        When a continue token expires (410 Gone: the list took longer than the server keeps
        history, about 5 minutes on etcd), the list starts again from the beginning: that page
        has `restarted=True` (see `list_all` for a caller that handles it). With `prefetch`, a
        background thread fetches the next page while the caller works on the current one.
        """
        if not prefetch:
            yield from self._pages(path, params, limit, accept)
            return
        pages: queue.Queue[ListPage | BaseException | None] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def put(item: ListPage | BaseException | None) -> bool:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for page in self._pages(path, params, limit, accept):
                    if not put(page):
                        return
                put(None)
            except BaseException as err:  # handed to the consumer, raised there
                put(err)

        worker = threading.Thread(target=produce, name=f"prefetch {path}", daemon=True)
        worker.start()
        try:
            while True:
                item = pages.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()

    def _pages(self, path: str, params: Params | None, limit: int, accept: str | None) -> Iterator[ListPage]:
        token = ""
        restarted = False
        relists = 0
        while True:
            query: dict[str, str | int | bool] = dict(params or {})
            if limit:
                query["limit"] = limit
            if token:
                query["continue"] = token
            try:
                data = self.get(path, query, accept=accept)
            except Gone:
                if not token or relists >= _MAX_RELISTS:
                    raise
                relists += 1
                token, restarted = "", True
                continue
            meta = data.get("metadata") or {}
            items = data.get("items") or []
            yield ListPage(items, str(meta.get("resourceVersion") or ""), restarted)
            restarted = False
            token = str(meta.get("continue") or "")
            if not token:
                return

    def list_all(
        self, path: str, params: Params | None = None, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[list[JSON], str]:
        """Every item of a list (paged) and the list's resourceVersion (what a watch starts from)."""
        items: list[JSON] = []
        rv = ""
        for page in self.list_pages(path, params, limit=limit):
            if page.restarted:
                items = []
            items.extend(page.items)
            rv = page.resource_version
        return items, rv

    def discover(self, workers: int = 8) -> Discovery:
        """Every served group-version and its resources (legacy discovery: /api, /apis, then
        each group-version, fetched in parallel). A group-version whose discovery fails (an
        aggregated API that is down answers 503) is listed in `failed`, not raised."""
        core = self.get("/api")
        group_versions: list[str] = [str(v) for v in core.get("versions") or []]
        preferred: dict[str, str] = {"": group_versions[0]} if group_versions else {}
        for group in self.get("/apis").get("groups") or []:
            name = str(group.get("name") or "")
            versions = [
                str(v.get("groupVersion")) for v in group.get("versions") or [] if v.get("groupVersion")
            ]
            group_versions.extend(versions)
            pref = (group.get("preferredVersion") or {}).get("version")
            if pref:
                preferred[name] = str(pref)
            elif versions:
                preferred[name] = versions[0].rpartition("/")[2]

        def fetch(gv: str) -> tuple[str, JSON | KubeError]:
            path = f"/apis/{gv}" if "/" in gv else f"/api/{gv}"
            try:
                return gv, self.get(path)
            except (ApiError, Unreachable) as err:
                return gv, err

        resources: list[ServedResource] = []
        failed: list[tuple[str, str]] = []
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for gv, result in pool.map(fetch, group_versions):
                if isinstance(result, KubeError):
                    failed.append((gv, str(result)))
                else:
                    resources.extend(served_resources(gv, result))
        return Discovery(tuple(resources), preferred, tuple(failed))

    # ----- writes

    def post(self, path: str, body: Any, params: Params | None = None) -> JSON:
        return self._json(self.request("POST", path, params=params, body=body))

    def put(self, path: str, body: Any, params: Params | None = None) -> JSON:
        return self._json(self.request("PUT", path, params=params, body=body))

    def patch(
        self, path: str, body: Any, patch_type: PatchType = "merge", params: Params | None = None
    ) -> JSON:
        """PATCH with a JSON merge patch (default), a strategic merge patch, a JSON patch, or server-side
        apply (`params` then needs a fieldManager)."""
        return self._json(
            self.request("PATCH", path, params=params, body=body, content_type=_PATCH_TYPES[patch_type])
        )

    def delete(self, path: str, body: Any = None, params: Params | None = None) -> JSON:
        """DELETE; `body` may be DeleteOptions (gracePeriodSeconds, preconditions, propagationPolicy)."""
        return self._json(self.request("DELETE", path, params=params, body=body))

    @staticmethod
    def _json(response: httpx.Response) -> JSON:
        if not response.content:
            return {}
        data = orjson.loads(response.content)
        return data if isinstance(data, dict) else {"items": data}

    # ----- watch

    def watch(
        self,
        path: str,
        resource_version: str,
        params: Params | None = None,
        *,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
    ) -> WatchStream:
        """Opens a watch from `resource_version` ("" or "0": from any recent state, with ADDED
        events for what exists). Errors of the request itself raise; errors during the watch
        arrive as ERROR events (410 Expired when `resource_version` is too old)."""
        query: dict[str, str | int | bool] = dict(params or {})
        query["watch"] = "1"
        query["timeoutSeconds"] = timeout_seconds
        if bookmarks:
            query["allowWatchBookmarks"] = "true"
        if resource_version:
            query["resourceVersion"] = resource_version
        # The server ends the watch after timeoutSeconds; the read timeout only catches a dead peer.
        response = self._send(
            "GET", path, query, None, {"Accept": "application/json"}, timeout_seconds + 30.0, stream=True
        )
        if not response.is_success:
            try:
                raise self._error("GET", path, response)
            finally:
                response.close()
        return WatchStream(response, self.server)


def _param(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _backoff(attempt: int) -> float:
    """Seconds before retry `attempt` + 1: 0.2, 0.4, 0.8, ... up to 3."""
    return float(min(0.2 * 2 ** (attempt - 1), 3.0))


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None


def _reason(err: BaseException) -> str:
    """A short, user-readable cause of a transport or configuration failure."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for exc in seen:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed ({exc.verify_message or exc.reason})"
        if isinstance(exc, ssl.SSLError):
            return f"TLS failed ({exc.reason or exc})"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve the host name ({exc.strerror or exc})"
        if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "no route to host"
        if isinstance(exc, FileNotFoundError) and exc.filename:
            return f"{exc.filename}: no such file"
    text = " ".join(str(err).split())
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "cannot resolve the host name"
    if "certificate verify failed" in lowered:
        return "TLS certificate verification failed"
    return text or type(err).__name__
