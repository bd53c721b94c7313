"""Manifests the end-to-end tests create: Deployments, StatefulSets, DaemonSets, Jobs, PDBs, bare pods."""

from __future__ import annotations

from typing import Any

import httpx

JSONDict = dict[str, Any]
IMAGE = "registry.k8s.io/pause:3.10"


def template(labels: dict[str, str], image: str = IMAGE, **spec: Any) -> JSONDict:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "containers": [
                {"name": "app", "image": image, "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
            ],
            **spec,
        },
    }


def deployment(ns: str, name: str, replicas: int, image: str = IMAGE, **spec: Any) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template({"app": name}, image, **spec),
        },
    }


def statefulset(ns: str, name: str, replicas: int) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": template({"app": name}),
        },
    }


def daemonset(ns: str, name: str) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template({"app": name})},
    }


def job(ns: str, name: str) -> JSONDict:
    spec = template({"app": name}, "registry.k8s.io/busybox:1.36-complete", restartPolicy="Never")
    spec["metadata"]["annotations"] = {"sim.overhaul.io/run-seconds": "2"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"backoffLimit": 0, "template": spec},
    }


def pdb(ns: str, name: str, selector: dict[str, str], **budget: int | str) -> JSONDict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {**budget, "selector": {"matchLabels": selector}},
    }


def bare_pod(ns: str, name: str, **spec: Any) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": template({"app": name}, **spec)["spec"],
    }


def create_all(api: httpx.Client, *manifests: JSONDict) -> None:
    """POSTs each manifest to its collection (core or named group; plural = kind + s, PDBs aside)."""
    for obj in manifests:
        version, kind = obj["apiVersion"], obj["kind"]
        root = "/api/v1" if version == "v1" else f"/apis/{version}"
        plural = {"PodDisruptionBudget": "poddisruptionbudgets"}.get(kind, kind.lower() + "s")
        ns = obj["metadata"].get("namespace")
        path = f"{root}/namespaces/{ns}/{plural}" if ns else f"{root}/{plural}"
        response = api.post(path, json=obj)
        assert response.status_code == 201, response.text


OPEN_SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def crd(group: str, kind: str, *versions: tuple[str, bool, bool], schema: JSONDict | None = None) -> JSONDict:
    """A namespaced CustomResourceDefinition of `kind` in `group` (plural: kind in lower case + s)
    with `versions` as (name, served, storage), each with `schema` (default: one taking anything)."""
    plural, singular = kind.lower() + "s", kind.lower()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": singular, "listKind": f"{kind}List"},
            "versions": [
                {"name": name, "served": served, "storage": storage, "schema": schema or OPEN_SCHEMA}
                for name, served, storage in versions
            ],
        },
    }
