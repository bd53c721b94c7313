"""`build_plan`: from a ClusterView and what was asked to the whole Plan. Pure: the caller reads the
cluster, runs preflight and passes the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from overhaul.domain.cluster import ClusterView, NodeView
from overhaul.domain.findings import Finding
from overhaul.domain.plan import (
    ClusterIdentity,
    ClusterNode,
    Plan,
    PlanSpec,
    ProviderName,
    Role,
    Stage,
)
from overhaul.domain.version import Version
from overhaul.knowledge import providers
from overhaul.planning import budgets, estimate
from overhaul.planning.capacity import ClusterModel
from overhaul.planning.path import (
    ControlPlaneHop,
    Move,
    WorkerRoll,
    control_plane_nodes,
    node_control_plane_version,
    version_plan,
)
from overhaul.planning.waves import Progress, control_plane_stage, worker_stage

GENERIC_RULES = "generic"


def cluster_identity(
    cluster: ClusterView, *, server: str, context: str, source: str, cp_version: Version
) -> ClusterIdentity:
    nodes = tuple(
        ClusterNode(
            name=n.name,
            uid=n.uid,
            version=n.kubelet_version,
            role=Role.CONTROL_PLANE if n.control_plane else Role.WORKER,
            zone=n.zone or "",
            control_plane_version=_apiserver(cluster, n),
        )
        for n in cluster.nodes
    )
    return ClusterIdentity(server, context, source, cp_version.full(), nodes)


def _apiserver(cluster: ClusterView, node: NodeView) -> str:
    if not node.control_plane:
        return ""
    version = node_control_plane_version(cluster, node)
    return version.full() if version is not None else ""


def _quorum_warnings(cluster: ClusterView) -> list[str]:
    count = len(control_plane_nodes(cluster))
    if count == 1:
        return ["one control-plane node: the API server is unavailable while it upgrades"]
    if count == 2:
        return [
            "two control-plane nodes: etcd loses quorum while either is down, so the API server is "
            "unavailable during each control-plane upgrade (three or more keep it up)"
        ]
    return []


def _kubeadm_jumps(moves: Sequence[Move], before: dict[str, Version]) -> list[str]:
    """kubeadm's guide upgrades workers one minor at a time; say so where a roll jumps further."""
    found = []
    for move in moves:
        if isinstance(move, WorkerRoll):
            widest = max((move.version.minor - before[n.name].minor for n in move.nodes), default=0)
            if widest > 1:
                found.append(
                    f"workers go up to {widest} minors at once to {move.version} (the skew policy allows it; "
                    "kubeadm's guide upgrades one minor at a time, so rehearse `kubeadm upgrade node` on one "
                    "worker first)"
                )
    return found


def build_plan(
    cluster: ClusterView,
    spec: PlanSpec,
    *,
    server: str = "",
    context: str = "",
    source: str = "live",
    findings: Sequence[Finding] = (),
    now: dt.datetime,
    generator: str = "overhaul",
) -> Plan:
    """The plan for `spec` on `cluster`. `spec.target` is the version asked for (`1.36`); the plan's is
    resolved (`v1.36.0`). Raises path.PathError when no upgrade path exists."""
    rules = None if spec.rules == GENERIC_RULES else providers.provider(spec.rules)
    path = version_plan(cluster, Version.parse(spec.target), rules)
    resolved = replace(spec, target=path.target.full())
    versions: dict[str, Version] = {}
    for node in cluster.nodes:
        version = node_control_plane_version(cluster, node) if node.control_plane else None
        if version is None and node.kubelet is not None:
            version = Version(node.kubelet.major, node.kubelet.minor, node.kubelet.patch or 0)
        versions[node.name] = version or path.current
    initial = dict(versions)
    pdbs_of = budgets.pdb_keys_by_pod(cluster)
    progress = Progress(
        model=ClusterModel(cluster.nodes, {n.name: list(cluster.pods_on(n.name)) for n in cluster.nodes}),
        allowances=budgets.allowances(cluster, pdbs_of),
        pdbs_of=pdbs_of,
        versions=versions,
        uids={n.name: n.uid for n in cluster.nodes},
        cordoned={n.name for n in cluster.nodes if n.unschedulable},
        names={n.name for n in cluster.nodes},
    )
    stages: list[Stage] = []
    for move in path.moves:
        if isinstance(move, ControlPlaneHop):
            stages.append(control_plane_stage(resolved, move, progress))
        else:
            stages.append(worker_stage(resolved, move, progress))
    stages = [s for s in stages if s.steps]
    notes = [*path.warnings, *(_quorum_warnings(cluster) if path.moves else ())]
    if spec.provider.name is ProviderName.KUBEADM:
        notes.extend(_kubeadm_jumps(path.moves, initial))
    steps = [step for stage in stages for step in stage.steps]
    moment = now
    identity = cluster_identity(
        cluster, server=server, context=context, source=source, cp_version=path.current
    )
    return Plan(
        name=f"upgrade-{path.current}-to-{path.target}",
        created=moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        generator=generator,
        cluster=identity,
        spec=resolved,
        control_plane_path=tuple(v.full() for v in path.control_plane_versions),
        path_summary=path.describe(),
        stages=tuple(stages),
        estimate=estimate.estimate(steps, spec.windows, moment),
        findings=tuple(findings),
        warnings=tuple(notes),
    )
