"""The DaemonSet controller in virtual time: one pod per eligible node (selectors, affinity,
taints), reacting to nodes, rolling updates by maxUnavailable or maxSurge, OnDelete, status."""

from __future__ import annotations

from typing import Any

import pytest

from overhaul.sim import errors
from overhaul.sim.controllers.podutil import PODS, is_ready, is_terminating, target_node
from overhaul.sim.nodes import make_node, node_ip
from overhaul.sim.store import StorageKey, WatchEvent
from tests.unit.workloads import Env, container

JSONDict = dict[str, Any]


def daemonset(name: str = "agent", image: str = "agent:1", **spec: Any) -> JSONDict:
    template_spec = spec.pop("template_spec", {})
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container(image)], **template_spec},
            },
            **spec,
        },
    }


def cluster_with_nodes(workers: int = 3) -> Env:
    env = Env()
    now = env.cluster.now()
    env.cluster.load(make_node("cp-1", "v1.34.2", now, node_ip(0), control_plane=True))
    for i in range(workers):
        env.cluster.load(make_node(f"w-{i + 1}", "v1.34.2", now, node_ip(i + 1)))
    return env


def placement(env: Env) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pod in env.pods("app=agent"):
        if not is_terminating(pod):
            out.setdefault(target_node(pod), []).append(pod["spec"]["containers"][0]["image"])
    return out


def set_image(image: str) -> Any:
    def change(ds: JSONDict) -> None:
        ds["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return change


def test_one_pod_per_untainted_node_pinned_by_affinity_with_daemon_tolerations() -> None:
    env = cluster_with_nodes(3)
    env.create(daemonset())
    env.run(10)
    assert placement(env) == {"w-1": ["agent:1"], "w-2": ["agent:1"], "w-3": ["agent:1"]}
    pod = next(p for p in env.pods("app=agent") if target_node(p) == "w-1")
    assert pod["metadata"]["name"].startswith("agent-")
    required = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w-1"]}]}
        ]
    }
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert keys == {
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    }
    ds = env.get("apps", "daemonsets", "agent")
    revision_hash = pod["metadata"]["labels"]["controller-revision-hash"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    (cr,) = env.list("apps", "controllerrevisions")
    assert cr["metadata"]["name"] == f"agent-{revision_hash}" and cr["revision"] == 1
    assert ds["status"] == {
        "currentNumberScheduled": 3,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 3,
        "numberReady": 3,
        "observedGeneration": 1,
        "updatedNumberScheduled": 3,
        "numberAvailable": 3,
    }


def test_host_network_daemons_tolerate_network_unavailable_and_tolerations_reach_control_planes() -> None:
    env = cluster_with_nodes(1)
    tolerate_all = [{"operator": "Exists"}]
    env.create(daemonset(template_spec={"hostNetwork": True, "tolerations": tolerate_all}))
    env.run(10)
    assert sorted(placement(env)) == ["cp-1", "w-1"]
    pod = env.pods("app=agent")[0]
    assert {
        "key": "node.kubernetes.io/network-unavailable",
        "operator": "Exists",
        "effect": "NoSchedule",
    } in pod["spec"]["tolerations"]


def test_node_selector_and_label_changes() -> None:
    env = cluster_with_nodes(3)
    env.patch("", "nodes", "w-2", lambda n: n["metadata"]["labels"].update(gpu="yes"), namespace="")
    env.create(daemonset(template_spec={"nodeSelector": {"gpu": "yes"}}))
    env.run(10)
    assert sorted(placement(env)) == ["w-2"]
    env.patch("", "nodes", "w-3", lambda n: n["metadata"]["labels"].update(gpu="yes"), namespace="")
    env.run(10)
    assert sorted(placement(env)) == ["w-2", "w-3"]
    env.patch("", "nodes", "w-2", lambda n: n["metadata"]["labels"].pop("gpu"), namespace="")
    env.run(10)
    assert sorted(placement(env)) == ["w-3"]
    assert env.get("apps", "daemonsets", "agent")["status"]["desiredNumberScheduled"] == 1


def test_required_node_affinity_is_honoured() -> None:
    env = cluster_with_nodes(3)
    term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["w-1"]}]}
    affinity = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
    }
    env.create(daemonset(template_spec={"affinity": affinity}))
    env.run(10)
    assert sorted(placement(env)) == ["w-2", "w-3"]


def test_nodes_coming_and_going_and_taints() -> None:
    env = cluster_with_nodes(2)
    env.create(daemonset())
    env.run(10)
    env.cluster.load(make_node("w-9", "v1.34.2", env.cluster.now(), node_ip(9)))
    env.run(10)
    assert sorted(placement(env)) == ["w-1", "w-2", "w-9"]
    env.delete("", "nodes", "w-9", namespace="")
    env.run(10)
    assert sorted(placement(env)) == ["w-1", "w-2"]
    # NoSchedule keeps a running daemon (now misscheduled); NoExecute evicts it.
    env.patch(
        "",
        "nodes",
        "w-1",
        lambda n: n["spec"].update(taints=[{"key": "x", "effect": "NoSchedule"}]),
        namespace="",
    )
    env.run(10)
    assert sorted(placement(env)) == ["w-1", "w-2"]
    status = env.get("apps", "daemonsets", "agent")["status"]
    assert (status["desiredNumberScheduled"], status["numberMisscheduled"]) == (1, 1)
    env.patch(
        "",
        "nodes",
        "w-1",
        lambda n: n["spec"].update(taints=[{"key": "x", "effect": "NoExecute"}]),
        namespace="",
    )
    env.run(10)
    assert sorted(placement(env)) == ["w-2"]
    assert env.get("apps", "daemonsets", "agent")["status"]["numberMisscheduled"] == 0


def test_cordoned_nodes_still_run_daemons() -> None:
    env = cluster_with_nodes(2)
    env.patch("", "nodes", "w-1", lambda n: n["spec"].update(unschedulable=True), namespace="")
    env.create(daemonset())
    env.run(10)
    assert sorted(placement(env)) == ["w-1", "w-2"]


class Availability:
    """The lowest number of nodes with an available daemon, and the most daemon pods, at any moment."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.min_ready = 10**9
        self.max_pods = 0
        env.cluster.store.listeners.append(self.check)

    def check(self, key: StorageKey, event: WatchEvent) -> None:
        if key != ("", "pods"):
            return
        live = [p for p in self.env.pods("app=agent") if not is_terminating(p)]
        self.min_ready = min(self.min_ready, len({target_node(p) for p in live if is_ready(p)}))
        self.max_pods = max(self.max_pods, len(live))


def test_rolling_update_by_max_unavailable() -> None:
    env = cluster_with_nodes(5)
    env.create(daemonset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}))
    env.run(10)
    watch = Availability(env)
    env.patch("apps", "daemonsets", "agent", set_image("agent:2"))
    env.run(60)
    assert watch.min_ready == 3 and watch.max_pods <= 5
    assert placement(env) == {f"w-{i}": ["agent:2"] for i in range(1, 6)}
    status = env.get("apps", "daemonsets", "agent")["status"]
    assert status["updatedNumberScheduled"] == status["numberAvailable"] == 5
    assert len(env.list("apps", "controllerrevisions")) == 2


def test_rolling_update_by_max_surge_keeps_every_node_served() -> None:
    env = cluster_with_nodes(4)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    env.create(daemonset(updateStrategy=strategy))
    env.run(10)
    watch = Availability(env)
    env.patch("apps", "daemonsets", "agent", set_image("agent:2"))
    env.run(60)
    assert watch.min_ready == 4 and watch.max_pods == 5
    assert placement(env) == {f"w-{i}": ["agent:2"] for i in range(1, 5)}


def test_on_delete_replaces_only_deleted_pods() -> None:
    env = cluster_with_nodes(2)
    env.create(daemonset(updateStrategy={"type": "OnDelete"}))
    env.run(10)
    env.patch("apps", "daemonsets", "agent", set_image("agent:2"))
    env.run(10)
    assert placement(env) == {"w-1": ["agent:1"], "w-2": ["agent:1"]}
    victim = next(p for p in env.pods("app=agent") if target_node(p) == "w-2")
    env.delete("", "pods", victim["metadata"]["name"])
    env.run(10)
    assert placement(env) == {"w-1": ["agent:1"], "w-2": ["agent:2"]}
    assert env.get("apps", "daemonsets", "agent")["status"]["updatedNumberScheduled"] == 1


def test_a_failed_daemon_pod_is_replaced() -> None:
    env = cluster_with_nodes(1)
    env.create(daemonset())
    env.run(10)
    (pod,) = env.pods("app=agent")
    env.set_phase(pod, "Failed")
    env.run(10)
    (replacement,) = [p for p in env.pods("app=agent") if not is_terminating(p)]
    assert replacement["metadata"]["uid"] != pod["metadata"]["uid"]
    assert is_ready(replacement)


def test_a_sync_that_fails_mid_way_keeps_the_nodes_it_had_not_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = cluster_with_nodes(3)
    controller = env.world.manager.get("daemonset")
    create = controller.create
    seen_at_failure: list[dict[str, list[str]]] = []

    def create_failing_once_on_w2(key: StorageKey, namespace: str, obj: JSONDict) -> Any:
        if key == PODS and target_node(obj) == "w-2" and not seen_at_failure:
            seen_at_failure.append(placement(env))
            # A name clash, as a generated name can give: the write fails, the sync stops there.
            raise errors.already_exists("", "pods", "agent-clash")
        return create(key, namespace, obj)

    monkeypatch.setattr(controller, "create", create_failing_once_on_w2)
    env.create(daemonset())
    env.run(10)
    # Nodes are handled in name order: w-1 was done and w-3 not yet reached when w-2's create failed.
    assert seen_at_failure == [{"w-1": ["agent:1"]}]
    # Nothing else marks w-2 or w-3 for a look again: only the failed sync's own bookkeeping does.
    assert placement(env) == {"w-1": ["agent:1"], "w-2": ["agent:1"], "w-3": ["agent:1"]}
    status = env.get("apps", "daemonsets", "agent")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"]) == (3, 3)
