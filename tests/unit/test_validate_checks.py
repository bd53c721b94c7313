"""Validation's pure decisions, and what the apply engine expects of versions after each step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from overhaul.domain.plan import Gates
from overhaul.engine.apply.engine import Applier, Outcome
from overhaul.engine.apply.gates import expected_versions
from overhaul.engine.journal import DirectoryJournalStore, Journal
from overhaul.validate.checks import (
    BudgetState,
    Expectation,
    NodeState,
    PodState,
    at_least,
    baseline_of,
    check_cluster,
    describe,
)
from overhaul.validate.facts import pod_state
from tests.unit.test_apply_engine import FAST, FakeCluster, FakeUpgrader, three_step_plan


def test_versions_compare_by_minor_when_only_a_minor_is_asked() -> None:
    assert at_least("v1.35.4", "1.35") and at_least("v1.36.0", "v1.35.4") and at_least("v1.35.4", "v1.35.4")
    assert not at_least("v1.35.3", "v1.35.4") and not at_least("v1.34.9", "1.35")
    assert not at_least("garbage", "1.35")


def test_only_what_went_wrong_since_the_baseline_fails() -> None:
    before_nodes = [NodeState("a", "v1.34.2", True), NodeState("b", "v1.34.2", False)]
    before_pods = [PodState("ns/old-pending", False, True), PodState("ns/ok", False, False)]
    before_budgets = [BudgetState("ns/weak", 0, 1), BudgetState("ns/fine", 2, 1)]
    baseline = baseline_of(before_nodes, before_pods, before_budgets)
    assert check_cluster(before_nodes, before_pods, before_budgets, "v1.34.2", Expectation(), baseline) == []
    nodes = [NodeState("a", "v1.34.2", False), NodeState("b", "v1.35.0", False)]
    pods = [*before_pods, PodState("ns/new-crash", True, False), PodState("ns/new-pending", False, True)]
    budgets = [BudgetState("ns/weak", 0, 1), BudgetState("ns/fine", 0, 1)]
    expect = Expectation(nodes={"a": "v1.35.0", "b": "v1.35.0", "gone": "v1.35.0"}, apiserver="v1.35.0")
    failures = check_cluster(nodes, pods, budgets, "v1.34.2", expect, baseline)
    assert [(f.check, f.message) for f in failures] == [
        ("versions", "kube-apiserver runs v1.34.2, expected v1.35.0 or newer"),
        ("versions", "node a runs kubelet v1.34.2, expected v1.35.0 or newer"),
        ("versions", "node gone is gone (expected kubelet v1.35.0)"),
        ("nodes-ready", "node a is not Ready"),
        ("pods", "pod ns/new-crash is crash-looping"),
        ("pods", "pod ns/new-pending is Pending"),
        ("budgets", "PodDisruptionBudget ns/fine has 0 healthy pods, needs 1"),
    ]
    assert describe(failures, 2).endswith("; and 5 more")


def test_a_pod_crash_loops_when_a_container_waits_in_crash_loop_back_off() -> None:
    pod = {
        "metadata": {"namespace": "ns", "name": "p"},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        },
    }
    assert pod_state(pod) == PodState("ns/p", True, False)
    deleting = {
        "metadata": {"namespace": "ns", "name": "q", "deletionTimestamp": "x"},
        "status": {"phase": "Pending"},
    }
    assert not pod_state(deleting).pending


def test_expected_versions_follow_the_steps_done() -> None:
    plan = three_step_plan()
    cp, wave = plan.steps
    after_cp = expected_versions(plan, [], cp)
    assert after_cp == Expectation(nodes={"cp-1": "v1.35.0"}, apiserver="v1.35.0")
    after_all = expected_versions(plan, [cp.id], wave)
    assert after_all.nodes == {"cp-1": "v1.35.0", "w-1": "v1.35.0", "w-2": "v1.35.0"}


class FakeValidation:
    """The validation port over the fake cluster; its test pod fails while `pod_problem` is set."""

    def __init__(self, cluster: FakeCluster, pod_problem: str = "") -> None:
        self.cluster = cluster
        self.pod_problem = pod_problem
        self.test_pods = 0

    def apiserver_version(self) -> str:
        return self.cluster.version("cp-1")

    def list_nodes(self) -> Sequence[Mapping[str, Any]]:
        return self.cluster.list_nodes()

    def list_pods(self) -> Sequence[Mapping[str, Any]]:
        return []

    def list_budgets(self) -> Sequence[Mapping[str, Any]]:
        return []

    def run_test_pod(self, namespace: str, image: str, timeout: float) -> str:
        self.test_pods += 1
        return self.pod_problem


def validated_plan() -> Any:
    plan = three_step_plan()
    stages = tuple(
        replace(stage, steps=tuple(replace(s, gates=Gates(validate=True)) for s in stage.steps))
        for stage in plan.stages
    )
    return replace(plan, stages=stages)


def run_validated(tmp_path: Path, validation: FakeValidation, cluster: FakeCluster) -> Any:
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        return Applier(
            validated_plan(), cluster, FakeUpgrader(cluster), journal, options=FAST, validation=validation
        ).run()


def test_the_validate_gate_passes_or_fails_the_step_with_what_failed(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    good = FakeValidation(cluster)
    assert run_validated(tmp_path / "good", good, cluster).outcome is Outcome.SUCCEEDED
    assert good.test_pods == 2
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    bad = FakeValidation(cluster, pod_problem="pod overhaul-validate-x was not Ready after 60s")
    result = run_validated(tmp_path / "bad", bad, cluster)
    assert result.outcome is Outcome.FAILED and result.failed_step == "cp/cp-1"
    assert result.message.startswith("validate gate: test pod in overhaul-validate: pod overhaul-validate-x")
