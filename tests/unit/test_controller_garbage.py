"""The garbage collector in virtual time: background, foreground and orphan deletion through
ownerReferences, dangling and multiple owners."""

from __future__ import annotations

from typing import Any

from overhaul.sim.store import StorageKey, WatchEvent
from tests.unit.workloads import Env, deployment

JSONDict = dict[str, Any]


def ref(owner: JSONDict, controller: bool = False, block: bool = False) -> JSONDict:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": block,
    }


def config_map(name: str, *owners: JSONDict) -> JSONDict:
    meta: JSONDict = {"name": name}
    if owners:
        meta["ownerReferences"] = list(owners)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def test_background_deletion_removes_the_whole_tree() -> None:
    env = Env()
    d = env.create(deployment("web", 3))
    env.create(config_map("web-config", ref(d)))
    env.run(10)
    assert len(env.pods("app=web")) == 3
    env.delete("apps", "deployments", "web", "Background")
    env.run(10)
    assert env.list("apps", "replicasets") == [] and env.pods("app=web") == []
    assert env.find("", "configmaps", "web-config") is None


def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone() -> None:
    env = Env()
    env.create(deployment("web", 3))
    env.run(10)
    left_at_owner_removal: list[int] = []
    finalizer_seen: list[bool] = []

    def watch(key: StorageKey, event: WatchEvent) -> None:
        if key == ("apps", "deployments"):
            finalizers = event.stored.obj["metadata"].get("finalizers") or []
            finalizer_seen.append("foregroundDeletion" in finalizers)
            if event.type == "DELETED":
                left_at_owner_removal.append(len(env.pods("app=web")) + len(env.list("apps", "replicasets")))

    env.cluster.store.listeners.append(watch)
    env.delete("apps", "deployments", "web", "Foreground")
    d = env.get("apps", "deployments", "web")
    assert d["metadata"]["deletionTimestamp"] and d["metadata"]["finalizers"] == ["foregroundDeletion"]
    env.run(10)
    assert env.find("apps", "deployments", "web") is None
    assert left_at_owner_removal == [0]
    assert finalizer_seen[0]


def test_foreground_does_not_wait_for_non_blocking_dependents() -> None:
    env = Env()
    owner = env.create(config_map("owner"))
    env.create(config_map("loose", ref(owner, block=False)))
    env.delete("", "configmaps", "owner", "Foreground")
    env.run(1)
    assert env.find("", "configmaps", "owner") is None
    env.run(1)
    assert env.find("", "configmaps", "loose") is None  # still collected once the owner is gone


def test_orphan_deletion_keeps_dependents_without_the_reference() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    (rs,) = env.list("apps", "replicasets")
    pods_before = {p["metadata"]["uid"] for p in env.pods("app=web")}
    env.delete("apps", "replicasets", rs["metadata"]["name"], "Orphan")
    # The Deployment makes a new ReplicaSet, which adopts the orphaned pods (same template hash).
    env.run(10)
    assert {p["metadata"]["uid"] for p in env.pods("app=web")} == pods_before
    (new_rs,) = env.list("apps", "replicasets")
    assert new_rs["metadata"]["uid"] != rs["metadata"]["uid"]
    for pod in env.pods("app=web"):
        assert pod["metadata"]["ownerReferences"][0]["uid"] == new_rs["metadata"]["uid"]


def test_orphaning_a_deployment_leaves_its_replica_set_running() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    env.delete("apps", "deployments", "web", "Orphan")
    env.run(5)
    assert env.find("apps", "deployments", "web") is None
    (rs,) = env.list("apps", "replicasets")
    assert "ownerReferences" not in rs["metadata"]
    assert len(env.pods("app=web")) == 2


def test_orphan_finalizer_without_dependents_is_simply_removed() -> None:
    env = Env()
    env.create(config_map("alone"))
    env.delete("", "configmaps", "alone", "Orphan")
    assert env.get("", "configmaps", "alone")["metadata"]["finalizers"] == ["orphan"]
    env.run(1)
    assert env.find("", "configmaps", "alone") is None


def test_a_dependent_of_a_missing_owner_is_collected() -> None:
    env = Env()
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost", "uid": "00000000-dead"}}
    env.create(config_map("child", ref(ghost)))
    env.run(1)
    assert env.find("", "configmaps", "child") is None


def test_a_dependent_with_another_live_owner_only_loses_the_reference() -> None:
    env = Env()
    a = env.create(config_map("a"))
    b = env.create(config_map("b"))
    env.create(config_map("shared", ref(a), ref(b)))
    env.delete("", "configmaps", "a", "Background")
    env.run(1)
    shared = env.get("", "configmaps", "shared")
    assert [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["b"]
    env.delete("", "configmaps", "b", "Background")
    env.run(1)
    assert env.find("", "configmaps", "shared") is None


def test_a_later_delete_may_change_the_policy() -> None:
    env = Env()
    owner = env.create(config_map("owner"))
    env.create(config_map("child", ref(owner, block=True)))
    env.kubelet.hold = lambda p: True
    env.delete("", "configmaps", "owner", "Orphan")
    env.delete("", "configmaps", "owner", "Foreground")
    assert env.get("", "configmaps", "owner")["metadata"]["finalizers"] == ["foregroundDeletion"]
    env.run(1)
    assert env.find("", "configmaps", "owner") is None and env.find("", "configmaps", "child") is None
