"""The scheduler's decisions as pure functions: may a pod run on a node, and which fitting node is best.

Filters follow kube-scheduler's default plugins in their order (NodeUnschedulable, TaintToleration,
NodeAffinity, NodeResourcesFit). A node is rejected by the first that fails, with the reasons the
real plugins give, so that a FailedScheduling message reads like one from a real cluster. Scoring
is LeastAllocated plus the default topology spreading of an owner's replicas over nodes and zones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class NodeFacts:
    """A node as the scheduler sees it, with what the pods bound to it request (kept up to date)."""

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

    def add_pod(self, pod: PodFacts, sign: int = 1) -> None:
        for name, amount in pod.requests.items():
            self.requested[name] += sign * amount
        self.nonzero_cpu += sign * pod.nonzero_cpu
        self.nonzero_memory += sign * pod.nonzero_memory
        self.pods += sign


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one node cannot take the pod; `resolvable` when preemption could in principle help."""

    reasons: tuple[str, ...]
    resolvable: bool = False


# ----- reading pods and nodes ---------------------------------------------------------------


def _container_requests(container: JSONDict) -> dict[str, int]:
    resources = container.get("resources") or {}
    requests = dict(resources.get("requests") or {})
    # The apiserver defaults a missing request to the limit.
    for name, limit in (resources.get("limits") or {}).items():
        requests.setdefault(name, limit)
    return {name: milli_or_zero(value) for name, value in requests.items()}


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for name, amount in more.items():
        total[name] = total.get(name, 0) + amount


def _max(total: dict[str, int], other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        if amount > total.get(name, 0):
            total[name] = amount


def pod_requests(spec: JSONDict) -> dict[str, int]:
    """The pod's effective requests: containers plus sidecars, or the largest init step, plus overhead."""
    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        _add(total, _container_requests(container))
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


def _nonzero(spec: JSONDict, resource: str, default: int) -> int:
    total = 0
    for container in spec.get("containers") or []:
        amount = _container_requests(container).get(resource, 0)
        total += amount or default
    return total


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
    return PodFacts(
        requests=pod_requests(spec),
        nonzero_cpu=_nonzero(spec, CPU, DEFAULT_CPU_MILLI),
        nonzero_memory=_nonzero(spec, MEMORY, DEFAULT_MEMORY_MILLI),
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
    if node.pods + 1 > node.allocatable.get(PODS, 0) // 1000:
        reasons.append(REASON_TOO_MANY_PODS)
    if not pod.requests:
        return reasons
    alloc, used = node.allocatable, node.requested
    for name in (CPU, MEMORY, STORAGE):
        want = pod.requests.get(name, 0)
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name in sorted(pod.requests):
        if name in (CPU, MEMORY, STORAGE, PODS):
            continue
        if pod.requests[name] > alloc.get(name, 0) - used.get(name, 0):
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
    reasons = insufficient_resources(pod, node)
    if reasons:
        return Rejection(tuple(reasons), resolvable=True)
    return None


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


def nodes_to_find(total: int, percentage: int = 0) -> int:
    """How many feasible nodes to find before scoring (kube-scheduler's percentageOfNodesToScore:
    all below 100 nodes, else an adaptive share, at least 100)."""
    if total < 100:
        return total
    pct = percentage or max(5, 50 - total // 125)
    return max(100, total * pct // 100)


def least_allocated(pod: PodFacts, node: NodeFacts) -> int:
    """0..100: the share of cpu and memory left free once the pod is placed (higher is emptier)."""
    score = 0
    for alloc, used in (
        (node.allocatable.get(CPU, 0), node.nonzero_cpu + pod.nonzero_cpu),
        (node.allocatable.get(MEMORY, 0), node.nonzero_memory + pod.nonzero_memory),
    ):
        if alloc > 0 and used <= alloc:
            score += (alloc - used) * 100 // alloc
    return score // 2


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
    spread = [0.0] * len(candidates)
    if pod.owner is not None and (owner_on_node or owner_in_zone):
        host_weight = math.log(total_nodes + 2)
        zone_weight = math.log(total_zones + 2)
        raw = [
            owner_on_node.get(n.name, 0) * host_weight
            + (owner_in_zone.get(n.zone, 0) * zone_weight if n.zone is not None else 0.0)
            for n in candidates
        ]
        top, low = max(raw), min(raw)
        spread = [100.0 if top == 0 else 100.0 * (top + low - r) / top for r in raw]
    best, best_score = candidates[0], -1.0
    for node, spread_score in zip(candidates, spread, strict=True):
        score = least_allocated(pod, node) + 2 * spread_score
        if score > best_score:
            best, best_score = node, score
    return best
