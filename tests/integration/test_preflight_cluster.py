"""`overhaul preflight` end to end against the embedded cluster over HTTPS, as a subprocess.

One demo sim serves the module. The demo already holds what several checks must find (a PDB
with minAvailable equal to its replicas, bare pods, emptyDir pods, a single-replica Deployment,
objects last applied with removed API versions); the other checks are made to fire by objects
created through the API as kubectl would (`staged`, one preflight run for all of them), and the
test that breaks a node runs last.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from overhaul.preflight.sources.helm import encode_release
from tests.support.simproc import SimProcess, settled_demo, sim_command
from tests.support.waiting import eventually

JSON = dict[str, Any]
QUIET_DAY = "2026-05-01"  # 1.34 and 1.35 both supported, neither within 90 days of its end
NS = "preflight-e2e"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with settled_demo(tmp_path_factory.mktemp("sim-preflight")) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client


def preflight(sim: SimProcess, *args: str, kubeconfig: Path | None = None) -> tuple[int, JSON, str]:
    done = subprocess.run(
        sim_command("preflight", "--kubeconfig", str(kubeconfig or sim.kubeconfig), "-o", "json", *args),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def keys(report: JSON, check: str, severity: str | None = None) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of the findings of one check (and severity)."""
    return {
        (f["object"]["kind"], f["object"]["namespace"], f["object"]["name"])
        for f in report["findings"]
        if f["check"] == check and (severity is None or f["severity"] == severity)
    }


def create(api: httpx.Client, path: str, body: JSON) -> JSON:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def deployment(name: str, replicas: int, image: str = "registry.example.com/app:1.0", **spec: Any) -> JSON:
    pod_spec: JSON = {
        "containers": [
            {"name": "app", "image": image, "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}
        ],
        **spec,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


def pdb(name: str, app: str, **budget: int | str) -> JSON:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": app}}, **budget},
    }


def node(name: str, kubelet: str, *, control_plane: bool = False) -> JSON:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    spec: JSON = {"taints": [{"key": "preflight-e2e", "value": "only", "effect": "NoSchedule"}]}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"].append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": kubelet, "kubeProxyVersion": kubelet},
        },
    }


def crd(plural: str, kind: str, old: JSON) -> JSON:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.e2e.example.com"},
        "spec": {
            "group": "e2e.example.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {"name": "v1alpha1", "served": True, "storage": False, "schema": schema, **old},
                {"name": "v1", "served": True, "storage": True, "schema": schema},
            ],
        },
    }


def helm_secret(release: str, manifest: str | None) -> JSON:
    data = (
        encode_release({"name": release, "manifest": manifest})
        if manifest is not None
        else "bm90IGJhc2U2NA=="
    )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{release}.v2",
            "namespace": NS,
            "labels": {"owner": "helm", "name": release, "status": "deployed", "version": "2"},
        },
        "data": {"release": data},
    }


def _pod_waiting(api: httpx.Client, app: str, reason: str) -> bool:
    pods = api.get(f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": f"app={app}"}).json()["items"]
    return any(
        ((cs.get("state") or {}).get("waiting") or {}).get("reason") == reason
        for p in pods
        for cs in (p.get("status") or {}).get("containerStatuses") or []
    )


def _pod_running_on(api: httpx.Client, app: str, node_name: str) -> bool:
    pods = api.get(f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": f"app={app}"}).json()["items"]
    return any(p["spec"].get("nodeName") == node_name and p["status"].get("phase") == "Running" for p in pods)


# ------------------------------------------------------------------------------- the demo as it is


@pytest.fixture(scope="module")
def baseline(sim: SimProcess) -> tuple[int, JSON, str]:
    return preflight(sim, "--to", "1.35", "--today", QUIET_DAY)


def test_the_demo_is_not_ready_and_says_why(baseline: tuple[int, JSON, str]) -> None:
    code, report, stderr = baseline
    assert code == 3
    assert "reading the cluster" in stderr
    assert list(report) == ["target", "current", "findings", "summary"]
    assert report["target"] == "1.35"
    assert report["current"] == {"apiserver": "1.34.2", "kubelets": {"1.34.2": 12}}
    blocking = {
        (f["check"], f["object"]["kind"], f["object"]["namespace"], f["object"]["name"])
        for f in report["findings"]
        if f["severity"] == "blocking"
    }
    assert blocking == {
        ("removed-api", "Deployment", "batch", "legacy-reports"),
        ("removed-api", "PodDisruptionBudget", "payments", "payments-api"),
        ("pdb-blocks-drain", "PodDisruptionBudget", "payments", "ledger"),
        ("unmanaged-pod", "Pod", "default", "debug-shell"),
        ("unmanaged-pod", "Pod", "default", "scratch-builder"),
    }
    assert keys(report, "local-storage", "warning") == {
        ("Deployment", "shop", "catalog"),
        ("Pod", "default", "scratch-builder"),
    }
    assert keys(report, "single-replica", "warning") == {
        ("Deployment", "monitoring", "grafana"),
        ("Deployment", "batch", "legacy-reports"),
    }
    assert [f["check"] for f in report["findings"] if f["severity"] == "info"] == ["upgrade-path"]
    summary = report["summary"]
    assert summary == {
        s: sum(f["severity"] == s for f in report["findings"]) for s in ("blocking", "warning", "info")
    }


def test_the_removed_api_findings_name_the_old_version_and_the_fix(baseline: tuple[int, JSON, str]) -> None:
    _, report, _ = baseline
    [legacy] = [
        f
        for f in report["findings"]
        if f["object"]["name"] == "legacy-reports" and f["check"] == "removed-api"
    ]
    assert legacy["object"]["apiVersion"] == "extensions/v1beta1" and legacy["source"] == "live"
    assert "apps/v1" in legacy["remedy"]
    [ledger] = [f for f in report["findings"] if f["check"] == "pdb-blocks-drain"]
    assert "Deployment payments/ledger" in ledger["message"] and "minAvailable" in ledger["remedy"]


@pytest.mark.parametrize(
    "check",
    [
        "capacity",
        "node-not-ready",
        "pod-not-running",
        "control-plane-health",
        "version-skew",
        "pdb-multiple",
        "deprecated-api",
        "end-of-support",
    ],
)
def test_the_other_checks_are_quiet_on_the_demo(baseline: tuple[int, JSON, str], check: str) -> None:
    assert keys(baseline[1], check) == set()


def test_accepting_the_demos_blockers_exits_0(sim: SimProcess) -> None:
    accepted = ("removed-api", "pdb-blocks-drain", "unmanaged-pod")
    code, report, _ = preflight(
        sim, "--to", "1.35", "--today", QUIET_DAY, *(f"--accept={c}" for c in accepted)
    )
    assert code == 0
    assert report["summary"]["blocking"] == 0
    assert all("--accept" in f["message"] for f in report["findings"] if f["check"] in accepted)


def test_end_of_support_by_date(sim: SimProcess) -> None:
    _, report, _ = preflight(sim, "--to", "1.35", "--today", "2027-01-15")
    messages = [f["message"] for f in report["findings"] if f["check"] == "end-of-support"]
    assert len(messages) == 2
    assert any("2027-02-28" in m for m in messages) and any(
        "out of support since 2026-10-27" in m for m in messages
    )


def test_a_target_older_than_the_cluster_is_bad_input(sim: SimProcess) -> None:
    code, report, stderr = preflight(sim, "--to", "v1.33.4")
    assert code == 2 and report == {}
    assert "already runs 1.34.2" in stderr


def test_an_unreachable_cluster_exits_1(sim: SimProcess, tmp_path: Path) -> None:
    config = yaml.safe_load(sim.kubeconfig.read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    unreachable = tmp_path / "kubeconfig"
    unreachable.write_text(yaml.safe_dump(config))
    code, report, stderr = preflight(sim, "--to", "1.35", kubeconfig=unreachable)
    assert code == 1 and report == {}
    [line] = stderr.strip().splitlines()[-1:]
    assert line.startswith("overhaul: ") and "cannot reach the cluster" in line and "Traceback" not in stderr


def test_a_snapshot_gives_the_same_answer_offline(
    sim: SimProcess, baseline: tuple[int, JSON, str], tmp_path: Path
) -> None:
    snapshot = tmp_path / "cluster.json.gz"
    made = subprocess.run(
        sim_command("snapshot", "--kubeconfig", str(sim.kubeconfig), "-o", str(snapshot)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        sim_command(
            "preflight", "--to", "1.35", "--today", QUIET_DAY, "--from-snapshot", str(snapshot), "-o", "json"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    offline = json.loads(done.stdout)
    for check in ("removed-api", "pdb-blocks-drain", "unmanaged-pod", "local-storage", "single-replica"):
        assert keys(offline, check) == keys(baseline[1], check), check


# -------------------------------------------------- checks made to fire by objects created through the API


@pytest.fixture(scope="module")
def staged(sim: SimProcess, api: httpx.Client) -> JSON:
    """Objects that make the remaining live checks fire, then one preflight run over them all."""
    create(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    deployments = f"/apis/apps/v1/namespaces/{NS}/deployments"
    # removed-api: an older write by another manager (a warning naming it), and a clean object.
    stale = deployment("stale-writer", 2)
    stale["metadata"]["managedFields"] = [
        {
            "manager": "helm",
            "operation": "Update",
            "apiVersion": "extensions/v1beta1",
            "time": "2020-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    create(api, deployments, stale)
    fresh = deployment("fresh", 2)
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fresh", "namespace": NS}}
    fresh["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)
    }
    create(api, deployments, fresh)
    # deprecated-api and removed-api of custom resources: a deprecated CRD version in use, and a
    # version that stopped being served after an object was written with it.
    create(
        api,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        crd("widgets", "Widget", {"deprecated": True}),
    )
    create(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd("gadgets", "Gadget", {}))
    for plural, kind in (("widgets", "Widget"), ("gadgets", "Gadget")):
        path = f"/apis/e2e.example.com/v1alpha1/namespaces/{NS}/{plural}"
        eventually(lambda p=path: api.get(p).status_code == 200, f"{plural} to be served")
        body = {
            "apiVersion": "e2e.example.com/v1alpha1",
            "kind": kind,
            "metadata": {"name": "one"},
            "spec": {},
        }
        create(api, path, body)
    gadgets = api.get(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.e2e.example.com"
    ).json()
    gadgets["spec"]["versions"][0]["served"] = False
    response = api.put(
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{gadgets['metadata']['name']}", json=gadgets
    )
    assert response.status_code == 200, response.text
    # version-skew: a kubelet too old now, one that falls behind on the way.
    create(api, "/api/v1/nodes", node("e2e-ancient", "v1.30.5"))
    create(api, "/api/v1/nodes", node("e2e-lagging", "v1.31.2"))
    # pdb-multiple and pdb-blocks-drain: a Deployment with two PDBs, one of them maxUnavailable 0.
    create(api, deployments, deployment("twice", 2))
    create(
        api,
        f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets",
        pdb("twice-a", "twice", maxUnavailable=1),
    )
    create(
        api,
        f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets",
        pdb("twice-b", "twice", maxUnavailable=0),
    )
    # pod-not-running: a crash loop.
    create(api, deployments, deployment("crasher", 1, image="registry.example.com/crasher:1.0-crashloop"))
    # capacity: a 2-core pod that only worker-9 may run, so draining worker-9 leaves it nowhere.
    label = {"metadata": {"labels": {"preflight-e2e/pinned": "yes"}}}
    patched = api.patch(
        "/api/v1/nodes/worker-9", json=label, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert patched.status_code == 200, patched.text
    pinned = deployment("pinned", 1, nodeSelector={"preflight-e2e/pinned": "yes"})
    pinned["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "2"
    create(api, deployments, pinned)
    # Helm: a deployed release with a removed API, and one whose Secret does not decode.
    ingress = (
        "---\n# Source: site/templates/ingress.yaml\n"
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: site\n"
    )
    create(api, f"/api/v1/namespaces/{NS}/secrets", helm_secret("site", ingress))
    create(api, f"/api/v1/namespaces/{NS}/secrets", helm_secret("broken", None))
    eventually(lambda: _pod_waiting(api, "crasher", "CrashLoopBackOff"), "the crash loop", timeout=60)
    eventually(lambda: _pod_running_on(api, "pinned", "worker-9"), "the pinned pod on worker-9", timeout=60)
    code, report, stderr = preflight(sim, "--to", "1.35", "--today", QUIET_DAY)
    assert code == 3, stderr
    return report


def test_removed_api_of_a_stale_writer_warns_naming_it(staged: JSON) -> None:
    [finding] = [
        f for f in staged["findings"] if f["object"]["name"] == "stale-writer" and f["check"] == "removed-api"
    ]
    assert finding["severity"] == "warning" and "helm" in finding["message"]
    assert not [f for f in staged["findings"] if f["object"]["name"] == "fresh" and "api" in f["check"]]


def test_custom_resources_against_their_crds(staged: JSON) -> None:
    assert ("Gadget", NS, "one") in keys(staged, "removed-api", "blocking")
    assert {("Widget", NS, "one"), ("CustomResourceDefinition", "", "widgets.e2e.example.com")} <= keys(
        staged, "deprecated-api", "warning"
    )


def test_helm_releases_are_scanned_and_a_broken_one_skipped(staged: JSON) -> None:
    helm = [f for f in staged["findings"] if f["source"].startswith("helm:")]
    assert {(f["source"], f["severity"], f["object"]["kind"]) for f in helm} == {
        (f"helm:{NS}/site", "blocking", "Ingress"),
        (f"helm:{NS}/broken", "warning", ""),
    }


def test_version_skew_now_and_on_the_way(staged: JSON) -> None:
    assert keys(staged, "version-skew", "blocking") == {("Node", "", "e2e-ancient")}
    assert keys(staged, "version-skew", "warning") == {("Node", "", "e2e-lagging")}
    assert staged["current"]["kubelets"] == {"1.30.5": 1, "1.31.2": 1, "1.34.2": 12}


def test_pdb_multiple_and_a_pdb_that_allows_nothing(staged: JSON) -> None:
    assert keys(staged, "pdb-multiple", "blocking") == {("Deployment", NS, "twice")}
    assert ("PodDisruptionBudget", NS, "twice-b") in keys(staged, "pdb-blocks-drain", "blocking")
    assert ("PodDisruptionBudget", NS, "twice-a") not in keys(staged, "pdb-blocks-drain")


def test_a_crash_loop_is_reported(staged: JSON) -> None:
    assert keys(staged, "pod-not-running", "warning") == {("Deployment", NS, "crasher")}


def test_capacity_when_the_busiest_node_drains(staged: JSON) -> None:
    [finding] = [f for f in staged["findings"] if f["check"] == "capacity"]
    assert finding["severity"] == "blocking" and finding["object"]["name"] == "worker-9"
    assert "pinned-" in finding["message"] and "node affinity/selector" in finding["message"]


# ----------------------------------------------------------------------- a node that fails (runs last)


def test_a_failed_control_plane_node_is_not_ready_and_unhealthy(
    sim: SimProcess, api: httpx.Client, staged: JSON
) -> None:
    del staged  # after the staged checks: this node stays broken
    create(api, "/api/v1/nodes", node("e2e-cp", "v1.34.2", control_plane=True))

    def static_pods() -> list[JSON]:
        pods = api.get(
            "/api/v1/namespaces/kube-system/pods", params={"fieldSelector": "spec.nodeName=e2e-cp"}
        ).json()
        return [
            p
            for p in pods["items"]
            if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})
        ]

    eventually(lambda: len(static_pods()) == 4, "the static pods of e2e-cp", timeout=60)
    annotations = {"sim.overhaul.io/fail-upgrade": "true", "upgrade.overhaul.io/kubelet-version": "v1.35.0"}
    patched = api.patch(
        "/api/v1/nodes/e2e-cp",
        json={"metadata": {"annotations": annotations}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text

    def down() -> bool:
        conditions = api.get("/api/v1/nodes/e2e-cp").json()["status"].get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] != "True" for c in conditions)

    eventually(down, "e2e-cp to go NotReady", timeout=60)
    code, report, _ = preflight(sim, "--to", "1.35", "--today", QUIET_DAY)
    assert code == 3
    assert keys(report, "node-not-ready", "blocking") == {("Node", "", "e2e-cp")}
    unhealthy = keys(report, "control-plane-health", "blocking")
    assert ("Pod", "kube-system", "kube-apiserver-e2e-cp") in unhealthy
    assert all(name.endswith("-e2e-cp") for _, _, name in unhealthy)
