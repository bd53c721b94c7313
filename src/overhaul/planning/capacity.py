"""The cluster as the plan unfolds: where pods run and what room each node has left.

The planner forms batches against this model and commits each one, so that a later batch sees the
pods earlier ones moved (onto the nodes it drains, or filling a new pool). A drained node's pods
are placed on the other schedulable nodes with the scheduler's filters (`overhaul.domain.fit`:
cordon, readiness, taints, nodeSelector and required node affinity, requests, pod slots); the
choice among fitting nodes is round-robin per kind of pod, which spreads them as kube-scheduler's
LeastAllocated and spreading scores do, at a cost that stays linear on large clusters.

Pods that stay through a drain (DaemonSet and mirror pods) keep their room; pods without a
controller are deleted by the drain (with --force) and leave the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace

from overhaul.domain.cluster import NodeView, PodView, Resources
from overhaul.domain.fit import placement_reason, room_reason


def moves(pod: PodView) -> bool:
    """A pod a drain evicts (DaemonSet, mirror, finished and terminating pods are not)."""
    return not (pod.finished or pod.terminating or pod.mirror or pod.daemonset)


def stays(pod: PodView) -> bool:
    """A pod that keeps its node's room through a drain."""
    return not (pod.finished or pod.terminating) and (pod.mirror or pod.daemonset)


def _shape(pod: PodView) -> Hashable:
    """What decides which nodes a pod may go to, regardless of room."""
    return (pod.tolerations, tuple(sorted(pod.node_selector.items())), pod.required_node_affinity)


def _owner(pod: PodView) -> str:
    return pod.owner.uid or f"{pod.namespace}/{pod.owner.kind}/{pod.owner.name}" if pod.owner else ""


@dataclass
class _Node:
    view: NodeView
    pods: list[PodView]
    free: Resources
    free_pods: int
    owners: Counter[str]  # pods per controller, for spreading replicas as the scheduler does
    out: bool = False  # cordoned or removed by the plan: takes no pods

    @classmethod
    def of(cls, view: NodeView, pods: Iterable[PodView]) -> _Node:
        held = [p for p in pods if not (p.finished or p.terminating)]
        used = Resources()
        for pod in held:
            used += pod.requests
        owners = Counter(_owner(p) for p in held if p.owner is not None)
        return cls(view, held, view.allocatable - used, view.allocatable_pods - len(held), owners)


@dataclass
class _Shape:
    """The nodes a kind of pod may go to (by labels, taints, readiness), kept as nodes are added;
    nodes removed or cordoned since stay listed and are skipped when scanned."""

    pod: PodView  # one pod of the shape, to judge new nodes by
    names: list[str]
    members: set[str]
    cursor: int = 0


class ClusterModel:
    """Nodes, their pods and their room; mutated as batches commit."""

    def __init__(self, nodes: Iterable[NodeView], pods_on: dict[str, list[PodView]]) -> None:
        self._nodes: dict[str, _Node] = {n.name: _Node.of(n, pods_on.get(n.name, ())) for n in nodes}
        self._order: list[str] = list(self._nodes)
        self._shapes: dict[Hashable, _Shape] = {}
        self._fresh: list[str] = []  # nodes back empty (upgraded, added): the scheduler's first choice
        self._fresh_cursor = 0

    # ----- questions

    def view(self, name: str) -> NodeView:
        return self._nodes[name].view

    def has(self, name: str) -> bool:
        return name in self._nodes

    def moving_pods(self, name: str) -> list[PodView]:
        """The pods a drain of the node evicts."""
        return [p for p in self._nodes[name].pods if moves(p)]

    # ----- changes to the nodes

    def add_node(self, view: NodeView, like: str | None = None) -> None:
        """A new node; `like` gives it copies of that node's DaemonSet pods, as it will run them."""
        template = self._nodes[like].pods if like is not None else []
        copies = [
            replace(p, name=f"{p.name}~{view.name}", node_name=view.name) for p in template if p.daemonset
        ]
        self._nodes[view.name] = _Node.of(view, copies)
        self._order.append(view.name)
        for shape in self._shapes.values():
            if placement_reason(shape.pod, view) is None:
                shape.names.append(view.name)
                shape.members.add(view.name)
        self.mark_fresh(view.name)

    def set_out(self, name: str) -> None:
        """Cordoned (or removed) by the plan: no pod is placed there."""
        self._nodes[name].out = True

    def remove_node(self, name: str) -> None:
        self._nodes.pop(name)
        self._order.remove(name)

    def set_version(self, name: str, version: str) -> None:
        node = self._nodes[name]
        node.view = replace(node.view, kubelet_version=version)

    def mark_fresh(self, name: str) -> None:
        """The node is back empty: moved pods go there first, as LeastAllocated scoring sends them."""
        self._fresh.append(name)

    def forget_fresh(self) -> None:
        """A new roll: the nodes upgraded so far are no emptier than the rest any more."""
        self._fresh = []

    # ----- placing pods

    def _shape_of(self, pod: PodView) -> _Shape:
        key = _shape(pod)
        shape = self._shapes.get(key)
        if shape is None:
            names = [n for n in self._order if placement_reason(pod, self._nodes[n].view) is None]
            shape = _Shape(pod, names, set(names))
            self._shapes[key] = shape
        return shape

    def _fits(self, name: str, pod: PodView, excluded: set[str] | frozenset[str]) -> _Node | None:
        node = self._nodes.get(name)
        if node is None or node.out or name in excluded:
            return None
        if room_reason(pod.requests, node.free, node.free_pods) is not None:
            return None
        return node

    def find(self, pod: PodView, excluded: set[str] | frozenset[str]) -> str | None:
        """A node the pod fits on now, not among `excluded`. As the scheduler would choose: first a node
        back empty from this roll, then any, each round-robin; first among those running no other pod
        of its controller, else the one running fewest (spreading its replicas)."""
        shape = self._shape_of(pod)
        owner = _owner(pod)
        best: tuple[int, str] | None = None  # (pods of the owner there, node)
        fresh = self._fresh
        for i in range(len(fresh)):
            name = fresh[(self._fresh_cursor + i) % len(fresh)]
            if name not in shape.members:
                continue
            node = self._fits(name, pod, excluded)
            if node is None:
                continue
            if owner and node.owners[owner]:
                best = min(best, (node.owners[owner], name)) if best else (node.owners[owner], name)
                continue
            self._fresh_cursor += i + 1
            return name
        names = shape.names
        for i in range(len(names)):
            name = names[(shape.cursor + i) % len(names)]
            node = self._fits(name, pod, excluded)
            if node is None:
                continue
            if owner and node.owners[owner]:
                best = min(best, (node.owners[owner], name)) if best else (node.owners[owner], name)
                continue
            shape.cursor += i + 1
            return name
        return best[1] if best else None

    def put(self, pod: PodView, name: str) -> None:
        node = self._nodes[name]
        node.pods.append(pod)
        node.free -= pod.requests
        node.free_pods -= 1
        if pod.owner is not None:
            node.owners[_owner(pod)] += 1

    def take(self, pod: PodView, name: str) -> None:
        node = self._nodes[name]
        node.pods.remove(pod)
        node.free += pod.requests
        node.free_pods += 1
        if pod.owner is not None:
            node.owners[_owner(pod)] -= 1

    def empty(self, name: str) -> list[PodView]:
        """A drained node: only the pods that stay remain; returns the ones that left."""
        node = self._nodes[name]
        gone = [p for p in node.pods if not stays(p)]
        for pod in gone:
            node.free += pod.requests
            node.free_pods += 1
            if pod.owner is not None:
                node.owners[_owner(pod)] -= 1
        node.pods = [p for p in node.pods if stays(p)]
        return gone
