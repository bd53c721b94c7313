"""The built-in scenarios with workloads: `demo` (a small production-like cluster) and `large`
(the Kubernetes scalability limits: `--nodes N --pods-per-node M`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from overhaul.sim import manifests as m
from overhaul.sim.controlplane import kube_system_objects
from overhaul.sim.nodes import make_node, node_ip

JSONDict = dict[str, Any]
ZONES = ("zone-a", "zone-b", "zone-c")


def cluster_nodes(version: str, now: str, control_planes: int, workers: int) -> Iterator[JSONDict]:
    """Control-plane nodes then workers, spread over three zones."""
    for i in range(control_planes):
        yield make_node(
            f"control-plane-{i + 1}", version, now, node_ip(i), control_plane=True, zone=ZONES[i % 3]
        )
    for i in range(workers):
        yield make_node(f"worker-{i + 1}", version, now, node_ip(control_planes + i), zone=ZONES[i % 3])


def _last_applied(obj: JSONDict, api_version: str) -> JSONDict:
    """Marks an object as applied long ago with an API version since removed, as a real cluster that
    has been upgraded for years shows it (last-applied annotation and managedFields)."""
    applied = {
        "apiVersion": api_version,
        "kind": obj["kind"],
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace")},
        "spec": obj.get("spec"),
    }
    meta = obj["metadata"]
    meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        json.dumps(applied, separators=(",", ":")) + "\n"
    )
    meta["managedFields"] = [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": api_version,
            "time": "2021-03-02T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {
                    "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}
                }
            },
        }
    ]
    return obj


def demo(version: str, now: str) -> Iterator[JSONDict]:
    """3 control-plane nodes and 9 workers over 3 zones, a dozen Deployments with PDBs (one with
    minAvailable equal to its replicas), a StatefulSet with a PDB, DaemonSets, a Job, a pod with no
    controller, pods with emptyDir, and objects last applied with API versions since removed."""
    yield from cluster_nodes(version, now, 3, 9)
    yield from kube_system_objects(version)
    for ns in ("shop", "payments", "platform", "monitoring", "batch"):
        yield m.namespace(ns)
    cache = [{"name": "cache", "emptyDir": {}}]
    apps: list[tuple[str, str, int, str, dict[str, Any]]] = [
        # (namespace, name, replicas, image, PDB)
        ("shop", "frontend", 3, "registry.example.com/shop/frontend:2.4.1", {"max_unavailable": 1}),
        ("shop", "cart", 2, "registry.example.com/shop/cart:1.9.0", {"min_available": 1}),
        ("shop", "catalog", 3, "registry.example.com/shop/catalog:3.0.2", {"max_unavailable": "34%"}),
        ("shop", "checkout", 2, "registry.example.com/shop/checkout:1.2.7", {"min_available": 1}),
        ("shop", "search", 2, "registry.example.com/shop/search:0.9.3", {"max_unavailable": 1}),
        ("payments", "payments-api", 3, "registry.example.com/pay/api:5.1.0", {"min_available": 2}),
        ("payments", "ledger", 2, "registry.example.com/pay/ledger:2.0.0", {"min_available": 2}),
        ("payments", "fraud-detector", 2, "registry.example.com/pay/fraud:1.0.4", {"max_unavailable": 1}),
        (
            "platform",
            "ingress-gateway",
            3,
            "registry.example.com/platform/gateway:1.22.0",
            {"max_unavailable": 1},
        ),
        ("platform", "auth", 2, "registry.example.com/platform/auth:4.3.1", {"min_available": 1}),
        (
            "platform",
            "config-service",
            2,
            "registry.example.com/platform/config:2.2.0",
            {"max_unavailable": 1},
        ),
        ("monitoring", "grafana", 1, "docker.io/grafana/grafana:11.2.0", {}),
    ]
    for ns, name, replicas, image, budget in apps:
        volumes = cache if name == "catalog" else None
        yield m.deployment(name, ns, replicas, image, volumes=volumes)
        yield m.service(name, ns, name)
        if budget:
            pdb = m.pdb(name, ns, name, **budget)
            yield _last_applied(pdb, "policy/v1beta1") if name == "payments-api" else pdb
    yield m.statefulset("postgres", "payments", 3, "docker.io/library/postgres:16.4", port=5432)
    yield m.service("postgres", "payments", "postgres", port=5432, target=5432)
    yield m.pdb("postgres", "payments", "postgres", max_unavailable=1)
    yield m.daemonset(
        "node-exporter", "monitoring", "quay.io/prometheus/node-exporter:v1.8.2", tolerate_all=True, port=9100
    )
    yield m.job("nightly-report", "batch", run_seconds=20)
    yield _last_applied(
        m.deployment("legacy-reports", "batch", 1, "registry.example.com/batch/legacy:0.3"),
        "extensions/v1beta1",
    )
    yield m.bare_pod("debug-shell", "default", "docker.io/library/busybox:1.36")
    yield m.bare_pod(
        "scratch-builder",
        "default",
        "docker.io/library/alpine:3.20",
        volumes=[{"name": "scratch", "emptyDir": {}}],
    )


def large(version: str, now: str, nodes: int, pods_per_node: int) -> Iterator[JSONDict]:
    """`nodes` workers with about `pods_per_node` pods each: two DaemonSets (kube-proxy, kindnet)
    plus Deployments (80%) and StatefulSets (20%) of realistic sizes in namespaces of 50
    workloads, most with a PDB."""
    yield from cluster_nodes(version, now, 3, nodes)
    yield from kube_system_objects(version)
    total = max(0, pods_per_node - 2) * nodes
    made = 0
    index = 0
    while made < total:
        ns = f"team-{index // 50 + 1}"
        if index % 50 == 0:
            yield m.namespace(ns)
        is_sts = index % 5 == 4
        replicas = min(total - made, 5 if is_sts else 20)
        name = f"{'db' if is_sts else 'svc'}-{index + 1}"
        image = f"registry.example.com/{ns}/{name}:1.{index % 7}.0"
        small = {"cpu": "10m", "memory": "16Mi"}
        if is_sts:
            sts = m.statefulset(name, ns, replicas, image, **small)
            sts["spec"]["podManagementPolicy"] = "Parallel"
            yield sts
            yield m.pdb(name, ns, name, max_unavailable=1)
        else:
            yield m.deployment(name, ns, replicas, image, **small)
            if index % 3 != 2:
                yield m.pdb(name, ns, name, max_unavailable="25%" if index % 2 else 1)
        made += replicas
        index += 1
