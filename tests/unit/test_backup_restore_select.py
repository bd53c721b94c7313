"""Which of a backup's objects a restore creates, and which it leaves out, and why."""

from __future__ import annotations

from typing import Any

import pytest

from overhaul.backup.errors import BadOptions
from overhaul.backup.loading import LoadedResources
from overhaul.backup.restore import Outcome, select_objects

JSON = dict[str, Any]


def obj(api_version: str, kind: str, name: str, namespace: str = "", **extra: Any) -> JSON:
    meta: JSON = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **extra}


CRD = obj(
    "apiextensions.k8s.io/v1",
    "CustomResourceDefinition",
    "widgets.example.com",
    spec={"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}},
)
OTHER_CRD = obj(
    "apiextensions.k8s.io/v1",
    "CustomResourceDefinition",
    "gadgets.example.com",
    spec={"group": "example.com", "names": {"kind": "Gadget", "plural": "gadgets"}},
)
OBJECTS = [
    CRD,
    OTHER_CRD,
    obj("v1", "Namespace", "a"),
    obj("v1", "Namespace", "b"),
    obj("v1", "Node", "worker-1"),
    obj("v1", "ConfigMap", "c", "a"),
    obj("v1", "ConfigMap", "c", "b"),
    obj("example.com/v1", "Widget", "w", "a"),
    obj("v1", "Service", "web", "a", spec={"selector": {"app": "web"}}),
    obj("v1", "Endpoints", "web", "a"),
    obj("v1", "Service", "external", "a", spec={"ports": [{"port": 5432}]}),
    obj("v1", "Endpoints", "external", "a"),
    obj(
        "v1",
        "Pod",
        "p",
        "a",
    )
    | {
        "metadata": {
            "name": "p",
            "namespace": "a",
            "ownerReferences": [{"kind": "Job", "name": "j", "controller": True}],
        }
    },
    obj("storage.k8s.io/v1", "StorageClass", "fast"),
]


def names(objects: list[JSON]) -> set[tuple[str, str, str]]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}


def test_everything_but_what_makers_recreate() -> None:
    chosen, left_out = select_objects(LoadedResources(OBJECTS, {}), ())
    assert ("Node", "", "worker-1") not in names(chosen)
    assert ("Endpoints", "a", "web") not in names(chosen)  # derived from its Service's selector
    assert ("Endpoints", "a", "external") in names(chosen)  # written by hand: restored
    assert {(r.kind, r.name, r.reason) for r in left_out} == {
        ("Node", "worker-1", "nodes register themselves through their kubelets"),
        ("Endpoints", "web", "kept by the endpoints controller (its Service has a selector)"),
        ("Pod", "p", "left to its controller"),
    }
    assert all(r.outcome is Outcome.SKIPPED for r in left_out)
    assert len(chosen) == len(OBJECTS) - 3


def test_namespaces_bring_their_namespace_and_the_crds_they_need() -> None:
    chosen, _ = select_objects(LoadedResources(OBJECTS, {}), ["a"])
    assert names(chosen) == {
        ("Namespace", "", "a"),
        ("ConfigMap", "a", "c"),
        ("Widget", "a", "w"),
        ("CustomResourceDefinition", "", "widgets.example.com"),
        ("Service", "a", "web"),
        ("Service", "a", "external"),
        ("Endpoints", "a", "external"),
    }


def test_a_namespace_not_in_the_backup() -> None:
    with pytest.raises(BadOptions, match="holds nothing of nope"):
        select_objects(LoadedResources(OBJECTS, {}), ["a", "nope"])
