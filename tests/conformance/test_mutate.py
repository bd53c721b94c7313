"""kubectl's changing commands (patch of each type, label, annotate, cordon, delete) and its helpers."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.conformance.manifests import deployment
from tests.support.kubectl import KubectlRunner, parse_table
from tests.support.waiting import eventually

JSONDict = dict[str, Any]


def _configmap(ns: str, name: str, **data: str) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def _get(api: httpx.Client, path: str) -> Any:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def _two_container_deployment(ns: str, name: str) -> JSONDict:
    obj = deployment(name, ns, 1)
    containers = obj["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "sidecar", "image": "registry.k8s.io/pause:3.10"})
    return obj


def test_patch_merge(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_configmap(ns, "settings", a="1", b="2"))
    patch = json.dumps({"data": {"b": None, "c": "3"}, "metadata": {"labels": {"patched": "merge"}}})
    done = k.run("patch", "configmap", "settings", "-n", ns, "--type", "merge", "-p", patch)
    assert done.stdout.strip() == "configmap/settings patched"
    served = _get(api, f"/api/v1/namespaces/{ns}/configmaps/settings")
    assert served["data"] == {"a": "1", "c": "3"}
    assert served["metadata"]["labels"] == {"patched": "merge"}
    # A merge patch replaces lists whole.
    k.create(_two_container_deployment(ns, "web"))
    replace = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}
    k.run("patch", "deployment", "web", "-n", ns, "--type", "merge", "-p", json.dumps(replace))
    containers = _get(api, f"/apis/apps/v1/namespaces/{ns}/deployments/web")["spec"]["template"]["spec"][
        "containers"
    ]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "nginx:1.27")]


def test_patch_json(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_configmap(ns, "settings", a="1", b="2"))
    ops = [
        {"op": "replace", "path": "/data/a", "value": "9"},
        {"op": "remove", "path": "/data/b"},
        {"op": "add", "path": "/metadata/labels", "value": {"patched": "json"}},
    ]
    done = k.run("patch", "configmap", "settings", "-n", ns, "--type", "json", "-p", json.dumps(ops))
    assert done.stdout.strip() == "configmap/settings patched"
    served = _get(api, f"/api/v1/namespaces/{ns}/configmaps/settings")
    assert served["data"] == {"a": "9"}
    assert served["metadata"]["labels"] == {"patched": "json"}
    failing = [{"op": "test", "path": "/data/a", "value": "not-9"}]
    bad = k.run(
        "patch", "configmap", "settings", "-n", ns, "--type", "json", "-p", json.dumps(failing), check=False
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "The request is invalid: testing value /data/a failed: test failed"
    assert _get(api, f"/api/v1/namespaces/{ns}/configmaps/settings")["data"] == {"a": "9"}


def test_patch_strategic(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_two_container_deployment(ns, "web"))
    # Containers merge by name: the sidecar stays, the app container gains an env var.
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "MODE", "value": "x"}]}]}}
        }
    }
    done = k.run("patch", "deployment", "web", "-n", ns, "--type", "strategic", "-p", json.dumps(patch))
    assert done.stdout.strip() == "deployment.apps/web patched"
    served = _get(api, f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    containers = {c["name"]: c for c in served["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"app", "sidecar"}
    assert containers["app"]["env"] == [{"name": "MODE", "value": "x"}]
    assert containers["app"]["image"] == "registry.k8s.io/pause:3.10"
    assert served["metadata"]["generation"] == 2
    # `$patch: delete` removes one element of a merged list; strategic is kubectl's default type.
    remove = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    k.run("patch", "deployment", "web", "-n", ns, "-p", json.dumps(remove))
    served = _get(api, f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert [c["name"] for c in served["spec"]["template"]["spec"]["containers"]] == ["app"]


def test_label(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_configmap(ns, "settings", a="1"))
    assert (
        k.run("label", "configmap", "settings", "-n", ns, "tier=web").stdout.strip()
        == "configmap/settings labeled"
    )
    path = f"/api/v1/namespaces/{ns}/configmaps/settings"
    assert _get(api, path)["metadata"]["labels"] == {"tier": "web"}
    clash = k.run("label", "configmap", "settings", "-n", ns, "tier=db", check=False)
    assert clash.returncode == 1
    assert "already has a value (web)" in clash.stderr
    k.run("label", "configmap", "settings", "-n", ns, "tier=db", "--overwrite")
    assert _get(api, path)["metadata"]["labels"] == {"tier": "db"}
    shown = parse_table(k.run("get", "configmaps", "-n", ns, "-l", "tier=db").stdout)
    assert [r["NAME"] for r in shown] == ["settings"]
    assert (
        k.run("label", "configmap", "settings", "-n", ns, "tier-").stdout.strip()
        == "configmap/settings unlabeled"
    )
    assert not _get(api, path)["metadata"].get("labels")


def test_annotate(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_configmap(ns, "settings", a="1"))
    done = k.run("annotate", "configmap", "settings", "-n", ns, "owner=team-a", "note=hello world")
    # kubectl before 1.28 printed "annotate" (its own wording; nothing the server says).
    assert re.fullmatch(r"configmap/settings annotated?", done.stdout.strip())
    path = f"/api/v1/namespaces/{ns}/configmaps/settings"
    assert _get(api, path)["metadata"]["annotations"] == {"owner": "team-a", "note": "hello world"}
    clash = k.run("annotate", "configmap", "settings", "-n", ns, "owner=team-b", check=False)
    assert clash.returncode == 1
    assert "already has a value (team-a)" in clash.stderr
    k.run("annotate", "configmap", "settings", "-n", ns, "owner-")
    assert _get(api, path)["metadata"]["annotations"] == {"note": "hello world"}


def test_cordon_uncordon(k: KubectlRunner, api: httpx.Client) -> None:
    node = f"cordon-{k.minor}"
    created = api.post(
        "/api/v1/nodes",
        json={
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    assert created.status_code == 201, created.text
    assert k.run("cordon", node).stdout.strip() == f"node/{node} cordoned"
    served = _get(api, f"/api/v1/nodes/{node}")
    assert served["spec"]["unschedulable"] is True
    row = parse_table(k.run("get", "node", node).stdout)[0]
    assert row["STATUS"] == "Ready,SchedulingDisabled"
    listed = api.get("/api/v1/nodes", params={"fieldSelector": "spec.unschedulable=true"}).json()["items"]
    assert node in {n["metadata"]["name"] for n in listed}
    assert k.run("cordon", node).stdout.strip() == f"node/{node} already cordoned"
    assert k.run("uncordon", node).stdout.strip() == f"node/{node} uncordoned"
    assert not _get(api, f"/api/v1/nodes/{node}")["spec"].get("unschedulable")
    assert parse_table(k.run("get", "node", node).stdout)[0]["STATUS"] == "Ready"


def test_delete(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(_configmap(ns, "one", a="1"), _configmap(ns, "two", a="2"), _configmap(ns, "three", a="3"))
    done = k.run("delete", "configmap", "one", "-n", ns)
    assert done.stdout.strip() == 'configmap "one" deleted'
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/one").status_code == 404
    missing = k.run("get", "configmap", "one", "-n", ns, check=False)
    assert missing.returncode == 1
    assert 'configmaps "one" not found' in missing.stderr
    again = k.run("delete", "configmap", "one", "-n", ns, check=False)
    assert again.returncode == 1
    assert "NotFound" in again.stderr
    assert k.run("delete", "configmap", "one", "-n", ns, "--ignore-not-found").returncode == 0
    k.run("label", "configmap", "two", "three", "-n", ns, "doomed=yes")
    by_label = k.run("delete", "configmaps", "-n", ns, "-l", "doomed=yes")
    assert sorted(by_label.stdout.splitlines()) == ['configmap "three" deleted', 'configmap "two" deleted']
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"] == []
    k.create(deployment("web", ns, 1))
    assert k.run("delete", "deployment", "web", "-n", ns).stdout.strip() == 'deployment.apps "web" deleted'
    eventually(
        lambda: api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").status_code == 404,
        "the deployment to be gone",
    )


def test_metrics(k: KubectlRunner) -> None:
    k.run("get", "nodes")
    text = k.run("get", "--raw", "/metrics").stdout
    assert "# TYPE apiserver_request_total counter" in text
    lines = [line for line in text.splitlines() if line.startswith("apiserver_request_total{")]
    # The client label is the user agent's product: kubectl names itself after its binary.
    client = f'client="{k.kubectl.path.name}"'
    assert k.kubectl.path.name.startswith("kubectl")
    listing = [line for line in lines if client in line and 'resource="nodes"' in line]
    assert any('verb="LIST"' in line and 'code="200"' in line for line in listing), lines
    counts = [float(line.rsplit(" ", 1)[1]) for line in listing if 'verb="LIST"' in line]
    assert sum(counts) >= 1


def test_request_latency_histogram(k: KubectlRunner) -> None:
    """`apiserver_request_duration_seconds` times answered requests by verb, resource and scope (as
    the Kubernetes API call SLOs are stated); watches, being long-running, are not timed."""

    def samples(text: str, name: str, *labels: str) -> list[float]:
        return [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name + "{") and all(label in line for label in labels)
        ]

    pod_list = ('verb="LIST"', 'resource="pods"', 'scope="cluster"')
    before = k.run("get", "--raw", "/metrics").stdout
    assert "# TYPE apiserver_request_duration_seconds histogram" in before
    k.run("get", "pods", "-A", "-o", "name")
    k.run("get", "pods", "-A", "-o", "name")
    k.run("get", "namespaces", "--watch", "--request-timeout=1s", check=False)
    after = k.run("get", "--raw", "/metrics").stdout
    count = "apiserver_request_duration_seconds_count"
    assert sum(samples(after, count, *pod_list)) - sum(samples(before, count, *pod_list)) >= 2
    # Cumulative buckets: the +Inf bucket holds every observation, and the 60 s bucket is the largest.
    inf = samples(after, "apiserver_request_duration_seconds_bucket", *pod_list, 'le="+Inf"')
    assert inf and sum(inf) == sum(samples(after, count, *pod_list))
    assert samples(after, "apiserver_request_duration_seconds_bucket", *pod_list, 'le="60.0"')
    assert sum(samples(after, "apiserver_request_duration_seconds_sum", *pod_list)) > 0
    assert samples(after, "apiserver_request_total", 'verb="WATCH"', 'resource="namespaces"')
    assert not samples(after, count, 'verb="WATCH"')


@pytest.mark.kubectl_min(29)  # kubectl 1.27 and 1.28 explain with OpenAPI v2 (protobuf) only
def test_explain(k: KubectlRunner) -> None:
    done = k.run("explain", "deployment.spec.replicas")
    assert re.search(r"^FIELD:\s+replicas <integer>", done.stdout, re.MULTILINE), done.stdout
    assert "KIND:" in done.stdout and "Deployment" in done.stdout
    assert "Number of desired pods" in done.stdout
    fields = k.run("explain", "pods.spec.containers").stdout
    assert "image\t<string>" in fields or re.search(r"image\s+<string>", fields)
    wrong = k.run("explain", "deployment.spec.nope", check=False)
    assert wrong.returncode == 1
    assert 'field "nope" does not exist' in wrong.stderr


@pytest.mark.kubectl_min(29)
def test_strict_field_validation(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    bad = _configmap(ns, "strict", a="1") | {"colour": "blue"}
    done = k.create(bad, check=False)
    assert done.returncode == 1
    assert 'strict decoding error: unknown field "colour"' in done.stderr
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/strict").status_code == 404
    nested = _configmap(ns, "nested", a="1")
    nested["metadata"]["labelz"] = {"x": "y"}
    done = k.create(nested, check=False)
    assert 'unknown field "metadata.labelz"' in done.stderr
    # --validate=warn sends fieldValidation=Warn: the object is created, kubectl prints the warning.
    warned = k.run("create", "-f", "-", "--validate=warn", stdin=json.dumps(bad))
    assert 'unknown field "colour"' in warned.stderr
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/strict").status_code == 200
