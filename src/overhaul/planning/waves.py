"""Stages and steps: the control plane one node at a time per hop, then workers in waves.

- A control-plane hop upgrades its nodes one at a time (etcd keeps quorum with one member down from
  three members on; the plan warns when it cannot), the first one running `kubeadm upgrade apply`.
- A worker roll, by strategy:
  - rolling: batches (`batches.form_batches`) upgraded in place, capped by `--max-unavailable`;
  - surge: per batch (capped by `--max-surge`), add a new node like each old one at the roll's
    version, drain the old ones, remove them;
  - blue-green: a new node like each old one (the new pool), the old pool cordoned, drained in
    batches (capped by `--max-unavailable`) with the gates between them, then removed.
Gates (soak, alerts, validation) follow every step that drains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from overhaul.domain.cluster import Condition, NodeView, PodView
from overhaul.domain.plan import (
    Action,
    BatchBy,
    Gates,
    NewNode,
    PlanNode,
    PlanSpec,
    Role,
    Stage,
    StageKind,
    Step,
    Strategy,
)
from overhaul.domain.version import Version
from overhaul.planning.batches import Batch, commit, form_batch, form_batches
from overhaul.planning.capacity import ClusterModel
from overhaul.planning.commands import node_commands
from overhaul.planning.estimate import step_seconds
from overhaul.planning.path import ControlPlaneHop, WorkerRoll, minor_of, natural_key

_VERSION_SUFFIX = re.compile(r"-v\d+-\d+-\d+(?:-\d+)?$")


@dataclass
class Progress:
    """What the plan has done so far to the model's nodes: versions, replacements, new nodes."""

    model: ClusterModel
    allowances: dict[str, int]
    pdbs_of: dict[str, tuple[str, ...]]
    versions: dict[str, Version]  # node -> its version now (control plane: its apiserver's)
    uids: dict[str, str]  # nodes of the cluster; created ones have none
    cordoned: set[str]  # cordoned before the plan
    current: dict[str, str] = field(default_factory=dict)  # original node -> the node replacing it
    names: set[str] = field(default_factory=set)  # every node name used so far, for new nodes

    def name_of(self, original: str) -> str:
        return self.current.get(original, original)

    def plan_node(self, name: str, role: Role, commands: tuple[str, ...] = ()) -> PlanNode:
        view = self.model.view(name)
        return PlanNode(
            name=name,
            uid=self.uids.get(name, ""),
            version=self.versions[name].full(),
            role=role,
            zone=view.zone or "",
            address=view.internal_ip,
            cordoned=name in self.cordoned,
            commands=commands,
        )

    def new_node(self, like: str, version: Version) -> NodeView:
        """A node like `like` (labels, taints, size, zone), Ready at `version`, with a free name."""
        base = f"{_VERSION_SUFFIX.sub('', like)}-{version.full().replace('.', '-')}"
        name, n = base, 1
        while name in self.names or self.model.has(name):
            n += 1
            name = f"{base}-{n}"
        view = self.model.view(like)
        ready = Condition("Ready", "True", "KubeletReady")
        return replace(
            view,
            name=name,
            uid="",
            unschedulable=False,
            conditions=(*(c for c in view.conditions if c.type != "Ready"), ready),
            kubelet_version=version.full(),
            kube_proxy_version=version.full(),
            labels={**view.labels, "kubernetes.io/hostname": name},
            internal_ip="",
            deletion_timestamp=None,
        )


def _pods(pods: list[PodView]) -> str:
    more = f" and {len(pods) - 5} more" if len(pods) > 5 else ""
    return ", ".join(p.key for p in pods[:5]) + more


def _batch_notes(spec: PlanSpec, batch: Batch, allowances: dict[str, int]) -> list[str]:
    notes: list[str] = []
    if batch.bare and spec.drain.force:
        notes.append(
            f"the drain deletes {len(batch.bare)} pod(s) that no controller recreates: {_pods(batch.bare)}"
        )
    elif batch.bare:
        notes.append(
            f"the drain refuses {len(batch.bare)} pod(s) that no controller recreates: {_pods(batch.bare)} "
            "(delete them before the window, or plan with --force)"
        )
    for key, over in sorted(batch.over_budget.items()):
        allowed = allowances.get(key, 0)
        if allowed == 0:
            notes.append(
                f"PodDisruptionBudget {key} allows no disruption: this drain waits until it is loosened "
                "(see the preflight findings)"
            )
        else:
            notes.append(
                f"PodDisruptionBudget {key} allows {allowed} disruption(s) at once and this node holds "
                f"{allowed + over} of its pods: the drain evicts them as replacements become ready"
            )
    if batch.unplaced:
        notes.append(
            f"{len(batch.unplaced)} pod(s) fit on no other node and stay Pending until room appears: "
            f"{_pods(batch.unplaced)}"
        )
    return notes


def _step(
    spec: PlanSpec,
    id_: str,
    action: Action,
    version: Version,
    *,
    nodes: tuple[PlanNode, ...] = (),
    new_nodes: tuple[NewNode, ...] = (),
    commands: tuple[str, ...] = (),
    notes: list[str] | None = None,
) -> Step:
    gates = spec.gates if action.drains else Gates()
    return Step(
        id=id_,
        action=action,
        version=version.full(),
        nodes=nodes,
        new_nodes=new_nodes,
        commands=commands,
        drain=spec.drain if action.drains else None,
        gates=gates,
        estimate_seconds=step_seconds(action, gates, spec.timings),
        notes=tuple(notes or ()),
    )


def control_plane_stage(spec: PlanSpec, hop: ControlPlaneHop, progress: Progress) -> Stage:
    stage_id = f"control-plane-{hop.to_version.full()}"
    steps: list[Step] = []
    if not hop.nodes:
        commands = node_commands(
            spec.provider, node="", host="", version=hop.to_version.full(), zone="", role=Role.CONTROL_PLANE
        )
        steps.append(
            _step(
                spec,
                f"{stage_id}/control-plane",
                Action.UPGRADE_CONTROL_PLANE,
                hop.to_version,
                commands=commands,
                notes=["the control plane is not visible as nodes: the provider upgrades it"],
            )
        )
    for i, node in enumerate(hop.nodes):
        before = progress.versions[node.name]
        commands = node_commands(
            spec.provider,
            node=node.name,
            host=node.internal_ip,
            version=hop.to_version.full(),
            zone=node.zone or "",
            role=Role.CONTROL_PLANE,
            first=i == 0,
            new_minor=minor_of(before) != minor_of(hop.to_version),
        )
        plan_node = progress.plan_node(node.name, Role.CONTROL_PLANE, commands)
        batch = form_batch(progress.model, [node.name], 1, progress.allowances, progress.pdbs_of)
        commit(progress.model, batch, version=hop.to_version.full(), in_place=True)
        progress.versions[node.name] = hop.to_version
        steps.append(
            _step(
                spec,
                f"{stage_id}/{node.name}",
                Action.UPGRADE_CONTROL_PLANE,
                hop.to_version,
                nodes=(plan_node,),
                notes=_batch_notes(spec, batch, progress.allowances),
            )
        )
    return Stage(
        id=stage_id,
        kind=StageKind.CONTROL_PLANE,
        title=f"Control plane {hop.from_version} → {hop.to_version}",
        from_version=hop.from_version.full(),
        to_version=hop.to_version.full(),
        steps=tuple(steps),
    )


def _order(progress: Progress, names: list[str], by_zone: bool) -> list[str]:
    def key(name: str) -> tuple[object, ...]:
        zone = progress.model.view(name).zone or ""
        return (zone, natural_key(name)) if by_zone else (natural_key(name),)

    return sorted(names, key=key)


def worker_stage(spec: PlanSpec, roll: WorkerRoll, progress: Progress) -> Stage:
    version = roll.version
    stage_id = f"workers-{version.full()}"
    by_zone = spec.batch_by is BatchBy.ZONE
    progress.model.forget_fresh()
    names = _order(progress, [progress.name_of(n.name) for n in roll.nodes], by_zone)
    title = f"Workers → {version}"
    if roll.before_hop is not None:
        title += f" (before the control plane goes to {roll.before_hop})"
    if spec.strategy is Strategy.ROLLING:
        steps = _rolling(spec, stage_id, version, names, progress, by_zone)
    elif spec.strategy is Strategy.SURGE:
        steps = _surge(spec, stage_id, version, names, progress, by_zone)
    else:
        steps = _blue_green(spec, stage_id, version, names, progress, by_zone)
    return Stage(
        id=stage_id,
        kind=StageKind.WORKERS,
        title=title,
        from_version="",
        to_version=version.full(),
        steps=tuple(steps),
    )


def _rolling(
    spec: PlanSpec, stage_id: str, version: Version, names: list[str], progress: Progress, by_zone: bool
) -> list[Step]:
    cap = spec.max_unavailable.of(len(names), round_up=False)
    steps: list[Step] = []
    pending = list(names)
    wave = 0
    while pending:
        batch = form_batch(
            progress.model, pending, cap, progress.allowances, progress.pdbs_of, by_zone=by_zone
        )
        nodes = []
        for name in batch.nodes:
            view = progress.model.view(name)
            commands = node_commands(
                spec.provider,
                node=name,
                host=view.internal_ip,
                version=version.full(),
                zone=view.zone or "",
                role=Role.WORKER,
                new_minor=minor_of(progress.versions[name]) != minor_of(version),
            )
            nodes.append(progress.plan_node(name, Role.WORKER, commands))
        commit(progress.model, batch, version=version.full(), in_place=True)
        for name in batch.nodes:
            progress.versions[name] = version
        wave += 1
        steps.append(
            _step(
                spec,
                f"{stage_id}/wave-{wave:02d}",
                Action.UPGRADE_NODES,
                version,
                nodes=tuple(nodes),
                notes=_batch_notes(spec, batch, progress.allowances),
            )
        )
    return steps


def _retire(progress: Progress, old: str, new: NodeView) -> None:
    """`new` takes the place of `old`, which leaves the cluster."""
    originals = [o for o, current in progress.current.items() if current == old] or [old]
    for original in originals:
        progress.current[original] = new.name
    progress.model.remove_node(old)


def _surge(
    spec: PlanSpec, stage_id: str, version: Version, names: list[str], progress: Progress, by_zone: bool
) -> list[Step]:
    cap = spec.max_surge.of(len(names), round_up=True)
    steps: list[Step] = []
    pending = list(names)
    wave = 0
    while pending:
        batch = form_batch(
            progress.model,
            pending,
            cap,
            progress.allowances,
            progress.pdbs_of,
            by_zone=by_zone,
            replacement=lambda name: progress.new_node(name, version),
        )
        old = tuple(progress.plan_node(name, Role.WORKER) for name in batch.nodes)
        new = tuple(NewNode(r.name, like=name, zone=r.zone or "") for name, r in batch.replacements.items())
        commit(progress.model, batch, version=version.full(), in_place=False)
        for name, replacement in batch.replacements.items():
            progress.versions[replacement.name] = version
            progress.names.add(replacement.name)
            _retire(progress, name, replacement)
        wave += 1
        prefix = f"{stage_id}/wave-{wave:02d}"
        steps.append(_step(spec, f"{prefix}-add", Action.ADD_NODES, version, new_nodes=new))
        steps.append(
            _step(
                spec,
                f"{prefix}-drain",
                Action.DRAIN_NODES,
                version,
                nodes=old,
                notes=_batch_notes(spec, batch, progress.allowances),
            )
        )
        steps.append(_step(spec, f"{prefix}-remove", Action.REMOVE_NODES, version, nodes=old))
    return steps


def _blue_green(
    spec: PlanSpec, stage_id: str, version: Version, names: list[str], progress: Progress, by_zone: bool
) -> list[Step]:
    old = {name: progress.plan_node(name, Role.WORKER) for name in names}
    pool: dict[str, NodeView] = {}
    for name in names:
        pool[name] = progress.new_node(name, version)
        progress.model.add_node(pool[name], like=name)
        progress.versions[pool[name].name] = version
        progress.names.add(pool[name].name)
    for name in names:
        progress.model.set_out(name)
    steps = [
        _step(
            spec,
            f"{stage_id}/add-pool",
            Action.ADD_NODES,
            version,
            new_nodes=tuple(NewNode(n.name, like=name, zone=n.zone or "") for name, n in pool.items()),
        ),
        _step(spec, f"{stage_id}/cordon-pool", Action.CORDON_NODES, version, nodes=tuple(old.values())),
    ]
    cap = spec.max_unavailable.of(len(names), round_up=False)
    batches = form_batches(
        progress.model,
        names,
        cap,
        progress.allowances,
        progress.pdbs_of,
        version=version.full(),
        in_place=False,
        by_zone=by_zone,
    )
    for i, batch in enumerate(batches, start=1):
        steps.append(
            _step(
                spec,
                f"{stage_id}/drain-{i:02d}",
                Action.DRAIN_NODES,
                version,
                nodes=tuple(old[n] for n in batch.nodes),
                notes=_batch_notes(spec, batch, progress.allowances),
            )
        )
    for name in names:
        _retire(progress, name, pool[name])
    steps.append(
        _step(spec, f"{stage_id}/remove-pool", Action.REMOVE_NODES, version, nodes=tuple(old.values()))
    )
    return steps
