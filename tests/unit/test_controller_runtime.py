"""The controller runtime's batching of status-only work under load, and the small caches the
controllers share (controller references, the owner index's in-place updates)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import Cluster
from overhaul.sim.controllers.ownerindex import OwnerIndex
from overhaul.sim.controllers.podutil import controller_ref, is_ready
from overhaul.sim.controllers.runtime import (
    COALESCE_PER_BACKLOG,
    MAX_COALESCE,
    Controller,
    ControllerManager,
)
from overhaul.sim.controllers.statefulset import StatefulSetController
from overhaul.sim.store import Stored, WatchEvent

JSONDict = dict[str, Any]


class Idle(Controller):
    name = "idle"


def test_status_batching_window_stretches_with_the_queued_work_and_no_further() -> None:
    manager = ControllerManager(Cluster(clock=VirtualClock()))
    controller = Idle(manager.cluster)
    manager.add(controller)
    assert controller.coalesce(0.5) == 0.5  # a quiet manager answers at once
    for i in range(COALESCE_PER_BACKLOG * 3):
        manager.enqueue(controller, ("item", i))
    assert controller.coalesce(0.5) == 0.5 * 3
    for i in range(COALESCE_PER_BACKLOG * 3, COALESCE_PER_BACKLOG * 40):
        manager.enqueue(controller, ("item", i))
    assert controller.coalesce(0.5) == 0.5 * MAX_COALESCE
    manager.run_until_idle()
    assert controller.coalesce(0.5) == 0.5


def _pod(name: str, refs: list[JSONDict], ready: bool = False) -> JSONDict:
    return {
        "metadata": {"name": name, "namespace": "default", "ownerReferences": refs, "labels": {"app": "a"}},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_controller_ref_is_read_again_for_another_list_of_references() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "u-a", "controller": True}
    other = {**owner, "name": "b", "uid": "u-b"}
    shared = [owner]
    assert controller_ref(_pod("p1", shared)) is owner
    assert controller_ref(_pod("p2", shared)) is owner  # the same list: the answer kept
    assert controller_ref(_pod("p3", [other])) is other
    assert controller_ref(_pod("p4", [{**owner, "controller": False}])) is None
    assert controller_ref(_pod("p5", [])) is None
    assert controller_ref({"metadata": {"name": "p6"}}) is None
    assert controller_ref(_pod("p1", shared)) is owner


def _event(kind: str, obj: JSONDict, old: JSONDict | None = None, rv: int = 1) -> WatchEvent:
    return WatchEvent(rv, kind, Stored(obj=obj, raw=b"", rv=rv), old)


READY, ACTIVE = 2, 1


def test_owner_index_updates_a_kept_child_in_place_and_moves_its_counts() -> None:
    index = OwnerIndex("ReplicaSet", lambda pod: ACTIVE | (READY if is_ready(pod) else 0))
    refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-rs", "controller": True}]
    created = _pod("p1", refs)
    assert index.observe(_event("ADDED", created)) == (None, "u-rs")
    assert (index.count("u-rs", ACTIVE), index.count("u-rs", READY)) == (1, 0)
    ready = {**created, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert index.observe(_event("MODIFIED", ready, created, 2)) == ("u-rs", "u-rs")
    assert index.owned("u-rs")["p1"] is ready
    assert (index.count("u-rs", ACTIVE), index.count("u-rs", READY)) == (1, 1)
    released = {**ready, "metadata": {**ready["metadata"], "ownerReferences": []}}
    assert index.observe(_event("MODIFIED", released, ready, 3)) == ("u-rs", None)
    assert index.owned("u-rs") == {}
    assert index.orphans("default") == {"p1": released}
    assert (index.count("u-rs", ACTIVE), index.count("u-rs", READY)) == (0, 0)


def test_a_foreign_childs_change_is_not_looked_at_by_another_kinds_controller() -> None:
    cluster = Cluster(clock=VirtualClock())
    controller = StatefulSetController(cluster)
    refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-rs", "controller": True}]
    pod = _pod("p1", refs)
    bound = {**pod, "metadata": dict(pod["metadata"]), "spec": {"nodeName": "n1"}}
    items: list[Hashable] = list(controller.enqueue_for(("", "pods"), _event("MODIFIED", bound, pod, 2)))
    assert items == []
