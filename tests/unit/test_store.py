"""The object store: key order and pages, namespace ranges, the node index, watches and 410."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from overhaul.sim import store as store_module
from overhaul.sim.selectors import parse_field_selector, parse_label_selector
from overhaul.sim.store import Store, TooOldError, Watcher, WatchEvent

PODS = ("", "pods")
CONFIGMAPS = ("", "configmaps")
POD_FIELDS = ("spec.nodeName", "status.phase")
JSONDict = dict[str, Any]


def pod(ns: str, name: str, node: str = "", **labels: str) -> JSONDict:
    spec = {"nodeName": node} if node else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    }


def names(items: list[store_module.Stored]) -> list[str]:
    return [f"{s.obj['metadata']['namespace']}/{s.obj['metadata']['name']}" for s in items]


def drain(watcher: Watcher) -> list[tuple[str, str]]:
    out = []
    while not watcher.queue.empty():
        event = watcher.queue.get_nowait()
        assert event is not None
        out.append((event.type, event.stored.obj["metadata"]["name"]))
    return out


# ----- order and pages --------------------------------------------------------------------------


def test_list_is_in_key_order_whatever_the_insertion_order() -> None:
    store = Store()
    keys = [(ns, f"p{i:02d}") for ns in ("b", "a", "c") for i in range(12)]
    random.Random(7).shuffle(keys)
    for ns, name in keys:
        store.put(PODS, pod(ns, name))
    items, last, remaining = store.list(PODS)
    assert names(items) == sorted(f"{ns}/{name}" for ns, name in keys)
    assert last is None and remaining is None


def test_pages_follow_on_from_the_last_key() -> None:
    store = Store()
    for i in range(25):
        store.put(PODS, pod("ns", f"p{i:02d}"))
    seen: list[str] = []
    start = None
    pages = []
    while True:
        items, last, remaining = store.list(PODS, limit=10, start_after=start)
        seen.extend(names(items))
        pages.append((len(items), remaining))
        if last is None:
            break
        assert last == seen[-1]
        start = last
    assert pages == [(10, 15), (10, 5), (5, None)]
    assert seen == [f"ns/p{i:02d}" for i in range(25)]


def test_exact_page_boundary_has_no_continuation() -> None:
    store = Store()
    for i in range(10):
        store.put(PODS, pod("ns", f"p{i}"))
    items, last, remaining = store.list(PODS, limit=10)
    assert len(items) == 10
    assert last is None and remaining is None


def test_filtered_pages_have_no_remaining_count() -> None:
    store = Store()
    for i in range(20):
        store.put(PODS, pod("ns", f"p{i:02d}", shard=str(i % 2)))
    items, last, remaining = store.list(PODS, labels=parse_label_selector("shard=1"), limit=3)
    assert names(items) == ["ns/p01", "ns/p03", "ns/p05"]
    assert last == "ns/p05"
    assert remaining is None
    rest, last, _ = store.list(PODS, labels=parse_label_selector("shard=1"), start_after=last)
    assert names(rest) == [f"ns/p{i:02d}" for i in range(7, 20, 2)]
    assert last is None


# ----- namespaces -------------------------------------------------------------------------------


def test_namespace_is_an_exact_key_range() -> None:
    store = Store()
    # "a-b" and "a.b" sort before "a/" and "ab" after it: none of them may leak into "a".
    for ns in ("a", "a-b", "a.b", "ab", "b"):
        for name in ("x", "y"):
            store.put(PODS, pod(ns, name))
    items, _, _ = store.list(PODS, namespace="a")
    assert names(items) == ["a/x", "a/y"]
    assert names(store.list(PODS, namespace="ab")[0]) == ["ab/x", "ab/y"]
    assert store.list(PODS, namespace="missing")[0] == []


def test_namespace_pages_and_remaining_count_stay_in_the_namespace() -> None:
    store = Store()
    for ns in ("a", "b", "c"):
        for i in range(5):
            store.put(PODS, pod(ns, f"p{i}"))
    items, last, remaining = store.list(PODS, namespace="b", limit=2)
    assert names(items) == ["b/p0", "b/p1"]
    assert remaining == 3
    items, last, remaining = store.list(PODS, namespace="b", limit=2, start_after=last)
    assert names(items) == ["b/p2", "b/p3"]
    assert remaining == 1
    items, last, _ = store.list(PODS, namespace="b", limit=2, start_after=last)
    assert names(items) == ["b/p4"]
    assert last is None


def test_namespace_field_selector_narrows_like_a_namespace() -> None:
    store = Store()
    for ns in ("a", "b"):
        store.put(PODS, pod(ns, "x"))
    fields = parse_field_selector("metadata.namespace=b", POD_FIELDS)
    assert names(store.list(PODS, fields=fields)[0]) == ["b/x"]


# ----- the node index ---------------------------------------------------------------------------


def test_node_index_follows_moves_and_deletes() -> None:
    store = Store()
    store.put(PODS, pod("a", "p1", "n1"))
    store.put(PODS, pod("b", "p2", "n1"))
    store.put(PODS, pod("a", "p3", "n2"))
    store.put(PODS, pod("a", "pending"))

    def on(node: str) -> list[str]:
        return names(store.list(PODS, fields=parse_field_selector(f"spec.nodeName={node}", POD_FIELDS))[0])

    assert on("n1") == ["a/p1", "b/p2"]
    assert on("n2") == ["a/p3"]
    assert on("") == ["a/pending"]  # unscheduled pods are indexed under ""
    store.put(PODS, pod("a", "p1", "n2"))  # moved
    assert on("n1") == ["b/p2"]
    assert on("n2") == ["a/p1", "a/p3"]
    store.remove(PODS, "b", "p2")
    assert on("n1") == []
    pods = store.collection(PODS)
    assert "n1" not in pods.by_node  # empty node entries are dropped
    assert pods.by_node == {"n2": {"a/p1", "a/p3"}, "": {"a/pending"}}


def test_node_index_with_namespace_and_pages() -> None:
    store = Store()
    for ns in ("a", "b"):
        for i in range(4):
            store.put(PODS, pod(ns, f"p{i}", "n1"))
    fields = parse_field_selector("spec.nodeName=n1", POD_FIELDS)
    items, last, remaining = store.list(PODS, namespace="b", fields=fields, limit=3)
    assert names(items) == ["b/p0", "b/p1", "b/p2"]
    assert remaining is None  # a selector: no count
    items, last, _ = store.list(PODS, namespace="b", fields=fields, limit=3, start_after=last)
    assert names(items) == ["b/p3"]
    assert last is None
    both = parse_field_selector("spec.nodeName=n1,status.phase!=Failed", POD_FIELDS)
    assert len(store.list(PODS, fields=both)[0]) == 8


# ----- watches ----------------------------------------------------------------------------------


def test_watch_translates_selector_moves_into_added_and_deleted() -> None:
    store = Store()
    watcher = store.watch(PODS, None, parse_label_selector("tier=web"), None, None)
    store.put(PODS, pod("a", "p", tier="db"))  # not selected: nothing
    store.put(PODS, pod("a", "p", tier="web"))  # moves in: ADDED
    store.put(PODS, pod("a", "p", tier="web", extra="1"))  # stays in: MODIFIED
    store.put(PODS, pod("a", "p", tier="db"))  # moves out: DELETED
    store.put(PODS, pod("a", "p", tier="cache"))  # stays out: nothing
    store.remove(PODS, "a", "p")  # deleted while out: nothing
    assert drain(watcher) == [("ADDED", "p"), ("MODIFIED", "p"), ("DELETED", "p")]


def test_watch_field_selector_moves_between_nodes() -> None:
    store = Store()
    watcher = store.watch(PODS, None, None, parse_field_selector("spec.nodeName=n1", POD_FIELDS), None)
    store.put(PODS, pod("a", "p", "n2"))
    store.put(PODS, pod("a", "p", "n1"))
    store.put(PODS, pod("a", "p", "n2"))
    assert drain(watcher) == [("ADDED", "p"), ("DELETED", "p")]


def test_watch_in_a_namespace_sees_only_it() -> None:
    store = Store()
    watcher = store.watch(PODS, "a", None, None, None)
    store.put(PODS, pod("a", "mine"))
    store.put(PODS, pod("ab", "other"))
    store.remove(PODS, "a", "mine")
    assert drain(watcher) == [("ADDED", "mine"), ("DELETED", "mine")]


def test_watch_from_a_version_replays_what_followed_it() -> None:
    store = Store()
    first = store.put(CONFIGMAPS, pod("a", "one"))
    store.put(PODS, pod("a", "elsewhere"))  # another resource's events are not replayed
    store.put(CONFIGMAPS, pod("a", "two"))
    store.remove(CONFIGMAPS, "a", "one")
    watcher = store.watch(CONFIGMAPS, None, None, None, first.rv)
    assert drain(watcher) == [("ADDED", "two"), ("DELETED", "one")]
    assert store.watch(CONFIGMAPS, None, None, None, store.rv).queue.empty()


def test_deleted_event_carries_the_final_state_at_a_new_version() -> None:
    store = Store()
    put = store.put(PODS, pod("a", "p", tier="web"))
    final = store.remove(PODS, "a", "p")
    assert final is not None
    assert final.rv > put.rv
    assert final.obj["metadata"]["resourceVersion"] == str(final.rv)
    assert final.obj["metadata"]["labels"] == {"tier": "web"}
    assert store.remove(PODS, "a", "p") is None


def test_too_old_version_is_decided_by_the_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "EVENT_RING_SIZE", 5)
    store = Store()
    stored = [store.put(CONFIGMAPS, pod("a", f"c{i}")) for i in range(8)]
    # The ring keeps c3..c7; c2's event was the last one dropped.
    col = store.collection(CONFIGMAPS)
    assert [e.rv for e in col.events] == [s.rv for s in stored[3:]]
    assert col.compacted_rv == stored[2].rv
    # From c2's version on, everything after it is still kept: served.
    watcher = store.watch(CONFIGMAPS, None, None, None, stored[2].rv)
    assert [name for _, name in drain(watcher)] == ["c3", "c4", "c5", "c6", "c7"]
    # Before it, c2's own event would be needed and is gone: 410.
    with pytest.raises(TooOldError) as raised:
        store.watch(CONFIGMAPS, None, None, None, stored[1].rv)
    assert raised.value.requested == stored[1].rv
    assert "too old resource version" in str(raised.value)
    # Other resources have rings of their own.
    assert store.watch(PODS, None, None, None, 1).queue.empty()


def test_a_watcher_too_far_behind_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "WATCH_QUEUE_LIMIT", 3)
    store = Store()
    watcher = store.watch(CONFIGMAPS, None, None, None, None)
    for i in range(5):
        store.put(CONFIGMAPS, pod("a", f"c{i}"))
    assert watcher.overflowed
    assert watcher not in store.collection(CONFIGMAPS).watchers
    queued: list[WatchEvent | None] = []
    while not watcher.queue.empty():
        queued.append(watcher.queue.get_nowait())
    assert queued[-1] is None  # the stream ends after what was queued
    assert [e.stored.obj["metadata"]["name"] for e in queued[:-1] if e is not None] == ["c0", "c1", "c2"]


def test_watchers_are_distinct_set_members() -> None:
    store = Store()
    one = store.watch(PODS, None, None, None, None)
    two = store.watch(PODS, None, None, None, None)
    assert len(store.collection(PODS).watchers) == 2
    store.stop_watch(PODS, one)
    assert store.collection(PODS).watchers == {two}


def test_watch_queue_feeds_an_async_reader() -> None:
    store = Store()

    async def scenario() -> list[str]:
        watcher = store.watch(PODS, None, None, None, None)
        store.put(PODS, pod("a", "p"))
        event = await asyncio.wait_for(watcher.queue.get(), timeout=1)
        assert event is not None
        return [event.type]

    assert asyncio.run(scenario()) == ["ADDED"]
