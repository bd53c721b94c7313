"""The disruption controller's event handling: which changes make it sync a PDB again."""

from __future__ import annotations

from typing import Any

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import WriteOptions
from overhaul.sim.controllers.disruption import DisruptionController
from overhaul.sim.store import Stored, WatchEvent
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]
TEST = WriteOptions(manager="test", field_validation="Ignore")
RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u-web", "controller": True}


def _pod(name: str, ready: bool) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "ownerReferences": [RS]},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "img:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def _replicaset(replicas: int) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}},
        },
    }


def _event(kind: str, obj: JSONDict, old: JSONDict | None = None) -> WatchEvent:
    return WatchEvent(2, kind, Stored(obj=obj, raw=b"", rv=2), old)


def _controller() -> DisruptionController:
    world = World(SimSettings(), clock=VirtualClock())
    world.cluster.load(_replicaset(3))
    for i in range(3):
        world.cluster.load(_pod(f"web-{i}", ready=True))
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    rt = world.cluster.registry.get("policy", "v1", "poddisruptionbudgets")
    assert rt is not None
    world.cluster.create(rt, "default", pdb, TEST)
    world.manager.run_until_idle()
    controller = world.manager.get("disruption")
    assert isinstance(controller, DisruptionController)
    return controller


def test_a_controllers_status_write_does_not_resync_the_namespaces_budgets() -> None:
    controller = _controller()
    rs = _replicaset(3)
    status_write = {**rs, "status": {"replicas": 3, "readyReplicas": 3}}
    assert list(controller.enqueue_for(("apps", "replicasets"), _event("MODIFIED", status_write, rs))) == []
    scaled = {**rs, "spec": {**rs["spec"], "replicas": 5}}
    assert list(controller.enqueue_for(("apps", "replicasets"), _event("MODIFIED", scaled, rs))) == [
        ("default", "web")
    ]


def test_pod_changes_that_cannot_move_a_budget_are_ignored_and_losses_are_synced_at_once() -> None:
    controller = _controller()
    ready = _pod("web-0", ready=True)
    restarted = {**ready, "status": {**ready["status"], "startTime": "2026-01-01T00:00:00Z"}}
    assert list(controller.enqueue_for(("", "pods"), _event("MODIFIED", restarted, ready))) == []
    unready = _pod("web-0", ready=False)
    assert list(controller.enqueue_for(("", "pods"), _event("MODIFIED", unready, ready))) == [
        ("default", "web")
    ]
    # Becoming ready again is a gain: batched, as long as no sync is already set for later.
    assert list(controller.enqueue_for(("", "pods"), _event("MODIFIED", ready, unready))) == [
        ("gain", "default", "web")
    ]
