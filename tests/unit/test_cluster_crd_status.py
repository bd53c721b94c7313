"""A CRD's status.storedVersions accumulates, as the apiextensions apiserver keeps it."""

from __future__ import annotations

from typing import Any

import pytest

from overhaul.sim.cluster import Cluster, WriteOptions
from overhaul.sim.errors import ApiError
from tests.support import objects


def _crd(*versions: tuple[str, bool, bool]) -> dict[str, Any]:
    return objects.crd("acme.example.com", "Widget", *versions)


def test_a_new_storage_version_is_added_and_the_old_one_stays_listed() -> None:
    cluster = Cluster()
    rt = cluster.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert rt is not None
    opts = WriteOptions.system("test")
    created = cluster.create(rt, None, _crd(("v1alpha1", True, True)), opts)
    assert created.obj["status"]["storedVersions"] == ["v1alpha1"]
    body = _crd(("v1alpha1", True, False), ("v1", True, True))
    body["metadata"]["resourceVersion"] = created.obj["metadata"]["resourceVersion"]
    moved = cluster.update(rt, None, "widgets.acme.example.com", body, opts)
    assert moved.obj["status"]["storedVersions"] == ["v1alpha1", "v1"]
    # No longer served, still listed: objects may be stored at v1alpha1 until they are migrated.
    body = _crd(("v1alpha1", False, False), ("v1", True, True))
    body["metadata"]["resourceVersion"] = moved.obj["metadata"]["resourceVersion"]
    again = cluster.update(rt, None, "widgets.acme.example.com", body, opts)
    assert again.obj["status"]["storedVersions"] == ["v1alpha1", "v1"]
    # Only a status write (the storage migration's last step) takes a version out.
    status = dict(again.obj)
    status["status"] = {**again.obj["status"], "storedVersions": ["v1"]}
    trimmed = cluster.update(rt, None, "widgets.acme.example.com", status, opts, subresource="status")
    assert trimmed.obj["status"]["storedVersions"] == ["v1"]


def test_dropping_a_stored_version_from_spec_is_refused_until_migrated() -> None:
    cluster = Cluster()
    rt = cluster.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert rt is not None
    opts = WriteOptions.system("test")
    created = cluster.create(rt, None, _crd(("v1alpha1", True, True)), opts)
    body = _crd(("v1alpha1", False, False), ("v1", True, True))
    body["metadata"]["resourceVersion"] = created.obj["metadata"]["resourceVersion"]
    moved = cluster.update(rt, None, "widgets.acme.example.com", body, opts)
    dropped = _crd(("v1", True, True))
    dropped["metadata"]["resourceVersion"] = moved.obj["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as refused:
        cluster.update(rt, None, "widgets.acme.example.com", dropped, opts)
    assert refused.value.code == 422
    assert refused.value.message == (
        'CustomResourceDefinition.apiextensions.k8s.io "widgets.acme.example.com" is invalid: '
        'status.storedVersions[0]: Invalid value: "v1alpha1": must appear in spec.versions'
    )
    assert cluster.get(rt, None, "widgets.acme.example.com").obj["spec"]["versions"][0]["name"] == "v1alpha1"
    # After the migration's status write, the same update goes through.
    status = dict(moved.obj)
    status["status"] = {**moved.obj["status"], "storedVersions": ["v1"]}
    migrated = cluster.update(rt, None, "widgets.acme.example.com", status, opts, subresource="status")
    dropped["metadata"]["resourceVersion"] = migrated.obj["metadata"]["resourceVersion"]
    done = cluster.update(rt, None, "widgets.acme.example.com", dropped, opts)
    assert [v["name"] for v in done.obj["spec"]["versions"]] == ["v1"]
