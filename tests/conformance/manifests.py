"""Manifests of each kind the conformance tests create and apply, in two variants.

Variant 2 differs from variant 1 in one field (`changed`), so that a second `kubectl apply`
has something to configure and the test something to look for in `kubectl get -o json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support import objects

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One kind: how kubectl names it, its manifest, and where variant 2's change shows."""

    kind: str
    printed: str  # kubectl's `TYPE/NAME` prefix, e.g. "deployment.apps"
    namespaced: bool
    make: Callable[[str, str, int], JSONDict]  # (name, namespace, variant) -> manifest
    changed: Callable[[JSONDict], Any]  # what variant 1 and 2 differ in, read from the served object
    expected: tuple[Any, Any]  # that value for variant 1 and for variant 2
    group: str = ""  # for the CRD and custom resource cases: the API group to use
    # What kubectl says when the same file is applied again, as on a real cluster: "configured"
    # where its three-way patch is never empty (a PDB's selector has patch strategy "replace").
    reapplied: str = "unchanged"
    fixed_name: str | None = None  # a CRD's name is <plural>.<group>

    def name(self, default: str) -> str:
        return self.fixed_name or default

    @property
    def plural(self) -> str:
        return self.kind.lower() + "s"  # true of every kind here

    def path(self, api_version: str, name: str, ns: str) -> str:
        """The object's URL path on the API server."""
        root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        scope = f"/namespaces/{ns}" if self.namespaced else ""
        return f"{root}{scope}/{self.plural}/{name}"

    def scope_args(self, ns: str) -> list[str]:
        return ["-n", ns] if self.namespaced else []


def _meta(name: str, ns: str | None, **extra: Any) -> JSONDict:
    meta: JSONDict = {"name": name, **extra}
    if ns is not None:
        meta["namespace"] = ns
    return meta


def _pod_template(app: str, image: str) -> JSONDict:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ]
        },
    }


def node(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, None, labels={"tier": f"t{variant}", "kubernetes.io/hostname": name}),
        "spec": {},
    }


def namespace(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, None, labels={"tier": f"t{variant}"}),
    }


def deployment(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, ns),
        "spec": {
            "replicas": variant,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name, "registry.k8s.io/pause:3.10"),
        },
    }


def statefulset(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(name, ns),
        "spec": {
            "replicas": variant,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name, "registry.k8s.io/pause:3.10"),
        },
    }


def daemonset(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(name, ns),
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name, f"registry.k8s.io/pause:3.{8 + variant}"),
        },
    }


def pdb(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, ns),
        "spec": {"minAvailable": variant, "selector": {"matchLabels": {"app": name}}},
    }


def pod(name: str, ns: str, variant: int) -> JSONDict:
    template = _pod_template(name, "registry.k8s.io/pause:3.10")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, ns, labels={"app": name, "tier": f"t{variant}"}),
        "spec": template["spec"],
    }


def configmap(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, ns),
        "data": {"setting": f"value-{variant}", "fixed": "same"},
    }


def secret(name: str, ns: str, variant: int) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, ns),
        "type": "Opaque",
        "stringData": {"password": f"hunter{variant}"},
    }


def crd(group: str) -> Callable[[str, str, int], JSONDict]:
    """A CRD for `widgets.<group>`; variant 2 adds a `color` property to the schema."""

    def make(name: str, ns: str, variant: int) -> JSONDict:
        properties: JSONDict = {"size": {"type": "integer"}}
        if variant == 2:
            properties["color"] = {"type": "string"}
        schema = {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": properties}},
            }
        }
        return objects.crd(group, "Widget", ("v1", True, True), schema=schema)

    return make


def widget(group: str) -> Callable[[str, str, int], JSONDict]:
    def make(name: str, ns: str, variant: int) -> JSONDict:
        return {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": _meta(name, ns),
            "spec": {"size": variant},
        }

    return make


def _crd_properties(obj: JSONDict) -> list[str]:
    schema = obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return sorted(schema["properties"]["spec"]["properties"])


def cases(group: str) -> list[Case]:
    """Every kind the tests create and apply; custom resources are `widgets.<group>`.

    The CRD case defines `widgets.crd.<group>` of its own, so it does not race the custom resource
    case, which makes sure `widgets.<group>` exists first.
    """
    return [
        Case("Node", "node", False, node, lambda o: o["metadata"]["labels"]["tier"], ("t1", "t2")),
        Case(
            "Namespace",
            "namespace",
            False,
            namespace,
            lambda o: o["metadata"]["labels"]["tier"],
            ("t1", "t2"),
        ),
        Case("Deployment", "deployment.apps", True, deployment, lambda o: o["spec"]["replicas"], (1, 2)),
        Case("StatefulSet", "statefulset.apps", True, statefulset, lambda o: o["spec"]["replicas"], (1, 2)),
        Case(
            "DaemonSet",
            "daemonset.apps",
            True,
            daemonset,
            lambda o: o["spec"]["template"]["spec"]["containers"][0]["image"],
            ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.10"),
        ),
        Case(
            "PodDisruptionBudget",
            "poddisruptionbudget.policy",
            True,
            pdb,
            lambda o: o["spec"]["minAvailable"],
            (1, 2),
            reapplied="configured",
        ),
        Case("Pod", "pod", True, pod, lambda o: o["metadata"]["labels"]["tier"], ("t1", "t2")),
        Case(
            "ConfigMap", "configmap", True, configmap, lambda o: o["data"]["setting"], ("value-1", "value-2")
        ),
        # stringData is write-only: the server folds it into base64 data, so kubectl's three-way
        # patch always re-sends it and says "configured" (kubernetes/kubernetes#87736).
        Case(
            "Secret",
            "secret",
            True,
            secret,
            lambda o: o["data"]["password"],
            ("aHVudGVyMQ==", "aHVudGVyMg=="),
            reapplied="configured",
        ),
        Case(
            "CustomResourceDefinition",
            "customresourcedefinition.apiextensions.k8s.io",
            False,
            crd(f"crd.{group}"),
            _crd_properties,
            (["size"], ["color", "size"]),
            fixed_name=f"widgets.crd.{group}",
        ),
        Case("Widget", f"widget.{group}", True, widget(group), lambda o: o["spec"]["size"], (1, 2), group),
    ]
