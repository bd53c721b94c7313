"""`capacity`: will the pods of the nodes drained together fit on the nodes that remain?

The busiest nodes (by the requests of the pods a drain moves; `--batch N` of them at once) are
taken out, and their pods are packed onto the other nodes as the scheduler would place them:
requests against what each node has left, its pod slots, taints and tolerations, nodeSelector
and required node affinity (`overhaul.domain.fit`). A real bin-packing, not a sum of free CPU:
ten free cores spread as one per node do not hold a pod that asks for two.
"""

from __future__ import annotations

from overhaul.domain.cluster import ClusterView, NodeView, ObjectRef, PodView, Resources
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.fit import NodeRoom, pack, summary
from overhaul.preflight.index import evictable, node_ref
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.text import cpu, memory, plural, some

CAPACITY = "capacity"


def moved_pods(cluster: ClusterView, node: NodeView) -> list[PodView]:
    """The pods a drain of `node` moves elsewhere (those with a controller to recreate them)."""
    return [p for p in cluster.pods_on(node.name) if evictable(p) and p.owner is not None]


def busiest_nodes(cluster: ClusterView, count: int) -> list[NodeView]:
    """The `count` nodes whose moved pods request the most (cpu, then memory)."""
    loads: list[tuple[Resources, NodeView]] = []
    for node in cluster.nodes:
        pods = moved_pods(cluster, node)
        if pods:
            total = Resources()
            for pod in pods:
                total += pod.requests
            loads.append((total, node))
    loads.sort(key=lambda item: (-item[0].cpu_milli, -item[0].memory_bytes, item[1].name))
    return [node for _, node in loads[:count]]


def _requests(pod: PodView) -> str:
    r = pod.requests
    return f"cpu {cpu(r.cpu_milli)}, memory {memory(r.memory_bytes)}"


def capacity(data: PreflightInput) -> list[Finding]:
    """Pods of the drained node(s) that fit on no remaining node (blocking)."""
    cluster = data.cluster
    if cluster is None:
        return []
    drained = busiest_nodes(cluster, max(1, data.batch))
    if not drained:
        return []
    names = {n.name for n in drained}
    pods = [p for node in drained for p in moved_pods(cluster, node)]
    rooms = [NodeRoom.of(n, cluster.pods_on(n.name)) for n in cluster.nodes if n.name not in names]
    packing = pack(pods, rooms)
    if not packing.unplaced:
        return []
    which = (
        f"node {drained[0].name}"
        if len(drained) == 1
        else f"the {len(drained)} busiest nodes together ({some(sorted(names))})"
    )
    details = "; ".join(
        f"{pod.key} ({_requests(pod)}): {summary(reasons, len(rooms))}"
        for pod, reasons in packing.unplaced[:5]
    )
    more = f"; and {len(packing.unplaced) - 5} more" if len(packing.unplaced) > 5 else ""
    return [
        Finding(
            check=CAPACITY,
            severity=Severity.BLOCKING,
            message=f"Draining {which} leaves nowhere for {len(packing.unplaced)} of the "
            f"{plural(len(pods), 'pod')} {'it hosts' if len(drained) == 1 else 'they host'}: "
            f"{details}{more}.",
            remedy="Add a node (or let the plan surge one) before draining, lower those pods' requests, "
            "or drain fewer nodes at a time (--batch).",
            object=node_ref(drained[0].name) if len(drained) == 1 else ObjectRef("v1", "Node", "", ""),
        )
    ]
