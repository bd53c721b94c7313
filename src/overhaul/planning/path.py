"""The version path of a plan, node by node: control-plane hops and worker rolls, in order.

`knowledge.paths.upgrade_path` decides on minors and node counts; this turns its answer into nodes
and exact versions:

- the control plane moves one minor per hop (never skipping one); an intermediate hop goes to the
  newest patch a control-plane node already runs in that minor, else the latest patch the release
  table knows; the last hop to the target itself; a patch-only upgrade is one hop within the minor;
- worker kubelets stay where they are while the skew policy (and the provider's rules, per kind of
  node group) allows, and are rolled to the control plane's current version only when the next hop
  would leave them outside it; all the others move to the target in one roll at the end, several
  minors at once where the policy allows (1.34 → 1.36), which saves whole node rolls;
- a control-plane node's kubelet moves with its own control-plane components (kubeadm's order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from overhaul.domain.cluster import ClusterView, NodeView
from overhaul.domain.version import Version
from overhaul.knowledge import providers, releases
from overhaul.knowledge.paths import UpgradePathError, upgrade_path
from overhaul.knowledge.providers import NodeGroupRule, ProviderRules

APISERVER = "kube-apiserver"


class PathError(ValueError):
    """No plan can be made for this version change (a downgrade, no readable versions)."""


def full(version: Version) -> Version:
    """The version with its patch (0 when none was given)."""
    return Version(version.major, version.minor, version.patch or 0)


def minor_of(version: Version) -> Version:
    return Version(version.major, version.minor)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """`worker-2` before `worker-10`."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def control_plane_nodes(cluster: ClusterView) -> list[NodeView]:
    return sorted((n for n in cluster.nodes if n.control_plane), key=lambda n: natural_key(n.name))


def worker_nodes(cluster: ClusterView) -> list[NodeView]:
    return sorted((n for n in cluster.nodes if not n.control_plane), key=lambda n: natural_key(n.name))


def node_control_plane_version(cluster: ClusterView, node: NodeView) -> Version | None:
    """The version of the node's kube-apiserver (its static pod's image), else of its kubelet."""
    for component in cluster.control_plane_components:
        if component.node_name == node.name and component.component == APISERVER and component.version:
            return full(component.version)
    return full(node.kubelet) if node.kubelet is not None else None


def control_plane_version(cluster: ClusterView) -> Version:
    """The oldest kube-apiserver the plan can see (the control plane's version for the skew policy);
    `/version` when no control-plane node shows one (a managed control plane)."""
    versions = [
        v for n in control_plane_nodes(cluster) if (v := node_control_plane_version(cluster, n)) is not None
    ]
    if versions:
        return min(versions)
    served = cluster.server.version
    if served is None:
        raise PathError(f"the API server's version {cluster.server.git_version!r} is not readable")
    return full(served)


def latest_patch(minor: Version) -> Version:
    """The newest patch of a minor the release table knows (x.y.0 when it knows none)."""
    if releases.is_known(minor):
        known = releases.release(minor).latest_patch
        if known is not None:
            return full(known)
    return Version(minor.major, minor.minor, 0)


def resolve_target(target: Version, current: Version) -> Version:
    """`--to 1.36` means the latest known patch of 1.36 (never older than what already runs);
    `--to 1.36.2` means exactly that."""
    if target.patch is not None:
        return target
    resolved = latest_patch(target)
    return max(resolved, current) if minor_of(resolved) == minor_of(current) else resolved


@dataclass(frozen=True)
class ControlPlaneHop:
    """The control plane from one version to the next; `nodes` are upgraded one at a time (none: a
    managed control plane, upgraded by the provider alone)."""

    from_version: Version
    to_version: Version
    nodes: tuple[NodeView, ...]


@dataclass(frozen=True)
class WorkerRoll:
    """Worker kubelets moved to `version`; `before_hop` when the next control-plane hop needs it."""

    version: Version
    nodes: tuple[NodeView, ...]
    before_hop: Version | None = None


Move = ControlPlaneHop | WorkerRoll


@dataclass(frozen=True)
class VersionPlan:
    current: Version  # the control plane's version now
    target: Version  # resolved, with its patch
    moves: tuple[Move, ...]
    warnings: tuple[str, ...] = ()

    @property
    def control_plane_versions(self) -> tuple[Version, ...]:
        return (self.current, *(m.to_version for m in self.moves if isinstance(m, ControlPlaneHop)))

    def describe(self) -> str:
        """One line: `control plane 1.34.2 → 1.35.4 → 1.36.0; workers: 9 nodes → 1.36.0`."""
        hops = [m for m in self.moves if isinstance(m, ControlPlaneHop)]
        parts = [
            "control plane " + " → ".join(str(v) for v in self.control_plane_versions)
            if hops
            else f"control plane stays on {self.current}"
        ]
        for move in self.moves:
            if isinstance(move, WorkerRoll):
                count = f"{len(move.nodes)} worker{'s' if len(move.nodes) != 1 else ''}"
                when = f"before the control plane goes to {move.before_hop}: " if move.before_hop else ""
                parts.append(f"{when}{count} → {move.version}")
        return "; ".join(parts)


@dataclass
class _Group:
    """Workers under one kind of provider node-group rule (one group when no provider is named)."""

    rule: NodeGroupRule | None
    nodes: list[NodeView]


def _groups(workers: list[NodeView], rules: ProviderRules | None) -> list[_Group]:
    if rules is None:
        return [_Group(None, workers)]
    by_kind: dict[str, _Group] = {}
    for node in workers:
        rule = rules.node_group_of(node.labels)
        by_kind.setdefault(rule.kind, _Group(rule, [])).nodes.append(node)
    return list(by_kind.values())


def _allowed(rules: ProviderRules | None, group: _Group) -> Callable[[Version, Version], bool] | None:
    if rules is None or group.rule is None:
        return None
    kind = group.rule.kind
    return lambda cp, kubelet: providers.node_skew_ok(rules.name, kind, cp, kubelet)


def _hop_version(cluster: ClusterView, cps: list[NodeView], minor: Version, goal: Version) -> Version:
    if minor == minor_of(goal):
        return goal
    running = [
        v for n in cps if (v := node_control_plane_version(cluster, n)) is not None and minor_of(v) == minor
    ]
    return max(running) if running else latest_patch(minor)


def version_plan(cluster: ClusterView, target: Version, rules: ProviderRules | None = None) -> VersionPlan:
    """The hops and rolls from the cluster's versions to `target`. Raises PathError for a downgrade."""
    cps = control_plane_nodes(cluster)
    current = control_plane_version(cluster)
    goal = resolve_target(target, current)
    if goal < current:
        raise PathError(f"cannot go from {current} to {goal}: the control plane cannot be downgraded")
    warnings: list[str] = []
    state: dict[str, Version] = {}
    workers: list[NodeView] = []
    for node in worker_nodes(cluster):
        if node.kubelet is None:
            warnings.append(
                f"node {node.name}: kubelet version {node.kubelet_version!r} is not readable; left out"
            )
        elif full(node.kubelet) > goal:
            warnings.append(
                f"node {node.name}: kubelet {node.kubelet_version} is newer than {goal}; left out"
            )
        else:
            state[node.name] = full(node.kubelet)
            workers.append(node)
    groups = _groups(workers, rules)
    try:
        paths = [
            upgrade_path(
                current,
                goal,
                [state[n.name] for n in g.nodes],
                nodes_match_control_plane=bool(g.rule and g.rule.must_match_before_control_plane_upgrade),
                kubelet_allowed=_allowed(rules, g),
            )
            for g in groups
        ]
    except UpgradePathError as err:
        raise PathError(str(err)) from err
    hop_minors = [(h.control_plane_from, h.control_plane_to) for h in paths[0].hops] if paths else []
    if not hop_minors and current < goal:
        hop_minors = [(minor_of(current), minor_of(goal))]  # a patch upgrade: one hop within the minor
    moves: list[Move] = []
    cp_version = current
    cp_state = {n.name: node_control_plane_version(cluster, n) for n in cps}
    for i, (_, to_minor) in enumerate(hop_minors):
        to_version = _hop_version(cluster, cps, to_minor, goal)
        rolled: list[NodeView] = []
        for group, path in zip(groups, paths, strict=True):
            if i >= len(path.hops):
                continue
            for move in path.hops[i].kubelets_before:
                rolled.extend(
                    n for n in group.nodes if minor_of(state[n.name]) == move.from_minor and n not in rolled
                )
        if rolled:
            rolled.sort(key=lambda n: natural_key(n.name))
            for node in rolled:
                state[node.name] = cp_version
            moves.append(WorkerRoll(cp_version, tuple(rolled), before_hop=to_version))
        hop_nodes = tuple(n for n in cps if (v := cp_state[n.name]) is None or v < to_version)
        for node in hop_nodes:
            cp_state[node.name] = to_version
        moves.append(ControlPlaneHop(cp_version, to_version, hop_nodes))
        cp_version = to_version
    last = tuple(n for n in workers if state[n.name] < goal)
    if last:
        moves.append(WorkerRoll(goal, last))
    return VersionPlan(current, goal, tuple(moves), tuple(warnings))
