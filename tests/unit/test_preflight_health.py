"""`node-not-ready`, `pod-not-running` and `control-plane-health`."""

from __future__ import annotations

from overhaul.domain.cluster import Condition
from overhaul.domain.findings import Severity
from overhaul.preflight.health import control_plane_health, node_not_ready, pod_not_running
from overhaul.preflight.sources.readyz import parse_readyz
from tests.unit.preflight_views import (
    NOW,
    app,
    cluster,
    data,
    healthy_cluster,
    node,
    pod,
    static_pods,
    workers,
)

READYZ_FAILING = """[+]ping ok
[+]log ok
[-]etcd failed: reason withheld
[+]poststarthook/start-apiextensions-controllers ok
readyz check failed
"""


def test_health_checks_are_quiet_on_a_healthy_cluster() -> None:
    checked = data(healthy_cluster(), readyz="[+]ping ok\n[+]etcd ok\nreadyz check passed\n")
    for check in (node_not_ready, pod_not_running, control_plane_health):
        assert check(checked) == [], check.__name__


def test_a_not_ready_node_blocks() -> None:
    view = cluster([*workers(1), node("sick", ready=False), node("silent", ready=None)])
    found = node_not_ready(data(view))
    assert [(f.object.name, f.severity) for f in found] == [
        ("sick", Severity.BLOCKING),
        ("silent", Severity.BLOCKING),
    ]


def test_pressure_warns_and_a_cordon_informs() -> None:
    view = cluster(
        [
            node("full", conditions=[Condition("DiskPressure", "True")]),
            node("cordoned", unschedulable=True),
        ]
    )
    found = node_not_ready(data(view))
    assert {(f.object.name, f.severity) for f in found} == {
        ("full", Severity.WARNING),
        ("cordoned", Severity.INFO),
    }


def test_crash_looping_pods_warn_once_per_workload() -> None:
    workloads, pods = app("shop", "api", 2, ["worker-1"], waiting="CrashLoopBackOff", restarts=7)
    [finding] = pod_not_running(data(cluster(workers(1), pods, workloads)))
    assert finding.severity is Severity.WARNING
    assert finding.object.name == "api" and "CrashLoopBackOff, 7 restarts" in finding.message


def test_pending_and_unready_pods_warn_only_past_their_grace() -> None:
    fresh, stale = NOW, NOW.replace(hour=NOW.hour - 1)
    pods = [
        pod("a", "new-pending", phase="Pending", ready=False, start=None, created=fresh),
        pod("a", "old-pending", phase="Pending", ready=False, start=None, created=stale),
        pod("a", "new-unready", ready=False, start=fresh),
        pod("a", "old-unready", ready=False, start=stale),
    ]
    found = pod_not_running(data(cluster(workers(1), pods)))
    assert sorted(f.object.name for f in found) == ["old-pending", "old-unready"]


def test_failed_readyz_checks_block() -> None:
    [finding] = control_plane_health(data(None, readyz=READYZ_FAILING))
    assert finding.severity is Severity.BLOCKING and "etcd" in finding.message


def test_static_pods_not_ready_block_and_missing_ones_warn() -> None:
    pods = static_pods("cp-1", ready=False)[:3]  # etcd, apiserver, controller-manager; no scheduler
    view = cluster([node("cp-1", control_plane=True)], pods)
    found = control_plane_health(data(view))
    blocking = [f for f in found if f.severity is Severity.BLOCKING]
    assert len(blocking) == 3 and all(f.object.kind == "Pod" for f in blocking)
    [missing] = [f for f in found if f.severity is Severity.WARNING]
    assert "kube-scheduler" in missing.message


def test_parse_readyz() -> None:
    checks = parse_readyz(READYZ_FAILING)
    assert [c.name for c in checks if not c.ok] == ["etcd"]
    assert parse_readyz("ok")[0].ok
    assert not parse_readyz("Internal Server Error")[0].ok
