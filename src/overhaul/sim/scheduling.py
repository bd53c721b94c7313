"""The scheduler's decisions as pure functions: may a pod run on a node, and which fitting node is best.

Filters follow kube-scheduler's default plugins in their order (NodeUnschedulable, TaintToleration,
NodeAffinity, NodeResourcesFit). A node is rejected by the first that fails, with the reasons the
real plugins give, so that a FailedScheduling message reads like one from a real cluster. Scoring
is LeastAllocated plus the default topology spreading of an owner's replicas over nodes and zones.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

from overhaul.sim.quantity import milli_or_zero, parse_milli

JSONDict = dict[str, Any]

CPU, MEMORY, STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
ZONE_LABEL = "topology.kubernetes.io/zone"
NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"

# Requests counted for scoring when a container sets none (kube-scheduler's non-zero defaults).
DEFAULT_CPU_MILLI = parse_milli("100m")
DEFAULT_MEMORY_MILLI = parse_milli("200Mi")

# The reasons of kube-scheduler's plugins, verbatim.
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PREFILTER_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
REASON_TOO_MANY_PODS = "Too many pods"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
PREEMPTION_NO_VICTIMS = "No preemption victims found for incoming pod"
NO_NODES = "no nodes available to schedule pods"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str = ""
    effect: str = NO_SCHEDULE


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        """v1.Toleration.ToleratesTaint: an empty effect or key matches any; Exists ignores the value."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator in ("", "Equal") and self.value == taint.value


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the scheduler needs of a pod, read once from its spec."""

    requests: Mapping[str, int]  # milli-units per resource, without "pods"
    nonzero_cpu: int
    nonzero_memory: int
    tolerations: tuple[Toleration, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity_terms: tuple[JSONDict, ...] | None = None  # required node affinity; None: no requirement
    owner: str | None = None  # the controller's uid: replicas of one owner are spread
    preempt_never: bool = False
    # The common requests as plain integers: the fit check runs for every node of every decision.
    cpu: int = field(init=False, default=0)
    memory: int = field(init=False, default=0)
    storage: int = field(init=False, default=0)
    extended: bool = field(init=False, default=False)  # GPUs, hugepages: checked the slow way

    def __post_init__(self) -> None:
        requests = self.requests
        object.__setattr__(self, "cpu", requests.get(CPU, 0))
        object.__setattr__(self, "memory", requests.get(MEMORY, 0))
        object.__setattr__(self, "storage", requests.get(STORAGE, 0))
        object.__setattr__(self, "extended", any(n not in (CPU, MEMORY, STORAGE) for n in requests))


@dataclass(slots=True)
class NodeFacts:
    """A node as the scheduler sees it, with what the pods bound to it request (kept up to date).

    The common resources are plain integers: the fit check runs for every node of every decision.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()  # NoSchedule and NoExecute only, NotReady ones included
    unschedulable: bool = False
    allocatable: Mapping[str, int] = field(default_factory=dict)
    zone: str | None = None
    requested: Counter[str] = field(default_factory=Counter)
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    pods: int = 0
    free_cpu: int = field(init=False, default=0)
    free_memory: int = field(init=False, default=0)
    free_storage: int = field(init=False, default=0)
    max_pods: int = field(init=False, default=0)
    cpu_allocatable: int = field(init=False, default=0)
    memory_allocatable: int = field(init=False, default=0)
    # The last LeastAllocated score computed here: (pod's non-zero cpu, memory, score // 2). A node
    # changes far less often than it is scored (one pod in a hundred scores lands on it).
    least_allocated: tuple[int, int, int] = field(init=False, default=(-1, -1, 0))

    def __post_init__(self) -> None:
        self.set_allocatable(self.allocatable)

    def set_allocatable(self, allocatable: Mapping[str, int]) -> None:
        self.allocatable = allocatable
        self._refresh()

    def _refresh(self) -> None:
        alloc, used = self.allocatable, self.requested
        self.free_cpu = alloc.get(CPU, 0) - used[CPU]
        self.free_memory = alloc.get(MEMORY, 0) - used[MEMORY]
        self.free_storage = alloc.get(STORAGE, 0) - used[STORAGE]
        self.max_pods = alloc.get(PODS, 0) // 1000
        self.cpu_allocatable = alloc.get(CPU, 0)
        self.memory_allocatable = alloc.get(MEMORY, 0)
        self.least_allocated = (-1, -1, 0)

    def add_pod(self, pod: PodFacts, sign: int = 1) -> None:
        for name, amount in pod.requests.items():
            self.requested[name] += sign * amount
        self.nonzero_cpu += sign * pod.nonzero_cpu
        self.nonzero_memory += sign * pod.nonzero_memory
        self.pods += sign
        self._refresh()


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one node cannot take the pod; `resolvable` when preemption could in principle help."""

    reasons: tuple[str, ...]
    resolvable: bool = False


# ----- reading pods and nodes ---------------------------------------------------------------


def _container_requests(container: JSONDict) -> dict[str, int]:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits")
    if limits:
        # The apiserver defaults a missing request to the limit.
        requests = {**limits, **requests}
    return {name: milli_or_zero(value) for name, value in requests.items()}


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for name, amount in more.items():
        total[name] = total.get(name, 0) + amount


def _max(total: dict[str, int], other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        if amount > total.get(name, 0):
            total[name] = amount


def pod_requests(spec: JSONDict, app: list[dict[str, int]] | None = None) -> dict[str, int]:
    """The pod's effective requests: containers plus sidecars, or the largest init step, plus overhead."""
    total: dict[str, int] = {}
    if app is None:
        app = [_container_requests(c) for c in spec.get("containers") or []]
    for requests in app:
        _add(total, requests)
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in spec.get("initContainers") or []:
        requests = _container_requests(container)
        if container.get("restartPolicy") == "Always":
            # A sidecar keeps running next to everything that starts after it.
            _add(sidecars, requests)
            step = dict(sidecars)
        else:
            step = dict(sidecars)
            _add(step, requests)
        _max(init_peak, step)
    _add(total, sidecars)
    _max(total, init_peak)
    _add(total, {name: milli_or_zero(v) for name, v in (spec.get("overhead") or {}).items()})
    return {name: amount for name, amount in total.items() if amount}


def _nonzero(app: list[dict[str, int]], resource: str, default: int) -> int:
    return sum(requests.get(resource, 0) or default for requests in app)


def _tolerations(spec: JSONDict) -> tuple[Toleration, ...]:
    out = []
    for t in spec.get("tolerations") or []:
        if isinstance(t, dict):
            out.append(
                Toleration(
                    key=str(t.get("key") or ""),
                    operator=str(t.get("operator") or "Equal"),
                    value=str(t.get("value") or ""),
                    effect=str(t.get("effect") or ""),
                )
            )
    return tuple(out)


def _controller_uid(pod: JSONDict) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid") or "") or None
    return None


def pod_facts(pod: JSONDict) -> PodFacts:
    spec = pod.get("spec") or {}
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or None
    terms = None
    if required is not None:
        terms = tuple(t for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict))
    app = [_container_requests(c) for c in spec.get("containers") or []]
    return PodFacts(
        requests=pod_requests(spec, app),
        nonzero_cpu=_nonzero(app, CPU, DEFAULT_CPU_MILLI),
        nonzero_memory=_nonzero(app, MEMORY, DEFAULT_MEMORY_MILLI),
        tolerations=_tolerations(spec),
        node_selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
        affinity_terms=terms,
        owner=_controller_uid(pod),
        preempt_never=spec.get("preemptionPolicy") == "Never",
    )


def _condition_status(node: JSONDict, kind: str) -> str | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return str(c.get("status"))
    return None


def node_taints(node: JSONDict) -> tuple[Taint, ...]:
    """The taints that filter pods; a NotReady node carries the node lifecycle controller's taint even
    when nothing wrote it yet (Ready False: not-ready; Unknown or never reported: unreachable)."""
    taints = [
        Taint(str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
        for t in (node.get("spec") or {}).get("taints") or []
        if isinstance(t, dict) and t.get("effect") in (NO_SCHEDULE, NO_EXECUTE)
    ]
    ready = _condition_status(node, "Ready")
    if ready != "True" and not any(t.key in (NOT_READY_TAINT, UNREACHABLE_TAINT) for t in taints):
        taints.append(Taint(NOT_READY_TAINT if ready == "False" else UNREACHABLE_TAINT, "", NO_SCHEDULE))
    return tuple(taints)


def node_facts(node: JSONDict) -> NodeFacts:
    meta = node.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    status = node.get("status") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    return NodeFacts(
        name=str(meta.get("name") or ""),
        labels=labels,
        taints=node_taints(node),
        unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
        allocatable={str(k): milli_or_zero(v) for k, v in allocatable.items()},
        zone=labels.get(ZONE_LABEL),
    )


# ----- filters ------------------------------------------------------------------------------


def untolerated_taint(taints: Iterable[Taint], tolerations: Sequence[Toleration]) -> Taint | None:
    """The first NoSchedule/NoExecute taint no toleration tolerates (PreferNoSchedule never filters)."""
    for taint in taints:
        if taint.effect not in (NO_SCHEDULE, NO_EXECUTE):
            continue
        if not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


def tolerates_unschedulable(tolerations: Sequence[Toleration]) -> bool:
    taint = Taint(UNSCHEDULABLE_TAINT, "", NO_SCHEDULE)
    return any(t.tolerates(taint) for t in tolerations)


def matches_node_selector(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _as_int(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def match_expression(expr: JSONDict, value: str | None) -> bool:
    """One NodeSelectorRequirement against a label's (or field's) value, None when absent.
    A malformed requirement matches nothing, as the scheduler treats an unparsable selector."""
    op = expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None and not values
    if op == "DoesNotExist":
        return value is None and not values
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        have, bound = _as_int(value), _as_int(values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def _term_matches(term: JSONDict, name: str, labels: Mapping[str, str]) -> bool:
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    fields = [f for f in term.get("matchFields") or [] if isinstance(f, dict)]
    if not expressions and not fields:
        return False  # an empty term selects no node
    for expr in expressions:
        if not match_expression(expr, labels.get(str(expr.get("key")))):
            return False
    for expr in fields:
        if expr.get("key") != "metadata.name" or expr.get("operator") not in ("In", "NotIn"):
            return False
        if not match_expression(expr, name):
            return False
    return True


def matches_required_affinity(terms: Sequence[JSONDict] | None, name: str, labels: Mapping[str, str]) -> bool:
    """nodeSelectorTerms are ORed; within a term, expressions and fields are ANDed."""
    if terms is None:
        return True
    return any(_term_matches(term, name, labels) for term in terms)


def prefilter_node_names(terms: Sequence[JSONDict] | None) -> frozenset[str] | None:
    """The NodeAffinity PreFilter: when every term pins `metadata.name In`, only those nodes are
    looked at (a DaemonSet pod's case); None when every node must be."""
    if terms is None:
        return None
    names: set[str] = set()
    for term in terms:
        pinned: set[str] | None = None
        for expr in term.get("matchFields") or []:
            if isinstance(expr, dict) and expr.get("key") == "metadata.name" and expr.get("operator") == "In":
                values = {str(v) for v in expr.get("values") or []}
                pinned = values if pinned is None else pinned & values
        if pinned is None:
            return None
        names |= pinned
    return frozenset(names)


def insufficient_resources(pod: PodFacts, node: NodeFacts) -> list[str]:
    """NodeResourcesFit's reasons, in its order: pod count, cpu, memory, ephemeral storage, the rest."""
    reasons = []
    if node.pods + 1 > node.max_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    if not pod.requests:
        return reasons
    for name, want, free in ((CPU, pod.cpu, node.free_cpu), (MEMORY, pod.memory, node.free_memory)):
        if want > 0 and want > free:
            reasons.append(f"Insufficient {name}")
    if pod.storage > 0 and pod.storage > node.free_storage:
        reasons.append(f"Insufficient {STORAGE}")
    alloc, used = node.allocatable, node.requested
    for name in sorted(pod.requests):
        if name in (CPU, MEMORY, STORAGE, PODS):
            continue
        if pod.requests[name] > alloc.get(name, 0) - used[name]:
            reasons.append(f"Insufficient {name}")
    return reasons


def filter_node(pod: PodFacts, node: NodeFacts) -> Rejection | None:
    """None when the pod may run on the node, else the first failing plugin's reasons."""
    if node.unschedulable and not tolerates_unschedulable(pod.tolerations):
        return Rejection((REASON_UNSCHEDULABLE,))
    if node.taints:
        taint = untolerated_taint(node.taints, pod.tolerations)
        if taint is not None:
            return Rejection((f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}",))
    if (pod.node_selector and not matches_node_selector(pod.node_selector, node.labels)) or (
        pod.affinity_terms is not None
        and not matches_required_affinity(pod.affinity_terms, node.name, node.labels)
    ):
        return Rejection((REASON_AFFINITY,))
    if (
        node.pods < node.max_pods
        and pod.cpu <= node.free_cpu
        and pod.memory <= node.free_memory
        and pod.storage <= node.free_storage
        and not pod.extended
    ):
        return None  # the common case, without building reasons
    reasons = insufficient_resources(pod, node)
    if reasons:
        return Rejection(tuple(reasons), resolvable=True)
    return None


def find_feasible(
    pod: PodFacts, nodes: Iterable[NodeFacts], wanted: int
) -> tuple[list[NodeFacts], list[Rejection], int]:
    """Filters `nodes` in order until `wanted` fit: (fitting nodes, rejections, nodes looked at).
    The reference, with `pick_node`, of kube-scheduler's filter and score phases: `find_and_pick`
    and `NodeScores` do the same faster, and the property tests hold them to it."""
    feasible: list[NodeFacts] = []
    rejections: list[Rejection] = []
    processed = 0
    for node in nodes:
        processed += 1
        rejection = filter_node(pod, node)
        if rejection is not None:
            rejections.append(rejection)
            continue
        feasible.append(node)
        if len(feasible) >= wanted:
            break
    return feasible, rejections, processed


def _spread_raw(
    node: NodeFacts,
    owner_on_node: Mapping[str, int],
    owner_in_zone: Mapping[str, int],
    host_weight: float,
    zone_weight: float,
) -> float:
    """The owner's weight on the node before normalizing: its replicas there, then in the zone."""
    zone = owner_in_zone.get(node.zone, 0) * zone_weight if node.zone is not None else 0.0
    return owner_on_node.get(node.name, 0) * host_weight + zone


def least_allocated_half(node: NodeFacts, pod_cpu: int, pod_memory: int) -> int:
    """The LeastAllocated score of the node for a pod with these non-zero requests, halved (0..100):
    the share of cpu and memory left once the pod is placed."""
    score = 0
    alloc, used = node.cpu_allocatable, node.nonzero_cpu + pod_cpu
    if alloc > 0 and used <= alloc:
        score += (alloc - used) * 100 // alloc
    alloc, used = node.memory_allocatable, node.nonzero_memory + pod_memory
    if alloc > 0 and used <= alloc:
        score += (alloc - used) * 100 // alloc
    return score // 2


def _least_allocated_half(node: NodeFacts, pod_cpu: int, pod_memory: int) -> int:
    """least_allocated_half, kept on the node for the next pod of the same requests."""
    half = least_allocated_half(node, pod_cpu, pod_memory)
    node.least_allocated = (pod_cpu, pod_memory, half)
    return half


def find_and_pick(
    pod: PodFacts,
    nodes: Iterable[NodeFacts],
    wanted: int,
    owner_on_node: Mapping[str, int],
    owner_in_zone: Mapping[str, int],
    total_nodes: int,
    total_zones: int,
) -> tuple[NodeFacts | None, list[Rejection], int]:
    """`find_feasible` then `pick_node` in one pass over the nodes: the same choice, rejections and
    count of nodes looked at, for a fraction of the cost (the scheduler runs it for every pod, over
    a hundred nodes or more).

    The spreading score of a node depends only on its zone unless the owner has pods on it, and
    within one zone the best node is then the one that scores best on LeastAllocated: the pass
    keeps that node per zone, the owner's nodes aside, and only those are scored in full."""
    rejections: list[Rejection] = []
    processed = found = 0
    simple = not pod.node_selector and pod.affinity_terms is None and not pod.extended
    pod_cpu, pod_memory = pod.nonzero_cpu, pod.nonzero_memory
    spreading = pod.owner is not None and bool(owner_on_node or owner_in_zone)
    best: NodeFacts | None = None  # the first node with the best LeastAllocated score
    best_half = -1
    zone_best: dict[str | None, tuple[int, int, NodeFacts]] = {}  # zone → (found, half, node)
    owners: list[tuple[int, int, NodeFacts]] = []  # nodes with the owner's pods: (found, half, node)
    for node in nodes:
        processed += 1
        if not (simple and _fits_plainly(pod, node)):
            rejection = filter_node(pod, node)
            if rejection is not None:
                rejections.append(rejection)
                continue
        known = node.least_allocated
        if known[0] == pod_cpu and known[1] == pod_memory:
            half = known[2]
        else:
            half = _least_allocated_half(node, pod_cpu, pod_memory)
        found += 1
        if half > best_half:
            best, best_half = node, half
        if spreading:
            if node.name in owner_on_node:
                owners.append((found, half, node))
            else:
                zone = node.zone
                kept = zone_best.get(zone)
                if kept is None or half > kept[1]:
                    zone_best[zone] = (found, half, node)
        if found >= wanted:
            break
    if not spreading or best is None:
        return best, rejections, processed
    chosen = _spread_pick(
        best, [*zone_best.values(), *owners], owner_on_node, owner_in_zone, total_nodes, total_zones
    )
    return chosen, rejections, processed


def _spread_pick(
    best: NodeFacts,
    candidates: list[tuple[int, int, NodeFacts]],
    owner_on_node: Mapping[str, int],
    owner_in_zone: Mapping[str, int],
    total_nodes: int,
    total_zones: int,
) -> NodeFacts:
    """pick_node's choice among the best node of each zone and the nodes with the owner's pods,
    as (position among the fitting nodes, LeastAllocated // 2, node); `best` is the first node
    with the best LeastAllocated score, the choice when spreading scores nothing."""
    host_weight = math.log(total_nodes + 2)
    zone_weight = math.log(total_zones + 2)
    scored = [
        (at, half, node, _spread_raw(node, owner_on_node, owner_in_zone, host_weight, zone_weight))
        for at, half, node in candidates
    ]
    top = max(raw for *_, raw in scored)
    low = min(raw for *_, raw in scored)
    if top <= 0:
        return best  # no spreading score: LeastAllocated alone decides
    chosen_at, chosen, chosen_total = 0, best, -1.0
    for at, half, node, raw in scored:
        total = half + 2.0 * 100.0 * (top + low - raw) / top
        if total > chosen_total or (total == chosen_total and at < chosen_at):
            chosen_at, chosen, chosen_total = at, node, total
    return chosen


# What decides whether a "simple" pod (no selector, affinity or extended resources) fits a node
# and how the node scores for it: requests, non-zero requests, tolerations.
Shape = tuple[int, int, int, int, int, tuple[Toleration, ...]]
_UNFIT, _UNKNOWN = 255, 254  # in NodeScores' tables: does not fit; not computed since it changed


def _shape(pod: PodFacts) -> Shape | None:
    if pod.node_selector or pod.affinity_terms is not None or pod.extended:
        return None
    return (pod.cpu, pod.memory, pod.storage, pod.nonzero_cpu, pod.nonzero_memory, pod.tolerations)


def _fits_plainly(pod: PodFacts, node: NodeFacts) -> bool:
    """A pod with only cpu/memory/storage requests fits an untainted, schedulable node with room:
    that is most pods on most nodes, decided without `filter_node`'s reasons."""
    return (
        not node.unschedulable
        and not node.taints
        and node.pods < node.max_pods
        and pod.cpu <= node.free_cpu
        and pod.memory <= node.free_memory
        and pod.storage <= node.free_storage
    )


def _fits(pod: PodFacts, node: NodeFacts) -> bool:
    """filter_node(pod, node) is None, for a pod with a `Shape` (no selector, affinity or extended
    resources), the common case decided inline."""
    return _fits_plainly(pod, node) or filter_node(pod, node) is None


class NodeScores:
    """The scheduler's nodes in their order, with a table per pod shape of each node's verdict:
    does not fit, or its LeastAllocated score halved (0..100), kept until the node changes (the
    owner calls `changed`). A decision then reads a byte per node of its window, where reading
    the nodes themselves, cold in memory among 150,000 pods, cost most of the scheduler's time.

    `find_and_pick` gives exactly what find_feasible then pick_node give on the nodes from
    `start` round (the property tests hold it to that)."""

    def __init__(self, order: list[NodeFacts]) -> None:
        self.order = order
        self.index = {node.name: i for i, node in enumerate(order)}
        self._zones: dict[str | None, int] = {}
        self._zone_of = array("H", [self._zone_index(node.zone) for node in order])
        self._shapes: dict[Shape, int] = {}
        self._tables: list[bytearray] = []  # by shape number: a verdict per node

    def _zone_index(self, zone: str | None) -> int:
        return self._zones.setdefault(zone, len(self._zones))

    def changed(self, name: str) -> None:
        """A node's facts changed (pods, allocatable, taints, labels): its verdicts are redone."""
        i = self.index.get(name)
        if i is None:
            return
        for table in self._tables:
            table[i] = _UNKNOWN
        self._zone_of[i] = self._zone_index(self.order[i].zone)

    def _verdict(self, table: bytearray, i: int, pod: PodFacts) -> int:
        node = self.order[i]
        if not _fits(pod, node):
            table[i] = _UNFIT
            return _UNFIT
        known = node.least_allocated
        if known[0] == pod.nonzero_cpu and known[1] == pod.nonzero_memory:
            half = known[2]
        else:
            half = _least_allocated_half(node, pod.nonzero_cpu, pod.nonzero_memory)
        table[i] = half
        return half

    def find_and_pick(
        self,
        pod: PodFacts,
        start: int,
        wanted: int,
        owner_on_node: Mapping[str, int],
        owner_in_zone: Mapping[str, int],
        total_zones: int,
    ) -> tuple[NodeFacts | None, list[Rejection], int]:
        order, total = self.order, len(self.order)
        at = order.__getitem__
        described = _shape(pod)
        if described is None or total == 0:
            rotation = chain(map(at, range(start, total)), map(at, range(start)))
            return find_and_pick(pod, rotation, wanted, owner_on_node, owner_in_zone, total, total_zones)
        shape = self._shapes.get(described)
        if shape is None:
            shape = self._shapes[described] = len(self._tables)
            self._tables.append(bytearray([_UNKNOWN]) * total)
        table = self._tables[shape]
        spreading = pod.owner is not None and bool(owner_on_node or owner_in_zone)
        index = self.index
        owner_at = {index[n] for n in owner_on_node if n in index} if spreading else set()
        zone_of = self._zone_of
        zones = len(self._zones)
        zone_half = [-1] * zones  # per zone: the best score among nodes without the owner's pods,
        zone_found = [0] * zones  # the first node with it (its position among the fitting ones)
        zone_node = [0] * zones  # and its index
        owners: list[tuple[int, int, int]] = []  # (position, half, index) of the owner's nodes
        processed = found = 0
        best = -1
        best_half = -1
        for i in chain(range(start, total), range(start)):
            processed += 1
            half = table[i]
            if half == _UNKNOWN:
                half = self._verdict(table, i, pod)
            if half == _UNFIT:
                continue
            found += 1
            if half > best_half:
                best, best_half = i, half
            if spreading:
                if i in owner_at:
                    owners.append((found, half, i))
                else:
                    z = zone_of[i]
                    if half > zone_half[z]:
                        zone_half[z], zone_found[z], zone_node[z] = half, found, i
            if found >= wanted:
                break
        if best < 0:
            # Nothing fits: the rejections are wanted for the message, so every node is read.
            rotation = chain(map(at, range(start, total)), map(at, range(start)))
            return find_and_pick(pod, rotation, wanted, owner_on_node, owner_in_zone, total, total_zones)
        if not spreading:
            return order[best], [], processed
        candidates = [
            (zone_found[z], zone_half[z], order[zone_node[z]]) for z in range(zones) if zone_half[z] >= 0
        ]
        candidates += [(position, half, order[i]) for position, half, i in owners]
        chosen = _spread_pick(order[best], candidates, owner_on_node, owner_in_zone, total, total_zones)
        return chosen, [], processed


def _histogram(reasons: Iterable[str]) -> str:
    counts = Counter(reasons)
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


def fit_error_message(total_nodes: int, rejections: Sequence[Rejection], preempt_never: bool = False) -> str:
    """kube-scheduler's FitError text, with its preemption post-filter part (no pod here has lower
    priority victims: the simulation does not preempt)."""
    if total_nodes == 0:
        return NO_NODES
    filtered = _histogram(reason for r in rejections for reason in r.reasons)
    message = f"0/{total_nodes} nodes are available: {filtered}."
    if preempt_never:
        return message + " preemption: not eligible due to preemptionPolicy=Never."
    outcome = _histogram(
        PREEMPTION_NO_VICTIMS if r.resolvable else PREEMPTION_NOT_HELPFUL for r in rejections
    )
    return f"{message} preemption: 0/{total_nodes} nodes are available: {outcome}."


# ----- scoring ------------------------------------------------------------------------------


def nodes_to_find(total: int, percentage: int = 0, cap: int = 0) -> int:
    """How many feasible nodes to find before scoring (kube-scheduler's percentageOfNodesToScore:
    all below 100 nodes, else an adaptive share, at least 100), optionally capped."""
    if total < 100:
        wanted = total
    else:
        pct = percentage or max(5, 50 - total // 125)
        wanted = max(100, total * pct // 100)
    return min(wanted, cap) if cap > 0 else wanted


def pick_node(
    pod: PodFacts,
    candidates: Sequence[NodeFacts],
    owner_on_node: Mapping[str, int],
    owner_in_zone: Mapping[str, int],
    total_nodes: int,
    total_zones: int,
) -> NodeFacts:
    """The best candidate: LeastAllocated (weight 1) plus spreading of the owner's pods (weight 2,
    kube-scheduler's default topology spread over hostname and zone); ties go to the first."""
    spread: list[float] | None = None
    if pod.owner is not None and (owner_on_node or owner_in_zone):
        host_weight = math.log(total_nodes + 2)
        zone_weight = math.log(total_zones + 2)
        raw = [_spread_raw(n, owner_on_node, owner_in_zone, host_weight, zone_weight) for n in candidates]
        top, low = max(raw), min(raw)
        if top > 0:
            spread = [2.0 * 100.0 * (top + low - r) / top for r in raw]
    pod_cpu, pod_memory = pod.nonzero_cpu, pod.nonzero_memory
    best, best_score = candidates[0], -1.0
    for node, spread_score in zip(candidates, spread or repeat(200.0, len(candidates)), strict=False):
        total = least_allocated_half(node, pod_cpu, pod_memory) + spread_score
        if total > best_score:
            best, best_score = node, total
    return best
