"""`kubectl get` in its forms: tables, wide, JSON, YAML, selectors, and watch."""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from tests.conformance.conftest import PODS_PER_WORKER, WORKERS
from tests.support.kubectl import KubectlRunner, parse_table


def _pod_keys(api: httpx.Client, **params: str) -> set[tuple[str, str]]:
    response = api.get("/api/v1/pods", params=params)
    assert response.status_code == 200, response.text
    return {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in response.json()["items"]}


def _assert_listed(
    shown: set[tuple[str, str]], before: set[tuple[str, str]], after: set[tuple[str, str]]
) -> None:
    """kubectl listed what the server held: every pod there before and after, and only pods it held.

    The two snapshots bracket kubectl's call, as controllers may create or remove pods meanwhile
    (other tests' workloads).
    """
    assert before & after <= shown, sorted((before & after) - shown)
    assert shown <= before | after, sorted(shown - (before | after))


def _key(obj: Any) -> tuple[str, str]:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def _load_pods(api: httpx.Client) -> list[Any]:
    """The pods the scenario's `--nodes/--pods-per-node` made, as the server has them."""
    response = api.get("/api/v1/pods", params={"labelSelector": "app=load"})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def test_get_nodes(k: KubectlRunner, api: httpx.Client) -> None:
    done = k.run("get", "nodes")
    rows = parse_table(done.stdout)
    assert list(rows[0]) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    by_name = {r["NAME"]: r for r in rows}
    served = {n["metadata"]["name"] for n in api.get("/api/v1/nodes").json()["items"]}
    assert set(by_name) == served
    assert {"control-plane-1", *(f"worker-{i}" for i in range(1, WORKERS + 1))} <= served
    assert by_name["control-plane-1"]["ROLES"] == "control-plane"
    assert by_name["worker-1"]["ROLES"] == "<none>"
    assert by_name["worker-1"]["VERSION"] == "v1.34.2"
    assert by_name["worker-1"]["STATUS"].startswith("Ready")


def test_get_pods_all_namespaces(k: KubectlRunner, api: httpx.Client) -> None:
    before = _pod_keys(api)
    rows = parse_table(k.run("get", "pods", "-A").stdout)
    assert list(rows[0]) == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    _assert_listed({(r["NAMESPACE"], r["NAME"]) for r in rows}, before, _pod_keys(api))
    load = [r for r in rows if r["NAME"].startswith("worker-1-pod-")]
    assert len(load) == PODS_PER_WORKER
    assert all(r["READY"] == "1/1" and r["STATUS"] == "Running" and r["RESTARTS"] == "0" for r in load)


def test_get_wide(k: KubectlRunner, api: httpx.Client) -> None:
    rows = parse_table(k.run("get", "pods", "-A", "-o", "wide", "-l", "app=load").stdout)
    assert list(rows[0])[-4:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    served = {p["metadata"]["name"]: p for p in _load_pods(api)}
    assert len(rows) == len(served) == WORKERS * PODS_PER_WORKER
    for row in rows:
        pod = served[row["NAME"]]
        assert row["NODE"] == pod["spec"]["nodeName"]
        assert row["IP"] == pod["status"]["podIP"]
    node_rows = parse_table(k.run("get", "nodes", "-o", "wide").stdout)
    worker = next(r for r in node_rows if r["NAME"] == "worker-1")
    assert worker["INTERNAL-IP"] == "10.0.0.11"
    assert worker["OS-IMAGE"] == "Debian GNU/Linux 12 (bookworm)"
    assert worker["CONTAINER-RUNTIME"].startswith("containerd://")


def test_get_json(k: KubectlRunner, api: httpx.Client) -> None:
    before = _pod_keys(api)
    listed = k.json("get", "pods", "-A")
    assert listed["kind"] == "List"
    _assert_listed({_key(p) for p in listed["items"]}, before, _pod_keys(api))
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in listed["items"])
    node = k.json("get", "node", "worker-2")
    served = api.get("/api/v1/nodes/worker-2").json()
    assert node["metadata"]["uid"] == served["metadata"]["uid"]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == served["status"]["nodeInfo"]["kubeletVersion"]


def test_get_yaml(k: KubectlRunner, api: httpx.Client) -> None:
    node = yaml.safe_load(k.run("get", "node", "worker-3", "-o", "yaml").stdout)
    assert node["kind"] == "Node"
    assert node["metadata"]["name"] == "worker-3"
    assert node["metadata"]["uid"] == api.get("/api/v1/nodes/worker-3").json()["metadata"]["uid"]
    listed = yaml.safe_load(k.run("get", "namespaces", "-o", "yaml").stdout)
    names = {n["metadata"]["name"] for n in listed["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_get_label_selector(k: KubectlRunner, api: httpx.Client) -> None:
    rows = parse_table(k.run("get", "pods", "-A", "-l", "app=load,shard=3").stdout)
    expected = _pod_keys(api, labelSelector="app=load,shard=3")
    assert expected, "the scenario labels its pods with shards"
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == expected
    shards = {p["metadata"]["labels"]["shard"] for p in _load_pods(api) if _key(p) in expected}
    assert shards == {"3"}
    set_based = parse_table(k.run("get", "pods", "-A", "-l", "shard in (1,2),app!=other").stdout)
    assert {(r["NAMESPACE"], r["NAME"]) for r in set_based} == _pod_keys(api, labelSelector="shard in (1,2)")
    none = k.run("get", "pods", "-A", "-l", "app=nothing-has-this")
    assert none.stdout == ""
    assert "No resources found" in none.stderr


def test_get_field_selector(k: KubectlRunner, api: httpx.Client) -> None:
    on_node = "spec.nodeName=worker-2"
    before = _pod_keys(api, fieldSelector=on_node)
    rows = parse_table(k.run("get", "pods", "-A", "-o", "wide", "--field-selector", on_node).stdout)
    _assert_listed({(r["NAMESPACE"], r["NAME"]) for r in rows}, before, _pod_keys(api, fieldSelector=on_node))
    assert {r["NODE"] for r in rows} == {"worker-2"}
    assert sum(r["NAME"].startswith("worker-2-pod-") for r in rows) == PODS_PER_WORKER
    both = parse_table(k.run("get", "pods", "-A", "-l", "app=load", "--field-selector", on_node).stdout)
    assert sorted(r["NAME"] for r in both) == sorted(
        f"worker-2-pod-{i}" for i in range(1, PODS_PER_WORKER + 1)
    )
    named = parse_table(k.run("get", "pods", "-A", "--field-selector", "metadata.name=worker-4-pod-7").stdout)
    assert [r["NAME"] for r in named] == ["worker-4-pod-7"]
    in_namespace = k.run("get", "pods", "-A", "-l", "app=load", "--field-selector", "metadata.namespace=nope")
    assert in_namespace.stdout == ""
    not_running = k.run(
        "get", "pods", "-A", "-l", "app=load", "--field-selector", f"status.phase!=Running,{on_node}"
    )
    assert not_running.stdout == ""
    assert "No resources found" in not_running.stderr
    bad = k.run("get", "pods", "-A", "--field-selector", "spec.priority=1", check=False)
    assert bad.returncode != 0
    assert "field label not supported: spec.priority" in bad.stderr


def _configmap(ns: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def test_get_watch_sees_change(k: KubectlRunner, ns: str) -> None:
    k.create(_configmap(ns, "before", a="1"))
    with k.background("get", "configmaps", "-n", ns, "-w", "--output-watch-events") as lines:
        first = lines.wait_for(lambda line: "before" in line)
        assert first.split()[:2] == ["ADDED", "before"]
        k.create(_configmap(ns, "after", b="2"))
        added = lines.wait_for(lambda line: "after" in line)
        assert added.split()[:2] == ["ADDED", "after"]
        k.run("label", "configmap", "after", "-n", ns, "changed=yes")
        modified = lines.wait_for(lambda line: "after" in line)
        assert modified.split()[:2] == ["MODIFIED", "after"]
        k.run("delete", "configmap", "before", "-n", ns)
        deleted = lines.wait_for(lambda line: "before" in line)
        assert deleted.split()[:2] == ["DELETED", "before"]
