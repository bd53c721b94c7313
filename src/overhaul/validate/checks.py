"""Post-upgrade validation as pure decisions over plain values: versions, Ready nodes, pods that
crash-loop or stay Pending, PodDisruptionBudgets, and the test pod's outcome.

`overhaul.validate.facts` reads the values from API JSON; `overhaul.validate.run` asks the cluster
through a port (`overhaul.validate.ports.ValidationCluster`) and applies these checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from overhaul.domain.version import Version, VersionError


@dataclass(frozen=True)
class NodeState:
    name: str
    kubelet: str  # v1.35.4
    ready: bool


@dataclass(frozen=True)
class PodState:
    key: str  # namespace/name
    crash_looping: bool  # a container waiting in CrashLoopBackOff
    pending: bool  # phase Pending (not scheduled, or not started)


@dataclass(frozen=True)
class BudgetState:
    key: str  # namespace/name
    current_healthy: int
    desired_healthy: int

    @property
    def healthy(self) -> bool:
        return self.current_healthy >= self.desired_healthy


@dataclass(frozen=True)
class Baseline:
    """What was already unwell when the apply started: not held against the upgrade."""

    not_ready: frozenset[str] = frozenset()
    bad_pods: frozenset[str] = frozenset()  # crash-looping or Pending
    unhealthy_budgets: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Expectation:
    """The versions the cluster should run by now: each node's kubelet at least its version (nodes
    the plan has not reached yet are not listed), and kube-apiserver at least `apiserver`."""

    nodes: Mapping[str, str] = field(default_factory=dict)
    apiserver: str = ""


@dataclass(frozen=True)
class Failure:
    check: str  # versions | nodes-ready | pods | budgets | test-pod
    message: str


def at_least(version: str, minimum: str) -> bool:
    """Whether `version` is `minimum` or newer (`v1.35.4` ≥ `1.35`); unparseable: not."""
    try:
        have, want = Version.parse(version), Version.parse(minimum)
    except VersionError:
        return False
    if want.patch is None:  # only the minor was asked for
        return have.minor_key >= want.minor_key
    return (*have.minor_key, have.patch or 0) >= (*want.minor_key, want.patch)


def check_versions(nodes: Iterable[NodeState], apiserver: str, expect: Expectation) -> list[Failure]:
    found = {n.name: n for n in nodes}
    failures = []
    if expect.apiserver and not at_least(apiserver, expect.apiserver):
        failures.append(
            Failure("versions", f"kube-apiserver runs {apiserver}, expected {expect.apiserver} or newer")
        )
    for name, minimum in sorted(expect.nodes.items()):
        node = found.get(name)
        if node is None:
            failures.append(Failure("versions", f"node {name} is gone (expected kubelet {minimum})"))
        elif not at_least(node.kubelet, minimum):
            failures.append(
                Failure("versions", f"node {name} runs kubelet {node.kubelet}, expected {minimum} or newer")
            )
    return failures


def check_nodes_ready(nodes: Iterable[NodeState], baseline: Baseline) -> list[Failure]:
    return [
        Failure("nodes-ready", f"node {n.name} is not Ready")
        for n in sorted(nodes, key=lambda n: n.name)
        if not n.ready and n.name not in baseline.not_ready
    ]


def check_pods(pods: Iterable[PodState], baseline: Baseline) -> list[Failure]:
    failures = []
    for pod in sorted(pods, key=lambda p: p.key):
        if pod.key in baseline.bad_pods:
            continue
        if pod.crash_looping:
            failures.append(Failure("pods", f"pod {pod.key} is crash-looping"))
        elif pod.pending:
            failures.append(Failure("pods", f"pod {pod.key} is Pending"))
    return failures


def check_budgets(budgets: Iterable[BudgetState], baseline: Baseline) -> list[Failure]:
    return [
        Failure(
            "budgets",
            f"PodDisruptionBudget {b.key} has {b.current_healthy} healthy pods, needs {b.desired_healthy}",
        )
        for b in sorted(budgets, key=lambda b: b.key)
        if not b.healthy and b.key not in baseline.unhealthy_budgets
    ]


def baseline_of(
    nodes: Iterable[NodeState], pods: Iterable[PodState], budgets: Iterable[BudgetState]
) -> Baseline:
    return Baseline(
        not_ready=frozenset(n.name for n in nodes if not n.ready),
        bad_pods=frozenset(p.key for p in pods if p.crash_looping or p.pending),
        unhealthy_budgets=frozenset(b.key for b in budgets if not b.healthy),
    )


def check_cluster(
    nodes: Sequence[NodeState],
    pods: Sequence[PodState],
    budgets: Sequence[BudgetState],
    apiserver: str,
    expect: Expectation,
    baseline: Baseline,
) -> list[Failure]:
    """Every check over what the cluster shows (the test pod aside)."""
    return [
        *check_versions(nodes, apiserver, expect),
        *check_nodes_ready(nodes, baseline),
        *check_pods(pods, baseline),
        *check_budgets(budgets, baseline),
    ]


def describe(failures: Sequence[Failure], limit: int = 5) -> str:
    """One line: the first failures, and how many more."""
    text = "; ".join(f.message for f in failures[:limit])
    if len(failures) > limit:
        text += f"; and {len(failures) - limit} more"
    return text
