"""`pdb-blocks-drain`, `pdb-multiple`, `unmanaged-pod`, `local-storage` and `single-replica`."""

from __future__ import annotations

from typing import Any

from overhaul.domain.cluster import ClusterView
from overhaul.domain.findings import Severity
from overhaul.preflight.budgets import pdb_blocks_drain, pdb_multiple, scaled
from overhaul.preflight.drain import local_storage, single_replica, unmanaged_pod
from tests.unit.preflight_views import app, cluster, data, healthy_cluster, pdb, pod, workers

NODES = ["worker-1", "worker-2", "worker-3"]


def _with_pdb(replicas: int, **budget: Any) -> ClusterView:
    workloads, pods = app("payments", "ledger", replicas, NODES)
    return cluster(workers(3), pods, workloads, [pdb("payments", "ledger", "ledger", **budget)])


def test_every_disruption_check_is_quiet_on_a_healthy_cluster() -> None:
    checked = data(healthy_cluster())
    for check in (pdb_blocks_drain, pdb_multiple, unmanaged_pod, local_storage, single_replica):
        assert check(checked) == [], check.__name__


def test_min_available_equal_to_replicas_blocks_and_names_the_workload_and_fix() -> None:
    view = _with_pdb(2, min_available=2)
    [finding] = pdb_blocks_drain(data(view))
    assert finding.severity is Severity.BLOCKING
    assert finding.object.kind == "PodDisruptionBudget" and finding.object.name == "ledger"
    assert "Deployment payments/ledger" in finding.message
    assert "minAvailable to 1" in finding.remedy and "3 replicas" in finding.remedy


def test_max_unavailable_zero_blocks() -> None:
    view = _with_pdb(3, max_unavailable=0)
    [finding] = pdb_blocks_drain(data(view))
    assert "maxUnavailable 0" in finding.message


def test_a_percentage_that_rounds_up_to_every_pod_blocks() -> None:
    view = _with_pdb(3, min_available="90%")  # ceil(2.7) = 3 of 3
    assert len(pdb_blocks_drain(data(view))) == 1
    view = _with_pdb(3, min_available="50%")
    assert pdb_blocks_drain(data(view)) == []


def test_zero_disruptions_while_every_pod_is_healthy_blocks() -> None:
    view = _with_pdb(3, min_available=1, disruptions_allowed=0, expected=3, healthy=3)
    [finding] = pdb_blocks_drain(data(view))
    assert "0 disruptions" in finding.message


def test_zero_disruptions_with_an_unhealthy_pod_is_not_a_deadlock() -> None:
    workloads, pods = app("payments", "ledger", 3, NODES)
    pods[0] = pod(
        "payments", "ledger-0", node="worker-1", owner=workloads[1], labels={"app": "ledger"}, ready=False
    )
    view = cluster(
        workers(3),
        pods,
        workloads,
        [pdb("payments", "ledger", "ledger", min_available=2, disruptions_allowed=0, expected=3, healthy=2)],
    )
    assert pdb_blocks_drain(data(view)) == []


def test_a_pdb_selecting_nothing_blocks_nothing() -> None:
    view = cluster(workers(1), pdbs=[pdb("x", "orphan", "nothing-here", max_unavailable=0)])
    assert pdb_blocks_drain(data(view)) == []


def test_scaled_rounds_up_as_the_disruption_controller() -> None:
    assert scaled("34%", 3) == 2 and scaled(2, 3) == 2 and scaled("0%", 3) == 0 and scaled("x%", 3) is None


def test_pods_selected_by_two_pdbs_block_once_per_workload() -> None:
    workloads, pods = app("shop", "cart", 2, NODES)
    view = cluster(
        workers(3),
        pods,
        workloads,
        [pdb("shop", "cart", "cart", max_unavailable=1), pdb("shop", "cart-extra", "cart", min_available=1)],
    )
    [finding] = pdb_multiple(data(view))
    assert finding.severity is Severity.BLOCKING
    assert finding.object.kind == "Deployment" and finding.object.name == "cart"
    assert "cart, cart-extra" in finding.message


def test_a_bare_pod_blocks_but_a_mirror_or_finished_one_does_not() -> None:
    pods = [
        pod("default", "debug-shell", node="worker-1"),
        pod("kube-system", "etcd-worker-1", node="worker-1", mirror=True),
        pod("default", "done", node="worker-1", phase="Succeeded", ready=False),
    ]
    [finding] = unmanaged_pod(data(cluster(workers(1), pods)))
    assert finding.severity is Severity.BLOCKING and finding.object.name == "debug-shell"


def test_empty_dir_pods_warn_grouped_by_controller() -> None:
    workloads, pods = app("shop", "catalog", 3, NODES, empty_dir=True)
    [finding] = local_storage(data(cluster(workers(3), pods, workloads)))
    assert finding.severity is Severity.WARNING
    assert finding.object.kind == "Deployment" and finding.object.name == "catalog"
    assert finding.message.startswith("3 pods of Deployment shop/catalog")


def test_single_replica_warns_for_the_deployment_not_its_replicaset() -> None:
    workloads, pods = app("monitoring", "grafana", 1, NODES)
    found = single_replica(data(cluster(workers(3), pods, workloads)))
    assert [(f.object.kind, f.object.name, f.severity) for f in found] == [
        ("Deployment", "grafana", Severity.WARNING)
    ]


def test_single_replica_ignores_scaled_down_and_daemon_workloads() -> None:
    workloads, pods = app("a", "zero", 0, NODES)
    statefulsets, sts_pods = app("a", "db", 3, NODES, kind="StatefulSet")
    assert single_replica(data(cluster(workers(3), pods + sts_pods, workloads + statefulsets))) == []
