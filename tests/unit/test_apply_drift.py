"""Apply refuses a cluster that no longer matches its plan, except for the plan's own changes."""

from __future__ import annotations

from overhaul.domain.plan import (
    Action,
    Amount,
    BatchBy,
    ClusterIdentity,
    ClusterNode,
    DrainSpec,
    Estimate,
    Gates,
    Plan,
    PlanNode,
    PlanSpec,
    ProviderName,
    ProviderSpec,
    Role,
    Stage,
    StageKind,
    Step,
    Strategy,
    Timings,
)
from overhaul.engine.apply.drift import cluster_drift
from overhaul.engine.apply.engine import unsupported_steps
from overhaul.engine.apply.facts import NodeFacts, budget_facts, node_facts, same_version
from overhaul.providers.sim import node_like


def make_plan(*actions: Action) -> Plan:
    nodes = (
        ClusterNode("cp-1", "uid-cp-1", "v1.34.2", Role.CONTROL_PLANE),
        ClusterNode("w-1", "uid-w-1", "v1.34.2", Role.WORKER),
        ClusterNode("w-2", "uid-w-2", "v1.34.2", Role.WORKER),
    )
    steps = tuple(
        Step(
            f"step-{i}",
            action,
            "v1.35.0",
            nodes=(PlanNode(n.name, n.uid, n.version, n.role),),
            drain=DrainSpec(),
        )
        for i, (action, n) in enumerate(zip(actions or (Action.UPGRADE_CONTROL_PLANE,), nodes, strict=False))
    )
    spec = PlanSpec(
        target="v1.35.0",
        strategy=Strategy.ROLLING,
        max_unavailable=Amount(1),
        max_surge=Amount(1),
        batch_by=BatchBy.NONE,
        provider=ProviderSpec(ProviderName.SIM),
        drain=DrainSpec(),
        gates=Gates(),
        windows=(),
        timings=Timings(),
    )
    return Plan(
        name="p",
        created="2026-11-28T00:00:00Z",
        generator="overhaul test",
        cluster=ClusterIdentity("", "", "live", "v1.34.2", nodes),
        spec=spec,
        control_plane_path=("v1.34.2", "v1.35.0"),
        path_summary="",
        stages=(Stage("s", StageKind.CONTROL_PLANE, "t", "v1.34.2", "v1.35.0", steps),),
        estimate=Estimate(0),
    )


def facts(name: str, version: str = "v1.34.2", uid: str = "") -> NodeFacts:
    return NodeFacts(name, uid or f"uid-{name}", version, True, False)


LIVE = [facts("cp-1"), facts("w-1"), facts("w-2")]


def test_the_cluster_the_plan_was_made_for_has_no_drift() -> None:
    assert cluster_drift(make_plan(), LIVE, []) == []


def test_added_gone_and_replaced_nodes_are_each_named() -> None:
    live = [facts("cp-1"), facts("w-1", uid="other"), facts("w-3")]
    drifts = {(d.node, d.change) for d in cluster_drift(make_plan(), live, [])}
    assert drifts == {("w-1", "replaced"), ("w-2", "gone"), ("w-3", "added")}


def test_a_version_moved_by_this_plan_is_explained_only_by_its_journal() -> None:
    plan = make_plan(Action.UPGRADE_CONTROL_PLANE)
    live = [facts("cp-1", "v1.35.0"), facts("w-1"), facts("w-2")]
    [drift] = cluster_drift(plan, live, [])
    assert (
        drift.change == "version" and "cp-1 runs kubelet v1.35.0, the plan expected v1.34.2" in drift.message
    )
    assert cluster_drift(plan, live, ["step-0"]) == []
    # a version no step of the plan brings the node to is never explained
    assert cluster_drift(plan, [facts("cp-1", "v1.36.0"), facts("w-1"), facts("w-2")], ["step-0"])


def test_adding_and_removing_nodes_needs_a_provider_that_creates_them() -> None:
    plan = make_plan(Action.UPGRADE_CONTROL_PLANE, Action.ADD_NODES)
    assert [s.id for s in unsupported_steps(plan)] == ["step-1"]
    assert unsupported_steps(plan, creates_nodes=True) == []
    assert unsupported_steps(make_plan(Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES)) == []


def test_a_node_gone_is_explained_only_by_a_started_remove_step() -> None:
    plan = make_plan(Action.UPGRADE_CONTROL_PLANE, Action.REMOVE_NODES)
    live = [facts("cp-1"), facts("w-2")]
    assert [(d.node, d.change) for d in cluster_drift(plan, live, [])] == [("w-1", "gone")]
    assert cluster_drift(plan, live, ["step-1"]) == []


def test_a_new_node_is_made_like_the_old_one_at_the_target() -> None:
    old = {
        "metadata": {
            "name": "w-1",
            "labels": {"kubernetes.io/hostname": "w-1", "topology.kubernetes.io/zone": "a", "pool": "gpu"},
            "annotations": {"upgrade.overhaul.io/kubelet-version": "v1.34.2"},
        },
        "spec": {
            "unschedulable": True,
            "taints": [
                {"key": "gpu", "value": "true", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            ],
        },
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.34.2", "architecture": "amd64", "bootID": "x"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    new = node_like(old, "w-1-v1-35-0", "v1.35.0", "b")
    assert new["metadata"]["name"] == "w-1-v1-35-0"
    assert new["metadata"]["labels"] == {
        "kubernetes.io/hostname": "w-1-v1-35-0",
        "topology.kubernetes.io/zone": "b",
        "pool": "gpu",
    }
    assert new["spec"] == {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]}
    assert new["status"]["capacity"] == old["status"]["capacity"]
    assert new["status"]["allocatable"] == old["status"]["allocatable"]
    assert new["status"]["nodeInfo"] == {
        "architecture": "amd64",
        "kubeletVersion": "v1.35.0",
        "kubeProxyVersion": "v1.35.0",
    }
    assert "addresses" not in new["status"] and "conditions" not in new["status"]


def test_node_and_budget_facts_read_the_fields_apply_decides_on() -> None:
    node = node_facts(
        {
            "metadata": {"name": "w-1", "uid": "u"},
            "spec": {"unschedulable": True},
            "status": {
                "nodeInfo": {"kubeletVersion": "v1.35.0"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )
    assert node == NodeFacts("w-1", "u", "v1.35.0", True, True)
    assert node.runs("1.35.0") and not node.runs("v1.35.1")
    assert same_version("v1.35.0", "1.35.0")
    budget = budget_facts(
        {
            "metadata": {"namespace": "shop", "name": "web"},
            "status": {"currentHealthy": 1, "desiredHealthy": 2},
        }
    )
    assert not budget.healthy and budget.key == "shop/web"
    assert budget_facts({"metadata": {"name": "x", "namespace": "y"}, "status": {}}).healthy
