"""`version-skew`, `upgrade-path` and `end-of-support`: the versions the cluster runs and will run."""

from __future__ import annotations

from collections.abc import Iterator

from overhaul.domain.cluster import ClusterView, NodeView, ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.knowledge import releases, skew
from overhaul.knowledge.paths import UpgradePath, UpgradePathError, upgrade_path
from overhaul.preflight.index import node_ref
from overhaul.preflight.input import PreflightInput
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


def path_of(data: PreflightInput) -> UpgradePath | None:
    """The upgrade path of the input's cluster to its target (None: no cluster, or a downgrade)."""
    current = data.current
    if data.cluster is None or current is None:
        return None
    counts = {minor: len(nodes) for minor, nodes in kubelets_by_minor(data.cluster).items()}
    try:
        return upgrade_path(current, data.target, counts)
    except UpgradePathError:
        return None


def _nodes_ref(nodes: list[NodeView]) -> ObjectRef:
    return node_ref(nodes[0].name) if len(nodes) == 1 else ObjectRef("v1", "Node", "", "")


def _skew_now(apiserver: Version, cluster: ClusterView) -> Iterator[Finding]:
    kubelet_rule = skew.rule(skew.KUBELET)
    for minor, nodes in kubelets_by_minor(cluster).items():
        if skew.kubelet_skew_ok(apiserver, minor):
            continue
        older, newer = kubelet_rule.bounds(minor)
        distance = apiserver.minor - minor.minor
        how = f"{distance} minors older" if distance > 0 else f"{-distance} minor(s) newer"
        names = [n.name for n in nodes]
        allowed = f"at most {older} older and {newer} newer"
        low = Version(apiserver.major, max(apiserver.minor - older, 0))
        yield Finding(
            check=VERSION_SKEW,
            severity=Severity.BLOCKING,
            message=f"kubelet {minor} on {plural(len(nodes), 'node')} ({some(names)}) is {how} than the "
            f"API server {apiserver}: the version-skew policy allows kubelets {allowed}.",
            remedy=(
                f"Upgrade those nodes to a kubelet between {low} and {apiserver} before anything else."
                if distance > 0
                else f"Bring those kubelets back to {apiserver} or older: a kubelet may never be newer "
                "than the API server."
            ),
            object=_nodes_ref(nodes),
        )
    by_proxy: dict[Version, list[NodeView]] = {}
    for node in cluster.nodes:
        proxy, kubelet = node.kube_proxy, node.kubelet
        if proxy is None:
            continue
        ok = (
            skew.kube_proxy_skew_ok(apiserver, proxy, kubelet)
            if kubelet
            else skew.kube_proxy_skew_ok(apiserver, proxy)
        )
        if not ok:
            by_proxy.setdefault(minor_of(proxy), []).append(node)
    for minor, nodes in sorted(by_proxy.items()):
        yield Finding(
            check=VERSION_SKEW,
            severity=Severity.BLOCKING,
            message=f"kube-proxy {minor} on {plural(len(nodes), 'node')} ({some([n.name for n in nodes])}) "
            f"is outside the version-skew policy against the API server {apiserver} or its node's kubelet.",
            remedy="Upgrade kube-proxy on those nodes to the kubelet's minor (never newer than the "
            "API server).",
            object=_nodes_ref(nodes),
        )


def version_skew(data: PreflightInput) -> list[Finding]:
    """Kubelets and kube-proxies outside the skew policy now (blocking), and kubelets that would fall
    outside it at a step of the path unless upgraded before that step (warning)."""
    cluster, apiserver = data.cluster, data.current
    if cluster is None or apiserver is None:
        return []
    found = list(_skew_now(apiserver, cluster))
    path = path_of(data)
    if path is None:
        return found
    by_minor = kubelets_by_minor(cluster)
    older = skew.rule(skew.KUBELET).max_older
    for hop in path.hops:
        for move in hop.kubelets_before:
            nodes = by_minor.get(move.from_minor, [])
            if not nodes or not skew.kubelet_skew_ok(apiserver, move.from_minor):
                continue  # a move of kubelets already moved, or already reported as blocking
            found.append(
                Finding(
                    check=VERSION_SKEW,
                    severity=Severity.WARNING,
                    message=f"kubelet {move.from_minor} on {plural(len(nodes), 'node')} "
                    f"({some([n.name for n in nodes])}) falls outside the version-skew policy when the "
                    f"control plane reaches {hop.control_plane_to} (kubelets at most {older} minors older).",
                    remedy=f"Upgrade those nodes to {move.to_minor} before the control plane goes to "
                    f"{hop.control_plane_to} (`overhaul plan` orders this).",
                    object=_nodes_ref(nodes),
                )
            )
    return found


def upgrade_path_check(data: PreflightInput) -> list[Finding]:
    """The hops (info): the control plane one minor at a time, kubelets behind within policy."""
    current = data.current
    if data.cluster is None or current is None:
        return []
    try:
        counts = {m: len(n) for m, n in kubelets_by_minor(data.cluster).items()}
        path = upgrade_path(current, data.target, counts)
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
