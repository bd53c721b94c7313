"""Whole plans from `build_plan`: stages and steps per strategy, and the properties every plan keeps:
the control plane never skips a minor, no kubelet is ever outside the skew policy, every node is
upgraded (and exactly once when one roll suffices)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.domain.cluster import ClusterView, NodeView, PodView, Taint, WorkloadView
from overhaul.domain.plan import (
    Action,
    Amount,
    BatchBy,
    DrainSpec,
    Gates,
    Plan,
    PlanSpec,
    ProviderName,
    ProviderSpec,
    Role,
    StageKind,
    Strategy,
    Timings,
)
from overhaul.planning.build import build_plan
from overhaul.planning.invariants import check_plan
from overhaul.planning.windows import parse_window
from tests.unit.preflight_views import CONTROL_PLANE_LABEL, app, cluster, node, pdb, pod, static_pods

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # a Wednesday
ZONE = "topology.kubernetes.io/zone"


def spec(target: str = "1.36", **changes: object) -> PlanSpec:
    base = PlanSpec(
        target=target,
        strategy=Strategy.ROLLING,
        max_unavailable=Amount(3),
        max_surge=Amount(2),
        batch_by=BatchBy.ZONE,
        provider=ProviderSpec(ProviderName.SIM),
        drain=DrainSpec(),
        gates=Gates(),
        windows=(),
        timings=Timings(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def demo_like(version: str = "v1.34.2", workers: int = 6, cps: int = 3) -> ClusterView:
    nodes: list[NodeView] = []
    pods: list[PodView] = []
    for i in range(cps):
        name = f"cp-{i + 1}"
        nodes.append(
            node(
                name,
                kubelet=version,
                control_plane=True,
                taints=[Taint(CONTROL_PLANE_LABEL, "", "NoSchedule")],
                labels={ZONE: f"z{i % 3}"},
            )
        )
        pods += static_pods(name, version=version)
    names = [f"w-{i + 1}" for i in range(workers)]
    nodes += [node(n, kubelet=version, labels={ZONE: f"z{i % 3}"}) for i, n in enumerate(names)]
    w1, p1 = app("shop", "web", 3, names)
    w2, p2 = app("shop", "db", 2, names[1:], kind="StatefulSet")
    pods += [*p1, *p2]
    return cluster(
        nodes,
        pods,
        [*w1, *w2],
        [pdb("shop", "web", "web", max_unavailable=1), pdb("shop", "db", "db", min_available=1)],
        version=version,
    )


def plan_for(view: ClusterView, the_spec: PlanSpec | None = None) -> Plan:
    return build_plan(view, the_spec or spec(), server="https://example:6443", now=NOW)


def step_ids(plan: Plan) -> list[str]:
    return [s.id for s in plan.steps]


def test_rolling_plan_control_plane_first_then_worker_waves() -> None:
    plan = plan_for(demo_like())
    assert check_plan(plan) == []
    assert [s.id for s in plan.stages] == [
        "control-plane-v1.35.4",
        "control-plane-v1.36.0",
        "workers-v1.36.0",
    ]
    cp = plan.stages[0]
    assert cp.kind is StageKind.CONTROL_PLANE
    assert [s.node_names for s in cp.steps] == [("cp-1",), ("cp-2",), ("cp-3",)]
    assert all(s.action is Action.UPGRADE_CONTROL_PLANE and s.drain is not None for s in cp.steps)
    workers = plan.stages[2]
    upgraded = [n for s in workers.steps for n in s.node_names]
    assert sorted(upgraded) == [f"w-{i}" for i in range(1, 7)]
    assert all(s.action is Action.UPGRADE_NODES for s in workers.steps)
    assert all(len({n.zone for n in s.nodes}) == 1 for s in workers.steps)  # --batch-by zone
    assert step_ids(plan)[:2] == ["control-plane-v1.35.4/cp-1", "control-plane-v1.35.4/cp-2"]
    assert workers.steps[0].id == "workers-v1.36.0/wave-01"
    assert plan.control_plane_path == ("v1.34.2", "v1.35.4", "v1.36.0")
    node_versions = {n.name: n.version for s in workers.steps for n in s.nodes}
    assert set(node_versions.values()) == {"v1.34.2"}


def test_the_same_inputs_give_the_same_step_ids() -> None:
    assert step_ids(plan_for(demo_like())) == step_ids(plan_for(demo_like()))


def test_surge_adds_drains_and_removes_per_wave() -> None:
    plan = plan_for(demo_like(), spec(strategy=Strategy.SURGE, max_surge=Amount(2)))
    assert check_plan(plan) == []
    workers = plan.stages[-1]
    actions = [s.action for s in workers.steps]
    assert actions[:3] == [Action.ADD_NODES, Action.DRAIN_NODES, Action.REMOVE_NODES]
    for add, drain, remove in zip(workers.steps[::3], workers.steps[1::3], workers.steps[2::3], strict=True):
        assert [n.like for n in add.new_nodes] == list(drain.node_names) == list(remove.node_names)
        assert all(n.name == f"{n.like}-v1-36-0" for n in add.new_nodes)
        assert 1 <= len(add.new_nodes) <= 2
        assert drain.drain is not None and remove.drain is None
    old = [n for s in workers.steps if s.action is Action.REMOVE_NODES for n in s.node_names]
    assert sorted(old) == [f"w-{i}" for i in range(1, 7)]


def test_blue_green_builds_a_pool_cordons_the_old_drains_in_batches_and_removes_it() -> None:
    plan = plan_for(demo_like(), spec(strategy=Strategy.BLUE_GREEN, gates=Gates(soak_seconds=600)))
    assert check_plan(plan) == []
    steps = plan.stages[-1].steps
    assert steps[0].id.endswith("/add-pool") and len(steps[0].new_nodes) == 6
    assert steps[1].action is Action.CORDON_NODES and len(steps[1].nodes) == 6
    drains = steps[2:-1]
    assert all(s.action is Action.DRAIN_NODES and s.gates.soak_seconds == 600 for s in drains)
    assert sorted(n for s in drains for n in s.node_names) == [f"w-{i}" for i in range(1, 7)]
    assert steps[-1].action is Action.REMOVE_NODES and len(steps[-1].nodes) == 6
    assert steps[0].gates.empty and steps[1].gates.empty  # gates follow steps that drain


def test_a_managed_control_plane_is_one_provider_step_per_hop() -> None:
    view = cluster([node("w-1"), node("w-2")], version="v1.34.2")
    the_spec = spec(
        provider=ProviderSpec(ProviderName.EXEC, "upgrade-cp {version}", "upgrade-node {node} {version}")
    )
    plan = plan_for(view, the_spec)
    assert check_plan(plan) == []
    cp_steps = [s for s in plan.steps if s.action is Action.UPGRADE_CONTROL_PLANE]
    assert [(s.nodes, s.commands) for s in cp_steps] == [
        ((), ("upgrade-cp v1.35.4",)),
        ((), ("upgrade-cp v1.36.0",)),
    ]
    worker = next(s for s in plan.steps if s.action is Action.UPGRADE_NODES)
    assert worker.nodes[0].commands == (f"upgrade-node {worker.nodes[0].name} v1.36.0",)


def test_kubeadm_first_control_plane_node_applies_the_others_follow() -> None:
    the_spec = spec(provider=ProviderSpec(ProviderName.KUBEADM, ssh_user="admin", package_manager="apt"))
    plan = plan_for(demo_like(), the_spec)
    first, second = plan.stages[0].steps[:2]
    assert any("kubeadm upgrade apply -y v1.35.4" in c for c in first.nodes[0].commands)
    assert any("kubeadm upgrade node" in c for c in second.nodes[0].commands)
    assert any("workers go up to 2 minors at once" in w for w in plan.warnings)


def test_quorum_warnings() -> None:
    assert any("one control-plane node" in w for w in plan_for(demo_like(cps=1)).warnings)
    assert any("two control-plane nodes" in w for w in plan_for(demo_like(cps=2)).warnings)
    assert plan_for(demo_like(cps=3)).warnings == ()


def test_gates_drain_options_and_estimates_are_on_every_step_that_drains() -> None:
    gates = Gates(soak_seconds=300, validate=True)
    plan = plan_for(demo_like(), spec(gates=gates, drain=DrainSpec(force=True, timeout_seconds=60)))
    for step in plan.steps:
        assert step.gates == gates and step.drain == DrainSpec(force=True, timeout_seconds=60)
        assert step.estimate_seconds == 120 + 180 + 60 + 300 + 30
    assert plan.estimate.total_seconds == sum(s.estimate_seconds for s in plan.steps)


def test_windows_give_openings_and_the_earliest_run() -> None:
    window = parse_window("Sat,Sun 01:00-05:00 Europe/Berlin")
    plan = plan_for(demo_like(), spec(windows=(window,)))
    assert plan.estimate.windows_needed >= 1
    assert plan.estimate.earliest_start == "2026-12-05T00:00:00Z"  # Saturday 01:00 in Berlin (CET)


def test_notes_name_budgets_that_block_and_pods_without_controllers() -> None:
    view = demo_like()
    workloads, pods = app("pay", "ledger", 2, ["w-1"])
    view = replace(
        view,
        pods=(*view.pods, *pods, pod("default", "debug", node="w-2")),
        workloads=(*view.workloads, *workloads),
        pdbs=(*view.pdbs, pdb("pay", "ledger", "ledger", min_available=2)),
    )
    plan = plan_for(view)
    notes = [n for s in plan.steps for n in s.notes]
    assert any("pay/ledger allows no disruption" in n for n in notes)
    assert any("refuses 1 pod(s) that no controller recreates: default/debug" in n for n in notes)
    forced = plan_for(view, spec(drain=DrainSpec(force=True)))
    assert any("deletes 1 pod(s)" in n for s in forced.steps for n in s.notes)


def test_cordoned_nodes_are_marked_so_apply_leaves_them_cordoned() -> None:
    view = demo_like()
    view = replace(view, nodes=tuple(replace(n, unschedulable=n.name == "w-2") for n in view.nodes))
    plan = plan_for(view)
    marked = {n.name: n.cordoned for s in plan.steps for n in s.nodes}
    assert marked["w-2"] and not marked["w-1"]


def test_nothing_to_do() -> None:
    plan = plan_for(demo_like(), spec(target="1.34.2"))
    assert plan.stages == () and plan.estimate.total_seconds == 0 and check_plan(plan) == []


def test_identity_records_every_node() -> None:
    view = demo_like()
    plan = plan_for(view)
    assert [(n.name, n.uid, n.version) for n in plan.cluster.nodes] == [
        (n.name, n.uid, n.kubelet_version) for n in view.nodes
    ]
    assert plan.cluster.node("cp-1") is not None and plan.cluster.node("cp-1").role is Role.CONTROL_PLANE  # type: ignore[union-attr]
    assert plan.cluster.server == "https://example:6443"


# ----- properties


@st.composite
def version_scenarios(draw: st.DrawFn) -> tuple[ClusterView, str]:
    """A cluster at 1.26 to 1.35 with workers anywhere the skew policy allows now, and a target up to
    four minors ahead (in the release table)."""
    cp_minor = draw(st.integers(26, 35))
    cp = f"v1.{cp_minor}.{draw(st.integers(0, 3))}"
    cps = draw(st.integers(0, 3))
    nodes: list[NodeView] = []
    pods: list[PodView] = []
    for i in range(cps):
        nodes.append(node(f"cp-{i}", kubelet=cp, control_plane=True, labels={ZONE: f"z{i % 2}"}))
        pods += static_pods(f"cp-{i}", version=cp)
    for i in range(draw(st.integers(1, 7))):
        lag = draw(st.integers(0, 3 if cp_minor - 3 >= 25 else 2))  # kubelets before 1.25: two minors
        nodes.append(
            node(
                f"w-{i}", kubelet=f"v1.{cp_minor - lag}.{draw(st.integers(0, 5))}", labels={ZONE: f"z{i % 2}"}
            )
        )
    names = [n.name for n in nodes if not n.control_plane]
    workloads: list[WorkloadView] = []
    budgets = []
    for a in range(draw(st.integers(0, 3))):
        replicas = draw(st.integers(1, 4))
        w, p = app("ns", f"a{a}", replicas, draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)))
        workloads += w
        pods += p
        budgets.append(pdb("ns", f"a{a}", f"a{a}", max_unavailable=1))
    target_minor = min(37, cp_minor + draw(st.integers(0, 4)))
    target = f"1.{target_minor}" + (f".{draw(st.integers(4, 9))}" if draw(st.booleans()) else "")
    return cluster(nodes, pods, workloads, budgets, version=cp), target


@settings(max_examples=120, deadline=None)
@given(
    scenario=version_scenarios(),
    strategy=st.sampled_from(list(Strategy)),
    cap=st.integers(1, 4),
    by_zone=st.sampled_from(list(BatchBy)),
)
def test_every_plan_keeps_the_invariants(
    scenario: tuple[ClusterView, str], strategy: Strategy, cap: int, by_zone: BatchBy
) -> None:
    view, target = scenario
    the_spec = spec(
        target, strategy=strategy, max_unavailable=Amount(cap), max_surge=Amount(cap), batch_by=by_zone
    )
    plan = plan_for(view, the_spec)
    # The control plane never skips a minor; no kubelet outside the skew policy at any step; every node
    # at the target at the end (replayed step by step by the checker).
    assert check_plan(plan) == []
    for stage in plan.stages:
        touched = Counter(
            n.name
            for s in stage.steps
            if s.action in (Action.UPGRADE_NODES, Action.DRAIN_NODES, Action.UPGRADE_CONTROL_PLANE)
            for n in s.nodes
        )
        assert all(n == 1 for n in touched.values()), stage.id  # once per stage
        for step in stage.steps:
            if stage.kind is StageKind.CONTROL_PLANE:
                assert len(step.nodes) <= 1
            elif (
                step.action in (Action.UPGRADE_NODES, Action.DRAIN_NODES)
                and strategy is not Strategy.BLUE_GREEN
            ):
                assert len(step.nodes) <= cap
    hops = [s for s in plan.stages if s.kind is StageKind.CONTROL_PLANE]
    minors = [int(v.split(".")[1]) for v in plan.control_plane_path]
    assert all(b - a <= 1 for a, b in itertools.pairwise(minors))
    assert len(hops) == len(plan.control_plane_path) - 1


@settings(max_examples=60, deadline=None)
@given(
    minor=st.integers(26, 34),
    ahead=st.integers(1, 3),
    workers=st.integers(1, 8),
    strategy=st.sampled_from([Strategy.ROLLING, Strategy.SURGE]),
)
def test_workers_within_the_skew_are_upgraded_exactly_once(
    minor: int, ahead: int, workers: int, strategy: Strategy
) -> None:
    version = f"v1.{minor}.1"
    view = cluster(
        [
            node("cp-1", kubelet=version, control_plane=True),
            *(node(f"w-{i}", kubelet=version) for i in range(workers)),
        ],
        static_pods("cp-1", version=version),
        version=version,
    )
    plan = plan_for(view, spec(f"1.{minor + ahead}", strategy=strategy))
    acted = Counter(
        n.name for s in plan.steps if s.action in (Action.UPGRADE_NODES, Action.DRAIN_NODES) for n in s.nodes
    )
    assert acted == Counter({f"w-{i}": 1 for i in range(workers)})
    assert len([s for s in plan.steps if s.action is Action.UPGRADE_CONTROL_PLANE]) == ahead


def test_the_checker_catches_a_skipped_minor_and_a_stranded_kubelet() -> None:
    plan = plan_for(demo_like())
    stages = list(plan.stages)
    # Drop the first hop: the control plane would jump 1.34 → 1.36.
    skipped = replace(plan, stages=tuple(stages[1:]))
    assert any("one minor at a time" in p.message for p in check_plan(skipped))
    # Move the workers before the control plane: kubelets newer than the API servers.
    early = replace(plan, stages=(stages[2], stages[0], stages[1]))
    assert any("outside the skew policy" in p.message for p in check_plan(early))


@pytest.mark.parametrize("strategy", list(Strategy))
def test_multi_roll_plans_follow_replaced_nodes(strategy: Strategy) -> None:
    view = cluster(
        [node("cp-1", kubelet="v1.34.2", control_plane=True), node("old", kubelet="v1.31.1"), node("new")],
        static_pods("cp-1", version="v1.34.2"),
        version="v1.34.2",
    )
    plan = plan_for(view, spec("1.36", strategy=strategy))
    assert check_plan(plan) == []
    assert [s.id for s in plan.stages] == [
        "workers-v1.34.2",
        "control-plane-v1.35.4",
        "control-plane-v1.36.0",
        "workers-v1.36.0",
    ]
    if strategy is not Strategy.ROLLING:
        final = [n for s in plan.stages[-1].steps for n in (*s.node_names, *(x.like for x in s.new_nodes))]
        assert "old-v1-34-2" in final and "old" not in final
