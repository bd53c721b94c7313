"""A managed provider's stricter node rules (`preflight --provider eks|gke|aks`), on top of the
upstream skew policy: data/providers.yaml says, per kind of node group, how far nodes may lag the
control plane and whether they must be on its minor before the next control-plane upgrade (EKS
managed node groups and Fargate). A node's kind comes from its labels (same file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from overhaul.domain.cluster import ClusterView, NodeView, ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.knowledge import providers, skew
from overhaul.knowledge.paths import UpgradePath
from overhaul.knowledge.providers import NodeGroupRule, ProviderRules
from overhaul.preflight.index import node_ref
from overhaul.preflight.text import plural, some

VERSION_SKEW = "version-skew"
GENERIC = "generic"  # no provider: the upstream policy alone
AUTO = "auto"  # the provider the nodes' labels name, generic when they name none


def minor_of(version: Version) -> Version:
    return Version(version.major, version.minor)


def rules_of(name: str | None) -> ProviderRules | None:
    """The provider's rules; None for the generic (upstream-only) case."""
    return None if name is None or name == GENERIC else providers.provider(name)


def provider_names() -> tuple[str, ...]:
    """What `--provider` accepts: `auto`, `generic`, then the providers of the data file."""
    return (AUTO, GENERIC, *sorted(p.name for p in providers.providers()))


@dataclass(frozen=True)
class ProviderChoice:
    """The rules that apply (`name` None: generic) and, when they were detected, how."""

    name: str | None
    note: str = ""


def choose_provider(choice: str, cluster: ClusterView | None, flag: str = "--provider") -> ProviderChoice:
    """`--provider` (or FLAG): a named provider or generic as given; `auto` looks at the nodes'
    labels (an EKS managed node group's, a GKE node pool's, an AKS agent pool's) and takes the one
    provider they name, generic when they name none or several."""
    if choice != AUTO:
        return ProviderChoice(None if choice == GENERIC else choice)
    if cluster is None:
        return ProviderChoice(None)
    marked = providers.marked_by(node.labels for node in cluster.nodes)
    if len(marked) == 1:
        rules = marked[0]
        return ProviderChoice(
            rules.name,
            f"provider rules: {rules.title}, whose node labels the nodes carry ({flag} generic to ignore)",
        )
    if len(marked) > 1:
        names = ", ".join(r.name for r in marked)
        return ProviderChoice(
            None, f"provider rules: the nodes carry labels of several providers ({names}); give {flag}"
        )
    return ProviderChoice(None)


@dataclass(frozen=True)
class NodeGroupNodes:
    """The nodes of one kind of node group at one kubelet minor."""

    group: NodeGroupRule
    minor: Version
    nodes: tuple[NodeView, ...]

    @property
    def ref(self) -> ObjectRef:
        return node_ref(self.nodes[0].name) if len(self.nodes) == 1 else ObjectRef("v1", "Node", "", "")

    @property
    def names(self) -> str:
        return some([n.name for n in self.nodes])


def grouped(rules: ProviderRules, cluster: ClusterView) -> list[NodeGroupNodes]:
    """Nodes by kind of node group and kubelet minor (nodes whose kubelet does not parse left out)."""
    found: dict[tuple[str, Version], list[NodeView]] = {}
    kinds: dict[str, NodeGroupRule] = {}
    for node in cluster.nodes:
        version = node.kubelet
        if version is None:
            continue
        group = rules.node_group_of(node.labels)
        kinds[group.kind] = group
        found.setdefault((group.kind, minor_of(version)), []).append(node)
    return [
        NodeGroupNodes(kinds[kind], minor, tuple(nodes)) for (kind, minor), nodes in sorted(found.items())
    ]


def path_options(
    rules: ProviderRules | None, cluster: ClusterView
) -> tuple[bool, Callable[[Version, Version], bool] | None]:
    """The `upgrade_path` options the provider's rules call for, given the kinds of nodes present:
    whether nodes must match the control plane before each hop, and the stricter kubelet rule."""
    if rules is None:
        return False, None
    present = {g.group.kind: g.group for g in grouped(rules, cluster)}
    must_match = any(g.must_match_before_control_plane_upgrade for g in present.values())

    def allowed(control_plane: Version, kubelet: Version) -> bool:
        return all(providers.node_skew_ok(rules.name, kind, control_plane, kubelet) for kind in present)

    return must_match, allowed


def _limits(group: NodeGroupRule) -> str:
    older = group.max_older if group.max_older is not None else skew.rule(skew.KUBELET).max_older
    return f"at most {plural(older, 'minor')} older and {group.max_newer} newer"


def provider_skew(
    rules: ProviderRules, cluster: ClusterView, control_plane: Version, path: UpgradePath | None
) -> tuple[list[Finding], set[Version]]:
    """Nodes outside the provider's skew now, and nodes the provider requires on the control plane's
    minor before the next control-plane upgrade (both blocking: the provider refuses the upgrade),
    and the kubelet minors found outside its skew now. Nodes the upstream policy already rejects
    are left to its findings."""
    cp = minor_of(control_plane)
    hops = path.hops if path is not None else ()
    found: list[Finding] = []
    outside: set[Version] = set()
    for g in grouped(rules, cluster):
        if not skew.kubelet_skew_ok(cp, g.minor):
            continue  # the upstream finding says it
        kind = g.group.kind
        if not providers.node_skew_ok(rules.name, kind, cp, g.minor):
            outside.add(g.minor)
            found.append(
                Finding(
                    check=VERSION_SKEW,
                    severity=Severity.BLOCKING,
                    message=f"kubelet {g.minor} on {plural(len(g.nodes), 'node')} ({g.names}, {rules.title} "
                    f"{kind}) is outside {rules.title}'s skew for {kind}s against the control plane {cp}: "
                    f"{_limits(g.group)}.",
                    remedy=f"Upgrade those nodes to {cp} (or within {rules.title}'s skew) before the "
                    "control-plane upgrade.",
                    object=g.ref,
                )
            )
        elif hops and g.group.must_match_before_control_plane_upgrade and g.minor < cp:
            nxt = hops[0].control_plane_to
            found.append(
                Finding(
                    check=VERSION_SKEW,
                    severity=Severity.BLOCKING,
                    message=f"kubelet {g.minor} on {plural(len(g.nodes), 'node')} ({g.names}) of "
                    f"{rules.title} {kind}s is behind the control plane {cp}: {rules.title} refuses "
                    f"the control-plane upgrade to {nxt} until every {kind} node runs {cp}.",
                    remedy=f"Upgrade those {kind}s to {cp} first, then the control plane; the same holds "
                    "before each later control-plane hop (the upgrade-path finding lists the order).",
                    object=g.ref,
                )
            )
    return found, outside


def late_for_hop(
    rules: ProviderRules, cluster: ClusterView, control_plane: Version, minor: Version
) -> str | None:
    """The kinds of node group (present at `minor`) whose provider skew a control plane at
    `control_plane` would exceed, described for a message; None when none would."""
    late = sorted(
        {
            g.group.kind
            for g in grouped(rules, cluster)
            if g.minor == minor and not providers.node_skew_ok(rules.name, g.group.kind, control_plane, minor)
        }
    )
    if not late:
        return None
    group = rules.node_group(late[0])
    return f"{rules.title}'s skew for {', '.join(late)}s ({_limits(group)})"
