"""Derived lookups several checks share: which PDBs cover which pods, and each pod's controller.

Matching every pod against every PDB of its namespace is the costly part on a large cluster, so
it is done once, per distinct label set: pods of one template share their label dict (the
converters intern them), and the match is computed once for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from overhaul.domain.cluster import ClusterView, ObjectRef, PodView, WorkloadView
from overhaul.domain.labels import Selector, lenient_selector

WORKLOAD_API_VERSIONS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "ReplicationController": "v1",
}


def pod_ref(pod: PodView) -> ObjectRef:
    return ObjectRef("v1", "Pod", pod.namespace, pod.name)


def workload_ref(workload: WorkloadView) -> ObjectRef:
    return ObjectRef(
        WORKLOAD_API_VERSIONS.get(workload.kind, ""), workload.kind, workload.namespace, workload.name
    )


def pdb_ref(namespace: str, name: str) -> ObjectRef:
    return ObjectRef("policy/v1", "PodDisruptionBudget", namespace, name)


def node_ref(name: str) -> ObjectRef:
    return ObjectRef("v1", "Node", "", name)


def evictable(pod: PodView) -> bool:
    """A pod a drain evicts: not finished, not already going, not a mirror or DaemonSet pod."""
    return not (pod.finished or pod.terminating or pod.mirror or pod.daemonset)


class ClusterIndex:
    """Lookups over one ClusterView, computed on first use."""

    def __init__(self, cluster: ClusterView) -> None:
        self.cluster = cluster
        self._pdbs_by_pod: dict[str, tuple[int, ...]] | None = None
        self._pods_by_pdb: dict[int, list[PodView]] | None = None
        self._controllers: dict[tuple[str, str, str], WorkloadView | None] = {}

    def _match(self) -> None:
        pdbs = self.cluster.pdbs
        by_namespace: dict[str, list[tuple[int, Selector]]] = {}
        for i, pdb in enumerate(pdbs):
            by_namespace.setdefault(pdb.namespace, []).append((i, lenient_selector(pdb.selector)))
        pdbs_by_pod: dict[str, tuple[int, ...]] = {}
        pods_by_pdb: dict[int, list[PodView]] = {i: [] for i in range(len(pdbs))}
        # (namespace, id of the shared label dict) -> matching PDBs; the dicts live as long as the view.
        cache: dict[tuple[str, int], tuple[int, ...]] = {}
        keep: list[Mapping[str, str]] = []
        for pod in self.cluster.pods:
            candidates = by_namespace.get(pod.namespace)
            if not candidates:
                continue
            key = (pod.namespace, id(pod.labels))
            matched = cache.get(key)
            if matched is None:
                matched = tuple(i for i, sel in candidates if sel.matches(pod.labels))
                cache[key] = matched
                keep.append(pod.labels)
            if matched:
                pdbs_by_pod[pod.key] = matched
                for i in matched:
                    pods_by_pdb[i].append(pod)
        self._pdbs_by_pod, self._pods_by_pdb = pdbs_by_pod, pods_by_pdb

    def pdbs_for(self, pod: PodView) -> tuple[int, ...]:
        """Indexes into `cluster.pdbs` of the PDBs selecting the pod."""
        if self._pdbs_by_pod is None:
            self._match()
        assert self._pdbs_by_pod is not None
        return self._pdbs_by_pod.get(pod.key, ())

    def pods_for(self, pdb_index: int) -> list[PodView]:
        """The pods the PDB at `cluster.pdbs[pdb_index]` selects."""
        if self._pods_by_pdb is None:
            self._match()
        assert self._pods_by_pdb is not None
        return self._pods_by_pdb.get(pdb_index, [])

    def controller(self, item: PodView | WorkloadView) -> WorkloadView | None:
        """The outermost known controller (a pod's Deployment rather than its ReplicaSet)."""
        owner = item.owner
        if owner is None:
            return None
        key = (item.namespace, owner.kind, owner.uid or owner.name)
        if key not in self._controllers:
            self._controllers[key] = self.cluster.top_controller(item)
        return self._controllers[key]

    def owner_ref(self, pod: PodView) -> ObjectRef:
        """The object to name for a pod: its controller, or its owner reference, or the pod."""
        controller = self.controller(pod)
        if controller is not None:
            return workload_ref(controller)
        if pod.owner is not None:
            return ObjectRef(
                WORKLOAD_API_VERSIONS.get(pod.owner.kind, ""), pod.owner.kind, pod.namespace, pod.owner.name
            )
        return pod_ref(pod)
