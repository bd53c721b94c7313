"""OpenAPI v3 documents: what kubectl reads from /openapi/v3 for validation, apply and explain."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from overhaul.sim.openapi import (
    COMPONENTS,
    custom_component_name,
    openapi_document,
    openapi_index,
)
from overhaul.sim.resources import ResourceRegistry, ResourceType, crd_resource_types
from overhaul.sim.schemas import SchemaSet, load_schemas

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
STRATEGIC = "application/strategic-merge-patch+json"

CRONTAB_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {
        "group": "stable.example.com",
        "scope": "Namespaced",
        "names": {"kind": "CronTab", "plural": "crontabs", "singular": "crontab", "shortNames": ["ct"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas"}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A cron tab.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "cronSpec": {"type": "string"},
                                    "replicas": {"type": "integer"},
                                    "template": {
                                        "type": "object",
                                        "x-kubernetes-embedded-resource": True,
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(1, 34)


@pytest.fixture()
def registry() -> ResourceRegistry:
    reg = ResourceRegistry()
    for rt in crd_resource_types(CRONTAB_CRD):
        reg.add(rt)
    return reg


def _doc(registry: ResourceRegistry, schemas: SchemaSet, path: str) -> dict[str, Any]:
    doc = openapi_document(registry, schemas, path)
    assert doc is not None, path
    return doc


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "patch", "delete"):
            if method in item:
                yield path, method, item[method]


def _gvk_of(op: dict[str, Any]) -> tuple[str, str, str]:
    gvk = op["x-kubernetes-group-version-kind"]
    return gvk["group"], gvk["version"], gvk["kind"]


# --- index ---------------------------------------------------------------------------------------


def test_index_lists_every_group_version_with_the_callers_hash(registry: ResourceRegistry) -> None:
    asked: list[str] = []

    def hash_of(path: str) -> str:
        asked.append(path)
        return f"H{len(path)}"

    index = openapi_index(registry, hash_of)
    paths = index["paths"]
    for key in ("api/v1", "apis/apps/v1", "apis/batch/v1", "apis/stable.example.com/v1"):
        assert key in paths
        assert paths[key] == {"serverRelativeURL": f"/openapi/v3/{key}?hash=H{len(key)}"}
    assert not any(key.startswith("/") for key in paths)
    assert sorted(asked) == sorted(paths)


def test_every_indexed_document_exists(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    for path in openapi_index(registry, lambda p: "x")["paths"]:
        doc = _doc(registry, schemas, path)
        assert doc["openapi"] == "3.0.0"
        assert doc["info"] == {"title": "Kubernetes", "version": "v1.34.0"}


def test_unknown_paths_have_no_document(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    for path in ("apis/nope.example.com/v1", "apis/apps/v9", "api/v2", "foo", "apis/apps/v1/extra", ""):
        assert openapi_document(registry, schemas, path) is None


def test_paths_with_slashes_around_are_accepted(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    assert openapi_document(registry, schemas, "/apis/apps/v1/") == _doc(registry, schemas, "apis/apps/v1")


# --- components ----------------------------------------------------------------------------------


def test_deployment_component_carries_its_gvk(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    components = _doc(registry, schemas, "apis/apps/v1")["components"]["schemas"]
    deployment = components[DEPLOYMENT]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert deployment["type"] == "object"
    assert deployment["description"].startswith("Deployment enables")
    # kubernetes-validate pins apiVersion/kind with an enum; the apiserver's documents do not.
    assert deployment["properties"]["apiVersion"] == {
        "description": deployment["properties"]["apiVersion"]["description"],
        "type": "string",
    }
    for name in (
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.api.autoscaling.v1.Scale",
    ):
        assert name in components, name
    # Only what the group/version uses, not every definition.
    assert "io.k8s.api.batch.v1.JobSpec" not in components
    assert len(components) < 300


def test_core_components_have_an_empty_group(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    pod = _doc(registry, schemas, "api/v1")["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]


def test_every_ref_resolves_inside_its_document(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    for path in openapi_index(registry, lambda p: "x")["paths"]:
        doc = _doc(registry, schemas, path)
        components = doc["components"]["schemas"]
        refs = [node["$ref"] for node in _walk(doc) if isinstance(node.get("$ref"), str)]
        assert refs, path
        for ref in refs:
            assert ref.startswith(COMPONENTS), ref
            assert ref[len(COMPONENTS) :] in components, (path, ref)


def test_schema_types_are_single_openapi3_types(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    doc = _doc(registry, schemas, "api/v1")
    for node in _walk(doc["components"]):
        if "type" in node and not isinstance(node.get("type"), dict):
            assert isinstance(node["type"], str), node
            assert node["type"] != "null"
        if "$ref" in node:
            # OpenAPI 3.0 ignores siblings of $ref: descriptions and patch metadata go in an allOf wrapper.
            assert set(node) == {"$ref"}, node
        if "enum" in node:
            assert None not in node["enum"]


def test_strategic_merge_metadata_is_kept(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    components = _doc(registry, schemas, "apis/apps/v1")["components"]["schemas"]
    containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"] == {"$ref": COMPONENTS + "io.k8s.api.core.v1.Container"}
    strategy = components["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    assert strategy["allOf"] == [{"$ref": COMPONENTS + "io.k8s.api.apps.v1.DeploymentStrategy"}]
    assert strategy["description"]


def test_int_or_string_is_documented_like_the_apiserver(
    registry: ResourceRegistry, schemas: SchemaSet
) -> None:
    components = _doc(registry, schemas, "apis/apps/v1")["components"]["schemas"]
    ios = components["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert ios["format"] == "int-or-string"
    assert ios["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    quantity = components["io.k8s.apimachinery.pkg.api.resource.Quantity"]
    assert {"type": "string"} in quantity["oneOf"]


def _patch_meta(components: dict[str, Any], schema: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """kubectl's PatchMetaFromOpenAPIV3 walk: properties, then allOf[0], then $ref (then items)."""
    meta: dict[str, Any] = {}
    for key in path:
        sub = schema["properties"][key]
        meta = {k: v for k, v in sub.items() if k.startswith("x-kubernetes-patch")}
        if "items" in sub:
            sub = sub["items"]
        if sub.get("allOf"):
            sub = sub["allOf"][0]
        if "$ref" in sub:
            sub = components[sub["$ref"][len(COMPONENTS) :]]
        schema = sub
    return meta


def test_kubectl_finds_patch_metadata_through_the_components(
    registry: ResourceRegistry, schemas: SchemaSet
) -> None:
    components = _doc(registry, schemas, "apis/apps/v1")["components"]["schemas"]
    root = components[DEPLOYMENT]
    assert _patch_meta(components, root, ["spec", "template", "spec", "containers"]) == {
        "x-kubernetes-patch-merge-key": "name",
        "x-kubernetes-patch-strategy": "merge",
    }
    assert _patch_meta(components, root, ["spec", "template", "spec", "containers", "ports"]) == {
        "x-kubernetes-patch-merge-key": "containerPort",
        "x-kubernetes-patch-strategy": "merge",
    }
    assert _patch_meta(components, root, ["spec", "template", "metadata", "labels"]) == {}


# --- paths and operations ------------------------------------------------------------------------


def test_deployment_paths(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    paths = _doc(registry, schemas, "apis/apps/v1")["paths"]
    collection = "/apis/apps/v1/namespaces/{namespace}/deployments"
    assert set(paths[collection]) >= {"get", "post", "delete", "parameters"}
    assert set(paths[collection + "/{name}"]) >= {"get", "put", "patch", "delete", "parameters"}
    assert set(paths[collection + "/{name}/status"]) >= {"get", "put", "patch"}
    assert set(paths[collection + "/{name}/scale"]) >= {"get", "put", "patch"}
    assert "get" in paths["/apis/apps/v1/deployments"]
    assert "get" in paths["/apis/apps/v1/"]
    # DaemonSets have no scale subresource.
    assert "/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}/scale" not in paths


def test_cluster_scoped_paths_have_no_namespace(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    paths = _doc(registry, schemas, "api/v1")["paths"]
    assert "/api/v1/nodes/{name}" in paths
    assert "/api/v1/namespaces/{name}/finalize" in paths
    params = [p["name"] for p in paths["/api/v1/nodes/{name}"]["parameters"]]
    assert params == ["name", "pretty"]
    assert paths["/api/v1/nodes/{name}"]["get"]["operationId"] == "readCoreV1Node"
    # Namespaces cannot be deleted as a collection.
    assert "delete" not in paths["/api/v1/namespaces"]


def test_operation_ids_follow_the_apiserver(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    ids = {op["operationId"] for _, _, op in _operations(_doc(registry, schemas, "apis/apps/v1"))}
    for expected in (
        "listAppsV1NamespacedDeployment",
        "createAppsV1NamespacedDeployment",
        "deleteAppsV1CollectionNamespacedDeployment",
        "readAppsV1NamespacedDeployment",
        "replaceAppsV1NamespacedDeployment",
        "patchAppsV1NamespacedDeployment",
        "deleteAppsV1NamespacedDeployment",
        "listAppsV1DeploymentForAllNamespaces",
        "readAppsV1NamespacedDeploymentStatus",
        "patchAppsV1NamespacedDeploymentScale",
        "watchAppsV1NamespacedDeploymentList",
        "getAppsV1APIResources",
    ):
        assert expected in ids, expected
    rbac = _doc(registry, schemas, "apis/rbac.authorization.k8s.io/v1")
    assert "listRbacAuthorizationV1ClusterRole" in {op["operationId"] for _, _, op in _operations(rbac)}
    pod_ops = {op["operationId"] for _, _, op in _operations(_doc(registry, schemas, "api/v1"))}
    assert {"createCoreV1NamespacedPodEviction", "createCoreV1NamespacedPodBinding"} <= pod_ops


def test_actions_and_gvks(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    doc = _doc(registry, schemas, "apis/apps/v1")
    actions: dict[tuple[str, str], str] = {}
    for path, method, op in _operations(doc):
        actions[(path, method)] = op.get("x-kubernetes-action", "")
        if path != "/apis/apps/v1/":
            assert "x-kubernetes-group-version-kind" in op, (path, method)
    base = "/apis/apps/v1/namespaces/{namespace}/deployments"
    assert actions[(base, "get")] == "list"
    assert actions[(base, "post")] == "post"
    assert actions[(base, "delete")] == "deletecollection"
    assert actions[(base + "/{name}", "get")] == "get"
    assert actions[(base + "/{name}", "put")] == "put"
    assert actions[(base + "/{name}", "patch")] == "patch"
    assert actions[(base + "/{name}", "delete")] == "delete"
    assert actions[("/apis/apps/v1/watch/namespaces/{namespace}/deployments", "get")] == "watchlist"
    scale = doc["paths"][base + "/{name}/scale"]["patch"]
    assert _gvk_of(scale) == ("autoscaling", "v1", "Scale")
    status = doc["paths"][base + "/{name}/status"]["patch"]
    assert _gvk_of(status) == ("apps", "v1", "Deployment")


def test_write_operations_carry_field_validation(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    seen = 0
    for path in ("api/v1", "apis/apps/v1", "apis/stable.example.com/v1"):
        for op_path, method, op in _operations(_doc(registry, schemas, path)):
            if method not in ("post", "put", "patch"):
                continue
            seen += 1
            params = {p["name"]: p for p in op["parameters"]}
            field_validation = params["fieldValidation"]
            assert field_validation["in"] == "query"
            assert field_validation["schema"]["type"] == "string"
            assert "Strict" in field_validation["description"]
            assert {"dryRun", "fieldManager"} <= set(params), op_path
            assert "x-kubernetes-group-version-kind" in op
            assert op["requestBody"]["content"], op_path
            codes = set(op["responses"])
            assert "200" in codes
            assert "201" in codes
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert ok["$ref"].startswith(COMPONENTS)
    assert seen > 30


def _kubectl_supports_field_validation(doc: dict[str, Any], gvk: tuple[str, str, str]) -> bool:
    """kubectl's supportsQueryParamV3: the first PATCH operation of the GVK decides."""
    for _, method, op in _operations(doc):
        if method == "patch" and _gvk_of(op) == gvk:
            return any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
    return False


def _kubectl_supports_strategic(doc: dict[str, Any], gvk: tuple[str, str, str]) -> bool:
    """kubectl apply's gvkSupportsPatchOpenAPIV3 (every PATCH of the GVK must agree: map order)."""
    answers = {
        STRATEGIC in op["requestBody"]["content"]
        for _, method, op in _operations(doc)
        if method == "patch" and _gvk_of(op) == gvk
    }
    assert len(answers) == 1
    return answers.pop()


def test_kubectl_finds_server_side_validation(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    apps = _doc(registry, schemas, "apis/apps/v1")
    assert _kubectl_supports_field_validation(apps, ("apps", "v1", "Deployment"))
    core = _doc(registry, schemas, "api/v1")
    assert _kubectl_supports_field_validation(core, ("", "v1", "ConfigMap"))
    crd = _doc(registry, schemas, "apis/stable.example.com/v1")
    assert _kubectl_supports_field_validation(crd, ("stable.example.com", "v1", "CronTab"))


def test_patch_content_types(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    apps = _doc(registry, schemas, "apis/apps/v1")
    assert _kubectl_supports_strategic(apps, ("apps", "v1", "Deployment"))
    assert _kubectl_supports_strategic(apps, ("apps", "v1", "DaemonSet"))
    patch = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        STRATEGIC,
        "application/apply-patch+yaml",
    }
    crd = _doc(registry, schemas, "apis/stable.example.com/v1")
    assert not _kubectl_supports_strategic(crd, ("stable.example.com", "v1", "CronTab"))
    cr_patch = crd["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]["patch"]
    assert set(cr_patch["requestBody"]["content"]) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    }


# --- custom resources ----------------------------------------------------------------------------


def test_custom_resource_is_documented(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    doc = _doc(registry, schemas, "apis/stable.example.com/v1")
    components = doc["components"]["schemas"]
    name = custom_component_name("stable.example.com", "v1", "CronTab")
    assert name == "com.example.stable.v1.CronTab"
    crontab = components[name]
    assert crontab["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}
    ]
    assert crontab["description"] == "A cron tab."
    assert crontab["properties"]["spec"]["properties"]["cronSpec"] == {"type": "string"}
    assert crontab["properties"]["metadata"]["allOf"] == [
        {"$ref": COMPONENTS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert crontab["properties"]["kind"]["type"] == "string"
    # Embedded resources get their type and object metadata documented.
    assert set(crontab["properties"]["spec"]["properties"]["template"]["properties"]) == {
        "apiVersion",
        "kind",
        "metadata",
    }
    cron_list = components[name + "List"]
    assert cron_list["x-kubernetes-group-version-kind"][0]["kind"] == "CronTabList"
    assert cron_list["properties"]["items"]["items"] == {"$ref": COMPONENTS + name}
    paths = doc["paths"]
    base = "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs"
    assert paths[base]["post"]["operationId"] == "createStableExampleComV1NamespacedCronTab"
    assert paths[base]["post"]["requestBody"]["content"]["*/*"]["schema"] == {"$ref": COMPONENTS + name}
    assert "/apis/stable.example.com/v1/crontabs" in paths
    assert "patch" in paths[base + "/{name}/status"]
    assert _gvk_of(paths[base + "/{name}/scale"]["get"]) == ("autoscaling", "v1", "Scale")
    assert "io.k8s.api.autoscaling.v1.Scale" in components
    # The CRD's own schema is left untouched.
    crd_schema = CRONTAB_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert "metadata" not in crd_schema["properties"]
    assert "x-kubernetes-group-version-kind" not in crd_schema


def test_builtin_missing_from_the_schemas_is_documented_free_form(schemas: SchemaSet) -> None:
    reg = ResourceRegistry(builtins=[ResourceType("example.k8s.io", "v1", "Widget", "widgets")])
    doc = _doc(reg, schemas, "apis/example.k8s.io/v1")
    widget = doc["components"]["schemas"]["io.k8s.example.v1.Widget"]
    assert widget["x-kubernetes-preserve-unknown-fields"] is True
    patch = doc["paths"]["/apis/example.k8s.io/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert STRATEGIC in patch["requestBody"]["content"]


# --- discovery documents, size and speed ---------------------------------------------------------


def test_discovery_documents(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    assert _doc(registry, schemas, "apis/apps")["paths"]["/apis/apps/"]["get"]["operationId"] == (
        "getAppsAPIGroup"
    )
    assert "/api/" in _doc(registry, schemas, "api")["paths"]
    assert "/apis/" in _doc(registry, schemas, "apis")["paths"]


def test_documents_are_json_and_stable(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    first = json.dumps(_doc(registry, schemas, "api/v1"), sort_keys=True)
    second = json.dumps(_doc(registry, schemas, "api/v1"), sort_keys=True)
    assert first == second


def test_core_document_is_fast(registry: ResourceRegistry, schemas: SchemaSet) -> None:
    _doc(registry, schemas, "api/v1")  # converts the definitions once per schema set
    best = min(_timed(lambda: _doc(registry, schemas, "api/v1")) for _ in range(3))
    assert best < 0.05


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
