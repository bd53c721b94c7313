"""Small facts about pods, owners and nodes that several controllers need."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson

from overhaul.sim import defaults
from overhaul.sim.clock import parse_rfc3339

JSONDict = dict[str, Any]
_J = TypeVar("_J")
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


# The last ownerReferences list looked at and its controller: one change is read by a dozen
# controllers, and its old and new versions share the list (a status write copies no more than the
# metadata dict). Keeping the list keeps its id from being reused; stored lists are never changed.
_last_refs: list[Any] = [None, None]


def controller_ref(obj: JSONDict) -> JSONDict | None:
    refs = meta(obj).get("ownerReferences")
    if not refs:
        return None
    last = _last_refs
    if refs is last[0]:
        found: JSONDict | None = last[1]
        return found
    found = None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller"):
            found = ref
            break
    last[0], last[1] = refs, found
    return found


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


def json_copy(value: _J) -> _J:
    """A deep copy of plain JSON data (API objects): a JSON round trip is several times faster
    than copy.deepcopy."""
    copied: _J = orjson.loads(orjson.dumps(value))
    return copied


def defaulted_pod_spec(template_spec: JSONDict) -> JSONDict:
    """A copy of a template's pod spec with the apiserver's pod defaults applied: what every pod
    created from the template stores. Replicas share it (stored objects are never changed in
    place), which spares a copy per pod and some 3 KB of memory each at 150,000 pods."""
    # A JSON round trip copies plain JSON several times faster than deepcopy.
    spec: JSONDict = orjson.loads(orjson.dumps(template_spec))
    defaults.pod({"spec": spec})
    return spec


@dataclass(frozen=True, slots=True)
class PodParts:
    """What the pods an owner creates from one template share (see `SharedPodParts`)."""

    spec: JSONDict
    labels: dict[str, str]
    refs: list[JSONDict]


class SharedPodParts:
    """Per owner, the parts of its pods that are the same for all of them: the defaulted spec of its
    current template, the labels and the owner reference. Replicas share these objects (stored
    objects are never changed in place): a copy per pod spared, and some 4 KB of memory each at
    150,000 pods; readers that key caches on identity (managedFields, the scheduler) find them."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[JSONDict, dict[str, str] | None, PodParts]] = {}

    def get(
        self,
        owner: JSONDict,
        template: JSONDict,
        extra_labels: dict[str, str] | None = None,
        source: JSONDict | None = None,
    ) -> PodParts:
        """The parts for `template`; `source` is the stored object it was read from, when it is a
        copy (a ControllerRevision's template)."""
        uid = str(meta(owner)["uid"])
        found = self._parts.get(uid)
        source = template if source is None else source
        # The same template dict is the same template: stored objects are replaced, never changed.
        if found is not None and found[0] is source and found[1] == extra_labels:
            return found[2]
        t_meta = template.get("metadata") or {}
        labels: dict[str, str] = t_meta.get("labels") or {}
        if extra_labels:
            labels = {**labels, **extra_labels}
        parts = PodParts(defaulted_pod_spec(template.get("spec") or {}), labels, [owner_reference(owner)])
        self._parts[uid] = (source, extra_labels, parts)
        return parts

    def forget(self, owner_uid: str) -> None:
        self._parts.pop(owner_uid, None)


def pod_from_template(
    template: JSONDict,
    owner: JSONDict,
    namespace: str,
    name: str | None = None,
    generate_name: str | None = None,
    extra_labels: dict[str, str] | None = None,
    spec: JSONDict | None = None,
    shared: PodParts | None = None,
) -> JSONDict:
    """A new pod from a template, owned by `owner` (as controllers create them). With `shared` (from
    `SharedPodParts`), its spec, labels and owner reference are used as they are, `spec` and
    `extra_labels` applying on top when given."""
    t_meta = template.get("metadata") or {}
    if shared is not None:
        labels = {**shared.labels, **extra_labels} if extra_labels else shared.labels
        refs = shared.refs
        spec = shared.spec if spec is None else spec
    else:
        labels = dict(t_meta.get("labels") or {})
        labels.update(extra_labels or {})
        refs = [owner_reference(owner)]
    pod_meta: JSONDict = {
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": refs,
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
        # A JSON round trip copies plain JSON several times faster than deepcopy.
        "spec": spec if spec is not None else orjson.loads(orjson.dumps(template.get("spec") or {})),
    }


# ----- shared by the workload controllers ---------------------------------------------------

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString against `total`: ints as they are, "N%" rounded up or down (intstr)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value or "0").strip()
    if text.endswith("%"):
        pct = int(text[:-1] or 0)
        whole, rest = divmod(pct * total, 100)
        return whole + (1 if round_up and rest else 0)
    return int(text)


def replicas_of(obj: JSONDict, default: int = 1) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return default if value is None else int(value)


def is_running_and_ready(pod: JSONDict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def target_node(pod: JSONDict) -> str:
    """The node a pod runs on, or is pinned to by a `metadata.name` node-affinity term (DaemonSet pods)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            values = req.get("values") or []
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return ""


def restart_count(pod: JSONDict) -> int:
    return sum(
        int(c.get("restartCount") or 0) for c in (pod.get("status") or {}).get("containerStatuses") or []
    )


def deletion_cost(pod: JSONDict) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(POD_DELETION_COST, 0))
    except ValueError:
        return 0


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[JSONDict], on_node: dict[str, int] | None = None) -> list[JSONDict]:
    """Pods in the order a controller deletes them when scaling down (controller.ActivePodsWithRanks):
    unscheduled, pending, not ready, cheaper, doubled up on a node, ready for less time, more restarts,
    newer first."""
    on_node = on_node or {}

    def key(pod: JSONDict) -> tuple[Any, ...]:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        since = ready_since(pod)
        return (
            bool(node),
            _PHASE_RANK.get(str((pod.get("status") or {}).get("phase")), 3),
            is_ready(pod),
            deletion_cost(pod),
            -on_node.get(node, 0) if node else 0,
            # Ready for less time first; an unknown ready time counts as the newest.
            -(since.timestamp() if since is not None else float("inf")),
            -restart_count(pod),
            # Newer first: the creation timestamp sorts as text (RFC 3339), so negate by ordering below.
            _Reverse(str(meta(pod).get("creationTimestamp") or "")),
        )

    return sorted(pods, key=key)


class _Reverse:
    """Sorts strings in reverse inside a tuple key."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Reverse) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


def set_controller_ref(obj: JSONDict, owner: JSONDict) -> JSONDict:
    """A copy of `obj` with `owner` as its controller (adoption)."""
    new = copy.deepcopy(obj)
    refs = [r for r in meta(new).get("ownerReferences") or [] if r.get("uid") != meta(owner)["uid"]]
    new["metadata"]["ownerReferences"] = [*refs, owner_reference(owner)]
    return new


def without_owner(obj: JSONDict, owner_uid: str) -> JSONDict:
    """A copy of `obj` without its references to `owner_uid` (release, orphaning)."""
    new = copy.deepcopy(obj)
    refs = [r for r in meta(new).get("ownerReferences") or [] if r.get("uid") != owner_uid]
    if refs:
        new["metadata"]["ownerReferences"] = refs
    else:
        new["metadata"].pop("ownerReferences", None)
    return new


def pod_phase(pod: JSONDict) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def omit_zero(status: JSONDict, *fields: str) -> JSONDict:
    """Drops int fields that are 0, as Go's `omitempty` does when the API serializes a status."""
    for name in fields:
        if not status.get(name):
            status.pop(name, None)
    return status


def namespace_terminating(details: JSONDict | None) -> bool:
    """An ApiError's details say the namespace is being deleted (creates there fail until it is gone)."""
    return any(c.get("reason") == "NamespaceTerminating" for c in (details or {}).get("causes") or [])
