"""Builders for the workload manifests the built-in scenarios are made of."""

from __future__ import annotations

from typing import Any

JSONDict = dict[str, Any]


def _container(name: str, image: str, cpu: str, memory: str, port: int | None = None) -> JSONDict:
    c: JSONDict = {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
    }
    if port is not None:
        c["ports"] = [{"containerPort": port, "name": "http"}]
    return c


def template(
    labels: dict[str, str],
    image: str,
    cpu: str = "50m",
    memory: str = "64Mi",
    port: int | None = 8080,
    annotations: dict[str, str] | None = None,
    volumes: list[JSONDict] | None = None,
) -> JSONDict:
    meta: JSONDict = {"labels": dict(labels)}
    if annotations:
        meta["annotations"] = dict(annotations)
    spec: JSONDict = {"containers": [_container("app", image, cpu, memory, port)]}
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": meta, "spec": spec}


def deployment(name: str, namespace: str, replicas: int, image: str, **kw: Any) -> JSONDict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": template(labels, image, **kw),
        },
    }


def statefulset(name: str, namespace: str, replicas: int, image: str, **kw: Any) -> JSONDict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": template(labels, image, **kw),
        },
    }


def daemonset(name: str, namespace: str, image: str, tolerate_all: bool = False, **kw: Any) -> JSONDict:
    labels = {"app": name}
    tmpl = template(labels, image, **kw)
    if tolerate_all:
        tmpl["spec"]["tolerations"] = [{"operator": "Exists"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"selector": {"matchLabels": labels}, "template": tmpl},
    }


def pdb(
    name: str,
    namespace: str,
    app: str,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> JSONDict:
    spec: JSONDict = {"selector": {"matchLabels": {"app": app}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def service(name: str, namespace: str, app: str, port: int = 80, target: str | int = "http") -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": app}, "ports": [{"port": port, "targetPort": target, "name": "http"}]},
    }


def namespace(name: str) -> JSONDict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def job(name: str, namespace: str, run_seconds: int, completions: int = 1) -> JSONDict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "completions": completions,
            "template": {
                "metadata": {"annotations": {"sim.overhaul.io/run-seconds": str(run_seconds)}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        _container("job", "registry.example.com/batch/report:1.4", "100m", "128Mi")
                    ],
                },
            },
        },
    }


def bare_pod(name: str, namespace: str, image: str, volumes: list[JSONDict] | None = None) -> JSONDict:
    spec: JSONDict = {"containers": [_container("app", image, "50m", "64Mi")]}
    if volumes:
        spec["volumes"] = volumes
        spec["containers"][0]["volumeMounts"] = [
            {"name": v["name"], "mountPath": f"/data/{v['name']}"} for v in volumes
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": spec,
    }
