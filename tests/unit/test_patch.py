"""The three PATCH content types, with the patches kubectl really sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.sim.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from overhaul.sim.schemas import SchemaSet, load_schemas

SCHEMAS = load_schemas(1, 30)
DEPLOYMENT = SCHEMAS.definition_for("apps", "v1", "Deployment")
POD = SCHEMAS.definition_for("", "v1", "Pod")
NODE = SCHEMAS.definition_for("", "v1", "Node")
SERVICE = SCHEMAS.definition_for("", "v1", "Service")

DIRECTIVE_PREFIXES = ("$patch", "$retainKeys", "$setElementOrder/", "$deleteFromPrimitiveList/")


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "finalizers": ["a", "b"],
        },
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "img:1",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                        },
                        {"name": "sidecar", "image": "side:1"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def smp(target: dict[str, Any], patch: dict[str, Any], definition: str | None = DEPLOYMENT) -> Any:
    return strategic_merge_patch(target, patch, SCHEMAS, definition)


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def directive_keys(value: Any) -> list[str]:
    """Every directive key anywhere in a JSON value."""
    if isinstance(value, dict):
        found = [k for k in value if k.startswith(DIRECTIVE_PREFIXES)]
        return found + [k for v in value.values() for k in directive_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in directive_keys(v)]
    return []


# --------------------------------------------------------------------------- JSON merge patch

RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7386_EXAMPLES)
def test_json_merge_patch_follows_the_rfc_examples(target: Any, patch: Any, expected: Any) -> None:
    assert json_merge_patch(target, patch) == expected


def test_json_merge_patch_neither_mutates_nor_aliases_its_inputs() -> None:
    target = {"a": {"b": [1, 2]}, "c": {"d": 1}}
    patch = {"a": {"x": {"y": [3]}}, "c": None}
    before = copy.deepcopy((target, patch))
    result = json_merge_patch(target, patch)
    assert (target, patch) == before
    result["a"]["b"].append(9)
    result["a"]["x"]["y"].append(9)
    assert (target, patch) == before


# --------------------------------------------------------------------------- JSON patch


def test_json_patch_applies_every_operation() -> None:
    ops = [
        {"op": "add", "path": "/spec/replicas", "value": 3},
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/metadata/labels/app", "value": "api"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
        {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
        {"op": "move", "from": "/metadata/annotations", "path": "/metadata/copied"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "new"}},
    ]
    result = json_patch(deployment(), ops)
    assert result["spec"]["replicas"] == 3
    assert result["metadata"]["labels"] == {"app": "api"}
    assert result["metadata"]["copied"] == {"app": "api"}
    assert "annotations" not in result["metadata"]
    assert result["metadata"]["finalizers"] == ["b"]
    assert [c["name"] for c in containers(result)] == ["c", "sidecar", "new"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/spec/replicas", "value": 5}],
        [{"op": "test", "path": "/spec/replicas", "value": True}],
        [{"op": "remove", "path": "/spec/nothing"}],
        [{"op": "replace", "path": "/no/such/path", "value": 1}],
        [{"op": "add", "path": "/spec/template/spec/containers/9", "value": {}}],
        [{"op": "frobnicate", "path": "/spec"}],
        [{"op": "add", "value": 1}],
        [{"path": "/spec"}],
        [{"op": "add", "path": "spec", "value": 1}],
        ["add"],
        {"op": "add", "path": "/a", "value": 1},
        "not a list",
    ],
)
def test_json_patch_failures_raise_patch_error(ops: Any) -> None:
    target = deployment()
    before = copy.deepcopy(target)
    with pytest.raises(PatchError):
        json_patch(target, ops)
    assert target == before


def test_json_patch_results_share_nothing_with_the_inputs() -> None:
    value = {"k": ["v"]}
    ops = [{"op": "add", "path": "/x", "value": value}]
    target = {"a": {"b": 1}}
    result = json_patch(target, ops)
    result["x"]["k"].append("w")
    result["a"]["b"] = 2
    assert value == {"k": ["v"]}
    assert target == {"a": {"b": 1}}


# --------------------------------------------------------------------------- strategic merge patch: kubectl


def test_kubectl_cordon() -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {"podCIDR": "10.0.0.0/24"},
    }
    result = smp(node, {"spec": {"unschedulable": True}}, NODE)
    assert result["spec"] == {"podCIDR": "10.0.0.0/24", "unschedulable": True}


def test_kubectl_uncordon_deletes_with_null() -> None:
    node = {"metadata": {"name": "n1"}, "spec": {"unschedulable": True, "taints": [{"key": "k"}]}}
    result = smp(node, {"spec": {"unschedulable": None}}, NODE)
    assert result["spec"] == {"taints": [{"key": "k"}]}


def test_kubectl_set_image_keeps_other_containers_and_fields() -> None:
    original = deployment()
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:2"}]}}}}
    result = smp(original, patch)
    expected = deployment()
    containers(expected)[0]["image"] = "img:2"
    assert result == expected
    assert original == deployment()


def test_kubectl_apply_patch_with_set_element_order_and_an_env_var_deleted() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                            "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                            "image": "img:3",
                            "name": "c",
                        }
                    ],
                }
            }
        }
    }
    result = smp(deployment(), patch)
    first = containers(result)[0]
    assert [c["name"] for c in containers(result)] == ["c", "sidecar"]
    assert first["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert first["image"] == "img:3"
    assert first["ports"] == [{"containerPort": 80, "name": "http"}]
    assert directive_keys(result) == []


def test_set_element_order_reorders_without_content_changes() -> None:
    patch = {
        "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "c"}]}}}
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers(result)] == ["sidecar", "c"]
    assert containers(result)[1]["env"][0] == {"name": "A", "value": "1"}


def test_set_element_order_places_new_elements_where_listed() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "new"}, {"name": "sidecar"}],
                    "containers": [{"name": "new", "image": "new:1"}],
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers(result)] == ["c", "new", "sidecar"]


def test_set_element_order_must_agree_with_the_patch_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "sidecar"}],
                    "containers": [{"name": "sidecar", "image": "x"}, {"name": "c", "image": "y"}],
                }
            }
        }
    }
    with pytest.raises(PatchError, match="doesn't match"):
        smp(deployment(), patch)


def test_finalizers_are_a_union_and_delete_from_primitive_list_removes() -> None:
    added = smp(deployment(), {"metadata": {"finalizers": ["b", "c"]}})
    assert added["metadata"]["finalizers"] == ["a", "b", "c"]
    removed = smp(deployment(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zzz"]}})
    assert removed["metadata"]["finalizers"] == ["b"]
    nothing_to_remove = smp({"metadata": {}}, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert nothing_to_remove == {"metadata": {}}


def test_kubectl_apply_removing_a_finalizer() -> None:
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b", "c"],
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "finalizers": ["c"],
        }
    }
    assert smp(deployment(), patch)["metadata"]["finalizers"] == ["b", "c"]


def test_retain_keys_switching_to_recreate_drops_rolling_update() -> None:
    as_kubectl_sends_it = {
        "spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}
    }
    assert smp(deployment(), as_kubectl_sends_it)["spec"]["strategy"] == {"type": "Recreate"}
    without_the_null = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert smp(deployment(), without_the_null)["spec"]["strategy"] == {"type": "Recreate"}


def test_without_retain_keys_the_strategy_map_merges() -> None:
    result = smp(deployment(), {"spec": {"strategy": {"type": "Recreate"}}})
    assert result["spec"]["strategy"] == {
        "type": "Recreate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }


def test_retain_keys_refuses_a_patch_setting_an_unlisted_key() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}}
    with pytest.raises(PatchError, match="retainKeys"):
        smp(deployment(), patch)


def test_volumes_merge_by_name_and_retain_keys_switches_the_source() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {"$retainKeys": ["name", "secret"], "name": "data", "secret": {"secretName": "s"}}
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "secret": {"secretName": "s"}}]


def test_container_ports_merge_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
                        }
                    ]
                }
            }
        }
    }
    ports = containers(smp(deployment(), patch))[0]["ports"]
    assert ports == [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]


def test_service_ports_merge_by_port() -> None:
    service = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = smp(service, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, SERVICE)
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_owner_references_merge_by_uid_and_conditions_by_type() -> None:
    pod = {
        "metadata": {"ownerReferences": [{"uid": "u1", "name": "rs"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}]
        },
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = smp(pod, patch, POD)
    assert result["metadata"]["ownerReferences"] == [{"uid": "u1", "name": "rs", "controller": True}]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Scheduled", "status": "True"},
    ]


def test_a_new_element_without_set_element_order_goes_first_like_the_apiserver() -> None:
    # patch.go mergeSortedSlice: elements the server list never had come before the server-only ones.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n:1"}]}}}}
    assert [c["name"] for c in containers(smp(deployment(), patch))] == ["new", "c", "sidecar"]


def test_patch_order_wins_for_elements_it_names() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar"}, {"name": "c"}]}}}}
    assert [c["name"] for c in containers(smp(deployment(), patch))] == ["sidecar", "c"]


def test_lists_without_a_merge_strategy_are_replaced() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["x"]}]}}}}
    first = smp(deployment(), patch)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["y", "z"]}]}}}}
    assert containers(smp(first, patch))[0]["args"] == ["y", "z"]


def test_map_directives_replace_and_delete() -> None:
    replaced = smp(deployment(), {"metadata": {"labels": {"$patch": "replace", "tier": "fe"}}})
    assert replaced["metadata"]["labels"] == {"tier": "fe"}
    # As in patch.go handleDirectiveInMergeMap: the map is emptied, the key stays.
    deleted = smp(deployment(), {"metadata": {"labels": {"$patch": "delete"}}})
    assert deleted["metadata"]["labels"] == {}
    whole = smp(deployment(), {"$patch": "replace", "kind": "Deployment"})
    assert whole == {"kind": "Deployment"}


def test_list_directives_replace_and_delete() -> None:
    replace = {
        "spec": {
            "template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]}}
        }
    }
    assert containers(smp(deployment(), replace)) == [{"name": "only", "image": "o"}]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    assert [c["name"] for c in containers(smp(deployment(), delete))] == ["c"]
    empty = {"spec": {"template": {"spec": {"volumes": [{"$patch": "replace"}]}}}}
    assert smp(deployment(), empty)["spec"]["template"]["spec"]["volumes"] == []


def test_directives_inside_new_values_are_dropped() -> None:
    patch = {
        "metadata": {"annotations": {"$patch": "replace", "a": "1", "b": None}},
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [
                        {
                            "name": "init",
                            "$setElementOrder/env": [{"name": "X"}],
                            "env": [{"name": "X", "value": "1"}],
                        }
                    ]
                }
            }
        },
    }
    result = smp(deployment(), patch)
    assert result["metadata"]["annotations"] == {"a": "1"}
    assert result["spec"]["template"]["spec"]["initContainers"] == [
        {"name": "init", "env": [{"name": "X", "value": "1"}]}
    ]
    assert directive_keys(result) == []


def test_maps_merge_and_null_deletes() -> None:
    result = smp(
        deployment(), {"metadata": {"labels": {"app": None, "tier": "fe"}}, "spec": {"paused": True}}
    )
    assert result["metadata"]["labels"] == {"tier": "fe"}
    assert result["spec"]["paused"] is True
    assert result["spec"]["replicas"] == 2


@pytest.mark.parametrize("definition", [None, "io.example.v1.Widget"])
def test_without_schema_information_maps_merge_and_lists_are_replaced(definition: str | None) -> None:
    widget = {"spec": {"items": [{"name": "a"}, {"name": "b"}], "size": {"w": 1, "h": 2}, "tags": ["x"]}}
    patch = {"spec": {"items": [{"name": "c"}], "size": {"h": None, "d": 3}, "tags": ["y"]}}
    result = strategic_merge_patch(widget, patch, SCHEMAS if definition else None, definition)
    assert result == {"spec": {"items": [{"name": "c"}], "size": {"w": 1, "d": 3}, "tags": ["y"]}}


def test_unknown_fields_of_known_kinds_fall_back_to_merge_semantics() -> None:
    result = smp(deployment(), {"spec": {"custom": {"list": [1]}}})
    result = smp(result, {"spec": {"custom": {"list": [2], "other": True}}})
    assert result["spec"]["custom"] == {"list": [2], "other": True}


def test_strategic_merge_patch_does_not_touch_its_inputs() -> None:
    original = deployment()
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"x": "y"}},
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "env": [{"name": "B", "$patch": "delete"}]}]}}
        },
    }
    before = copy.deepcopy((original, patch))
    result = smp(original, patch)
    assert (original, patch) == before
    containers(result)[1]["image"] = "changed"
    result["metadata"]["labels"]["x"] = "z"
    assert (original, patch) == before


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (["not", "an", "object"], "cannot unmarshal array"),
        ("text", "cannot unmarshal string"),
        (None, "cannot unmarshal null"),
        ({"metadata": {"labels": {"$patch": "merge"}}}, "unknown patch type: merge"),
        ({"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}, "merging lists cannot yet"),
        (
            {"spec": {"template": {"spec": {"containers": [{"$patch": "bogus"}]}}}},
            "unknown patch type: bogus",
        ),
        (
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            "does not contain declared merge key",
        ),
        ({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}, "merge key: name"),
        ({"spec": {"template": {"spec": {"containers": ["c"]}}}}, "list element types are not identical"),
        ({"metadata": {"finalizers": [["x"]]}}, "list element types are not identical"),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
            "invalid patch format of primitive list",
        ),
        ({"metadata": {"$deleteFromPrimitiveList": ["a"]}}, "invalid patch format of primitive list"),
        ({"metadata": {"$setElementOrder/finalizers": "a"}}, "invalid patch format of setElementOrder list"),
        ({"metadata": {"$setElementOrderfinalizers": []}}, "invalid patch format of setElementOrder list"),
        ({"spec": {"strategy": {"$retainKeys": "type"}}}, "invalid patch format of retainKeys"),
        (
            {"metadata": {"$setElementOrder/finalizers": ["a"], "finalizers": "a"}},
            "expected a []interface {}",
        ),
    ],
)
def test_malformed_patches_raise(patch: Any, message: str) -> None:
    with pytest.raises(PatchError) as raised:
        smp(deployment(), patch)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_lists_of_lists_cannot_be_merged() -> None:
    with pytest.raises(PatchError, match="lists of lists are not supported"):
        smp({"metadata": {}}, {"metadata": {"finalizers": [["x"]]}})


def test_a_target_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(PatchError, match="invalid JSON document"):
        smp([1], {"a": 1})  # type: ignore[arg-type]
    assert smp(None, {"a": 1}) == {"a": 1}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- patch.go semantics, small types

# The struct of apimachinery's strategicpatch tests, as a schema: one list of each kind.
MERGE_ITEM_SCHEMAS = SchemaSet(
    minor=(1, 0),
    definitions={
        "mergeItem": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "mergingList": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/mergeItem"},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name",
                },
                "nonMergingList": {"type": "array", "items": {"$ref": "#/$defs/mergeItem"}},
                "mergingIntList": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge",
                },
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
                "retainKeysMap": {"$ref": "#/$defs/mergeItem", "x-kubernetes-patch-strategy": "retainKeys"},
            },
        }
    },
)


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        ({"mergingIntList": [1, 2]}, {"mergingIntList": [2, 3]}, {"mergingIntList": [1, 2, 3]}),
        ({"mergingIntList": [1, 2, 3]}, {"mergingIntList": [3, 1]}, {"mergingIntList": [2, 3, 1]}),
        (
            {"mergingList": [{"name": "1"}, {"name": "2", "value": "b"}, {"name": "3"}]},
            {"mergingList": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"}]},
            {
                "mergingList": [
                    {"name": "2", "value": "b"},
                    {"name": "3", "value": "c"},
                    {"name": "1", "value": "a"},
                ]
            },
        ),
        (
            {"mergingList": [{"name": "1"}, {"name": "1"}, {"name": "2"}]},
            {"mergingList": [{"name": "1", "$patch": "delete"}]},
            {"mergingList": [{"name": "2"}]},
        ),
        (
            {"mergingList": [{"name": "1"}, {"name": "2", "value": "2"}]},
            {
                "$setElementOrder/mergingList": [{"name": "4"}, {"name": "1"}, {"name": "2"}, {"name": "3"}],
                "mergingList": [{"name": "4", "value": "4"}, {"name": "3", "value": "3"}],
            },
            {
                "mergingList": [
                    {"name": "4", "value": "4"},
                    {"name": "1"},
                    {"name": "2", "value": "2"},
                    {"name": "3", "value": "3"},
                ]
            },
        ),
        (
            {"mergingIntList": [1, 2, 3, 4]},
            {"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]},
            {"mergingIntList": [1, 2, 4]},
        ),
        (
            {"mergingIntList": [1, 3]},
            {"$setElementOrder/mergingIntList": [3, 2, 1]},
            {"mergingIntList": [3, 1]},
        ),
        ({"simpleMap": {"k1": "1", "k2": "1"}}, {"simpleMap": {"$patch": "delete"}}, {"simpleMap": {}}),
        ({"mergingList": [{"name": "1"}]}, {"mergingList": [{"$patch": "replace"}]}, {"mergingList": []}),
        ({"name": "1", "value": "1"}, {"$patch": "replace", "other": "a"}, {"other": "a"}),
        ({"replacingItem": {"a": 1, "b": 2}}, {"replacingItem": {"c": 3}}, {"replacingItem": {"c": 3}}),
        (
            {"nonMergingList": [{"name": "1"}]},
            {"nonMergingList": [{"name": "2"}]},
            {"nonMergingList": [{"name": "2"}]},
        ),
        (
            {"retainKeysMap": {"name": "foo", "value": "a"}},
            {"retainKeysMap": {"$retainKeys": ["name", "other"], "other": "b"}},
            {"retainKeysMap": {"name": "foo", "other": "b"}},
        ),
        (
            {"retainKeysMap": {"name": "foo", "value": "a"}},
            {"retainKeysMap": {}},
            {"retainKeysMap": {"name": "foo", "value": "a"}},
        ),
        (
            {"mergingList": [{"name": "1", "mergingIntList": [1]}]},
            {"mergingList": [{"name": "1", "mergingIntList": [2]}]},
            {"mergingList": [{"name": "1", "mergingIntList": [2, 1]}]},
        ),
    ],
)
def test_patch_go_semantics(
    original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert strategic_merge_patch(original, patch, MERGE_ITEM_SCHEMAS, "mergeItem") == expected


def test_set_element_order_naming_an_element_out_of_patch_order_errors() -> None:
    patch = {
        "$setElementOrder/mergingList": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
        "mergingList": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}],
    }
    with pytest.raises(PatchError, match="doesn't match"):
        strategic_merge_patch({"mergingList": [{"name": "1"}]}, patch, MERGE_ITEM_SCHEMAS, "mergeItem")


def test_true_and_one_are_different_list_values() -> None:
    result = strategic_merge_patch({"mergingIntList": [1]}, {"mergingIntList": [True]}, None, None)
    assert result == {"mergingIntList": [True]}
    with pytest.raises(PatchError, match="not identical"):
        strategic_merge_patch(
            {"mergingIntList": [1]}, {"mergingIntList": [True]}, MERGE_ITEM_SCHEMAS, "mergeItem"
        )


# --------------------------------------------------------------------------- properties

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "a", "b", "x y"])
keys = st.sampled_from(["a", "b", "c", "spec", "name", "image"])
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)
json_objects = st.dictionaries(keys, json_values, max_size=4)
# Lists without null members or objects: RFC 7386 keeps those as they are, strategic merge cleans them.
plain_values = st.recursive(
    st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "a", "b"]),
    lambda inner: (
        st.lists(st.booleans() | st.integers(-5, 5), max_size=3)
        | st.dictionaries(keys, inner | st.none(), max_size=3)
    ),
    max_leaves=10,
)
plain_patches = st.dictionaries(keys, plain_values | st.none(), max_size=4)


@given(json_objects)
def test_an_empty_merge_patch_changes_nothing(target: dict[str, Any]) -> None:
    assert json_merge_patch(target, {}) == target


@given(json_objects, keys, json_values.filter(lambda v: v is not None and not isinstance(v, dict)))
def test_a_merge_patch_that_sets_a_key_reads_back(target: dict[str, Any], key: str, value: Any) -> None:
    assert json_merge_patch(target, {key: value})[key] == value


@given(json_objects, keys, st.dictionaries(keys, scalars.filter(lambda v: v is not None), max_size=3))
def test_a_merge_patch_merges_into_an_object_member(target: dict[str, Any], key: str, value: Any) -> None:
    result = json_merge_patch(target, {key: value})
    current = target.get(key)
    before: dict[str, Any] = current if isinstance(current, dict) else {}
    assert result[key] == {**before, **value}


@given(json_objects, json_objects)
def test_merge_patches_never_mutate_their_inputs(target: dict[str, Any], patch: dict[str, Any]) -> None:
    before = copy.deepcopy((target, patch))
    json_merge_patch(target, patch)
    strategic_merge_patch(target, patch, None, None)
    assert (target, patch) == before


@given(json_objects, plain_patches)
def test_without_schemas_strategic_merge_is_json_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    assert strategic_merge_patch(target, patch, None, None) == json_merge_patch(target, patch)


@given(json_objects)
def test_an_empty_json_patch_changes_nothing(target: dict[str, Any]) -> None:
    assert json_patch(target, []) == target


# Patches over a Pod, built from real field names and every directive, mostly well formed.
container_names = st.sampled_from(["c", "sidecar", "new"])
env_entry = st.fixed_dictionaries(
    {"name": st.sampled_from(["A", "B", "C"])}, optional={"value": st.sampled_from(["1", "2"])}
)
env_patch = st.lists(
    env_entry | st.builds(lambda n: {"name": n, "$patch": "delete"}, st.sampled_from(["A", "B"])), max_size=3
)
container_patch = st.fixed_dictionaries(
    {"name": container_names},
    optional={
        "image": st.sampled_from(["img:2", "img:3"]),
        "env": env_patch,
        "$setElementOrder/env": st.lists(
            st.builds(lambda n: {"name": n}, st.sampled_from(["A", "B", "C"])), max_size=3
        ),
        "$patch": st.just("delete"),
        "args": st.lists(st.sampled_from(["x", "y"]), max_size=2),
        "securityContext": st.sampled_from(
            [{"$patch": "replace", "runAsUser": 1}, {"$patch": "delete"}, {"privileged": None}]
        ),
    },
)
pod_spec_patch = st.fixed_dictionaries(
    {},
    optional={
        "containers": st.lists(container_patch, max_size=3)
        | st.just([{"$patch": "replace"}, {"name": "only"}]),
        "$setElementOrder/containers": st.lists(
            st.builds(lambda n: {"name": n}, container_names), max_size=3
        ),
        "nodeName": st.sampled_from(["n1", None]),
        "volumes": st.just([{"$retainKeys": ["name", "secret"], "name": "data", "secret": {}}]),
    },
)
metadata_patch = st.fixed_dictionaries(
    {},
    optional={
        "finalizers": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "$deleteFromPrimitiveList/finalizers": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
        "$setElementOrder/finalizers": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
        "labels": st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", None]), max_size=2)
        | st.just({"$patch": "replace", "new": "y"}),
    },
)
pod_patches = st.fixed_dictionaries({}, optional={"metadata": metadata_patch, "spec": pod_spec_patch})


def a_pod() -> dict[str, Any]:
    template = deployment()["spec"]["template"]
    return {
        "metadata": {"name": "p", "finalizers": ["a", "b"], "labels": {"app": "x"}},
        "spec": template["spec"],
    }


@settings(max_examples=300)
@given(pod_patches)
def test_strategic_merge_never_leaves_directives(patch: dict[str, Any]) -> None:
    try:
        result = smp(a_pod(), patch, POD)
    except PatchError:
        return  # e.g. a $setElementOrder list that disagrees with its patch list
    assert directive_keys(result) == []
    names = [c["name"] for c in result["spec"]["containers"]]
    assert len(names) == len(set(names))


@settings(max_examples=300)
@given(
    json_objects.map(lambda p: {"spec": p})
    | st.dictionaries(
        st.sampled_from(
            ["$patch", "$retainKeys", "$setElementOrder/spec", "$deleteFromPrimitiveList/spec", "spec"]
        ),
        json_values,
    )
)
def test_strategic_merge_of_garbage_raises_only_patch_error(patch: dict[str, Any]) -> None:
    try:
        result = smp(a_pod(), patch, POD)
    except PatchError:
        return
    assert directive_keys(result) == []
