"""Validation against a cluster through its port: a baseline taken before acting, then the checks
of `overhaul.validate.checks` and a test pod."""

from __future__ import annotations

from overhaul.validate.checks import Baseline, Expectation, Failure, baseline_of, check_cluster
from overhaul.validate.facts import budget_state, node_state, pod_state
from overhaul.validate.ports import TEST_IMAGE, TEST_NAMESPACE, ValidationCluster


def take_baseline(cluster: ValidationCluster) -> Baseline:
    return baseline_of(
        [node_state(n) for n in cluster.list_nodes()],
        [pod_state(p) for p in cluster.list_pods()],
        [budget_state(b) for b in cluster.list_budgets()],
    )


def validate_cluster(
    cluster: ValidationCluster,
    expect: Expectation,
    baseline: Baseline,
    *,
    test_pod: bool = True,
    test_pod_timeout: float = 60.0,
    namespace: str = TEST_NAMESPACE,
    image: str = TEST_IMAGE,
) -> list[Failure]:
    """Every failure found; the test pod runs only when the rest passed (it needs a working cluster,
    and is the slow part)."""
    failures = check_cluster(
        [node_state(n) for n in cluster.list_nodes()],
        [pod_state(p) for p in cluster.list_pods()],
        [budget_state(b) for b in cluster.list_budgets()],
        cluster.apiserver_version(),
        expect,
        baseline,
    )
    if failures or not test_pod:
        return failures
    problem = cluster.run_test_pod(namespace, image, test_pod_timeout)
    return [Failure("test-pod", f"test pod in {namespace}: {problem}")] if problem else []
