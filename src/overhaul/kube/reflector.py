"""List-then-watch, as client-go's reflector: a local cache of one resource kept current.

The reflector lists (paged), then watches from the list's resourceVersion with bookmarks, and
applies each event to a dict cache keyed `namespace/name` (or `name`). When the server says the
resourceVersion is too old (410 Gone, as an HTTP status or an ERROR event), it lists again and
reports the difference as events, so a consumer never misses a deletion. Other failures (the
connection dropped, the server restarting) are retried with backoff from the last
resourceVersion seen; 400, 401, 403, 404 and 422 stop it (`error` says why).

The drain engine uses it to wait for pods to go away without polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from overhaul.kube.client import DEFAULT_PAGE_SIZE, ApiClient, WatchStream
from overhaul.kube.errors import ApiError, Forbidden, Gone, KubeError, NotFound, Unauthorized, api_error

JSON = dict[str, Any]
log = logging.getLogger(__name__)

_FATAL = (Unauthorized, Forbidden, NotFound)


@dataclass(frozen=True)
class WatchEvent:
    """ADDED, MODIFIED or DELETED, with the object and its cache key."""

    type: str
    key: str
    object: JSON


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


class Reflector:
    """Keeps `cache` equal to the objects of `path` (a collection: "/api/v1/pods",
    "/api/v1/namespaces/ns/pods", ...), optionally narrowed by selectors.

    `on_event` is called for every change, from the reflector's thread, after the cache has
    it; the objects of the first list arrive as ADDED, and a list after a 410 reports what
    changed meanwhile (DELETED for what is gone). With `resource_version`, the first list is
    skipped and the watch starts from there (the cache then starts empty; a 410 falls back to
    listing).
    """

    def __init__(
        self,
        client: ApiClient,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_event: Callable[[WatchEvent], None] | None = None,
        resource_version: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout_seconds: int = 300,
        backoff: tuple[float, float] = (0.2, 10.0),
    ) -> None:
        self.client = client
        self.path = path
        self.params: dict[str, str | int | bool] = {}
        if label_selector:
            self.params["labelSelector"] = label_selector
        if field_selector:
            self.params["fieldSelector"] = field_selector
        self.on_event = on_event
        self.page_size = page_size
        self.timeout_seconds = timeout_seconds
        self.backoff = backoff
        self.cache: dict[str, JSON] = {}
        self.resource_version = resource_version or ""
        self.lists = 0  # how many times it listed (the first list included)
        self.bookmarks = 0
        # The last failure, cleared once it recovers; a fatal one (401, 403, 404) stops the reflector.
        self.error: KubeError | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._done = threading.Event()
        self._stream: WatchStream | None = None
        self._thread: threading.Thread | None = None
        self._need_list = resource_version is None
        if not self._need_list:
            self._synced.set()

    # ----- control

    def start(self) -> Reflector:
        """Runs the reflector in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name=f"reflector {self.path}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops watching and waits (up to `timeout`) for the thread to end."""
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._done.is_set()

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Waits for the first list; raises what stopped the reflector if it stopped first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._synced.wait(0.05):
            if self._done.is_set():
                if self.error is not None:
                    raise self.error
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def items(self) -> list[JSON]:
        """A copy of the cached objects."""
        with self._lock:
            return list(self.cache.values())

    def get(self, key: str) -> JSON | None:
        with self._lock:
            return self.cache.get(key)

    def __enter__(self) -> Reflector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- the loop

    def run(self) -> None:
        """Lists and watches until `stop()` (or a fatal error)."""
        delay = self.backoff[0]
        try:
            while not self._stop.is_set():
                try:
                    if self._need_list:
                        self._list()
                        self._need_list = False
                    self._watch_once()
                    delay = self.backoff[0]
                except Gone:
                    log.debug(
                        "reflector %s: resourceVersion %s expired, listing again",
                        self.path,
                        self.resource_version,
                    )
                    self._need_list = True
                except _FATAL as err:
                    self.error = err
                    return
                except ApiError as err:
                    if err.code in (400, 422):  # a bad selector or parameter: retrying cannot help
                        self.error = err
                        return
                    if self._stop.is_set():
                        return
                    self.error = err
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                except KubeError as err:
                    if self._stop.is_set():
                        return
                    log.debug("reflector %s: %s; retrying in %.1fs", self.path, err, delay)
                    self.error = err
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
        finally:
            self._done.set()

    def _list(self) -> None:
        fresh: dict[str, JSON] = {}
        rv = ""
        for page in self.client.list_pages(self.path, self.params, limit=self.page_size):
            if page.restarted:
                fresh = {}
            for item in page.items:
                fresh[object_key(item)] = item
            rv = page.resource_version
            if self._stop.is_set():
                return
        events: list[WatchEvent] = []
        with self._lock:
            old = self.cache
            for key, obj in fresh.items():
                before = old.get(key)
                if before is None:
                    events.append(WatchEvent("ADDED", key, obj))
                elif _rv(before) != _rv(obj):
                    events.append(WatchEvent("MODIFIED", key, obj))
            for key, obj in old.items():
                if key not in fresh:
                    events.append(WatchEvent("DELETED", key, obj))
            self.cache = fresh
            self.resource_version = rv
            self.lists += 1
            self.error = None
        self._synced.set()
        for event in events:
            self._notify(event)

    def _watch_once(self) -> None:
        stream = self.client.watch(
            self.path, self.resource_version, self.params, timeout_seconds=self.timeout_seconds
        )
        self._stream = stream
        try:
            if self._stop.is_set():
                return
            for raw in stream:
                self._apply(raw)
                if self._stop.is_set():
                    return
        finally:
            self._stream = None
            stream.close()

    def _apply(self, raw: JSON) -> None:
        kind = raw.get("type")
        obj = raw.get("object")
        if not isinstance(obj, dict):
            return
        if kind == "ERROR":
            err = api_error(int(obj.get("code") or 500), obj, method="WATCH", path=self.path)
            raise err
        rv = _rv(obj)
        if kind == "BOOKMARK":
            with self._lock:
                if rv:
                    self.resource_version = rv
                self.bookmarks += 1
            return
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return
        key = object_key(obj)
        with self._lock:
            if kind == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
            if rv:
                self.resource_version = rv
            self.error = None
        self._notify(WatchEvent(kind, key, obj))

    def _notify(self, event: WatchEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a consumer's bug must not stop the cache from following the cluster
            log.exception("reflector %s: on_event failed", self.path)


def _rv(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
