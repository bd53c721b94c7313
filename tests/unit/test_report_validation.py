"""The demo's post-upgrade checks, decided on objects as the API returns them."""

from __future__ import annotations

from typing import Any

from overhaul.cli.demo_commands import validation_checks
from overhaul.domain.version import Version

TARGET = Version.parse("v1.36.0")


def node(name: str, version: str = "v1.36.0", ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "nodeInfo": {"kubeletVersion": version},
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def static_pod(component: str, node_name: str, version: str = "v1.36.0") -> dict[str, Any]:
    return {
        "metadata": {"name": f"{component}-{node_name}", "namespace": "kube-system"},
        "spec": {"containers": [{"image": f"registry.k8s.io/{component}:{version}"}]},
    }


def workload(kind: str, name: str, replicas: int, ready: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready},
    }


def results(**overrides: Any) -> dict[str, tuple[bool, str]]:
    args: dict[str, Any] = {
        "version": {"gitVersion": "v1.36.0"},
        "nodes": [node("cp-1"), node("worker-1")],
        "pods": [
            static_pod("kube-apiserver", "cp-1"),
            static_pod("kube-scheduler", "cp-1"),
            static_pod("etcd", "cp-1", "3.6.4-0"),  # etcd's own version: not judged
        ],
        "workloads": [workload("Deployment", "web", 3, 3), workload("StatefulSet", "db", 2, 2)],
        "violations": [],
    }
    args.update(overrides)
    checks = validation_checks(TARGET, **args)
    return {c.name: (c.ok, c.detail) for c in checks}


def test_an_upgraded_cluster_passes_every_check() -> None:
    found = results()
    assert all(ok for ok, _ in found.values()), found
    assert found["kubelets"][1] == "all 2 nodes run kubelet 1.36.0"
    assert found["control-plane images"][1] == "2 static pods run 1.36.0 images"


def test_each_check_names_what_is_behind() -> None:
    found = results(
        version={"gitVersion": "v1.35.4"},
        nodes=[node("cp-1"), node("worker-1", "v1.34.2", ready="Unknown")],
        pods=[static_pod("kube-apiserver", "cp-1", "v1.35.4")],
        workloads=[workload("Deployment", "web", 3, 2)],
        violations=[{"budget": "shop/web"}],
    )
    assert not any(ok for ok, _ in found.values()), found
    assert found["/version"][1] == "the API server reports v1.35.4"
    assert found["kubelets"][1] == "behind: worker-1 (v1.34.2)"
    assert found["nodes Ready"][1] == "not Ready: worker-1"
    assert "kube-apiserver-cp-1 (registry.k8s.io/kube-apiserver:v1.35.4)" in found["control-plane images"][1]
    assert found["workloads"][1] == "short: Deployment shop/web 2/3"
    assert found["disruption budgets"][1] == "1 moments a budget was left short"


def test_no_nodes_is_not_a_pass() -> None:
    found = results(nodes=[], pods=[])
    assert not found["kubelets"][0] and not found["nodes Ready"][0] and not found["control-plane images"][0]
