"""Small facts about pods, owners and nodes that several controllers need."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from typing import Any

import orjson

from overhaul.sim.clock import parse_rfc3339

JSONDict = dict[str, Any]
PODS = ("", "pods")
NODES = ("", "nodes")


def meta(obj: JSONDict) -> JSONDict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def condition(obj: JSONDict, kind: str) -> JSONDict | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return None


def is_terminating(obj: JSONDict) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_finished(pod: JSONDict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: JSONDict) -> bool:
    """Counts towards a controller's replicas: not finished and not being deleted."""
    return not is_terminating(pod) and not is_finished(pod)


def is_ready(pod: JSONDict) -> bool:
    c = condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def ready_since(pod: JSONDict) -> datetime | None:
    c = condition(pod, "Ready")
    if c is None or c.get("status") != "True" or not c.get("lastTransitionTime"):
        return None
    return parse_rfc3339(str(c["lastTransitionTime"]))


def is_available(pod: JSONDict, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least minReadySeconds (the deployment controller's availability)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and (now - since).total_seconds() >= min_ready_seconds


def node_ready(node: JSONDict) -> bool:
    c = condition(node, "Ready")
    return c is not None and c.get("status") == "True"


def controller_ref(obj: JSONDict) -> JSONDict | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def owner_reference(owner: JSONDict, block_owner_deletion: bool = True) -> JSONDict:
    """The controller reference a controller puts on what it creates."""
    m = meta(owner)
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": block_owner_deletion,
    }


def template_hash(template: JSONDict, collisions: int = 0) -> str:
    """A stable short hash of a pod template (the role of pod-template-hash / controller-revision-hash)."""
    raw = orjson.dumps(template, option=orjson.OPT_SORT_KEYS) + str(collisions).encode()
    digest = hashlib.sha256(raw).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(10):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def pod_from_template(
    template: JSONDict,
    owner: JSONDict,
    namespace: str,
    name: str | None = None,
    generate_name: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> JSONDict:
    """A new pod from a template, owned by `owner` (as controllers create them)."""
    t_meta = template.get("metadata") or {}
    labels = dict(t_meta.get("labels") or {})
    labels.update(extra_labels or {})
    pod_meta: JSONDict = {
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [owner_reference(owner)],
    }
    if t_meta.get("annotations"):
        pod_meta["annotations"] = dict(t_meta["annotations"])
    if name:
        pod_meta["name"] = name
    else:
        pod_meta["generateName"] = generate_name or f"{meta(owner)['name']}-"
    if t_meta.get("finalizers"):
        pod_meta["finalizers"] = list(t_meta["finalizers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
