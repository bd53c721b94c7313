"""`node-not-ready`, `pod-not-running` and `control-plane-health`: is the cluster healthy enough to
start? An upgrade that starts on a sick cluster cannot tell its own damage from what was there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from overhaul.domain.cluster import ClusterView, NodeView, ObjectRef, PodView
from overhaul.domain.findings import Finding, Severity
from overhaul.preflight.index import node_ref, pod_ref
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.sources.readyz import parse_readyz
from overhaul.preflight.text import plural, some

NODE_NOT_READY = "node-not-ready"
POD_NOT_RUNNING = "pod-not-running"
CONTROL_PLANE_HEALTH = "control-plane-health"

PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
# Waiting reasons of a container that will not start by itself.
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
# How long a pod may be pending, or running unready, before it counts as unhealthy.
GRACE = dt.timedelta(minutes=5)
CONTROL_PLANE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# Every kubeadm control-plane node runs these; etcd may be external.
REQUIRED_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


# ------------------------------------------------------------------------------------------ nodes


def _not_ready(node: NodeView) -> Finding:
    cond = node.condition("Ready")
    state = (
        "has no Ready condition"
        if cond is None
        else f"is {'NotReady' if cond.status == 'False' else 'Unknown'}"
    )
    why = f" ({cond.reason}: {cond.message})" if cond is not None and (cond.reason or cond.message) else ""
    return Finding(
        check=NODE_NOT_READY,
        severity=Severity.BLOCKING,
        message=f"Node {node.name} {state}{why}: its pods cannot be drained cleanly and its upgrade "
        "cannot be verified.",
        remedy=f"Bring it back (kubectl describe node {node.name}), or remove it from the cluster, "
        "before the upgrade.",
        object=node_ref(node.name),
    )


def node_not_ready(data: PreflightInput) -> list[Finding]:
    """Nodes not Ready (blocking), under pressure (warning), already cordoned (info)."""
    cluster = data.cluster
    if cluster is None:
        return []
    found: list[Finding] = []
    for node in cluster.nodes:
        if node.deletion_timestamp is not None:
            continue
        if not node.ready:
            found.append(_not_ready(node))
            continue
        pressures = [c.type for c in node.conditions if c.type in PRESSURE_CONDITIONS and c.status == "True"]
        if pressures:
            found.append(
                Finding(
                    check=NODE_NOT_READY,
                    severity=Severity.WARNING,
                    message=f"Node {node.name} reports {', '.join(pressures)}.",
                    remedy="Relieve the pressure first: pods evicted by the kubelet mid-upgrade are hard to "
                    "tell from the upgrade's own.",
                    object=node_ref(node.name),
                )
            )
        if node.unschedulable:
            found.append(
                Finding(
                    check=NODE_NOT_READY,
                    severity=Severity.INFO,
                    message=f"Node {node.name} is already cordoned: it takes no new pods during the upgrade.",
                    remedy=f"Uncordon it (kubectl uncordon {node.name}) if it should take pods.",
                    object=node_ref(node.name),
                )
            )
    return found


# ------------------------------------------------------------------------------------------- pods


def _age(pod: PodView, moment: dt.datetime | None) -> dt.timedelta | None:
    since = pod.start_time or pod.created
    if moment is None or since is None:
        return None
    try:
        return moment - since
    except TypeError:  # naive and aware datetimes
        return None


def _trouble(pod: PodView, moment: dt.datetime | None) -> str | None:
    """Why the pod is not running as it should, or None."""
    if pod.waiting_reason in STUCK_REASONS:
        restarts = f", {plural(pod.restart_count, 'restart')}" if pod.restart_count else ""
        return f"{pod.waiting_reason}{restarts}"
    if pod.phase == "Unknown":
        return "phase Unknown (its node stopped reporting)"
    age = _age(pod, moment)
    old = age is None or age > GRACE
    if pod.phase == "Pending" and old:
        return "Pending, not scheduled" if not pod.node_name else f"Pending on {pod.node_name}"
    if pod.phase == "Running" and not pod.ready and old:
        return "Running but not Ready"
    return None


def pod_not_running(data: PreflightInput) -> list[Finding]:
    """Pods crash-looping or failing to pull, pending, or unready past their start (warning), one
    finding per controller."""
    cluster, index = data.cluster, data.index
    if cluster is None or index is None:
        return []
    moment = data.moment
    groups: dict[ObjectRef, list[tuple[PodView, str]]] = {}
    for pod in cluster.pods:
        if pod.finished or pod.terminating or pod.mirror:
            continue  # mirror pods: control-plane-health
        trouble = _trouble(pod, moment)
        if trouble is not None:
            groups.setdefault(index.owner_ref(pod), []).append((pod, trouble))
    found: list[Finding] = []
    for ref, troubled in groups.items():
        listed = some([f"{p.name} ({why})" for p, why in troubled], 3)
        subject = (
            f"Pod {troubled[0][0].key}" if ref.kind == "Pod" else f"{plural(len(troubled), 'pod')} of {ref}"
        )
        found.append(
            Finding(
                check=POD_NOT_RUNNING,
                severity=Severity.WARNING,
                message=f"{subject} {'is' if len(troubled) == 1 else 'are'} not running as expected: "
                f"{listed}. Unhealthy pods use up "
                "disruption budgets and hide the upgrade's own effects.",
                remedy="Fix or remove them before the upgrade (kubectl describe pod, "
                "kubectl logs --previous).",
                object=ref,
            )
        )
    return found


# ---------------------------------------------------------------------------------- control plane


def _static_pods(cluster: ClusterView) -> Iterator[tuple[str, PodView]]:
    for pod in cluster.pods_in("kube-system"):
        component = pod.labels.get("component", "")
        if pod.mirror and component in CONTROL_PLANE_COMPONENTS:
            yield component, pod


def control_plane_health(data: PreflightInput) -> list[Finding]:
    """Failed `/readyz` checks, and control-plane static pods not running and ready (blocking)."""
    found: list[Finding] = []
    if data.readyz is not None:
        for check in parse_readyz(data.readyz):
            if check.ok:
                continue
            found.append(
                Finding(
                    check=CONTROL_PLANE_HEALTH,
                    severity=Severity.BLOCKING,
                    message=f"The API server's readiness check {check.name} fails ({check.detail}).",
                    remedy="Fix the control plane first: `kubectl get --raw '/readyz?verbose'` and the "
                    "API server's log say more.",
                    object=ObjectRef(),
                )
            )
    cluster = data.cluster
    if cluster is None:
        return found
    by_node: dict[str, set[str]] = {}
    for component, pod in _static_pods(cluster):
        by_node.setdefault(pod.node_name, set()).add(component)
        if pod.phase == "Running" and pod.ready:
            continue
        found.append(
            Finding(
                check=CONTROL_PLANE_HEALTH,
                severity=Severity.BLOCKING,
                message=f"{component} on {pod.node_name or 'no node'} (pod {pod.key}) is "
                f"{pod.phase}{'' if pod.phase != 'Running' else ' but not Ready'}"
                f"{f' ({pod.waiting_reason})' if pod.waiting_reason else ''}.",
                remedy=f"Fix {component} on that node before upgrading (its static pod manifest and "
                "the kubelet's log say why).",
                object=pod_ref(pod),
            )
        )
    for node in (n for n in cluster.nodes if n.control_plane and n.name in by_node):
        missing = [c for c in REQUIRED_COMPONENTS if c not in by_node[node.name]]
        if missing:
            found.append(
                Finding(
                    check=CONTROL_PLANE_HEALTH,
                    severity=Severity.WARNING,
                    message=f"Control-plane node {node.name} runs no static pod for {', '.join(missing)}.",
                    remedy="Check /etc/kubernetes/manifests on that node.",
                    object=node_ref(node.name),
                )
            )
    return found
