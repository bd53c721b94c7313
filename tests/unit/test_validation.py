"""Strict field validation: unknown fields and the apiserver's messages for them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from overhaul.sim.resources import BUILTIN_RESOURCES
from overhaul.sim.schemas import SchemaSet, load_schemas
from overhaul.sim.validation import (
    strict_decoding_error,
    strict_error_message,
    strict_patch_invalid,
    unknown_fields,
    warn_fields_header,
)


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(1, 34)


def _definition(schemas: SchemaSet, group: str, version: str, kind: str) -> dict[str, Any]:
    name = schemas.definition_for(group, version, kind)
    assert name is not None
    return schemas.definitions[name]


DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app.kubernetes.io/name": "web", "tier": "frontend"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "any/key": "v"},
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {}},
            }
        ],
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.25",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    }
                ],
            },
        },
    },
    "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
}


def test_valid_deployment_has_no_unknown_fields(schemas: SchemaSet) -> None:
    assert unknown_fields(DEPLOYMENT, _definition(schemas, "apps", "v1", "Deployment"), schemas) == []


def test_unknown_spec_field(schemas: SchemaSet) -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["foo"] = "bar"
    assert unknown_fields(obj, _definition(schemas, "apps", "v1", "Deployment"), schemas) == [".spec.foo"]


def test_nested_container_typos_in_document_order(schemas: SchemaSet) -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicyy"] = "Always"
    container["ports"][0]["contanerPort"] = 81
    obj["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox", "comand": []})
    obj["metadata"]["unknownMeta"] = 1
    assert unknown_fields(obj, _definition(schemas, "apps", "v1", "Deployment"), schemas) == [
        ".metadata.unknownMeta",
        ".spec.template.spec.containers[0].ports[0].contanerPort",
        ".spec.template.spec.containers[0].imagePullPolicyy",
        ".spec.template.spec.containers[1].comand",
    ]


def test_unknown_field_in_template_metadata_and_deep_structs(schemas: SchemaSet) -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["template"]["metadata"]["lables"] = {"a": "b"}
    obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["x"] = 1
    assert unknown_fields(obj, _definition(schemas, "apps", "v1", "Deployment"), schemas) == [
        ".spec.template.metadata.lables",
        ".spec.template.spec.containers[0].env[0].valueFrom.fieldRef.x",
    ]


def test_maps_accept_any_keys(schemas: SchemaSet) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"whatever/you-like": "x"}, "annotations": {"": ""}},
        "data": {"any.key": "v", "other": "w"},
        "binaryData": {"b": "AAAA"},
    }
    assert unknown_fields(configmap, _definition(schemas, "", "v1", "ConfigMap"), schemas) == []


def test_free_form_values_accept_anything(schemas: SchemaSet) -> None:
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "r"},
        "revision": 1,
        "data": {"spec": {"template": {"anything": {"goes": [1, 2, {"here": True}]}}}},
    }
    definition = _definition(schemas, "apps", "v1", "ControllerRevision")
    assert unknown_fields(revision, definition, schemas) == []


def test_wrong_value_types_are_not_unknown_fields(schemas: SchemaSet) -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["replicas"] = {"not": "a number"}
    obj["spec"]["template"]["spec"]["containers"] = "nope"
    assert unknown_fields(obj, _definition(schemas, "apps", "v1", "Deployment"), schemas) == []


def test_crd_with_a_full_schema_is_valid(schemas: SchemaSet) -> None:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"kind": "CronTab", "plural": "crontabs", "listKind": "CronTabList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec"}],
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas"}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-validations": [{"rule": "self.spec.replicas >= 0"}],
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["cronSpec"],
                                    "properties": {
                                        "cronSpec": {"type": "string", "pattern": "^.*$", "default": "*"},
                                        "port": {
                                            "x-kubernetes-int-or-string": True,
                                            "anyOf": [{"type": "integer"}, {"type": "string"}],
                                        },
                                        "mode": {"type": "string", "enum": ["a", "b"]},
                                        "tags": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "items": {
                                            "type": "array",
                                            "x-kubernetes-list-type": "map",
                                            "x-kubernetes-list-map-keys": ["name"],
                                            "items": {
                                                "type": "object",
                                                "properties": {"name": {"type": "string"}},
                                            },
                                        },
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }
    definition = _definition(schemas, "apiextensions.k8s.io", "v1", "CustomResourceDefinition")
    assert unknown_fields(crd, definition, schemas) == []
    crd["spec"]["versions"][0]["servd"] = True
    assert unknown_fields(crd, definition, schemas) == [".spec.versions[0].servd"]


@pytest.mark.parametrize("resource", BUILTIN_RESOURCES, ids=lambda rt: rt.kind)
def test_every_builtin_kind_accepts_its_type_and_object_meta(schemas: SchemaSet, resource: Any) -> None:
    definition = _definition(schemas, resource.group, resource.version, resource.kind)
    obj = {
        "apiVersion": resource.group_version,
        "kind": resource.kind,
        "metadata": {"name": "x", "labels": {"a": "b"}, "resourceVersion": "1", "uid": "u"},
    }
    assert unknown_fields(obj, definition, schemas) == []
    obj["bogus"] = 1
    assert unknown_fields(obj, definition, schemas) == [".bogus"]


# --- custom resources (structural schemas: pruning) ----------------------------------------------

CRONTAB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "cronSpec": {"type": "string"},
                "ports": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "empty": {"type": "object"},
                "embedded": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        },
    },
}


def _crontab(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "c"}, "spec": spec}


def test_custom_resource_unknown_fields(schemas: SchemaSet) -> None:
    obj = _crontab(cronSpec="* * * * *", foo=1, ports=[{"name": "a", "bad": 1}], labels={"any": "x"})
    obj["status"] = {"x": 1}
    assert unknown_fields(obj, CRONTAB_SCHEMA, schemas) == [".spec.foo", ".spec.ports[0].bad", ".status"]


def test_custom_resource_preserve_unknown_fields(schemas: SchemaSet) -> None:
    obj = _crontab(config={"anything": {"nested": [1, {"deep": True}]}})
    assert unknown_fields(obj, CRONTAB_SCHEMA, schemas) == []
    root_preserving = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert unknown_fields(_crontab(a=1, b={"c": 2}), root_preserving, schemas) == []


def test_preserve_keeps_its_level_but_prunes_declared_properties(schemas: SchemaSet) -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {
                    "ports": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    }
                },
            }
        },
    }
    obj = _crontab(anything=1, ports=[{"name": "a", "unknownNested": "v"}])
    assert unknown_fields(obj, schema, schemas) == [".spec.ports[0].unknownNested"]


def test_object_without_properties_is_pruned_in_custom_resources(schemas: SchemaSet) -> None:
    assert unknown_fields(_crontab(empty={"a": 1, "b": 2}), CRONTAB_SCHEMA, schemas) == [
        ".spec.empty.a",
        ".spec.empty.b",
    ]
    # ... unless asked for built-in (Go struct) rules.
    assert unknown_fields(_crontab(empty={"a": 1}), CRONTAB_SCHEMA, schemas, pruning=False) == []


def test_schemaless_custom_resource_accepts_anything(schemas: SchemaSet) -> None:
    obj = _crontab(anything={"goes": 1})
    obj["status"] = {"x": 1}
    assert unknown_fields(obj, {"type": "object"}, schemas) == []


def test_custom_resource_metadata_is_object_meta(schemas: SchemaSet) -> None:
    obj = _crontab()
    obj["metadata"] = {"name": "c", "labels": {"x/y": "z"}, "unknownMeta": 1}
    assert unknown_fields(obj, CRONTAB_SCHEMA, schemas) == [".metadata.unknownMeta"]
    # Without the schema set, metadata cannot be checked and is accepted.
    assert unknown_fields(obj, CRONTAB_SCHEMA, None) == []


def test_embedded_resources(schemas: SchemaSet) -> None:
    embedded = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "unknownEmbeddedMeta": 1},
        "spec": {"free": "form"},
    }
    obj = _crontab(embedded=embedded)
    assert unknown_fields(obj, CRONTAB_SCHEMA, schemas) == [".spec.embedded.metadata.unknownEmbeddedMeta"]


# --- messages ------------------------------------------------------------------------------------


def test_strict_error_message_one_field() -> None:
    assert strict_error_message("Deployment", "v1", [".spec.foo"], True) == (
        'Deployment in version "v1" cannot be handled as a Deployment: '
        'strict decoding error: unknown field "spec.foo"'
    )


def test_strict_error_message_many_fields() -> None:
    fields = [".spec.a", ".spec.template.spec.containers[0].bogus"]
    assert strict_error_message("Deployment", "v1", fields, True) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.a", unknown field "spec.template.spec.containers[0].bogus"'
    )


def test_custom_resources_get_the_same_strict_message() -> None:
    # kube-apiserver wraps the pruning result of custom resources in the same strict decoding error.
    assert strict_error_message("CronTab", "v1", [".spec.foo"], False) == (
        'CronTab in version "v1" cannot be handled as a CronTab: '
        'strict decoding error: unknown field "spec.foo"'
    )


def test_strict_decoding_error() -> None:
    assert strict_decoding_error([".spec.a", ".spec.b"]) == (
        'strict decoding error: unknown field "spec.a", unknown field "spec.b"'
    )


def test_warning_headers() -> None:
    assert warn_fields_header([".spec.foo", ".metadata.x"]) == [
        '299 - "unknown field \\"spec.foo\\""',
        '299 - "unknown field \\"metadata.x\\""',
    ]
    assert warn_fields_header([]) == []


def test_strict_patch_invalid_prints_the_patch_the_go_way() -> None:
    patch = {
        "spec": {"volumes": [{"name": "data", "hostPath": {"path": "/d"}}], "replicas": 3, "ratio": 1.5},
        "metadata": {"annotations": {"last": '{"a":1}'}},
        "x": None,
        "y": True,
    }
    message, details = strict_patch_invalid(patch, [".spec.volumes"])
    value = (
        'map[metadata:map[annotations:map[last:{\\"a\\":1}]] '
        "spec:map[ratio:1.5 replicas:3 volumes:[map[hostPath:map[path:/d] name:data]]] x:<nil> y:true]"
    )
    body = f'Invalid value: "{value}": strict decoding error: unknown field "spec.volumes"'
    assert message == f' "" is invalid: patch: {body}'
    assert details == {"causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]}


@pytest.mark.parametrize(
    ("number", "printed"),
    [(1.0, "1"), (1.5, "1.5"), (100000.0, "100000"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
     (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"), (1e21, "1e+21")],
)  # fmt: skip
def test_patch_numbers_print_like_go(number: float, printed: str) -> None:
    message, _ = strict_patch_invalid({"n": number}, [".n"])
    assert f'"map[n:{printed}]"' in message
