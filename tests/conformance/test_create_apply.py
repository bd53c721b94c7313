"""`kubectl create -f` and `kubectl apply -f` (twice, with a change) for each kind the sim serves."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conformance.manifests import Case, cases, crd
from tests.support.kubectl import KubectlRunner
from tests.support.waiting import eventually

CREATE_CASES = cases("create.example.com")
APPLY_CASES = cases("apply.example.com")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses (cluster-scoped kinds share one namespace-less space)."""
    return "obj-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]


def _write(path: Path, manifest: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return str(path)


def _ensure_crd(api: httpx.Client, case: Case) -> None:
    """The custom resource cases need their CRD served first (the CRD case may not have run)."""
    if case.kind != "Widget":
        return
    response = api.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd(case.group)("", "", 1)
    )
    assert response.status_code in (201, 409), response.text
    eventually(lambda: api.get(f"/apis/{case.group}/v1").status_code == 200, f"{case.group}/v1 served")


def _served(api: httpx.Client, case: Case, manifest: dict[str, Any], name: str, ns: str) -> Any:
    response = api.get(case.path(manifest["apiVersion"], name, ns))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("case", CREATE_CASES, ids=lambda c: c.kind)
def test_create_from_file(
    k: KubectlRunner, api: httpx.Client, ns: str, name: str, case: Case, tmp_path: Path
) -> None:
    _ensure_crd(api, case)
    name = case.name(name)
    manifest = case.make(name, ns, 1)
    done = k.run("create", "-f", _write(tmp_path / "obj.yaml", manifest), *k.validate_flags)
    assert done.stdout.strip() == f"{case.printed}/{name} created"
    shown = k.json("get", case.printed, name, *case.scope_args(ns))
    served = _served(api, case, manifest, name, ns)
    assert shown["metadata"]["uid"] == served["metadata"]["uid"]
    assert shown["kind"] == case.kind
    assert case.changed(served) == case.expected[0]
    again = k.run("create", "-f", str(tmp_path / "obj.yaml"), *k.validate_flags, check=False)
    assert again.returncode == 1
    assert "AlreadyExists" in again.stderr and "already exists" in again.stderr


@pytest.mark.parametrize("case", APPLY_CASES, ids=lambda c: c.kind)
def test_apply_creates_then_configures(
    k: KubectlRunner, api: httpx.Client, ns: str, name: str, case: Case, tmp_path: Path
) -> None:
    _ensure_crd(api, case)
    name = case.name(name)
    path = tmp_path / "obj.yaml"
    first = case.make(name, ns, 1)
    done = k.run("apply", "-f", _write(path, first), *k.validate_flags)
    assert done.stdout.strip() == f"{case.printed}/{name} created"
    shown = k.json("get", case.printed, name, *case.scope_args(ns))
    assert case.changed(shown) == case.expected[0]
    assert json.loads(shown["metadata"]["annotations"][LAST_APPLIED])["metadata"]["name"] == name

    second = case.make(name, ns, 2)
    done = k.run("apply", "-f", _write(path, second), *k.validate_flags)
    assert done.stdout.strip() == f"{case.printed}/{name} configured"
    shown = k.json("get", case.printed, name, *case.scope_args(ns))
    assert case.changed(shown) == case.expected[1]
    assert shown["metadata"]["uid"] == _served(api, case, second, name, ns)["metadata"]["uid"]
    recorded = json.loads(shown["metadata"]["annotations"][LAST_APPLIED])
    assert recorded == json.loads(json.dumps(second)) | {
        "metadata": {**second["metadata"], "annotations": {}}
    }

    done = k.run("apply", "-f", str(path), *k.validate_flags)
    assert done.stdout.strip() == f"{case.printed}/{name} {case.reapplied}"
    assert case.changed(_served(api, case, second, name, ns)) == case.expected[1]
