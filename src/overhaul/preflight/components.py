"""Control-plane component skew, part of `version-skew`: kube-apiserver instances against each other,
and kube-controller-manager, kube-scheduler and cloud-controller-manager against the apiservers.

The versions come from the control-plane static pods (their mirror pods in kube-system, labelled
`component=...` as kubeadm does, version from the image tag): a managed control plane shows none,
and then there is nothing to check here. The rules are those of data/skew.yaml. Checked now
(blocking), and at each control-plane hop of the path (warning): a hop moves the whole control
plane to the next minor, so a component already behind would then be too far behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from overhaul.domain.cluster import ClusterView, ControlPlaneComponent
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.knowledge import skew
from overhaul.knowledge.paths import UpgradePath
from overhaul.preflight.index import pod_ref
from overhaul.preflight.text import plural, some

VERSION_SKEW = "version-skew"
# Components that follow the kube-apiserver (skew.yaml has a rule for each against it).
FOLLOWERS = (skew.KUBE_CONTROLLER_MANAGER, skew.KUBE_SCHEDULER, skew.CLOUD_CONTROLLER_MANAGER)
CHECKED = (skew.KUBE_APISERVER, *FOLLOWERS)


def minor_of(version: Version) -> Version:
    return Version(version.major, version.minor)


@dataclass(frozen=True)
class Versioned:
    """A control-plane component whose image tag is a Kubernetes version."""

    component: ControlPlaneComponent
    version: Version

    @property
    def minor(self) -> Version:
        return minor_of(self.version)

    @property
    def name(self) -> str:
        return self.component.component

    @property
    def where(self) -> str:
        return self.component.node_name or "no node"


def versioned_components(cluster: ClusterView) -> list[Versioned]:
    """The checked components (apiservers and their followers) whose version is known."""
    found = []
    for comp in cluster.control_plane_components:
        version = comp.version
        if comp.component in CHECKED and version is not None:
            found.append(Versioned(comp, version))
    return found


def apiserver_versions(cluster: ClusterView) -> list[Version]:
    """The versions of the kube-apiserver static pods, oldest first (empty on a managed cluster)."""
    return sorted(v.version for v in versioned_components(cluster) if v.name == skew.KUBE_APISERVER)


def _on(minor: Version, apiservers: Iterable[Versioned]) -> str:
    nodes = sorted({a.where for a in apiservers if a.minor == minor})
    return f"kube-apiserver {minor}" + (f" (on {some(nodes, 3)})" if nodes else "")


def _ha_findings(apiservers: list[Versioned]) -> Iterator[Finding]:
    minors = sorted({a.minor for a in apiservers})
    if len(minors) < 2 or skew.apiservers_skew_ok(minors):
        return
    newest = minors[-1]
    rule = skew.rule(skew.KUBE_APISERVER, skew.KUBE_APISERVER)
    for a in apiservers:
        if skew.skew_ok(skew.KUBE_APISERVER, a.minor, newest, relative_to=skew.KUBE_APISERVER):
            continue
        lowest = Version(newest.major, newest.minor - rule.max_older)
        yield Finding(
            check=VERSION_SKEW,
            severity=Severity.BLOCKING,
            message=f"kube-apiserver {a.version} on {a.where} is {newest.minor - a.minor.minor} minors older "
            f"than {_on(newest, apiservers)}: the version-skew policy allows the kube-apiserver instances "
            f"of an HA control plane at most {rule.max_older} minor apart.",
            remedy=f"Finish the control-plane upgrade first: bring kube-apiserver on {a.where} to {lowest} "
            f"or newer (to {newest} to match the others).",
            object=pod_ref(a.component.pod),
        )


def _follower_finding(f: Versioned, references: list[Version], apiservers: list[Versioned]) -> Finding:
    rule = skew.rule(f.name)
    older, _ = rule.bounds(f.minor)
    newer_than = [r for r in references if r < f.minor]
    if newer_than:
        oldest = min(newer_than)
        message = (
            f"{f.name} {f.version} on {f.where} is newer than {_on(oldest, apiservers)}: the version-skew "
            f"policy never allows {f.name} newer than a kube-apiserver it talks to."
        )
        remedy = (
            f"Upgrade every kube-apiserver to {f.minor} first (the apiservers go first in an upgrade), "
            f"or bring {f.name} on {f.where} back to {oldest}."
        )
    else:
        newest = max(references)
        message = (
            f"{f.name} {f.version} on {f.where} is {newest.minor - f.minor.minor} minors older than "
            f"{_on(newest, apiservers)}: the version-skew policy allows it at most {older} minor older "
            "(the same minor is expected)."
        )
        remedy = f"Upgrade {f.name} on {f.where} to {newest}."
    return Finding(
        check=VERSION_SKEW,
        severity=Severity.BLOCKING,
        message=message,
        remedy=remedy,
        object=pod_ref(f.component.pod),
    )


def skew_now(cluster: ClusterView, fallback: Version | None) -> tuple[list[Finding], set[str]]:
    """Components outside the policy now (blocking), and the pods those findings name.

    The references are the kube-apiservers' static pods; without any (a managed control plane),
    `fallback` (the version /version reports) stands for them.
    """
    components = versioned_components(cluster)
    apiservers = [c for c in components if c.name == skew.KUBE_APISERVER]
    references = sorted({a.minor for a in apiservers})
    if not references and fallback is not None:
        references = [minor_of(fallback)]
    found = list(_ha_findings(apiservers))
    if references:
        for f in components:
            if f.name in FOLLOWERS and not skew.skew_ok(f.name, f.minor, references):
                found.append(_follower_finding(f, references, apiservers))
    return found, {finding.object.name for finding in found}


def _allowed_at(c: Versioned, minor: Version, control_plane: Version) -> bool:
    if c.name == skew.KUBE_APISERVER:
        return skew.skew_ok(skew.KUBE_APISERVER, minor, control_plane, relative_to=skew.KUBE_APISERVER)
    return skew.skew_ok(c.name, minor, control_plane)


def skew_on_path(cluster: ClusterView, path: UpgradePath, flagged: set[str]) -> list[Finding]:
    """Components that fall outside the policy at a hop of the path unless upgraded before it
    (warning), leaving out those already reported now. A hop takes the whole control plane to its
    minor, so only the first hop can find one."""
    state = {c.component.pod.name: (c, c.minor) for c in versioned_components(cluster)}
    found: list[Finding] = []
    for hop in path.hops:
        late: dict[tuple[str, Version], list[Versioned]] = {}
        for name, (c, minor) in state.items():
            if name not in flagged and not _allowed_at(c, minor, hop.control_plane_to):
                late.setdefault((c.name, minor), []).append(c)
        for (component, minor), comps in sorted(late.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            rule = (
                skew.rule(skew.KUBE_APISERVER, skew.KUBE_APISERVER)
                if component == skew.KUBE_APISERVER
                else skew.rule(component)
            )
            against = "of each other" if component == skew.KUBE_APISERVER else "older than kube-apiserver"
            nodes = [c.where for c in comps]
            found.append(
                Finding(
                    check=VERSION_SKEW,
                    severity=Severity.WARNING,
                    message=f"{component} {minor} on {plural(len(comps), 'control-plane node')} "
                    f"({some(nodes)}) falls outside the version-skew policy when the control plane reaches "
                    f"{hop.control_plane_to} (at most {rule.max_older} minor {against}).",
                    remedy=f"Upgrade {component} there to {hop.control_plane_from} before the control plane "
                    f"goes to {hop.control_plane_to}, and keep it with the rest of the control plane at "
                    "every hop.",
                    object=pod_ref(comps[0].component.pod),
                )
            )
        state = {name: (c, hop.control_plane_to) for name, (c, _) in state.items()}
    return found
