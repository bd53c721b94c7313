"""`unmanaged-pod`, `local-storage` and `single-replica`: what draining every node will cost.

An upgrade drains every node, so each pod is evicted once. kubectl drain's filters say what that
loses: a pod with no controller is gone for good (drain refuses it without `--force`), emptyDir
data is deleted with its pod (refused without `--delete-emptydir-data`), and a workload of one
replica is down until its replacement is ready elsewhere.
"""

from __future__ import annotations

from overhaul.domain.cluster import ObjectRef, PodView
from overhaul.domain.findings import Finding, Severity
from overhaul.preflight.index import evictable, pod_ref, workload_ref
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.text import plural, some

UNMANAGED_POD = "unmanaged-pod"
LOCAL_STORAGE = "local-storage"
SINGLE_REPLICA = "single-replica"

# Workloads whose pods a drain restarts elsewhere (Jobs finish, DaemonSets stay on their node).
SERVING_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def unmanaged_pod(data: PreflightInput) -> list[Finding]:
    """Pods no controller will recreate (blocking: a drain deletes them for good)."""
    cluster = data.cluster
    if cluster is None:
        return []
    found: list[Finding] = []
    for pod in cluster.pods:
        if pod.owner is not None or not evictable(pod):
            continue
        where = f" on node {pod.node_name}" if pod.node_name else ""
        found.append(
            Finding(
                check=UNMANAGED_POD,
                severity=Severity.BLOCKING,
                message=f"Pod {pod.key}{where} has no controller: draining its node deletes it and nothing "
                "recreates it (kubectl drain refuses without --force).",
                remedy="Run it under a Deployment, StatefulSet or Job, or delete it before the upgrade "
                "if it is no longer needed.",
                object=pod_ref(pod),
            )
        )
    return found


def local_storage(data: PreflightInput) -> list[Finding]:
    """Pods with emptyDir volumes, by controller (warning: their data is deleted by the drain)."""
    cluster, index = data.cluster, data.index
    if cluster is None or index is None:
        return []
    groups: dict[ObjectRef, list[PodView]] = {}
    for pod in cluster.pods:
        if pod.has_empty_dir and evictable(pod):
            groups.setdefault(index.owner_ref(pod), []).append(pod)
    found: list[Finding] = []
    for ref, pods in groups.items():
        subject = f"Pod {pods[0].key}" if ref.kind == "Pod" else f"{plural(len(pods), 'pod')} of {ref}"
        verb = "uses" if len(pods) == 1 else "use"
        listed = "" if ref.kind == "Pod" else f" ({some([p.name for p in pods], 3)})"
        found.append(
            Finding(
                check=LOCAL_STORAGE,
                severity=Severity.WARNING,
                message=f"{subject}{listed} {verb} emptyDir volumes: their data is deleted when the "
                "drain evicts them.",
                remedy="Use a PersistentVolumeClaim for data that must survive; otherwise drain with "
                "--delete-emptydir-data (overhaul does) and expect it to start empty.",
                object=ref,
            )
        )
    return found


def single_replica(data: PreflightInput) -> list[Finding]:
    """Deployments and StatefulSets of one replica (warning: down while their node drains)."""
    cluster = data.cluster
    if cluster is None:
        return []
    found: list[Finding] = []
    for workload in cluster.workloads:
        if workload.kind not in SERVING_KINDS or workload.replicas != 1:
            continue
        if workload.kind == "ReplicaSet" and workload.owner is not None:
            continue  # a Deployment's: reported as the Deployment
        found.append(
            Finding(
                check=SINGLE_REPLICA,
                severity=Severity.WARNING,
                message=f"{workload.kind} {workload.key} runs 1 replica: it is down from the eviction of "
                "its pod until the replacement is ready on another node.",
                remedy="Scale it to 2 or more replicas with a PodDisruptionBudget (maxUnavailable: 1), "
                "or accept the downtime in the upgrade window.",
                object=workload_ref(workload),
            )
        )
    return found
