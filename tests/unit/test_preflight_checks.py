"""Every check id fires on an input made for it and stays quiet on a healthy one; the registry,
`--accept`, and the report in its stable JSON shape and as JUnit."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from overhaul.domain.cluster import ObjectRef
from overhaul.domain.findings import Severity
from overhaul.domain.version import Version
from overhaul.preflight.checks import CHECK_IDS, CHECKS, UnknownCheckError, run_checks, validate_ids
from overhaul.preflight.input import ApiUsage, PreflightInput
from overhaul.preflight.report import PreflightReport
from tests.unit.preflight_views import (
    app,
    app_cluster,
    cluster,
    data,
    healthy_cluster,
    node,
    pdb,
    pod,
    static_pods,
    usage,
    workers,
)

PRODUCT_IDS = {
    "removed-api",
    "deprecated-api",
    "version-skew",
    "end-of-support",
    "upgrade-path",
    "pdb-blocks-drain",
    "pdb-multiple",
    "unmanaged-pod",
    "local-storage",
    "capacity",
    "node-not-ready",
    "pod-not-running",
    "control-plane-health",
    "single-replica",
}
NODES = ["worker-1", "worker-2", "worker-3"]


FIRING: dict[str, Callable[[], PreflightInput]] = {
    "removed-api": lambda: data(
        cluster(
            api_usage=[usage("policy/v1", "PodDisruptionBudget", "a", "b", last_applied="policy/v1beta1")]
        )
    ),
    "deprecated-api": lambda: data(
        None,
        target="1.22",
        usages=[ApiUsage(ObjectRef("batch/v1beta1", "CronJob", "a", "c"), "manifest:c.yaml")],
    ),
    "version-skew": lambda: data(cluster([node("old", kubelet="v1.29.0")])),
    "end-of-support": lambda: data(None, today=dt.date(2027, 1, 1)),
    "upgrade-path": lambda: data(healthy_cluster()),
    "pdb-blocks-drain": lambda: data(app_cluster("x", 2, pdbs=[pdb("a", "x", "x", min_available=2)])),
    "pdb-multiple": lambda: data(
        app_cluster(
            "x", 2, pdbs=[pdb("a", "p1", "x", max_unavailable=1), pdb("a", "p2", "x", max_unavailable=1)]
        )
    ),
    "unmanaged-pod": lambda: data(cluster(workers(1), [pod("a", "bare", node="worker-1")])),
    "local-storage": lambda: data(app_cluster("x", 2, empty_dir=True)),
    "capacity": lambda: data(app_cluster("hog", 3, cpu=3500)),
    "node-not-ready": lambda: data(cluster([node("down", ready=False)])),
    "pod-not-running": lambda: data(app_cluster("x", 2, waiting="ImagePullBackOff")),
    "control-plane-health": lambda: data(
        cluster([node("cp-1", control_plane=True)], static_pods("cp-1", ready=False))
    ),
    "single-replica": lambda: data(app_cluster("x", 1)),
}


def test_the_check_ids_are_the_products() -> None:
    assert set(CHECK_IDS) == PRODUCT_IDS == set(FIRING)


@pytest.mark.parametrize("check_id", sorted(PRODUCT_IDS))
def test_each_check_fires(check_id: str) -> None:
    found = CHECKS[check_id](FIRING[check_id]())
    assert found and all(f.check == check_id for f in found)


@pytest.mark.parametrize("check_id", sorted(PRODUCT_IDS))
def test_each_check_stays_quiet_on_a_healthy_cluster(check_id: str) -> None:
    checked = data(healthy_cluster()) if check_id != "upgrade-path" else data(None)
    assert CHECKS[check_id](checked) == []


def test_a_healthy_cluster_has_only_the_path() -> None:
    found = run_checks(data(healthy_cluster()))
    assert [(f.check, f.severity) for f in found] == [("upgrade-path", Severity.INFO)]


def test_accept_turns_blocking_into_warnings() -> None:
    found = run_checks(FIRING["unmanaged-pod"](), accepted=["unmanaged-pod"])
    [accepted] = [f for f in found if f.check == "unmanaged-pod"]
    assert accepted.severity is Severity.WARNING and "--accept unmanaged-pod" in accepted.message
    with pytest.raises(UnknownCheckError):
        validate_ids(["no-such-check"])


def test_findings_are_ordered_blocking_first() -> None:
    workloads, pods = app("a", "x", 1, NODES)
    view = cluster(workers(3), [*pods, pod("a", "bare", node="worker-1")], workloads)
    ranks = [f.severity.rank for f in run_checks(data(view))]
    assert ranks == sorted(ranks)


def test_report_json_shape() -> None:
    view = cluster([node("a"), node("b"), node("c", kubelet="v1.33.1")], version="v1.34.2-eks-1")
    findings = run_checks(data(view))
    report = PreflightReport.of(Version.parse("v1.35"), view, findings, CHECK_IDS)
    doc = report.to_json()
    assert list(doc) == ["target", "current", "findings", "summary"]
    assert doc["target"] == "1.35"
    assert doc["current"] == {"apiserver": "1.34.2", "kubelets": {"1.33.1": 1, "1.34.2": 2}}
    for f in doc["findings"]:
        assert list(f) == ["check", "severity", "object", "source", "message", "remedy"]
        assert list(f["object"]) == ["apiVersion", "kind", "namespace", "name"]
        assert f["severity"] in ("blocking", "warning", "info")
    assert doc["summary"] == {
        s: sum(1 for f in doc["findings"] if f["severity"] == s) for s in ("blocking", "warning", "info")
    }


def test_report_without_a_cluster() -> None:
    report = PreflightReport.of(Version.parse("1.36"), None, [], CHECK_IDS)
    assert report.to_json()["current"] == {"apiserver": None, "kubelets": {}}
    assert not report.blocking


def test_junit_has_one_testcase_per_check_and_fails_blocking_ones() -> None:
    findings = run_checks(FIRING["unmanaged-pod"]())
    xml = PreflightReport.of(Version.parse("1.35"), None, findings, CHECK_IDS).to_junit()
    root = ET.fromstring(xml)
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == list(CHECK_IDS)
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["unmanaged-pod"]
    suite = root.find("./testsuite")
    assert suite is not None and suite.get("failures") == "1"
