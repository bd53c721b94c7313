"""The default scheduler: binds pending pods to nodes, or reports why it cannot.

It keeps what every node has allocated in memory, updated from pod and node events (as
kube-scheduler's cache does), so a decision costs a pass over the nodes, never over the pods.
Pods that fit nowhere are parked with PodScheduled=False and one FailedScheduling event, and are
looked at again only when a node changes or a pod frees room on one, at most once a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from overhaul.sim.controllers.events import record_event
from overhaul.sim.controllers.podutil import NODES, PODS, JSONDict, is_finished, is_terminating, meta
from overhaul.sim.controllers.runtime import AGENT_SHARE, Controller
from overhaul.sim.scheduling import (
    REASON_PREFILTER_AFFINITY,
    NodeFacts,
    NodeScores,
    PodFacts,
    Rejection,
    filter_node,
    find_and_pick,
    fit_error_message,
    node_facts,
    nodes_to_find,
    pod_facts,
    prefilter_node_names,
)
from overhaul.sim.store import StorageKey, WatchEvent

if TYPE_CHECKING:
    from overhaul.sim.cluster import Cluster
    from overhaul.sim.store import Stored

SCHEDULER_NAME = "default-scheduler"
FLUSH = "retry-unschedulable"
# kube-scheduler scores up to 10 % of 5,000 nodes per pod; interpreted Python cannot at 150,000 pods,
# so at most its minimum share (100 feasible nodes) is scored. Below 100 nodes every node is.
MAX_NODES_TO_SCORE = 100
FLUSH_INTERVAL = 1.0  # simulated seconds between retries of parked pods (kube-scheduler's initial backoff)

PodKey = tuple[str, str]
_NONE: dict[str, int] = {}  # an owner without pods anywhere (never written to)


@dataclass(slots=True)
class _Bound:
    node: str
    facts: PodFacts


class SchedulerController(Controller):
    name = "scheduler"
    share = AGENT_SHARE
    watches = (PODS, NODES)

    def __init__(
        self,
        cluster: Cluster,
        percentage_of_nodes_to_score: int = 0,
        max_nodes_to_score: int = MAX_NODES_TO_SCORE,
    ) -> None:
        super().__init__(cluster)
        self.percentage = percentage_of_nodes_to_score
        self.max_nodes_to_score = max_nodes_to_score
        self.nodes: dict[str, NodeFacts] = {}
        self._order: list[NodeFacts] = []
        self._scores = NodeScores([])
        self._order_stale = True
        self._next_start = 0
        self._bound: dict[PodKey, _Bound] = {}
        self._owner_nodes: dict[str, Counter[str]] = {}
        self._owner_zones: dict[str, Counter[str]] = {}
        self._zones: Counter[str] = Counter()
        # Unschedulable pods: what was read of them and the message they were given.
        self._parked: dict[PodKey, tuple[PodFacts, str]] = {}
        self._dirty_nodes: set[str] = set()
        self._last_flush = float("-inf")
        self._binding: tuple[PodKey, PodFacts] | None = None
        self._last_facts: tuple[object, str | None, PodFacts] | None = None

    # ----- the in-memory cache --------------------------------------------------------------

    def initial_items(self) -> Iterable[Hashable]:
        for stored in self.cluster.store.collection(NODES).items.values():
            self._node_changed(stored.obj, None)
        for stored in list(self.cluster.store.collection(PODS).items.values()):
            yield from self._pod_changed("ADDED", stored.obj, None)

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        obj = event.stored.obj
        old = event.old
        items: list[Hashable] = []
        if key == NODES:
            if event.type == "DELETED":
                self._node_deleted(str(meta(obj).get("name")))
            else:
                self._node_changed(obj, old)
        elif (
            old is not None
            and event.type == "MODIFIED"
            and old.get("spec") is obj.get("spec")
            and obj["spec"].get("nodeName")
            and is_finished(old) == is_finished(obj)
            and old["metadata"].get("deletionTimestamp") == obj["metadata"].get("deletionTimestamp")
        ):
            pass  # a bound pod's status write (the kubelet's, mostly): nothing the scheduler counts
        else:
            items.extend(self._pod_changed(event.type, obj, old))
        if self._parked and self._dirty_nodes:
            items.append(FLUSH)
        return items

    def _node_changed(self, obj: JSONDict, old: JSONDict | None) -> None:
        fresh = node_facts(obj)
        current = self.nodes.get(fresh.name)
        if current is None:
            self.nodes[fresh.name] = fresh
            self._order_stale = True
            if fresh.zone is not None:
                self._zones[fresh.zone] += 1
            self._count_existing_pods(fresh)
        else:
            if current.zone != fresh.zone:
                if current.zone is not None:
                    self._zones[current.zone] -= 1
                if fresh.zone is not None:
                    self._zones[fresh.zone] += 1
            current.labels, current.taints = fresh.labels, fresh.taints
            current.unschedulable, current.zone = fresh.unschedulable, fresh.zone
            current.set_allocatable(fresh.allocatable)
            self._node_facts_changed(fresh.name)
        self._dirty_nodes.add(fresh.name)

    def _count_existing_pods(self, node: NodeFacts) -> None:
        """Pods may name a node before it exists (or before the scheduler saw it)."""
        for key in self.cluster.store.collection(PODS).by_node.get(node.name, ()):
            namespace, _, name = key.partition("/")
            bound = self._bound.get((namespace, name))
            if bound is not None and bound.node == node.name:
                node.add_pod(bound.facts)

    def _node_deleted(self, name: str) -> None:
        node = self.nodes.pop(name, None)
        if node is not None:
            self._order_stale = True
            if node.zone is not None:
                self._zones[node.zone] -= 1

    def _pod_changed(self, kind: str, pod: JSONDict, old: JSONDict | None) -> Iterator[Hashable]:
        m = meta(pod)
        k: PodKey = (str(m.get("namespace")), str(m.get("name")))
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if kind == "DELETED":
            self._parked.pop(k, None)
            self._unaccount(k)
            return
        if node and not is_finished(pod):
            self._account(k, pod, str(node), old)
        else:
            self._unaccount(k)
        if node or is_terminating(pod) or spec.get("schedulerName", SCHEDULER_NAME) != SCHEDULER_NAME:
            self._parked.pop(k, None)
            return
        if k in self._parked and old is not None and old.get("spec") == spec:
            return  # our own condition write, or a change that cannot help
        self._parked.pop(k, None)
        yield k

    def _account(self, k: PodKey, pod: JSONDict, node: str, old: JSONDict | None) -> None:
        bound = self._bound.get(k)
        if (
            bound is not None
            and bound.node == node
            and old is not None
            and old.get("spec") is pod.get("spec")
        ):
            return  # a status write: nothing the scheduler counts changed
        self._unaccount(k)
        facts = self._binding[1] if self._binding is not None and self._binding[0] == k else pod_facts(pod)
        self._bound[k] = _Bound(node, facts)
        target = self.nodes.get(node)
        if target is not None:
            target.add_pod(facts)
            self._node_facts_changed(node)
        if facts.owner is not None:
            self._owner_nodes.setdefault(facts.owner, Counter())[node] += 1
            if target is not None and target.zone is not None:
                self._owner_zones.setdefault(facts.owner, Counter())[target.zone] += 1

    def _unaccount(self, k: PodKey) -> None:
        bound = self._bound.pop(k, None)
        if bound is None:
            return
        target = self.nodes.get(bound.node)
        if target is not None:
            target.add_pod(bound.facts, -1)
            self._node_facts_changed(bound.node)
            self._dirty_nodes.add(bound.node)
        owner = bound.facts.owner
        if owner is not None:
            _decrement(self._owner_nodes, owner, bound.node)
            if target is not None and target.zone is not None:
                _decrement(self._owner_zones, owner, target.zone)

    # ----- decisions ------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        if item == FLUSH:
            return self._retry_parked()
        assert isinstance(item, tuple)
        namespace, name = item
        self._schedule(namespace, name)
        return None

    def _retry_parked(self) -> float | None:
        now = self.cluster.clock.now().timestamp()
        wait = self._last_flush + FLUSH_INTERVAL - now
        if wait > 0:
            return wait
        self._last_flush = now
        dirty = [self.nodes[n] for n in self._dirty_nodes if n in self.nodes]
        self._dirty_nodes = set()
        if not dirty:
            return None
        for k, (facts, _) in list(self._parked.items()):
            # Only a changed node can have become able to take it.
            if any(filter_node(facts, node) is None for node in dirty):
                self._schedule(k[0], k[1])
        return None

    def _ordered_nodes(self) -> list[NodeFacts]:
        if self._order_stale:
            self._order = [self.nodes[n] for n in sorted(self.nodes)]
            self._scores = NodeScores(self._order)
            self._order_stale = False
            self._next_start = 0
        return self._order

    def _node_facts_changed(self, name: str) -> None:
        if not self._order_stale:
            self._scores.changed(name)

    def find_node(self, pod: PodFacts) -> tuple[NodeFacts | None, list[Rejection]]:
        """Filters nodes from a rotating start until enough fit, then scores those (kube-scheduler's
        sampling, which keeps a decision cheap on thousands of nodes); NodeScores keeps what each
        node's verdict was until it changes."""
        order = self._ordered_nodes()
        total = len(order)
        pinned = prefilter_node_names(pod.affinity_terms)
        wanted = nodes_to_find(total, self.percentage, self.max_nodes_to_score)
        owner_nodes = self._owner_nodes.get(pod.owner, _NONE) if pod.owner else _NONE
        owner_zones = self._owner_zones.get(pod.owner, _NONE) if pod.owner else _NONE
        zones = sum(1 for n in self._zones.values() if n > 0)
        if pinned is not None:
            candidates = [self.nodes[n] for n in sorted(pinned) if n in self.nodes]
            chosen, rejected, _ = find_and_pick(
                pod, candidates, wanted, owner_nodes, owner_zones, total, zones
            )
            if chosen is None:
                # The PreFilter's verdict on every other node, built only for the message: a
                # DaemonSet pod that fits would otherwise cost one object per node of the cluster.
                pre = Rejection((REASON_PREFILTER_AFFINITY,))
                return None, [pre] * (total - len(candidates)) + rejected
            return chosen, rejected
        chosen, rejected, processed = self._scores.find_and_pick(
            pod, self._next_start, wanted, owner_nodes, owner_zones, zones
        )
        if total:
            self._next_start = (self._next_start + processed) % total
        return chosen, rejected

    def _schedule(self, namespace: str, name: str) -> None:
        stored = self.cluster.store.get(PODS, namespace, name)
        k = (namespace, name)
        if stored is None:
            self._parked.pop(k, None)
            return
        pod = stored.obj
        spec = pod.get("spec") or {}
        if (
            spec.get("nodeName")
            or is_terminating(pod)
            or spec.get("schedulerName", SCHEDULER_NAME) != (SCHEDULER_NAME)
        ):
            self._parked.pop(k, None)
            return
        facts = self._facts(pod)
        chosen, rejections = self.find_node(facts)
        if chosen is not None:
            self._parked.pop(k, None)
            self._binding = (k, facts)  # the bind's event reuses what was just read
            try:
                self.cluster.bind_pod(namespace, name, chosen.name, SCHEDULER_NAME)
            finally:
                self._binding = None
            return
        message = fit_error_message(len(self.nodes), rejections, facts.preempt_never)
        previous = self._parked.get(k)
        self._parked[k] = (facts, message)
        if previous is None or previous[1] != message:
            self._report_unschedulable(stored, message)

    def _facts(self, pod: JSONDict) -> PodFacts:
        """pod_facts, shared by consecutive replicas: they share their spec object until bound."""
        spec = pod.get("spec")
        owner = None
        for ref in meta(pod).get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("controller"):
                owner = str(ref.get("uid") or "") or None
                break
        last = self._last_facts
        if last is not None and last[0] is spec and last[1] == owner:
            return last[2]
        facts = pod_facts(pod)
        self._last_facts = (spec, owner, facts)
        return facts

    def _report_unschedulable(self, stored: Stored, message: str) -> None:
        pod = stored.obj
        status = dict(pod.get("status") or {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        before = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        since = self.cluster.now()
        if before is not None and before.get("status") == "False" and before.get("lastTransitionTime"):
            since = before["lastTransitionTime"]
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": since,
                "reason": "Unschedulable",
                "message": message,
            }
        )
        status["conditions"] = conditions
        rt = self.cluster.registry.get("", "v1", "pods")
        assert rt is not None
        self.cluster.write_status(rt, stored, status, SCHEDULER_NAME)
        record_event(self.cluster, pod, "FailedScheduling", message, SCHEDULER_NAME, "Warning")


def _decrement(table: dict[str, Counter[str]], owner: str, where: str) -> None:
    counts = table.get(owner)
    if counts is None:
        return
    counts[where] -= 1
    if counts[where] <= 0:
        del counts[where]
    if not counts:
        del table[owner]
