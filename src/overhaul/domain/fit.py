"""Whether a pod fits on a node, as kube-scheduler's filters decide, over NodeView and PodView.

Filters, in the scheduler's order (the first that fails names the reason): the node is
schedulable (not cordoned, Ready), its NoSchedule/NoExecute taints are tolerated, `nodeSelector`
and required node affinity match, then the pod's requests fit in what the node has left, and the
node has a pod slot left. Soft constraints (preferred affinity, PreferNoSchedule, spreading) and
pod (anti-)affinity are not modelled: they never make a pod unschedulable here, which keeps the
capacity check from crying wolf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from overhaul.domain.cluster import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeView,
    PodView,
    Resources,
    Taint,
)

UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
HARD_EFFECTS = ("NoSchedule", "NoExecute")

# The scheduler's wording of each reason, for a "0/N nodes are available: ..." summary.
UNSCHEDULABLE = "node(s) were unschedulable"
NOT_READY = "node(s) were not ready"
TAINT = "node(s) had untolerated taint"
SELECTOR = "node(s) didn't match Pod's node affinity/selector"
CPU = "Insufficient cpu"
MEMORY = "Insufficient memory"
EPHEMERAL = "Insufficient ephemeral-storage"
PODS = "Too many pods"


def tolerated(pod: PodView, taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in pod.tolerations)


def _requirement_matches(req: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    key, op, values = req
    present = key in labels
    value = labels.get(key)
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(value or ""), int(values[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: NodeSelectorTerm, node: NodeView) -> bool:
    """A NodeSelectorTerm: every expression on labels and every field (metadata.name) holds;
    a term with neither selects nothing."""
    expressions, fields = term
    if not expressions and not fields:
        return False
    if not all(_requirement_matches(r, node.labels) for r in expressions):
        return False
    return all(_requirement_matches(r, {"metadata.name": node.name}) for r in fields)


def selector_matches(pod: PodView, node: NodeView) -> bool:
    """`nodeSelector` (every pair) and required node affinity (any one term)."""
    labels = node.labels
    if any(labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    terms = pod.required_node_affinity
    return not terms or any(term_matches(t, node) for t in terms)


def placement_reason(pod: PodView, node: NodeView) -> str | None:
    """Why the pod may not go to the node regardless of room (None: it may)."""
    if node.unschedulable and not tolerated(pod, UNSCHEDULABLE_TAINT):
        return UNSCHEDULABLE
    if not node.ready or node.deletion_timestamp is not None:
        return NOT_READY
    if any(t.effect in HARD_EFFECTS and not tolerated(pod, t) for t in node.taints):
        return TAINT
    if not selector_matches(pod, node):
        return SELECTOR
    return None


def room_reason(requests: Resources, free: Resources, free_pods: int) -> str | None:
    """Why requests do not fit in what is left (None: they fit)."""
    if requests.cpu_milli > free.cpu_milli:
        return CPU
    if requests.memory_bytes > free.memory_bytes:
        return MEMORY
    if requests.ephemeral_bytes > free.ephemeral_bytes:
        return EPHEMERAL
    if free_pods < 1:
        return PODS
    return None


@dataclass
class NodeRoom:
    """A node and what it has left for more pods."""

    node: NodeView
    free: Resources
    free_pods: int

    @classmethod
    def of(cls, node: NodeView, pods: tuple[PodView, ...] | list[PodView]) -> NodeRoom:
        """What `node` has left given the unfinished pods bound to it."""
        used = Resources()
        count = 0
        for pod in pods:
            if not pod.finished:
                used += pod.requests
                count += 1
        return cls(node, node.allocatable - used, node.allocatable_pods - count)

    def reason(self, pod: PodView) -> str | None:
        """Why the pod does not fit here now (None: it fits)."""
        return placement_reason(pod, self.node) or room_reason(pod.requests, self.free, self.free_pods)

    def place(self, pod: PodView) -> None:
        self.free -= pod.requests
        self.free_pods -= 1


@dataclass
class Packing:
    """Where each pod went (`placed`: pod key → node name) and the pods that fit nowhere, with the
    reasons counted over the nodes (`"Insufficient cpu": 3`)."""

    placed: dict[str, str]
    unplaced: list[tuple[PodView, dict[str, int]]]


def _tightness(room: NodeRoom, pod: PodView) -> tuple[float, str]:
    """Best fit: prefer the node left with the least room (relative to its size) after placing."""
    alloc = room.node.allocatable
    cpu = (room.free.cpu_milli - pod.requests.cpu_milli) / alloc.cpu_milli if alloc.cpu_milli else 0.0
    mem = (
        (room.free.memory_bytes - pod.requests.memory_bytes) / alloc.memory_bytes
        if alloc.memory_bytes
        else 0.0
    )
    return (cpu + mem, room.node.name)


def pack(pods: list[PodView], rooms: list[NodeRoom]) -> Packing:
    """Places `pods` on `rooms` (mutated), largest requests first, each on the tightest node it fits
    (best-fit decreasing). A pod that fits nowhere when its turn comes is unplaced; since rooms
    only shrink, it fits nowhere at the end either."""
    order = sorted(
        pods,
        key=lambda p: (-p.requests.cpu_milli, -p.requests.memory_bytes, -p.requests.ephemeral_bytes, p.key),
    )
    packing = Packing({}, [])
    for pod in order:
        best: NodeRoom | None = None
        best_key: tuple[float, str] | None = None
        reasons: dict[str, int] = {}
        for room in rooms:
            why = room.reason(pod)
            if why is not None:
                reasons[why] = reasons.get(why, 0) + 1
                continue
            key = _tightness(room, pod)
            if best_key is None or key < best_key:
                best, best_key = room, key
        if best is None:
            packing.unplaced.append((pod, reasons))
        else:
            best.place(pod)
            packing.placed[pod.key] = best.node.name
    return packing


def summary(reasons: dict[str, int], nodes: int) -> str:
    """In kube-scheduler's words: `0/8 nodes are available: 5 Insufficient cpu, 3 node(s) were
    unschedulable`."""
    parts = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"0/{nodes} nodes are available" + (f": {parts}" if parts else "")
