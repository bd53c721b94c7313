"""World.stats counts pods by phase from store events (a benchmark polls it every second)."""

from __future__ import annotations

from typing import Any

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import DeleteOptions
from overhaul.sim.nodes import make_node, node_ip
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]


def _pod(name: str) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1"}]},
    }


def _recount(world: World) -> dict[str, int]:
    phases: dict[str, int] = {}
    for stored in world.cluster.store.collection(("", "pods")).items.values():
        phase = str((stored.obj.get("status") or {}).get("phase") or "Unknown")
        phases[phase] = phases.get(phase, 0) + 1
    return phases


def test_phase_counts_follow_creation_start_and_deletion() -> None:
    world = World(SimSettings(pod_start_seconds=0, pod_ready_seconds=0), clock=VirtualClock())
    cluster = world.cluster
    cluster.load(make_node("w-1", "v1.34.2", cluster.now(), node_ip(1)))
    rt = cluster.registry.get("", "v1", "pods")
    assert rt is not None
    for i in range(3):
        cluster.load(_pod(f"p-{i}"))
    assert world.stats()["pods"] == _recount(world) == {"Pending": 3}
    world.manager.run_for(5)
    assert world.stats()["pods"] == _recount(world) == {"Running": 3}
    cluster.delete(rt, "default", "p-0", DeleteOptions(grace_period_seconds=0))
    assert world.stats()["pods"] == _recount(world) == {"Running": 2}
    world.manager.run_for(5)
    assert world.stats()["pods"] == _recount(world)
