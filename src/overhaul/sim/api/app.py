"""The embedded cluster's HTTP API: an ASGI app that answers as kube-apiserver does.

One catch-all route parses the path like the apiserver's request-info resolver, checks the
bearer token, and hands the request to the cluster semantics (`Cluster`). Lists and watches
stream the store's pre-encoded bytes; `Accept: ...;as=Table` gets server-side printed tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import orjson
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from overhaul.sim import errors, tables
from overhaul.sim.api import deprecations, discovery
from overhaul.sim.api.deprecations import Deprecation
from overhaul.sim.api.health import HealthChecks, UnknownCheckError
from overhaul.sim.api.metrics import ApiMetrics, RequestInfo, client_of
from overhaul.sim.api.routing import GroupPath, ResourcePath, parse_api_path
from overhaul.sim.cluster import CRDS_KEY, Cluster, DeleteOptions, WriteOptions
from overhaul.sim.eviction import evict
from overhaul.sim.faults import FaultConfigError, Faults, FaultSettings
from overhaul.sim.metadata import manager_from_user_agent
from overhaul.sim.openapi import openapi_document, openapi_index
from overhaul.sim.resources import ResourceType
from overhaul.sim.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from overhaul.sim.store import Stored, WatchEvent
from overhaul.sim.subresources import bind_pod, get_scale, scale_update

JSONDict = dict[str, Any]
JSON = "application/json"
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
PUBLIC_PATHS = (*HEALTH_PATHS, "/version")
HEALTH_DEBUG_PATH = "/debug/overhaul/health"
FAULTS_DEBUG_PATH = "/debug/overhaul/faults"
DEFAULT_WATCH_TIMEOUT = 1800.0
LIST_CHUNK = 2000  # objects per chunk of a streamed list; shorter lists go out in one body
UNDECODED_MEDIA_TYPES = ("application/vnd.kubernetes.protobuf", "application/cbor")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=JSON, headers=headers)


def error_response(err: errors.ApiError) -> Response:
    return json_response(err.status(), err.code, err.headers)


REQUEST_INFO_KEY = "overhaul.request_info"  # the ASGI scope's slot for a request's RequestInfo


def _accepts_table(accept: str) -> bool:
    return "as=Table" in accept


def _accepts_partial(accept: str) -> bool:
    return "as=PartialObjectMetadata" in accept


class SimApi:
    """The ASGI application around one `Cluster`."""

    def __init__(
        self,
        cluster: Cluster,
        token: str | None,
        server_address: str = "127.0.0.1:6443",
        bookmark_interval: float = 15.0,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        faults: FaultSettings | None = None,
    ) -> None:
        self.cluster = cluster
        self.token = token
        self.server_address = server_address
        self.bookmark_interval = bookmark_interval
        self.metrics = ApiMetrics()
        self.health = HealthChecks()
        self.faults = Faults(faults, self.metrics.registry)
        self.build_date = cluster.now()
        self._openapi_cache: dict[tuple[int, str], bytes] = {}
        self.background = list(background)
        self.app = Starlette(
            routes=[Route("/{path:path}", self.dispatch, methods=METHODS)], lifespan=self._lifespan
        )
        self.extra_routes: dict[str, Callable[[Request], Response]] = {}

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Runs the simulation's loops (controllers, kubelets) for as long as the server serves."""
        tasks = [asyncio.create_task(run()) for run in self.background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        info = RequestInfo()
        scope[REQUEST_INFO_KEY] = info

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False) and info.verb:
                self.metrics.observe_latency(info, time.perf_counter() - started)

        await self.app(scope, receive, timed_send)

    # ----- entry ---------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        info = request.scope.get(REQUEST_INFO_KEY)
        if not isinstance(info, RequestInfo):
            info = RequestInfo()
        client = client_of(request.headers.get("user-agent", ""))
        try:
            response = await self._dispatch(request, info)
        except errors.ApiError as err:
            response = error_response(err)
        except SelectorError as err:
            response = error_response(errors.bad_request(str(err)))
        deprecation = info.deprecation
        if deprecation is not None:
            response.headers.append("Warning", deprecations.warning_header(deprecation.warning))
            self.metrics.requested_deprecated(
                info.group, info.version, info.resource, info.subresource, deprecation.removed_release
            )
        if info.verb:
            self.metrics.count(info, response.status_code, client)
        return response

    def _authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.token)

    async def _dispatch(self, request: Request, info: RequestInfo) -> Response:
        path = request.url.path.rstrip("/") or "/"
        if not self._authorized(request) and not path.startswith(PUBLIC_PATHS):
            info.verb = request.method
            raise errors.unauthorized()
        if request.method == "GET" and path.startswith(HEALTH_PATHS):
            return self._health(path, request)
        if path == HEALTH_DEBUG_PATH:
            return await self._health_faults(request)
        if path == FAULTS_DEBUG_PATH:
            return await self._fault_settings(request)
        if request.method == "GET":
            fixed = self._fixed_get(path)
            if fixed is not None:
                return fixed
        parsed = parse_api_path(path)
        if isinstance(parsed, GroupPath):
            return self._group_discovery(parsed)
        if isinstance(parsed, ResourcePath):
            return await self._resource(request, parsed, info)
        extra = self.extra_routes.get(path)
        if extra is not None:
            return extra(request)
        raise errors.not_found_path()

    def _fixed_get(self, path: str) -> Response | None:
        if path == "/version":
            return json_response(discovery.version_info(self.cluster.served_version(), self.build_date))
        if path == "/metrics":
            return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
        if path == "/api":
            return json_response(discovery.api_versions(self.server_address))
        if path == "/apis":
            return json_response(discovery.api_group_list(self.cluster.registry))
        if path == "/openapi/v3":
            return json_response(openapi_index(self.cluster.registry, self._openapi_hash))
        if path.startswith("/openapi/v3/"):
            doc = self._openapi_bytes(path[len("/openapi/v3/") :])
            if doc is None:
                raise errors.not_found_path()
            return json_response(doc, headers={"Cache-Control": "no-cache, private", "Vary": "Accept"})
        return None

    def _health(self, path: str, request: Request) -> Response:
        query = request.query_params
        answer = self.health.answer(path, "verbose" in query, query.getlist("exclude"))
        if answer is None:
            raise errors.not_found_path()
        status, text = answer
        return Response(
            text.encode(),
            status_code=status,
            media_type="text/plain; charset=utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def _health_faults(self, request: Request) -> Response:
        """The health fault switch: POST {"etcd": false} fails a check, {"etcd": true} heals it."""
        if request.method == "POST":
            body = await _read_body(request)
            if not isinstance(body, dict) or not all(isinstance(v, bool) for v in body.values()):
                raise errors.bad_request('expected a JSON object of check names to booleans: {"etcd": false}')
            try:
                self.health.set({str(k): v for k, v in body.items()})
            except UnknownCheckError as err:
                raise errors.bad_request(str(err)) from None
        elif request.method != "GET":
            raise errors.not_found_path()
        return json_response({"checks": self.health.state(), "failing": sorted(self.health.failing)})

    async def _fault_settings(self, request: Request) -> Response:
        """The API fault switch: POST {"rate": 0.05, "codes": [429, 500, 409], "latency": "50ms",
        "watchDropSeconds": 30, "seed": 1} changes the knobs it names; GET shows them and the counts."""
        if request.method == "POST":
            body = await _read_body(request)
            if not isinstance(body, dict):
                raise errors.bad_request('expected a JSON object of fault settings: {"rate": 0.05}')
            try:
                self.faults.update(body)
            except FaultConfigError as err:
                raise errors.bad_request(str(err)) from None
        elif request.method != "GET":
            raise errors.not_found_path()
        return json_response(self.faults.state())

    async def _inject_faults(
        self, request: Request, rp: ResourcePath, info: RequestInfo, watching: bool
    ) -> None:
        """Latency, then perhaps an error, before the request does anything (a faulted one has no effect)."""
        delay = self.faults.latency()
        if delay > 0:
            await asyncio.sleep(delay)
        err = self.faults.error(request.method, rp.group, rp.plural, rp.name)
        if err is not None:
            info.verb = _verb(request, rp, watching)
            raise err

    def _deprecation(self, rt: ResourceType) -> Deprecation | None:
        """How the apiserver flags a request to this resource version, if it is deprecated."""
        if rt.is_custom:
            crd = self.cluster.store.get(CRDS_KEY, None, f"{rt.plural}.{rt.group}")
            return deprecations.custom(crd.obj, rt.version) if crd is not None else None
        return deprecations.builtin(rt.group, rt.version, rt.plural, self.cluster.version)

    def _openapi_bytes(self, gv_path: str) -> bytes | None:
        key = (self.cluster.registry_generation, gv_path)
        cached = self._openapi_cache.get(key)
        if cached is None:
            doc = openapi_document(self.cluster.registry, self.cluster.schemas, gv_path)
            if doc is None:
                return None
            cached = orjson.dumps(doc)
            self._openapi_cache[key] = cached
        return cached

    def _openapi_hash(self, gv_path: str) -> str:
        doc = self._openapi_bytes(gv_path)
        return hashlib.sha512(doc or b"").hexdigest()[:128].upper()

    def _group_discovery(self, parsed: GroupPath) -> Response:
        registry = self.cluster.registry
        if parsed.version is None:
            body = discovery.api_group(registry, parsed.group)
        else:
            body = discovery.api_resource_list(registry, parsed.group, parsed.version)
        if body is None:
            raise errors.not_found_path()
        return json_response(body)

    # ----- resources ------------------------------------------------------------------------

    async def _resource(self, request: Request, rp: ResourcePath, info: RequestInfo) -> Response:
        cluster = self.cluster
        rt = cluster.registry.get(rp.group, rp.version, rp.plural)
        info.group, info.version, info.resource, info.subresource = (
            rp.group,
            rp.version,
            rp.plural,
            rp.subresource,
        )
        if rt is None:
            info.verb = request.method
            raise errors.not_found_path()
        if (rp.namespace is not None and not rt.namespaced) or (
            rp.subresource and rp.subresource not in rt.subresources
        ):
            info.verb = request.method
            raise errors.not_found_path()
        ns = rp.namespace if rt.namespaced else None
        info.scope = (
            ("namespace" if ns else "cluster") if rp.name is None else ("namespace" if ns else "resource")
        )
        if rt.namespaced and rp.name is not None and ns is None:
            info.verb = request.method
            raise errors.not_found_path()
        info.deprecation = self._deprecation(rt)
        query = request.query_params
        method = request.method
        info.dry_run = query.get("dryRun") == "All"
        watching = method == "GET" and (rp.legacy_watch or query.get("watch") in ("true", "1"))
        if self.faults.active:
            await self._inject_faults(request, rp, info, watching)
        if method == "GET":
            if watching:
                info.verb = "WATCH"
                return self._watch(request, rt, ns, rp.name, self.faults.watch_lifetime())
            if rp.name is None:
                info.verb = "LIST"
                return self._list(request, rt, ns)
            info.verb = "GET"
            return self._get(request, rt, ns, rp.name, rp.subresource)
        if method == "POST":
            info.verb = "POST"
            body = await _read_body(request)
            if rp.name is None:
                opts = self._write_options(request)
                stored = cluster.create(rt, ns, body, opts)
                return self._object_response(rt, stored, 201, request, opts)
            if rp.subresource == "eviction":
                return json_response(
                    evict(cluster, rt, ns or "", rp.name, body, self._manager(request), info.dry_run), 201
                )
            if rp.subresource == "binding":
                return json_response(bind_pod(cluster, ns or "", rp.name, body, self._manager(request)), 201)
            raise errors.method_not_supported(rt.group, rt.plural, "create")
        if rp.name is None and method != "DELETE":
            info.verb = method
            raise errors.method_not_supported(rt.group, rt.plural, method.lower())
        assert rp.name is not None or method == "DELETE"
        if method == "PUT":
            info.verb = "PUT"
            body = await _read_body(request)
            opts = self._write_options(request)
            if rp.subresource == "scale":
                return json_response(scale_update(cluster, rt, ns, str(rp.name), body, None, opts))
            stored = cluster.update(rt, ns, str(rp.name), body, opts, rp.subresource)
            return self._object_response(rt, stored, 200, request, opts)
        if method == "PATCH":
            content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
            info.verb = "APPLY" if content_type == "application/apply-patch+yaml" else "PATCH"
            body = await _read_body(request)
            opts = self._write_options(request)
            if rp.subresource == "scale":
                return json_response(scale_update(cluster, rt, ns, str(rp.name), body, content_type, opts))
            stored = cluster.patch(rt, ns, str(rp.name), content_type, body, opts, rp.subresource)
            return self._object_response(rt, stored, 200, request, opts)
        if method == "DELETE":
            body = await _read_body(request, allow_empty=True)
            options = DeleteOptions.from_body(
                body if isinstance(body, dict) else None,
                query.get("gracePeriodSeconds"),
                query.get("propagationPolicy"),
            )
            options.dry_run = options.dry_run or info.dry_run
            if rp.name is None:
                info.verb = "DELETECOLLECTION"
                labels, fields = self._selectors(request, rt)
                deleted = cluster.delete_collection(rt, ns, labels, fields, options)
                return self._list_bytes(rt, deleted, cluster.store.rv, None, None)
            info.verb = "DELETE"
            stored = cluster.delete(rt, ns, rp.name, options)
            gone = cluster.store.get(rt.key, ns, rp.name) is None or options.dry_run
            return self._object_response(rt, stored, 200 if gone else 202, request)
        info.verb = method
        raise errors.method_not_supported(rt.group, rt.plural, method.lower())

    def _manager(self, request: Request) -> str:
        return request.query_params.get("fieldManager") or manager_from_user_agent(
            request.headers.get("user-agent", "")
        )

    def _write_options(self, request: Request) -> WriteOptions:
        query = request.query_params
        validation = query.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation parameter unsupported: "{validation}"; expected one of Ignore, Warn, Strict'
            )
        return WriteOptions(
            manager=self._manager(request),
            dry_run=query.get("dryRun") == "All",
            field_validation=validation,
        )

    def _object_response(
        self,
        rt: ResourceType,
        stored: Stored,
        status: int,
        request: Request,
        opts: WriteOptions | None = None,
    ) -> Response:
        headers = {"Warning": ", ".join(opts.warnings)} if opts is not None and opts.warnings else None
        accept = request.headers.get("accept", "")
        if _accepts_table(accept):
            now = self.cluster.clock.now()
            body = tables.table(
                rt.group,
                rt.kind,
                [self.cluster.view(rt, stored)],
                now,
                request.query_params.get("includeObject", "Metadata"),
                resource_version=str(stored.rv),
            )
            return json_response(body, status, headers)
        return json_response(self.cluster.output(rt, stored), status, headers)

    def _get(self, request: Request, rt: ResourceType, ns: str | None, name: str, sub: str) -> Response:
        if sub == "scale":
            return json_response(get_scale(self.cluster, rt, ns, name))
        stored = self.cluster.get(rt, ns, name)
        accept = request.headers.get("accept", "")
        if _accepts_partial(accept):
            return json_response(_partial(stored.obj))
        return self._object_response(rt, stored, 200, request)

    def _selectors(
        self, request: Request, rt: ResourceType
    ) -> tuple[LabelSelector | None, FieldSelector | None]:
        query = request.query_params
        labels = parse_label_selector(query.get("labelSelector")) if query.get("labelSelector") else None
        fields = (
            parse_field_selector(query.get("fieldSelector"), rt.field_selectors)
            if query.get("fieldSelector")
            else None
        )
        return labels, fields

    def _list(self, request: Request, rt: ResourceType, ns: str | None) -> Response:
        query = request.query_params
        labels, fields = self._selectors(request, rt)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as err:
            raise errors.bad_request(f"invalid limit {query.get('limit')!r}") from err
        result = self.cluster.list(rt, ns, labels, fields, max(0, limit), query.get("continue") or None)
        accept = request.headers.get("accept", "")
        if _accepts_table(accept):
            now = self.cluster.clock.now()
            body = tables.table(
                rt.group,
                rt.kind,
                # Rows only read the objects and are encoded at once: a shallow view (with the
                # served apiVersion) spares deep-copying every pod, most of a page's cost.
                ({**s.obj, "apiVersion": rt.group_version} for s in result.items),
                now,
                query.get("includeObject", "Metadata"),
                str(result.resource_version),
                result.continue_token or "",
                result.remaining,
            )
            return json_response(body)
        if _accepts_partial(accept):
            return json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": _list_meta(result.resource_version, result.continue_token, result.remaining),
                    "items": [_partial(s.obj) for s in result.items],
                }
            )
        return self._list_bytes(
            rt, result.items, result.resource_version, result.continue_token, result.remaining
        )

    def _list_bytes(
        self,
        rt: ResourceType,
        items: list[Stored],
        rv: int,
        token: str | None,
        remaining: int | None,
    ) -> Response:
        head = orjson.dumps(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.group_version,
                "metadata": _list_meta(rv, token, remaining),
            }
        )
        prefix = head[:-1] + b',"items":['
        output = self.cluster.output
        if len(items) <= LIST_CHUNK:
            parts = [prefix]
            for stored in items:
                parts += (output(rt, stored), b",")
            if items:
                parts.pop()  # the last comma
            parts.append(b"]}")
            return json_response(b"".join(parts))

        async def chunks() -> AsyncIterator[bytes]:
            # A long list (150,000 pods is ~270 MB) goes out a chunk at a time, paced by the
            # connection: the server never holds the whole body (and its TLS copies) at once.
            yield prefix
            for start in range(0, len(items), LIST_CHUNK):
                chunk = b",".join(output(rt, stored) for stored in items[start : start + LIST_CHUNK])
                yield chunk if start == 0 else b"," + chunk
            yield b"]}"

        return StreamingResponse(chunks(), media_type=JSON)

    # ----- watch ----------------------------------------------------------------------------

    def _watch(
        self,
        request: Request,
        rt: ResourceType,
        ns: str | None,
        name: str | None,
        drop_after: float | None = None,
    ) -> Response:
        query = request.query_params
        labels, fields = self._selectors(request, rt)
        if name is not None:
            # The legacy /watch/.../NAME form watches one object.
            fields = parse_field_selector(f"metadata.name={name}", rt.field_selectors)
        rv_param = query.get("resourceVersion") or ""
        send_initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError as err:
            raise errors.bad_request("invalid timeoutSeconds") from err
        initial: list[Stored] = []
        since: int | None = None
        if rv_param in ("", "0") or send_initial:
            initial = self.cluster.list(rt, ns, labels, fields).items
        else:
            try:
                since = int(rv_param)
            except ValueError as err:
                raise errors.bad_request(f"invalid resource version: {rv_param}") from err
        try:
            watcher = self.cluster.watch(rt, ns, labels, fields, since)
        except errors.ApiError as err:
            if err.code != 410:
                raise
            line = orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n"
            return Response(line, media_type=JSON)
        as_table = _accepts_table(request.headers.get("accept", ""))
        include = query.get("includeObject", "Metadata")
        store = self.cluster.store

        def encode(event_type: str, stored: Stored) -> bytes:
            if as_table:
                row = tables.table(
                    rt.group,
                    rt.kind,
                    [self.cluster.view(rt, stored)],
                    self.cluster.clock.now(),
                    include,
                    str(stored.rv),
                )
                return orjson.dumps({"type": event_type, "object": row}) + b"\n"
            return (
                b'{"type":"' + event_type.encode() + b'","object":' + self.cluster.output(rt, stored) + b"}\n"
            )

        def bookmark(initial_end: bool = False) -> bytes:
            meta: JSONDict = {"resourceVersion": str(store.rv)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            obj = {"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}
            return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

        async def stream() -> AsyncIterator[bytes]:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            # An injected watch drop: the stream just ends early, as when the apiserver restarts.
            dropping = drop_after is not None and drop_after < timeout
            if dropping:
                deadline = loop.time() + (drop_after or 0.0)
            try:
                if initial:
                    for start in range(0, len(initial), 500):
                        yield b"".join(encode("ADDED", s) for s in initial[start : start + 500])
                        await asyncio.sleep(0)
                if send_initial and bookmarks:
                    yield bookmark(initial_end=True)
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        if dropping:
                            self.faults.watch_dropped()
                        return
                    wait = min(remaining, self.bookmark_interval) if bookmarks else remaining
                    try:
                        event = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                    except TimeoutError:
                        if bookmarks and watcher.queue.empty():
                            yield bookmark()
                        continue
                    if event is None:
                        return
                    chunk = [encode(event.type, event.stored)]
                    while not watcher.queue.empty() and len(chunk) < 1000:
                        more: WatchEvent | None = watcher.queue.get_nowait()
                        if more is None:
                            yield b"".join(chunk)
                            return
                        chunk.append(encode(more.type, more.stored))
                    yield b"".join(chunk)
            finally:
                store.stop_watch(rt.key, watcher)

        return StreamingResponse(stream(), media_type=JSON, headers={"Transfer-Encoding": "chunked"})


def _verb(request: Request, rp: ResourcePath, watching: bool) -> str:
    """The verb `apiserver_request_total` counts a request under, as the handlers below name it."""
    method = request.method
    if method == "GET":
        return "WATCH" if watching else ("LIST" if rp.name is None else "GET")
    if method == "PATCH":
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        return "APPLY" if content_type == "application/apply-patch+yaml" else "PATCH"
    if method == "DELETE" and rp.name is None:
        return "DELETECOLLECTION"
    return method


def _list_meta(rv: int, token: str | None, remaining: int | None) -> JSONDict:
    meta: JSONDict = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    if remaining is not None and token:
        meta["remainingItemCount"] = remaining
    return meta


def _partial(obj: JSONDict) -> JSONDict:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


async def _read_body(request: Request, allow_empty: bool = False) -> Any:
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return None
        raise errors.bad_request("the request body is empty")
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip() in UNDECODED_MEDIA_TYPES:
        # Said as the apiserver says it of a media type it cannot read (not "invalid JSON"); on a
        # 415 client-go falls back from CBOR to JSON, but not from protobuf (kubectl >= 1.32's
        # typed requests, e.g. `kubectl create configmap`).
        raise errors.ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml",
        )
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as err:
        raise errors.bad_request(
            f"the request body is not valid {'YAML' if 'yaml' in content_type else 'JSON'}: "
            f"{str(err).splitlines()[0]}"
        ) from err


def new_token() -> str:
    return secrets.token_urlsafe(32)
