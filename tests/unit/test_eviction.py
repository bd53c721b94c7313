"""The Eviction API and the disruption controller, case by case, in virtual time."""

from __future__ import annotations

from typing import Any

import pytest

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import WriteOptions
from overhaul.sim.errors import ApiError
from overhaul.sim.eviction import MULTIPLE_PDBS, TOO_MANY, evict
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]


def ready_pod(
    name: str,
    labels: dict[str, str],
    ready: bool = True,
    phase: str = "Running",
    owner: JSONDict | None = None,
    node: str = "worker-1",
) -> JSONDict:
    meta: JSONDict = {"name": name, "namespace": "default", "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "img:1"}]},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
        },
    }


def pdb(name: str, spec: JSONDict) -> JSONDict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


class Env:
    def __init__(self) -> None:
        self.world = World(SimSettings(), clock=VirtualClock())
        self.cluster = self.world.cluster
        pods_rt = self.cluster.registry.get("", "v1", "pods")
        pdbs_rt = self.cluster.registry.get("policy", "v1", "poddisruptionbudgets")
        assert pods_rt is not None and pdbs_rt is not None
        self.pods, self.pdbs = pods_rt, pdbs_rt

    def add_pods(self, n: int, labels: dict[str, str], **kw: Any) -> None:
        for i in range(n):
            self.cluster.load(ready_pod(f"{labels.get('app', 'p')}-{i}", labels, **kw))

    def add_pdb(self, name: str, spec: JSONDict) -> None:
        self.cluster.create(self.pdbs, "default", pdb(name, spec), WriteOptions(manager="test"))
        self.world.manager.run_until_idle()

    def status(self, name: str) -> JSONDict:
        return dict(self.cluster.get(self.pdbs, "default", name).obj.get("status") or {})

    def evict(self, name: str, dry_run: bool = False) -> JSONDict:
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": "default"},
        }
        result = evict(self.cluster, self.pods, "default", name, body, "test", dry_run)
        self.world.manager.run_until_idle()
        return result

    def exists(self, name: str) -> bool:
        return self.cluster.store.get(self.pods.key, "default", name) is not None

    def terminating(self, name: str) -> bool:
        stored = self.cluster.store.get(self.pods.key, "default", name)
        return stored is None or bool(stored.obj["metadata"].get("deletionTimestamp"))


@pytest.fixture
def env() -> Env:
    return Env()


def test_pdb_status_min_available_integer(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}})
    st = env.status("web")
    assert (st["currentHealthy"], st["desiredHealthy"], st["disruptionsAllowed"], st["expectedPods"]) == (
        3,
        2,
        1,
        3,
    )
    assert st["observedGeneration"] == 1
    cond = st["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")


def test_eviction_decrements_budget_records_pod_and_marks_condition(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}})
    stored_before = env.cluster.get(env.pods, "default", "web-0").obj
    assert not stored_before["metadata"].get("deletionTimestamp")
    result = env.evict("web-0")
    assert result["status"] == "Success"
    assert env.terminating("web-0")
    pod = env.cluster.get(env.pods, "default", "web-0").obj
    target = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert target and target[0]["reason"] == "EvictionByEvictionAPI"
    st = env.status("web")
    assert st["disruptionsAllowed"] == 0
    assert st["currentHealthy"] == 2


def test_budget_exhausted_gives_429_with_cause(env: Env) -> None:
    env.add_pods(2, {"app": "db"})
    env.add_pdb("db", {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}})
    with pytest.raises(ApiError) as caught:
        env.evict("db-0")
    err = caught.value
    assert err.code == 429 and err.reason == "TooManyRequests" and err.message == TOO_MANY
    assert err.details == {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget db needs 2 healthy pods and has 2 currently",
            }
        ]
    }
    assert not env.terminating("db-0")


def test_two_pdbs_give_500(env: Env) -> None:
    env.add_pods(3, {"app": "web", "tier": "front"})
    env.add_pdb("a", {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}})
    env.add_pdb("b", {"maxUnavailable": 1, "selector": {"matchLabels": {"tier": "front"}}})
    with pytest.raises(ApiError) as caught:
        env.evict("web-0")
    assert caught.value.code == 500 and caught.value.message == MULTIPLE_PDBS
    assert caught.value.status().get("reason") is None
    assert not env.terminating("web-0")


def test_no_pdb_plain_delete(env: Env) -> None:
    env.add_pods(1, {"app": "lonely"})
    env.evict("lonely-0")
    assert env.terminating("lonely-0")


@pytest.mark.parametrize("phase", ["Pending", "Succeeded", "Failed"])
def test_pods_not_running_ignore_the_budget(env: Env, phase: str) -> None:
    env.add_pods(2, {"app": "db"})
    env.cluster.load(ready_pod("db-x", {"app": "db"}, ready=False, phase=phase))
    env.add_pdb("db", {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}})
    assert env.status("db")["disruptionsAllowed"] == 0
    env.evict("db-x")
    assert env.terminating("db-x")


def test_terminating_pod_deleted_without_check(env: Env) -> None:
    env.add_pods(2, {"app": "db"})
    env.add_pdb("db", {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}})
    from overhaul.sim.cluster import DeleteOptions

    env.cluster.delete(env.pods, "default", "db-0", DeleteOptions())
    env.evict("db-0")  # already terminating: no 429


def test_unready_pod_if_healthy_budget(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.cluster.load(ready_pod("web-sick", {"app": "web"}, ready=False))
    env.add_pdb("web", {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}})
    st = env.status("web")
    assert (st["currentHealthy"], st["desiredHealthy"], st["disruptionsAllowed"]) == (3, 3, 0)
    env.evict("web-sick")  # currentHealthy >= desiredHealthy > 0: allowed without using the budget
    assert env.terminating("web-sick")
    assert env.status("web")["disruptionsAllowed"] == 0


def test_unready_pod_blocked_when_budget_short_unless_always_allow(env: Env) -> None:
    env.add_pods(1, {"app": "web"})
    env.cluster.load(ready_pod("web-sick", {"app": "web"}, ready=False))
    env.add_pdb("web", {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}})
    with pytest.raises(ApiError) as caught:
        env.evict("web-sick")
    assert caught.value.code == 429
    env2 = Env()
    env2.add_pods(1, {"app": "web"})
    env2.cluster.load(ready_pod("web-sick", {"app": "web"}, ready=False))
    env2.add_pdb(
        "web",
        {
            "minAvailable": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    )
    env2.evict("web-sick")
    assert env2.terminating("web-sick")


def test_stale_pdb_generation_gives_429(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}})
    stored = env.cluster.get(env.pdbs, "default", "web")
    changed = {**stored.obj, "spec": {**stored.obj["spec"], "minAvailable": 2}}
    env.cluster.update(env.pdbs, "default", "web", changed, WriteOptions(manager="test"))
    # The controller has not run yet: status.observedGeneration is behind.
    with pytest.raises(ApiError) as caught:
        env.evict("web-0")
    assert caught.value.code == 429
    assert "still being processed" in caught.value.details["causes"][0]["message"]  # type: ignore[index]


def test_max_unavailable_percentage_uses_controller_scale(env: Env) -> None:
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "default"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    stored = env.cluster.load(rs)
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-abc",
        "uid": stored.obj["metadata"]["uid"],
        "controller": True,
    }
    env.add_pods(4, {"app": "web"}, owner=owner)
    env.add_pdb("web", {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": "web"}}})
    st = env.status("web")
    assert (st["expectedPods"], st["desiredHealthy"], st["disruptionsAllowed"]) == (4, 3, 1)


def test_unmanaged_pods_with_percentage_fail_safe(env: Env) -> None:
    env.add_pods(
        2,
        {"app": "web"},
        owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "gone", "uid": "x", "controller": True},
    )
    env.add_pdb("web", {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}})
    st = env.status("web")
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "SyncFailed"


def test_dry_run_changes_nothing(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}})
    env.evict("web-0", dry_run=True)
    assert not env.terminating("web-0")
    assert env.status("web")["disruptionsAllowed"] == 1


def test_empty_selector_is_ignored_by_eviction(env: Env) -> None:
    env.add_pods(2, {"app": "web"})
    env.add_pdb("all", {"minAvailable": 2, "selector": {}})
    assert env.status("all")["disruptionsAllowed"] == 0
    env.evict("web-0")  # the eviction subresource ignores PDBs with an empty selector
    assert env.terminating("web-0")


def test_name_mismatch_is_bad_request(env: Env) -> None:
    env.add_pods(1, {"app": "web"})
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "other"}}
    with pytest.raises(ApiError) as caught:
        evict(env.cluster, env.pods, "default", "web-0", body, "test", False)
    assert caught.value.code == 400


def test_monitor_records_violation_from_plain_delete_not_from_eviction(env: Env) -> None:
    from overhaul.sim.cluster import DeleteOptions

    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}})
    env.evict("web-0")
    with pytest.raises(ApiError):
        env.evict("web-1")
    assert env.world.monitor.violations == []
    env.cluster.delete(env.pods, "default", "web-1", DeleteOptions())  # bypasses the budget
    assert len(env.world.monitor.violations) == 1
    v = env.world.monitor.violations[0]
    assert (v["pdb"], v["pod"], v["healthy"], v["desiredHealthy"], v["cause"]) == (
        "web",
        "web-1",
        1,
        2,
        "terminating",
    )


def test_disrupted_pods_expire_after_deletion_timeout(env: Env) -> None:
    env.add_pods(3, {"app": "web"})
    env.add_pdb("web", {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}})
    # Record an eviction whose pod never goes away (the status entry alone).
    stored = env.cluster.get(env.pdbs, "default", "web")
    status = {**stored.obj["status"], "disruptedPods": {"web-2": env.cluster.now()}, "disruptionsAllowed": 1}
    env.cluster.write_status(env.pdbs, stored, status, "test")
    env.world.manager.run_until_idle()
    assert env.status("web")["currentHealthy"] == 2
    env.world.manager.run_for(121)
    st = env.status("web")
    assert st["currentHealthy"] == 3 and "disruptedPods" not in st
