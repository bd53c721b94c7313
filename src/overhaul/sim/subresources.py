"""Subresources with their own shapes: scale, eviction and binding."""

from __future__ import annotations

import copy
from typing import Any

from overhaul.sim import errors
from overhaul.sim.cluster import (
    PATCH_JSON,
    PATCH_MERGE,
    PATCH_STRATEGIC,
    Cluster,
    WriteOptions,
)
from overhaul.sim.patch import PatchError, json_merge_patch, json_patch
from overhaul.sim.resources import ResourceType

JSONDict = dict[str, Any]


def selector_string(selector: JSONDict | None) -> str:
    """A metav1.LabelSelector in its string form (`a=b,c in (d,e)`), as Scale.status.selector shows."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(sorted(parts))


def _scale_of(rt: ResourceType, obj: JSONDict) -> JSONDict:
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_meta = {
        k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
    }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {
            "replicas": int(status.get("replicas", 0)),
            "selector": selector_string(spec.get("selector")),
        },
    }


def get_scale(cluster: Cluster, rt: ResourceType, namespace: str | None, name: str) -> JSONDict:
    return _scale_of(rt, cluster.get(rt, namespace, name).obj)


def scale_update(
    cluster: Cluster,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    body: Any,
    patch_type: str | None,
    opts: WriteOptions,
) -> JSONDict:
    """PUT or PATCH of `/scale`: only spec.replicas reaches the parent object."""
    current = cluster.get(rt, namespace, name)
    scale = _scale_of(rt, current.obj)
    try:
        if patch_type is None:
            new_scale = body
        elif patch_type == PATCH_JSON:
            new_scale = json_patch(scale, body)
        elif patch_type in (PATCH_MERGE, PATCH_STRATEGIC):
            new_scale = json_merge_patch(scale, body)
        else:
            raise errors.unsupported_media_type(patch_type)
    except PatchError as err:
        raise errors.ApiError(422, "Invalid", str(err)) from err
    if not isinstance(new_scale, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (new_scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [
                (
                    "spec.replicas",
                    "FieldValueInvalid",
                    f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                )
            ],
        )
    want_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
    if patch_type is None and want_rv and want_rv != current.obj["metadata"].get("resourceVersion"):
        raise errors.stale_conflict(rt.group, rt.plural, name)
    parent = copy.deepcopy(current.obj)
    parent.setdefault("spec", {})["replicas"] = replicas
    parent["metadata"].pop("resourceVersion", None)
    stored = cluster.update(rt, namespace, name, parent, opts)
    return _scale_of(rt, stored.obj)


def _success(code: int) -> JSONDict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


def bind_pod(cluster: Cluster, namespace: str, name: str, body: Any, manager: str) -> JSONDict:
    """POST pods/NAME/binding: assigns the pod to a node, as a scheduler does."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a Binding")
    node = (body.get("target") or {}).get("name")
    if not node:
        raise errors.bad_request("binding target name is required")
    rt = cluster.registry.get("", "v1", "pods")
    assert rt is not None
    current = cluster.get(rt, namespace, name)
    if (current.obj.get("spec") or {}).get("nodeName"):
        raise errors.conflict(
            "", "pods", name, f'pod {name} is already assigned to node "{current.obj["spec"]["nodeName"]}"'
        )
    pod = copy.deepcopy(current.obj)
    pod["spec"]["nodeName"] = node
    pod["metadata"].pop("resourceVersion", None)
    cluster.update(rt, namespace, name, pod, WriteOptions(manager=manager, field_validation="Ignore"))
    return _success(201)
