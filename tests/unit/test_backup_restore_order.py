"""The restore order: a rank table, and the properties a safe order must have."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from overhaul.backup.restore_order import (
    CRD_RANK,
    REST,
    not_restored,
    rank,
    sort_objects,
    waves,
)

JSON = dict[str, Any]

KINDS = [
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("v1", "Namespace"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("v1", "Pod"),
    ("policy/v1", "PodDisruptionBudget"),
    ("example.com/v1", "Widget"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
]


def obj(api_version: str, kind: str, name: str = "x", namespace: str = "") -> JSON:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def test_the_documented_order() -> None:
    ranks = [rank(av, kind) for av, kind in KINDS]
    assert ranks == sorted(ranks)
    assert rank("example.com/v1", "Widget") == REST
    assert (
        rank("apps/v1", "Deployment")
        < REST
        < rank("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
    )


def test_rank_depends_on_group_not_version() -> None:
    assert rank("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition") == CRD_RANK
    assert rank("example.com/v1", "Namespace") == REST  # a custom kind that shares a built-in's name


def test_kinds_never_restored() -> None:
    assert not_restored("v1", "Node") is not None
    assert not_restored("events.k8s.io/v1", "Event") is not None
    assert not_restored("v1", "ConfigMap") is None


def test_waves_group_one_rank_each() -> None:
    objects = [
        obj("v1", "ConfigMap", "b", "ns"),
        obj("v1", "Secret", "a", "ns"),
        obj("v1", "Namespace", "ns"),
    ]
    got = waves(objects)
    assert [level for level, _ in got] == [(rank("v1", "Namespace"), 0), (rank("v1", "Secret"), 0)]
    assert [o["kind"] for o in got[1][1]] == ["ConfigMap", "Secret"]


def owned_by(child: JSON, owner: JSON) -> JSON:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": "old",
    }
    return {**child, "metadata": {**child["metadata"], "ownerReferences": [ref]}}


def test_owners_come_before_what_they_own() -> None:
    settings = obj("v1", "ConfigMap", "settings", "ns")
    extra = owned_by(obj("v1", "ConfigMap", "a-extra", "ns"), settings)  # sorts first by name alone
    widget = obj("example.com/v1", "Widget", "w", "ns")
    widget_config = owned_by(obj("v1", "ConfigMap", "w-config", "ns"), widget)  # owner ranked later
    deployment = owned_by(obj("apps/v1", "Deployment", "d", "ns"), settings)  # owner ranked earlier
    got = waves([extra, widget_config, deployment, widget, settings])
    assert [(level, [o["metadata"]["name"] for o in wave]) for level, wave in got] == [
        ((rank("v1", "ConfigMap"), 0), ["settings"]),
        ((rank("v1", "ConfigMap"), 1), ["a-extra"]),
        ((rank("apps/v1", "Deployment"), 0), ["d"]),
        ((REST, 0), ["w"]),
        ((REST, 1), ["w-config"]),
    ]


def test_ownership_cycles_do_not_loop() -> None:
    a = obj("v1", "ConfigMap", "a", "ns")
    b = owned_by(obj("v1", "ConfigMap", "b", "ns"), a)
    a = owned_by(a, b)
    assert sorted(o["metadata"]["name"] for o in sort_objects([a, b])) == ["a", "b"]


objects_strategy = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(["a", "b", "c"]), st.sampled_from(["", "ns1", "ns2"])),
    max_size=40,
).map(lambda rows: [obj(av, kind, name, ns) for (av, kind), name, ns in rows])


@given(objects_strategy)
def test_sorting_is_a_permutation_with_dependencies_first(objects: list[JSON]) -> None:
    ordered = sort_objects(objects)
    assert sorted(map(repr, ordered)) == sorted(map(repr, objects))
    kinds = [o["kind"] for o in ordered]
    for before, after in [
        ("CustomResourceDefinition", "Widget"),
        ("Namespace", "ConfigMap"),
        ("PersistentVolumeClaim", "Pod"),
        ("ServiceAccount", "Deployment"),
        ("Secret", "Deployment"),
        ("Deployment", "ValidatingWebhookConfiguration"),
    ]:
        if before in kinds and after in kinds:
            assert max(i for i, k in enumerate(kinds) if k == before) < min(
                i for i, k in enumerate(kinds) if k == after
            )
    assert [o for _, wave in waves(objects) for o in wave] == ordered
