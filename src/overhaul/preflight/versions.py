"""`version-skew`, `upgrade-path` and `end-of-support`: the versions the cluster runs and will run."""

from __future__ import annotations

from collections.abc import Iterator

from overhaul.domain.cluster import ClusterView, NodeView, ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.knowledge import releases, skew
from overhaul.knowledge.paths import UpgradePath, UpgradePathError, upgrade_path
from overhaul.preflight.components import apiserver_versions, skew_now, skew_on_path
from overhaul.preflight.index import node_ref
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.provider_skew import late_for_hop, path_options, provider_skew, rules_of
from overhaul.preflight.text import plural, some

VERSION_SKEW = "version-skew"
UPGRADE_PATH = "upgrade-path"
END_OF_SUPPORT = "end-of-support"
SUPPORT_WARNING_DAYS = 90

CLUSTER = ObjectRef()


def minor_of(version: Version) -> Version:
    return Version(version.major, version.minor)


def kubelets_by_minor(cluster: ClusterView) -> dict[Version, list[NodeView]]:
    """Nodes by kubelet minor (nodes whose kubelet version does not parse are left out)."""
    grouped: dict[Version, list[NodeView]] = {}
    for node in cluster.nodes:
        version = node.kubelet
        if version is not None:
            grouped.setdefault(minor_of(version), []).append(node)
    return dict(sorted(grouped.items()))


def control_plane_version(data: PreflightInput) -> Version | None:
    """Where the control plane stands: its oldest kube-apiserver (static pods; an HA control plane
    mid-upgrade is at its oldest minor until every instance moved), else what /version reports."""
    if data.cluster is None:
        return None
    apiservers = apiserver_versions(data.cluster)
    return apiservers[0] if apiservers else data.current


def _path(data: PreflightInput, current: Version) -> UpgradePath:
    assert data.cluster is not None
    counts = {minor: len(nodes) for minor, nodes in kubelets_by_minor(data.cluster).items()}
    must_match, stricter = path_options(rules_of(data.provider), data.cluster)
    return upgrade_path(
        current, data.target, counts, nodes_match_control_plane=must_match, kubelet_allowed=stricter
    )


def path_of(data: PreflightInput) -> UpgradePath | None:
    """The upgrade path of the input's cluster to its target (None: no cluster, or a downgrade), with
    the provider's rules when one is named."""
    current = control_plane_version(data)
    if data.cluster is None or current is None:
        return None
    try:
        return _path(data, current)
    except UpgradePathError:
        return None


def _nodes_ref(nodes: list[NodeView]) -> ObjectRef:
    return node_ref(nodes[0].name) if len(nodes) == 1 else ObjectRef("v1", "Node", "", "")


def _how(minor: Version, apiservers: list[Version]) -> tuple[str, Version]:
    """How far outside a component is, and the apiserver it is measured against: the newest one for a
    component too old, the oldest for one too new."""
    oldest, newest = apiservers[0], apiservers[-1]
    if minor > oldest:
        return f"{minor.minor - oldest.minor} minor(s) newer", oldest
    return f"{newest.minor - minor.minor} minors older", newest


def _skew_now(apiservers: list[Version], cluster: ClusterView) -> Iterator[Finding]:
    """Kubelets and kube-proxies against every kube-apiserver instance (`apiservers`: their minors,
    oldest first); a component must be allowed against each."""
    kubelet_rule = skew.rule(skew.KUBELET)
    for minor, nodes in kubelets_by_minor(cluster).items():
        if skew.skew_ok(skew.KUBELET, minor, apiservers):
            continue
        older, newer = kubelet_rule.bounds(minor)
        how, against = _how(minor, apiservers)
        names = [n.name for n in nodes]
        allowed = f"at most {older} older and {newer} newer"
        window = skew.allowed_minors(skew.KUBELET, apiservers)
        target = f"between {window[0]} and {window[-1]}" if window else f"at {apiservers[0]}"
        yield Finding(
            check=VERSION_SKEW,
            severity=Severity.BLOCKING,
            message=f"kubelet {minor} on {plural(len(nodes), 'node')} ({some(names)}) is {how} than the "
            f"API server {against}: the version-skew policy allows kubelets {allowed}.",
            remedy=(
                f"Upgrade those nodes to a kubelet {target} before anything else."
                if minor < against
                else f"Bring those kubelets back to {target}: a kubelet may never be newer than the API "
                "server."
            ),
            object=_nodes_ref(nodes),
        )
    by_proxy: dict[Version, list[NodeView]] = {}
    for node in cluster.nodes:
        proxy, kubelet = node.kube_proxy, node.kubelet
        if proxy is None:
            continue
        ok = all(
            skew.kube_proxy_skew_ok(apiserver, proxy, kubelet)
            if kubelet
            else skew.kube_proxy_skew_ok(apiserver, proxy)
            for apiserver in apiservers
        )
        if not ok:
            by_proxy.setdefault(minor_of(proxy), []).append(node)
    shown = ", ".join(str(a) for a in apiservers)
    for minor, nodes in sorted(by_proxy.items()):
        yield Finding(
            check=VERSION_SKEW,
            severity=Severity.BLOCKING,
            message=f"kube-proxy {minor} on {plural(len(nodes), 'node')} ({some([n.name for n in nodes])}) "
            f"is outside the version-skew policy against the API server {shown} or its node's kubelet.",
            remedy="Upgrade kube-proxy on those nodes to the kubelet's minor (never newer than the "
            "API server).",
            object=_nodes_ref(nodes),
        )


def _reference_minors(data: PreflightInput) -> list[Version]:
    """The kube-apiserver minors components are judged against: every instance's (static pods), else
    the one /version reports."""
    assert data.cluster is not None
    minors = sorted({minor_of(v) for v in apiserver_versions(data.cluster)})
    if not minors and data.current is not None:
        minors = [minor_of(data.current)]
    return minors


def version_skew(data: PreflightInput) -> list[Finding]:
    """Kubelets, kube-proxies and control-plane components outside the skew policy now (blocking),
    and those that would fall outside it at a step of the path unless upgraded before that step
    (warning); with a provider, its stricter node rules (blocking)."""
    cluster = data.cluster
    if cluster is None:
        return []
    apiservers = _reference_minors(data)
    if not apiservers:
        return []
    found = list(_skew_now(apiservers, cluster))
    blocked = {m for m in kubelets_by_minor(cluster) if not skew.skew_ok(skew.KUBELET, m, apiservers)}
    components, flagged = skew_now(cluster, data.current)
    found.extend(components)
    path = path_of(data)
    rules = rules_of(data.provider)
    control_plane = control_plane_version(data)
    if rules is not None and control_plane is not None:
        by_provider, outside = provider_skew(rules, cluster, control_plane, path)
        found.extend(by_provider)
        blocked |= outside
    if path is None:
        return found
    found.extend(skew_on_path(cluster, path, flagged))
    by_minor = kubelets_by_minor(cluster)
    older = skew.rule(skew.KUBELET).max_older
    for hop in path.hops:
        for move in hop.kubelets_before:
            nodes = by_minor.get(move.from_minor, [])
            if not nodes or move.from_minor in blocked:
                continue  # a move of kubelets already moved, or already reported as blocking
            if not skew.kubelet_skew_ok(hop.control_plane_to, move.from_minor):
                why = f"the version-skew policy when the control plane reaches {hop.control_plane_to} " + (
                    f"(kubelets at most {older} minors older)"
                )
            else:
                late = (
                    late_for_hop(rules, cluster, hop.control_plane_to, move.from_minor)
                    if rules is not None
                    else None
                )
                if late is None:
                    continue  # the provider's must-match rule: its own finding, and the upgrade path
                why = f"{late} when the control plane reaches {hop.control_plane_to}"
            found.append(
                Finding(
                    check=VERSION_SKEW,
                    severity=Severity.WARNING,
                    message=f"kubelet {move.from_minor} on {plural(len(nodes), 'node')} "
                    f"({some([n.name for n in nodes])}) falls outside {why}.",
                    remedy=f"Upgrade those nodes to {move.to_minor} before the control plane goes to "
                    f"{hop.control_plane_to} (`overhaul plan` orders this).",
                    object=_nodes_ref(nodes),
                )
            )
    return found


def upgrade_path_check(data: PreflightInput) -> list[Finding]:
    """The hops (info): the control plane one minor at a time, kubelets behind within policy."""
    current = control_plane_version(data)
    if data.cluster is None or current is None:
        return []
    try:
        path = _path(data, current)
    except UpgradePathError as err:
        return [
            Finding(
                check=UPGRADE_PATH,
                severity=Severity.BLOCKING,
                message=f"The cluster runs {current}; {err}.",
                remedy=f"Choose a target of {minor_of(current)} or newer.",
                object=CLUSTER,
            )
        ]
    if not path.hops:
        message = f"A patch upgrade within {path.current}: {path.describe()}."
    else:
        message = (
            f"{plural(len(path.hops), 'control-plane upgrade')}, one minor at a time (a minor cannot be "
            f"skipped): {path.describe()}."
        )
    rules = rules_of(data.provider)
    if rules is not None and path.hops:
        must_match, _ = path_options(rules, data.cluster)
        if must_match:
            message += (
                f" With {rules.title}'s rules: the node groups it manages move to the control plane's "
                "minor before each hop."
            )
        elif rules.strictest_max_older is not None:
            lag = plural(rules.strictest_max_older, "minor")
            message += f" With {rules.title}'s rules: nodes at most {lag} behind the control plane."
    return [
        Finding(
            check=UPGRADE_PATH,
            severity=Severity.INFO,
            message=message,
            remedy=f"`overhaul plan --to {data.target}` turns this path into waves.",
            object=CLUSTER,
        )
    ]


def end_of_support(data: PreflightInput) -> list[Finding]:
    """The current version past its end of support; the target past or within 90 days of its own."""
    found: list[Finding] = []
    today, target = data.today, minor_of(data.target)
    supported = releases.supported_minors(today)
    newest = f" ({', '.join(str(m) for m in supported)} are supported today)" if supported else ""
    if releases.is_known(target):
        ends = releases.end_of_support(target)
        days = (ends - today).days
        if days < 0:
            found.append(
                Finding(
                    check=END_OF_SUPPORT,
                    severity=Severity.WARNING,
                    message=f"The target Kubernetes {target} reached its end of support on {ends}: "
                    "it gets no more patches, security fixes included.",
                    remedy=f"Choose a supported target{newest}.",
                    object=CLUSTER,
                )
            )
        elif days <= SUPPORT_WARNING_DAYS:
            found.append(
                Finding(
                    check=END_OF_SUPPORT,
                    severity=Severity.WARNING,
                    message=f"The target Kubernetes {target} reaches its end of support on {ends}, in "
                    f"{plural(days, 'day')}.",
                    remedy=f"Plan the next upgrade now, or aim for a newer minor{newest}.",
                    object=CLUSTER,
                )
            )
    else:
        found.append(
            Finding(
                check=END_OF_SUPPORT,
                severity=Severity.INFO,
                message=f"No support dates are known for Kubernetes {target}.",
                object=CLUSTER,
            )
        )
    current = data.current
    if current is not None and releases.is_known(current):
        ends = releases.end_of_support(current)
        target_ok = releases.is_known(target) and releases.end_of_support(target) >= today
        if ends < today:
            found.append(
                Finding(
                    check=END_OF_SUPPORT,
                    severity=Severity.WARNING,
                    message=f"The cluster's Kubernetes {minor_of(current)} has been out of support "
                    f"since {ends}.",
                    remedy=f"The upgrade to {target} fixes this."
                    if target_ok
                    else f"Upgrade to a supported minor{newest}.",
                    object=CLUSTER,
                )
            )
    return found
