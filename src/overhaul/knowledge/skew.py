"""The Kubernetes version-skew policy: which component minors may run against which.

The rules are data (data/skew.yaml); these functions only read them. All comparisons are on minors.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from overhaul.domain.version import Version
from overhaul.knowledge import _data

_FILE = "skew.yaml"

KUBE_APISERVER = "kube-apiserver"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
KUBE_CONTROLLER_MANAGER = "kube-controller-manager"
KUBE_SCHEDULER = "kube-scheduler"
CLOUD_CONTROLLER_MANAGER = "cloud-controller-manager"
KUBECTL = "kubectl"


class UnknownSkewRuleError(KeyError):
    """No rule for that component against that reference."""


@dataclass(frozen=True)
class SkewException:
    below: Version  # applies while the component's own minor is below this
    max_older: int
    max_newer: int


@dataclass(frozen=True)
class SkewRule:
    component: str
    relative_to: str
    max_older: int
    max_newer: int
    exceptions: tuple[SkewException, ...]
    note: str

    def bounds(self, component_minor: Version) -> tuple[int, int]:
        """(max older, max newer) for a component at that minor."""
        for exception in self.exceptions:
            if component_minor < exception.below:
                return exception.max_older, exception.max_newer
        return self.max_older, self.max_newer

    def allows(self, reference: Version | str, component: Version | str) -> bool:
        ref, comp = _data.minor(reference), _data.minor(component)
        if ref.major != comp.major:
            return False
        older, newer = self.bounds(comp)
        return -newer <= ref.minor - comp.minor <= older


@dataclass(frozen=True)
class UpgradeRules:
    control_plane_max_minor_step: int
    drain_before_minor_kubelet_upgrade: bool


def _parse_rule(raw: dict[str, Any], where: str) -> SkewRule:
    max_older = _data.integer(raw.get("max_older"), f"{where}.max_older")
    max_newer = _data.integer(raw.get("max_newer"), f"{where}.max_newer")
    exceptions = tuple(
        SkewException(
            below=_data.minor(_data.version(e.get("below"), f"{where}.exceptions[{i}].below")),
            max_older=_data.integer(e.get("max_older", max_older), f"{where}.exceptions[{i}].max_older"),
            max_newer=_data.integer(e.get("max_newer", max_newer), f"{where}.exceptions[{i}].max_newer"),
        )
        for i, e in enumerate(_data.entries(raw.get("exceptions") or [], f"{where}.exceptions"))
    )
    return SkewRule(
        component=_data.text(raw.get("component"), f"{where}.component"),
        relative_to=_data.text(raw.get("relative_to"), f"{where}.relative_to"),
        max_older=max_older,
        max_newer=max_newer,
        exceptions=tuple(sorted(exceptions, key=lambda e: e.below)),
        note=_data.optional_text(raw.get("note"), f"{where}.note") or "",
    )


@functools.cache
def _rules() -> dict[tuple[str, str], SkewRule]:
    raw_rules = _data.entries(_data.load(_FILE).get("rules"), f"{_FILE} rules")
    table: dict[tuple[str, str], SkewRule] = {}
    for i, raw in enumerate(raw_rules):
        rule = _parse_rule(dict(raw), f"{_FILE} rules[{i}]")
        key = (rule.component, rule.relative_to)
        if key in table:
            raise _data.KnowledgeDataError(
                f"{_FILE}: two rules for {rule.component} against {rule.relative_to}"
            )
        table[key] = rule
    return table


def provenance() -> _data.Provenance:
    return _data.provenance(_FILE)


def rules() -> tuple[SkewRule, ...]:
    return tuple(_rules().values())


def rule(component: str, relative_to: str = KUBE_APISERVER) -> SkewRule:
    try:
        return _rules()[(component, relative_to)]
    except KeyError:
        raise UnknownSkewRuleError(f"no version-skew rule for {component} against {relative_to}") from None


@functools.cache
def upgrade_rules() -> UpgradeRules:
    raw = _data.mapping(_data.load(_FILE).get("upgrade"), f"{_FILE} upgrade")
    return UpgradeRules(
        control_plane_max_minor_step=_data.integer(
            raw.get("control_plane_max_minor_step"), f"{_FILE} upgrade.control_plane_max_minor_step"
        ),
        drain_before_minor_kubelet_upgrade=_data.flag(
            raw.get("drain_before_minor_kubelet_upgrade"),
            f"{_FILE} upgrade.drain_before_minor_kubelet_upgrade",
        ),
    )


def skew_ok(
    component: str,
    component_version: Version | str,
    reference: Version | str | Iterable[Version | str],
    relative_to: str = KUBE_APISERVER,
) -> bool:
    """Whether `component` at `component_version` may run against `reference` (several references,
    e.g. the kube-apiservers of an HA control plane: it must be allowed against each)."""
    references = [reference] if isinstance(reference, Version | str) else list(reference)
    the_rule = rule(component, relative_to)
    return all(the_rule.allows(ref, component_version) for ref in references)


def allowed_minors(
    component: str, reference: Version | str | Iterable[Version | str], relative_to: str = KUBE_APISERVER
) -> tuple[Version, ...]:
    """Every minor of `component` the rule allows against the reference(s), oldest first."""
    references = [reference] if isinstance(reference, Version | str) else list(reference)
    if not references:
        return ()
    the_rule = rule(component, relative_to)
    widest = max([the_rule.max_older, the_rule.max_newer, *(e.max_older for e in the_rule.exceptions)])
    pivots = [_data.minor(r) for r in references]
    low = max(0, min(p.minor for p in pivots) - widest)
    high = max(p.minor for p in pivots) + widest
    major = pivots[0].major
    candidates = (Version(major, m) for m in range(low, high + 1))
    return tuple(c for c in candidates if skew_ok(component, c, pivots, relative_to))


def kubelet_skew_ok(apiserver_minor: Version | str, kubelet_minor: Version | str) -> bool:
    return skew_ok(KUBELET, kubelet_minor, apiserver_minor)


def allowed_kubelet_minors(apiserver_minor: Version | str) -> tuple[Version, ...]:
    return allowed_minors(KUBELET, apiserver_minor)


def kube_proxy_skew_ok(
    apiserver_minor: Version | str,
    kube_proxy_minor: Version | str,
    kubelet_minor: Version | str | None = None,
) -> bool:
    """kube-proxy against the apiserver and, when given, against the kubelet on the same node."""
    if not skew_ok(KUBE_PROXY, kube_proxy_minor, apiserver_minor):
        return False
    return kubelet_minor is None or skew_ok(KUBE_PROXY, kube_proxy_minor, kubelet_minor, relative_to=KUBELET)


def control_plane_component_skew_ok(
    apiserver_minor: Version | str, component_minor: Version | str, component: str = KUBE_CONTROLLER_MANAGER
) -> bool:
    """kube-controller-manager, kube-scheduler or cloud-controller-manager against the apiserver."""
    return skew_ok(component, component_minor, apiserver_minor)


def kubectl_skew_ok(apiserver_minor: Version | str, kubectl_minor: Version | str) -> bool:
    return skew_ok(KUBECTL, kubectl_minor, apiserver_minor)


def apiservers_skew_ok(apiserver_minors: Iterable[Version | str]) -> bool:
    """The kube-apiserver instances of an HA control plane are within the allowed skew of each other."""
    minors = [_data.minor(m) for m in apiserver_minors]
    return all(skew_ok(KUBE_APISERVER, a, b, relative_to=KUBE_APISERVER) for a in minors for b in minors)


def control_plane_step_ok(current: Version | str, target: Version | str) -> bool:
    """One control-plane upgrade from `current` to `target`: forward, skipping no minor."""
    low, high = _data.minor(current), _data.minor(target)
    return (
        low.major == high.major
        and 0 <= high.minor - low.minor <= upgrade_rules().control_plane_max_minor_step
    )


def kubelet_blocks_control_plane_upgrade(
    target_apiserver: Version | str, kubelet_minor: Version | str
) -> bool:
    """A kubelet that the target apiserver minor would no longer allow: upgrade it first."""
    return not kubelet_skew_ok(target_apiserver, kubelet_minor)
