"""`overhaul preflight` end to end against the embedded cluster: the parts read from the live cluster
beyond its objects' specs — `/readyz?verbose`, the `apiserver_requested_deprecated_apis` metric, CRD
storedVersions, the nodes' provider labels and the control-plane static pods' images.

One `empty` sim (a control plane, no workers) serves the module; each test first shows its check
quiet, then makes it fire through the API as a user or a fault would. The control-plane upgrade
changes what /version answers, so that test runs last.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import objects
from tests.support.simproc import SimProcess, sim_command
from tests.support.waiting import eventually

JSON = dict[str, Any]
QUIET_DAY = "2026-05-01"  # 1.34 and 1.35 both supported, neither within 90 days of its end


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-preflight-live"), "--scenario", "empty") as proc:
        with proc.client() as api:
            eventually(lambda: _static_pods_ready(api), "the control plane's static pods", timeout=60)
        yield proc


@pytest.fixture(scope="module")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client


def _static_pods(api: httpx.Client, node_name: str | None = None) -> list[JSON]:
    params = {"fieldSelector": f"spec.nodeName={node_name}"} if node_name else {}
    pods = api.get("/api/v1/namespaces/kube-system/pods", params=params).json()["items"]
    return [p for p in pods if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})]


def _ready(pod: JSON) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _static_pods_ready(api: httpx.Client, node_name: str | None = None, count: int = 4) -> bool:
    pods = _static_pods(api, node_name)
    return len(pods) >= count and all(_ready(p) for p in pods)


def preflight(sim: SimProcess, *args: str) -> tuple[int, JSON, str]:
    done = subprocess.run(
        sim_command(
            "preflight", "--kubeconfig", str(sim.kubeconfig), "-o", "json", "--today", QUIET_DAY, *args
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def findings(report: JSON, check: str, severity: str | None = None) -> list[JSON]:
    return [
        f
        for f in report["findings"]
        if f["check"] == check and (severity is None or f["severity"] == severity)
    ]


def names(report: JSON, check: str, severity: str | None = None) -> set[str]:
    return {f["object"]["name"] for f in findings(report, check, severity)}


def create(api: httpx.Client, path: str, body: JSON) -> JSON:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def merge_patch(api: httpx.Client, path: str, body: JSON) -> None:
    response = api.patch(path, json=body, headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text


def node(
    name: str, kubelet: str, labels: dict[str, str] | None = None, *, control_plane: bool = False
) -> JSON:
    all_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **(labels or {})}
    if control_plane:
        all_labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels},
        "spec": {"taints": [{"key": "preflight-e2e", "value": "only", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": kubelet, "kubeProxyVersion": kubelet},
        },
    }


# --------------------------------------------------------------------------- /readyz and health


def test_readyz_verbose_answers_as_kube_apiserver(sim: SimProcess) -> None:
    with sim.anonymous_client() as anonymous:  # public, as on a real cluster
        plain = anonymous.get("/readyz")
        verbose = anonymous.get("/readyz", params={"verbose": "true"})
        livez = anonymous.get("/livez", params={"verbose": "true"})
    assert plain.status_code == 200 and plain.text == "ok"
    lines = verbose.text.splitlines()
    assert lines[:3] == ["[+]ping ok", "[+]log ok", "[+]etcd ok"] and lines[-1] == "readyz check passed"
    assert livez.text.splitlines()[-1] == "livez check passed"


def test_a_failing_readyz_check_blocks_control_plane_health(sim: SimProcess, api: httpx.Client) -> None:
    code, report, stderr = preflight(sim, "--to", "1.35")
    assert code == 0, stderr
    assert findings(report, "control-plane-health") == []
    switched = api.post("/debug/overhaul/health", json={"etcd": False})
    assert switched.status_code == 200 and switched.json()["failing"] == ["etcd"]
    try:
        failing = api.get("/readyz", params={"verbose": "true"})
        assert failing.status_code == 500 and "[-]etcd failed: reason withheld" in failing.text
        code, report, _ = preflight(sim, "--to", "1.35")
        assert code == 3
        [finding] = findings(report, "control-plane-health")
        assert finding["severity"] == "blocking" and "readiness check etcd fails" in finding["message"]
    finally:
        healed = api.post("/debug/overhaul/health", json={"etcd": True})
        assert healed.status_code == 200 and healed.json()["failing"] == []


def test_the_health_switch_needs_the_token_and_known_checks(sim: SimProcess, api: httpx.Client) -> None:
    with sim.anonymous_client() as anonymous:
        assert anonymous.post("/debug/overhaul/health", json={"etcd": False}).status_code == 401
    bad = api.post("/debug/overhaul/health", json={"etcdd": False})
    assert bad.status_code == 400 and "unknown health check etcdd" in bad.json()["message"]


# -------------------------------------------------------------------- deprecated APIs, by metric


def test_requests_to_a_deprecated_api_reach_preflight_through_the_metric(
    sim: SimProcess, api: httpx.Client
) -> None:
    _, report, _ = preflight(sim, "--to", "1.35")
    assert [f for f in report["findings"] if f["source"] == "metrics"] == []
    # A client still reading v1 Endpoints (deprecated in 1.33): the apiserver warns and counts it.
    response = api.get("/api/v1/namespaces/default/endpoints")
    assert response.status_code == 200
    assert response.headers.get_list("warning") == [
        '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'
    ]
    assert api.get("/api/v1/namespaces/default/pods").headers.get("warning") is None
    metrics = api.get("/metrics").text
    assert (
        'apiserver_requested_deprecated_apis{group="",removed_release="",resource="endpoints",'
        'subresource="",version="v1"} 1.0'
    ) in metrics
    code, report, stderr = preflight(sim, "--to", "1.35")
    assert code == 0, stderr
    [finding] = [f for f in report["findings"] if f["source"] == "metrics"]
    assert finding["check"] == "deprecated-api" and finding["severity"] == "warning"
    assert (finding["object"]["apiVersion"], finding["object"]["kind"]) == ("v1", "Endpoints")


# ----------------------------------------------------------------------- CRD storedVersions


def test_a_crd_still_storing_an_unserved_version_is_reported(sim: SimProcess, api: httpx.Client) -> None:
    name = "gizmos.live.example.com"

    def crd(*versions: tuple[str, bool, bool]) -> JSON:
        return objects.crd("live.example.com", "Gizmo", *versions)

    create(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(("v1alpha1", True, True)))
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
    assert api.get(path).json()["status"]["storedVersions"] == ["v1alpha1"]
    _, report, _ = preflight(sim, "--to", "1.35")
    assert name not in names(report, "removed-api")
    # v1 becomes the storage version and v1alpha1 is no longer served; objects written at
    # v1alpha1 may still be stored so, and the apiserver keeps it listed until a migration.
    moved = crd(("v1alpha1", False, False), ("v1", True, True))
    moved["metadata"]["resourceVersion"] = api.get(path).json()["metadata"]["resourceVersion"]
    updated = api.put(path, json=moved)
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"]["storedVersions"] == ["v1alpha1", "v1"]
    _, report, _ = preflight(sim, "--to", "1.35")
    [finding] = [f for f in findings(report, "removed-api") if f["object"]["name"] == name]
    assert finding["severity"] == "warning" and finding["object"]["kind"] == "CustomResourceDefinition"
    assert "v1alpha1 in status.storedVersions" in finding["message"]
    assert "storedVersions" in finding["remedy"]


# -------------------------------------------------------------------------------- --provider


def test_eks_blocks_a_managed_node_group_behind_the_control_plane(sim: SimProcess, api: httpx.Client) -> None:
    nodegroup = {"eks.amazonaws.com/nodegroup": "ng-1"}
    create(api, "/api/v1/nodes", node("ng-behind", "v1.33.6", nodegroup))
    create(api, "/api/v1/nodes", node("ng-current", "v1.34.2", nodegroup))
    create(api, "/api/v1/nodes", node("self-managed", "v1.33.6"))
    _, generic, _ = preflight(sim, "--to", "1.35", "--provider", "generic")
    assert names(generic, "version-skew", "blocking") == set()
    code, eks, stderr = preflight(sim, "--to", "1.35", "--provider", "eks")
    assert code == 3, stderr
    [finding] = findings(eks, "version-skew", "blocking")
    assert finding["object"]["name"] == "ng-behind" and "Amazon EKS refuses" in finding["message"]
    [path] = findings(eks, "upgrade-path")
    assert "Amazon EKS" in path["message"]
    # By default the provider is told by the nodes' labels: the managed node group's name EKS.
    code, detected, stderr = preflight(sim, "--to", "1.35")
    assert code == 3 and detected["findings"] == eks["findings"], stderr
    assert "provider rules: Amazon EKS, whose node labels the nodes carry" in stderr
    assert "(--provider generic to ignore)" in stderr
    code, report, stderr = preflight(sim, "--to", "1.35", "--provider", "openshift")
    assert code == 2 and report == {}
    assert "--provider openshift: choose one of auto, generic, aks, eks, gke" in stderr


# ------------------------------------------------------------- control-plane skew (runs last)


def test_control_plane_components_newer_than_an_apiserver_block(sim: SimProcess, api: httpx.Client) -> None:
    create(api, "/api/v1/nodes", node("cp-2", "v1.34.2", control_plane=True))
    eventually(lambda: _static_pods_ready(api, "cp-2"), "the static pods of cp-2", timeout=60)
    _, report, _ = preflight(sim, "--to", "1.35")
    assert not {n for n in names(report, "version-skew") if n.startswith("kube-")}
    # kubeadm upgrades a node's whole control plane at once: cp-2 goes to 1.35 while the other
    # control-plane node's kube-apiserver is still 1.34.
    merge_patch(
        api,
        "/api/v1/nodes/cp-2",
        {
            "metadata": {
                "annotations": {
                    "upgrade.overhaul.io/kubelet-version": "v1.35.0",
                    "sim.overhaul.io/reboot-seconds": "0",
                }
            }
        },
    )

    def upgraded() -> bool:
        pods = _static_pods(api, "cp-2")
        scheduler = [p for p in pods if p["metadata"]["name"] == "kube-scheduler-cp-2"]
        return (
            bool(scheduler)
            and scheduler[0]["spec"]["containers"][0]["image"].endswith(":v1.35.0")
            and all(_ready(p) for p in pods)
        )

    eventually(upgraded, "cp-2's control plane at v1.35.0", timeout=60)
    code, report, stderr = preflight(sim, "--to", "1.35")
    assert code == 3, stderr
    blocking = names(report, "version-skew", "blocking")
    assert {"kube-controller-manager-cp-2", "kube-scheduler-cp-2"} <= blocking
    assert "kube-apiserver-cp-2" not in blocking  # HA apiservers one minor apart are allowed
    [kcm] = [
        f for f in findings(report, "version-skew") if f["object"]["name"] == "kube-controller-manager-cp-2"
    ]
    assert "newer than kube-apiserver 1.34" in kcm["message"] and kcm["object"]["namespace"] == "kube-system"
