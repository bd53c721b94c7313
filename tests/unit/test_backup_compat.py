"""Refusing a restore whose apiVersions the target no longer serves, naming the replacement."""

from __future__ import annotations

from typing import Any

from overhaul.backup.compat import find_unserved
from overhaul.backup.ports import ServedApis
from overhaul.domain.cluster import ServedResource

JSON = dict[str, Any]
VERBS = frozenset({"list", "create", "get"})


def served(*rows: tuple[str, str, str, str]) -> ServedApis:
    resources = tuple(ServedResource(g, v, plural, kind, True, VERBS) for g, v, plural, kind in rows)
    return ServedApis(resources, resources)


CLUSTER = served(
    ("", "v1", "configmaps", "ConfigMap"),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
    ("networking.k8s.io", "v1", "ingresses", "Ingress"),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition"),
)


def obj(api_version: str, kind: str, name: str, namespace: str = "ns") -> JSON:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}


TABLE = {
    ("extensions/v1beta1", "Ingress"): "networking.k8s.io/v1beta1",
    ("networking.k8s.io/v1beta1", "Ingress"): "networking.k8s.io/v1",
}


def replacements(api_version: str, kind: str) -> str | None:
    return TABLE.get((api_version, kind))


def test_everything_served_refuses_nothing() -> None:
    assert (
        find_unserved([obj("v1", "ConfigMap", "a"), obj("policy/v1", "PodDisruptionBudget", "b")], CLUSTER)
        == []
    )


def test_the_table_chain_is_followed_to_a_served_version() -> None:
    (found,) = find_unserved([obj("extensions/v1beta1", "Ingress", "web")], CLUSTER, replacements)
    assert found.replacement == "networking.k8s.io/v1"
    assert found.objects == ("ns/web",)
    expected = "extensions/v1beta1 Ingress is not served by the cluster (use networking.k8s.io/v1 instead)"
    assert found.describe() == f"{expected}: ns/web"


def test_same_group_falls_back_to_the_preferred_served_version() -> None:
    (found,) = find_unserved([obj("autoscaling/v2beta2", "HorizontalPodAutoscaler", "h")], CLUSTER)
    assert found.replacement == "autoscaling/v2"


def test_crds_in_the_backup_count_as_served() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": True}, {"name": "v1beta1", "served": False}],
        },
    }
    objects = [crd, obj("example.com/v1", "Widget", "a"), obj("example.com/v1beta1", "Widget", "b")]
    (found,) = find_unserved(objects, CLUSTER)
    assert (found.api_version, found.kind, found.objects, found.replacement) == (
        "example.com/v1beta1",
        "Widget",
        ("ns/b",),
        "example.com/v1",
    )


def test_no_replacement_known() -> None:
    (found,) = find_unserved([obj("policy/v1beta1", "PodSecurityPolicy", "psp", "")], CLUSTER)
    assert found.replacement is None
    assert "(no served replacement is known): psp" in found.describe()


def test_long_lists_are_shortened() -> None:
    objects = [obj("extensions/v1beta1", "Ingress", f"i{n}") for n in range(8)]
    (found,) = find_unserved(objects, CLUSTER, replacements)
    assert found.describe().endswith("ns/i0, ns/i1, ns/i2, ns/i3, ns/i4 and 3 more")
