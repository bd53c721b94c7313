"""`pdb-blocks-drain` and `pdb-multiple`: PodDisruptionBudgets that will stop a drain.

A drain evicts through the Eviction API, which refuses (429) while a pod's PDB allows no
disruption, and refuses outright (500) a pod that more than one PDB selects. Both make a drain
hang until its timeout; found here, they are fixed before the window instead of during it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from overhaul.domain.cluster import ObjectRef, PdbView, PodView, WorkloadView
from overhaul.domain.findings import Finding, Severity
from overhaul.preflight.index import ClusterIndex, evictable, pdb_ref, pod_ref, workload_ref
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.text import plural, some

PDB_BLOCKS_DRAIN = "pdb-blocks-drain"
PDB_MULTIPLE = "pdb-multiple"


def scaled(value: int | str, total: int) -> int | None:
    """An IntOrString of a PDB against `total` pods, rounded up as the disruption controller does
    (`GetScaledValueFromIntOrPercent(..., roundUp=true)`); None when malformed."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError:
            return None
        return math.ceil(percent * total / 100)
    try:
        return int(text)
    except ValueError:
        return None


def _covered(index: ClusterIndex, i: int) -> tuple[list[PodView], list[WorkloadView], int]:
    """The live pods a PDB selects, their controllers, and how many pods those want: the controllers'
    replicas plus the pods with no known controller."""
    pods = [p for p in index.pods_for(i) if not (p.finished or p.terminating)]
    controllers: dict[str, WorkloadView] = {}
    bare = 0
    for pod in pods:
        controller = index.controller(pod)
        if controller is None:
            bare += 1
        else:
            controllers.setdefault(controller.uid or controller.key, controller)
    wanted = sum(max(c.replicas, 0) for c in controllers.values()) + bare
    return pods, list(controllers.values()), max(wanted, len(pods))


def _workloads(controllers: Sequence[WorkloadView], pods: Sequence[PodView]) -> str:
    """`Deployment ns/x (2 replicas)`, or `the 3 pods it selects` when they have no known controller."""
    if not controllers:
        return f"the {plural(len(pods), 'pod')} it selects"
    return some([f"{c.kind} {c.key} ({plural(c.replicas, 'replica')})" for c in controllers], 3)


def _blocks(
    pdb: PdbView, pods: list[PodView], controllers: list[WorkloadView], wanted: int
) -> tuple[str, str] | None:
    """(why, fix) when the PDB can never allow a disruption, else None."""
    who = _workloads(controllers, pods)
    scale_fix = (
        f" or scale {controllers[0].kind} {controllers[0].key} to {wanted + 1} replicas"
        if len(controllers) == 1
        else ""
    )
    if pdb.max_unavailable is not None:
        allowed = scaled(pdb.max_unavailable, wanted)
        if allowed is not None and allowed <= 0:
            return (
                f"maxUnavailable {pdb.max_unavailable} lets no pod of {who} be evicted",
                "Set maxUnavailable to 1 or more (at least for the upgrade window).",
            )
    elif pdb.min_available is not None:
        needed = scaled(pdb.min_available, wanted)
        if needed is not None and needed >= wanted:
            lower = f"Lower minAvailable to {wanted - 1}" if wanted > 1 else "Use maxUnavailable: 1 instead"
            return (
                f"minAvailable {pdb.min_available} keeps all {plural(wanted, 'pod')} of {who} up, "
                "so none can ever be evicted",
                f"{lower}{scale_fix}.",
            )
    healthy = all(p.ready for p in pods)
    if (
        pdb.status_current
        and (pdb.expected_pods > 0 or pdb.current_healthy > 0)
        and healthy
        and pdb.disruptions_allowed <= 0
    ):
        return (
            f"it allows 0 disruptions although all {plural(len(pods), 'pod')} ({who}) are healthy",
            f"Check its budget (`kubectl describe pdb -n {pdb.namespace} {pdb.name}`) "
            f"and loosen it{scale_fix}.",
        )
    return None


def pdb_blocks_drain(data: PreflightInput) -> list[Finding]:
    """PDBs that can never allow a disruption: minAvailable ≥ the pods wanted, maxUnavailable 0, or
    0 disruptions allowed while every pod is healthy (blocking: a drain of their nodes hangs)."""
    cluster, index = data.cluster, data.index
    if cluster is None or index is None:
        return []
    found: list[Finding] = []
    for i, pdb in enumerate(cluster.pdbs):
        pods, controllers, wanted = _covered(index, i)
        if not pods:
            continue  # nothing to evict, nothing to block
        verdict = _blocks(pdb, pods, controllers, wanted)
        if verdict is None:
            continue
        why, fix = verdict
        nodes = sorted({p.node_name for p in pods if p.node_name})
        found.append(
            Finding(
                check=PDB_BLOCKS_DRAIN,
                severity=Severity.BLOCKING,
                message=f"PodDisruptionBudget {pdb.key}: {why}; draining "
                f"{plural(len(nodes), 'node')} ({some(nodes)}) will hang.",
                remedy=fix,
                object=pdb_ref(pdb.namespace, pdb.name),
            )
        )
    return found


def pdb_multiple(data: PreflightInput) -> list[Finding]:
    """Pods selected by more than one PDB (blocking: the Eviction API refuses them with a 500)."""
    cluster, index = data.cluster, data.index
    if cluster is None or index is None:
        return []
    groups: dict[tuple[ObjectRef, tuple[int, ...]], list[PodView]] = {}
    for pod in cluster.pods:
        if not evictable(pod):
            continue
        matched = index.pdbs_for(pod)
        if len(matched) > 1:
            controller = index.controller(pod)
            owner = workload_ref(controller) if controller is not None else pod_ref(pod)
            groups.setdefault((owner, matched), []).append(pod)
    found: list[Finding] = []
    for (ref, matched), pods in groups.items():
        names = [cluster.pdbs[i].name for i in matched]
        found.append(
            Finding(
                check=PDB_MULTIPLE,
                severity=Severity.BLOCKING,
                message=f"{plural(len(pods), 'pod')} of {ref} ({some([p.name for p in pods], 3)}) "
                f"{'is' if len(pods) == 1 else 'are'} selected by {len(names)} PodDisruptionBudgets "
                f"({', '.join(names)}): the Eviction API refuses to evict a pod with more than one PDB.",
                remedy=f"Make the selectors of {', '.join(names)} disjoint, or merge them into one PDB.",
                object=ref,
            )
        )
    return found
