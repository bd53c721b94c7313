"""Hand-built ClusterViews for the preflight checks' unit tests: small builders with healthy defaults,
so that each test states only what makes its check fire (or keeps it quiet)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from overhaul.domain.cluster import (
    ClusterView,
    Condition,
    CrdNames,
    CrdVersion,
    CrdView,
    ManagedFieldsEntry,
    NodeSelectorTerm,
    NodeView,
    ObjectApiUsage,
    ObjectRef,
    OwnerRef,
    PdbView,
    PodView,
    Resources,
    ServerVersion,
    Taint,
    Toleration,
    WorkloadView,
)
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.preflight.input import ApiUsage, PreflightInput, SourceProblem

MI = 2**20
GI = 2**30
TODAY = dt.date(2026, 5, 1)  # 1.34 and 1.35 supported, neither within 90 days of its end
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(hours=2)
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"

_uids = itertools.count(1)


def uid(prefix: str = "uid") -> str:
    return f"{prefix}-{next(_uids)}"


def node(
    name: str,
    *,
    kubelet: str = "v1.34.2",
    kube_proxy: str = "",
    cpu: int = 4000,
    memory: int = 16 * GI,
    pods: int = 110,
    ready: bool | None = True,
    unschedulable: bool = False,
    taints: Iterable[Taint] = (),
    labels: Mapping[str, str] | None = None,
    control_plane: bool = False,
    conditions: Iterable[Condition] = (),
) -> NodeView:
    all_labels = {"kubernetes.io/hostname": name, **(labels or {})}
    if control_plane:
        all_labels[CONTROL_PLANE_LABEL] = ""
    conds = list(conditions)
    if ready is not None:
        conds.append(
            Condition("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady")
        )
    allocatable = Resources(cpu, memory, 100 * GI)
    return NodeView(
        name=name,
        uid=uid("node"),
        labels=all_labels,
        taints=tuple(taints),
        unschedulable=unschedulable,
        conditions=tuple(conds),
        kubelet_version=kubelet,
        kube_proxy_version=kube_proxy,
        container_runtime="containerd://1.7.24",
        allocatable=allocatable,
        allocatable_pods=pods,
        capacity=allocatable,
    )


def pod(
    namespace: str,
    name: str,
    *,
    node: str = "",
    owner: WorkloadView | OwnerRef | None = None,
    phase: str = "Running",
    ready: bool = True,
    labels: Mapping[str, str] | None = None,
    cpu: int = 100,
    memory: int = 128 * MI,
    empty_dir: bool = False,
    mirror: bool = False,
    waiting: str | None = None,
    restarts: int = 0,
    tolerations: Iterable[Toleration] = (),
    node_selector: Mapping[str, str] | None = None,
    affinity: tuple[NodeSelectorTerm, ...] = (),
    start: dt.datetime | None = LONG_AGO,
    created: dt.datetime | None = LONG_AGO,
    terminating: bool = False,
    images: Iterable[str] = (),
) -> PodView:
    ref = OwnerRef(owner.kind, owner.name, owner.uid) if isinstance(owner, WorkloadView) else owner
    return PodView(
        namespace=namespace,
        name=name,
        uid=uid("pod"),
        node_name=node,
        phase=phase,
        ready=ready,
        labels=dict(labels or {}),
        owner=ref,
        requests=Resources(cpu, memory, 0),
        tolerations=tuple(tolerations),
        node_selector=dict(node_selector or {}),
        required_node_affinity=affinity,
        has_empty_dir=empty_dir,
        mirror=mirror,
        restart_count=restarts,
        waiting_reason=waiting,
        start_time=start,
        created=created,
        deletion_timestamp=NOW if terminating else None,
        images=tuple(images),
    )


def workload(
    kind: str,
    namespace: str,
    name: str,
    replicas: int,
    *,
    labels: Mapping[str, str] | None = None,
    owner: WorkloadView | None = None,
) -> WorkloadView:
    match = dict(labels or {"app": name})
    return WorkloadView(
        kind=kind,
        namespace=namespace,
        name=name,
        uid=uid(kind.lower()),
        replicas=replicas,
        ready_replicas=replicas,
        available_replicas=replicas,
        updated_replicas=replicas,
        selector={"matchLabels": match},
        owner=OwnerRef(owner.kind, owner.name, owner.uid) if owner is not None else None,
        labels=match,
        generation=1,
        observed_generation=1,
    )


def app(
    namespace: str,
    name: str,
    replicas: int,
    nodes: Iterable[str],
    *,
    kind: str = "Deployment",
    empty_dir: bool = False,
    cpu: int = 100,
    memory: int = 128 * MI,
    ready: bool = True,
    **pod_options: Any,
) -> tuple[list[WorkloadView], list[PodView]]:
    """A Deployment (with its ReplicaSet) or StatefulSet and its pods, spread over `nodes` in turn."""
    top = workload(kind, namespace, name, replicas)
    workloads = [top]
    direct = top
    if kind == "Deployment":
        direct = workload("ReplicaSet", namespace, f"{name}-5d8f", replicas, labels={"app": name}, owner=top)
        workloads.append(direct)
    labels = {"app": name}
    spots = itertools.cycle(list(nodes))
    pods = [
        pod(
            namespace,
            f"{name}-{i}",
            node=next(spots),
            owner=direct,
            labels=labels,
            empty_dir=empty_dir,
            cpu=cpu,
            memory=memory,
            ready=ready,
            **pod_options,
        )
        for i in range(replicas)
    ]
    return workloads, pods


def pdb(
    namespace: str,
    name: str,
    app_name: str,
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    disruptions_allowed: int = 1,
    expected: int = 0,
    healthy: int = 0,
) -> PdbView:
    return PdbView(
        namespace=namespace,
        name=name,
        uid=uid("pdb"),
        selector={"matchLabels": {"app": app_name}},
        min_available=min_available,
        max_unavailable=max_unavailable,
        unhealthy_pod_eviction_policy=None,
        current_healthy=healthy,
        desired_healthy=0,
        disruptions_allowed=disruptions_allowed,
        expected_pods=expected,
        observed_generation=1,
        generation=1,
    )


def usage(
    api_version: str,
    kind: str,
    namespace: str,
    name: str,
    *,
    last_applied: str | None = None,
    managed: Iterable[tuple[str, str, str, str | None]] = (),
) -> ObjectApiUsage:
    """`managed`: (manager, operation, apiVersion, time) per managedFields entry."""
    return ObjectApiUsage(
        ObjectRef(api_version, kind, namespace, name),
        last_applied,
        tuple(ManagedFieldsEntry(*m) for m in managed),
    )


def crd(group: str, kind: str, plural: str, versions: Iterable[CrdVersion]) -> CrdView:
    return CrdView(
        name=f"{plural}.{group}",
        group=group,
        scope="Namespaced",
        names=CrdNames(kind=kind, plural=plural),
        versions=tuple(versions),
    )


def cluster(
    nodes: Iterable[NodeView] = (),
    pods: Iterable[PodView] = (),
    workloads: Iterable[WorkloadView] = (),
    pdbs: Iterable[PdbView] = (),
    *,
    version: str = "v1.34.2",
    api_usage: Iterable[ObjectApiUsage] = (),
    crds: Iterable[CrdView] = (),
) -> ClusterView:
    minor = version.lstrip("v").split(".")
    return ClusterView(
        server=ServerVersion(major=minor[0], minor=minor[1], git_version=version),
        nodes=tuple(nodes),
        pods=tuple(pods),
        workloads=tuple(workloads),
        pdbs=tuple(pdbs),
        crds=tuple(crds),
        api_usage=tuple(api_usage),
        observed_at=NOW,
    )


def workers(n: int, **options: Any) -> list[NodeView]:
    return [node(f"worker-{i + 1}", **options) for i in range(n)]


def healthy_cluster() -> ClusterView:
    """Three workers, one control-plane node, a 3-replica Deployment with a sane PDB: every check quiet."""
    nodes = [node("cp-1", control_plane=True, taints=[Taint(CONTROL_PLANE_LABEL, "", "NoSchedule")])]
    nodes += workers(3)
    workloads, pods = app("shop", "web", 3, ["worker-1", "worker-2", "worker-3"])
    pods += static_pods("cp-1")
    return cluster(
        nodes, pods, workloads, [pdb("shop", "web", "web", max_unavailable=1, expected=3, healthy=3)]
    )


CONTROL_PLANE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def static_pods(
    node_name: str,
    *,
    ready: bool = True,
    version: str | None = None,
    versions: Mapping[str, str] | None = None,
) -> list[PodView]:
    """kubeadm's static pods of one control-plane node; with `version`, images tagged with it (etcd
    with its own version), `versions` overriding it per component."""

    def image(component: str) -> list[str]:
        tag = (versions or {}).get(component, version)
        if tag is None:
            return []
        tag = "3.6.5-0" if component == "etcd" and component not in (versions or {}) else tag
        return [f"registry.k8s.io/{component}:{tag}"]

    return [
        pod(
            "kube-system",
            f"{component}-{node_name}",
            node=node_name,
            labels={"component": component, "tier": "control-plane"},
            mirror=True,
            ready=ready,
            owner=OwnerRef("Node", node_name, "node-uid"),
            images=image(component),
        )
        for component in CONTROL_PLANE_COMPONENTS
    ]


def data(
    view: ClusterView | None,
    *,
    target: str = "1.35",
    today: dt.date = TODAY,
    usages: Iterable[ApiUsage] = (),
    problems: Iterable[SourceProblem] = (),
    readyz: str | None = "ok",
    batch: int = 1,
    provider: str | None = None,
) -> PreflightInput:
    return PreflightInput(
        target=Version.parse(target),
        today=today,
        cluster=view,
        usages=tuple(usages),
        problems=tuple(problems),
        readyz=readyz,
        batch=batch,
        now=NOW,
        provider=provider,
    )


def of(findings: Iterable[Finding], severity: Severity | None = None) -> list[Finding]:
    return [f for f in findings if severity is None or f.severity is severity]


def named(findings: Iterable[Finding], name: str) -> list[Finding]:
    return [f for f in findings if f.object.name == name]


def app_cluster(name: str, replicas: int, *, pdbs: Iterable[PdbView] = (), **options: Any) -> ClusterView:
    """Three workers and one app (namespace `a`) spread over them."""
    workloads, pods = app("a", name, replicas, ["worker-1", "worker-2", "worker-3"], **options)
    return cluster(workers(3), pods, workloads, pdbs)
