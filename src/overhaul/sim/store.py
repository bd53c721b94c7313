"""The embedded cluster's object store: an etcd stand-in with one resourceVersion counter.

Each object is kept with its encoded JSON (encoded once, when first read), so lists and watches
stream pre-encoded bytes. Keys are `namespace/name` (or `name`) in a sorted map, so a
namespace is a key range and pages continue from a key. A bounded ring of recent events per
resource serves watches from a resourceVersion and decides when it is too old (410 Gone).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sortedcontainers import SortedDict

from overhaul.sim.selectors import FieldSelector, LabelSelector

JSONDict = dict[str, Any]
StorageKey = tuple[str, str]  # (group, plural)

EVENT_RING_SIZE = 20_000
WATCH_QUEUE_LIMIT = 100_000


class Stored:
    """An object and its encoded bytes, as of resourceVersion `rv`.

    The bytes are made when first read (a list, a watch, a get) and kept: most versions of a pod
    starting (created, bound, running) are replaced before anyone reads them, and need no encoding
    at all. Stored objects are never changed in place, so the bytes stay true to `obj`.
    """

    __slots__ = ("_raw", "obj", "rv")

    def __init__(self, obj: JSONDict, raw: bytes | None = None, rv: int = 0) -> None:
        self.obj = obj
        self.rv = rv
        self._raw = raw

    @property
    def raw(self) -> bytes:
        raw = self._raw
        if raw is None:
            raw = self._raw = orjson.dumps(self.obj)
        return raw

    def __repr__(self) -> str:
        return f"Stored(rv={self.rv}, obj={self.obj!r})"


@dataclass(slots=True)
class WatchEvent:
    """One change: `old` is the previous state for MODIFIED (selector transitions need it)."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    stored: Stored
    old: JSONDict | None = None


def object_key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def matches(obj: JSONDict, labels: LabelSelector | None, fields: FieldSelector | None) -> bool:
    if labels is not None and not labels.matches((obj.get("metadata") or {}).get("labels")):
        return False
    return fields is None or fields.matches(obj)


@dataclass(eq=False)  # identity equality and hash: watchers live in a set
class Watcher:
    """A watch on one resource: events are queued for the HTTP stream that reads them."""

    namespace: str | None
    labels: LabelSelector | None
    fields: FieldSelector | None
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, event: WatchEvent) -> None:
        """Queues the event as this watcher should see it (selector moves become ADDED/DELETED)."""
        translated = self.translate(event)
        if translated is None:
            return
        if self.queue.qsize() >= WATCH_QUEUE_LIMIT:
            # A reader this far behind is dropped, as the apiserver drops slow watchers.
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(translated)

    def translate(self, event: WatchEvent) -> WatchEvent | None:
        obj = event.stored.obj
        if self.namespace is not None and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return None
        now_in = matches(obj, self.labels, self.fields)
        if event.type != "MODIFIED" or event.old is None:
            return event if now_in else None
        was_in = matches(event.old, self.labels, self.fields)
        if now_in and was_in:
            return event
        if now_in:
            return WatchEvent(event.rv, "ADDED", event.stored)
        if was_in:
            return WatchEvent(event.rv, "DELETED", event.stored)
        return None


class TooOldError(Exception):
    """The requested resourceVersion is older than the events kept (HTTP 410 Gone)."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class Collection:
    """All objects of one resource (group + plural), with an index of pods by node."""

    def __init__(self, key: StorageKey, index_node: bool = False) -> None:
        self.key = key
        self.items: SortedDict[str, Stored] = SortedDict()
        self.index_node = index_node
        self.by_node: dict[str, set[str]] = {}
        self.events: deque[WatchEvent] = deque(maxlen=EVENT_RING_SIZE)
        self.compacted_rv = 0  # events at or below this rv may have been dropped from the ring
        self.watchers: set[Watcher] = set()

    def _node_of(self, obj: JSONDict) -> str:
        return str((obj.get("spec") or {}).get("nodeName") or "")

    def _index(self, k: str, obj: JSONDict | None, old: JSONDict | None) -> None:
        if not self.index_node:
            return
        before = self._node_of(old) if old is not None else None
        after = self._node_of(obj) if obj is not None else None
        if before == after:
            return
        if before is not None:
            keys = self.by_node.get(before)
            if keys is not None:
                keys.discard(k)
                if not keys:
                    del self.by_node[before]
        if after is not None:
            self.by_node.setdefault(after, set()).add(k)

    def record(self, event: WatchEvent) -> None:
        if len(self.events) == self.events.maxlen:
            self.compacted_rv = self.events[0].rv
        self.events.append(event)
        if self.watchers:
            for watcher in list(self.watchers):
                watcher.offer(event)
                if watcher.overflowed:
                    self.watchers.discard(watcher)

    def keys_in(self, namespace: str | None, node: str | None, start_after: str | None) -> Iterator[str]:
        """Keys in order after `start_after`, narrowed by namespace (a key range) and node (an index)."""
        if node is not None and self.index_node:
            keys = sorted(self.by_node.get(node, ()))
            if namespace is not None:
                prefix = namespace + "/"
                keys = [k for k in keys if k.startswith(prefix)]
            if start_after is not None:
                keys = [k for k in keys if k > start_after]
            return iter(keys)
        low = namespace + "/" if namespace is not None else None
        high = namespace + "/\uffff" if namespace is not None else None
        if start_after is not None and (low is None or start_after >= low):
            return iter(self.items.irange(start_after, high, inclusive=(False, True)))
        return iter(self.items.irange(low, high))

    def count_after(self, namespace: str | None, last: str) -> int:
        """How many keys follow `last` (in the namespace, if given): the remainingItemCount."""
        end = self.items.bisect_right(namespace + "/\uffff") if namespace is not None else len(self.items)
        return max(0, end - self.items.bisect_right(last))


Listener = Callable[[StorageKey, WatchEvent], None]


class Store:
    """Every collection, the global resourceVersion, and change listeners (the controllers)."""

    def __init__(self) -> None:
        self.rv = 1
        self.collections: dict[StorageKey, Collection] = {}
        self.listeners: list[Listener] = []

    def collection(self, key: StorageKey) -> Collection:
        col = self.collections.get(key)
        if col is None:
            col = Collection(key, index_node=key == ("", "pods"))
            self.collections[key] = col
        return col

    def drop_collection(self, key: StorageKey) -> None:
        col = self.collections.pop(key, None)
        if col is not None:
            for watcher in col.watchers:
                watcher.queue.put_nowait(None)

    def get(self, key: StorageKey, namespace: str | None, name: str) -> Stored | None:
        return self.collection(key).items.get(object_key(namespace, name))

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _versioned(self, obj: JSONDict, rv: int) -> Stored:
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        return Stored(obj=obj, rv=rv)

    def _emit(self, key: StorageKey, event: WatchEvent) -> None:
        self.collection(key).record(event)
        for listener in self.listeners:
            listener(key, event)

    def put(self, key: StorageKey, obj: JSONDict) -> Stored:
        """Creates or replaces an object (the caller decided it may); returns what is stored."""
        meta = obj["metadata"]
        k = object_key(meta.get("namespace"), meta["name"])
        col = self.collection(key)
        items = col.items
        old = items.get(k)
        stored = self._versioned(obj, self._next_rv())
        if old is None:
            items[k] = stored
            col._index(k, obj, None)
            self._emit(key, WatchEvent(stored.rv, "ADDED", stored, None))
            return stored
        # A known key keeps its place in the sorted keys: only the mapping changes.
        dict.__setitem__(cast("dict[str, Stored]", items), k, stored)
        if obj.get("spec") is not old.obj.get("spec"):  # status writes keep the spec, and the node
            col._index(k, obj, old.obj)
        self._emit(key, WatchEvent(stored.rv, "MODIFIED", stored, old.obj))
        return stored

    def remove(self, key: StorageKey, namespace: str | None, name: str) -> Stored | None:
        """Deletes an object for good; the DELETED event carries its final state at a new rv."""
        col = self.collection(key)
        k = object_key(namespace, name)
        old = col.items.pop(k, None)
        if old is None:
            return None
        col._index(k, None, old.obj)
        # A new version (the removed one stays as it was: watch events may still hold it).
        final = self._versioned({**old.obj, "metadata": dict(old.obj.get("metadata") or {})}, self._next_rv())
        self._emit(key, WatchEvent(final.rv, "DELETED", final))
        return final

    def list(
        self,
        key: StorageKey,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        start_after: str | None = None,
    ) -> tuple[list[Stored], str | None, int | None]:
        """A page of matching objects in key order: (items, last key if more remain, remaining).

        `remaining` is counted only without selectors, as the apiserver does (it is cheap then).
        """
        col = self.collection(key)
        node = fields.equality_value("spec.nodeName") if fields is not None else None
        if namespace is None and fields is not None:
            namespace = fields.equality_value("metadata.namespace")
        if labels is not None and labels.empty:
            labels = None
        if fields is not None and not fields.requirements:
            fields = None
        items = col.items
        out: list[Stored] = []
        for k in col.keys_in(namespace, node, start_after):
            stored = items[k]
            if (labels is not None or fields is not None) and not matches(stored.obj, labels, fields):
                continue
            if limit and len(out) == limit:
                meta = out[-1].obj["metadata"]
                last = object_key(meta.get("namespace"), meta["name"])
                unfiltered = labels is None and fields is None
                return out, last, col.count_after(namespace, last) if unfiltered else None
            out.append(stored)
        return out, None, None

    def watch(
        self,
        key: StorageKey,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        since_rv: int | None,
    ) -> Watcher:
        """Starts a watch; with `since_rv`, replays the kept events after it first (or raises TooOld)."""
        col = self.collection(key)
        watcher = Watcher(namespace, labels, fields)
        if since_rv is not None:
            if since_rv < col.compacted_rv:
                raise TooOldError(since_rv, col.compacted_rv + 1)
            for event in col.events:
                if event.rv > since_rv:
                    watcher.offer(event)
        col.watchers.add(watcher)
        return watcher

    def stop_watch(self, key: StorageKey, watcher: Watcher) -> None:
        col = self.collections.get(key)
        if col is not None:
            col.watchers.discard(watcher)
