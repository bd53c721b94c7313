"""Rules managed Kubernetes providers add to the upstream skew policy (data/providers.yaml).

Example: EKS rejects a control-plane upgrade until managed node groups and Fargate nodes run the
control plane's current minor.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from overhaul.domain.version import Version
from overhaul.knowledge import _data, skew

_FILE = "providers.yaml"


class UnknownProviderError(KeyError):
    """A provider or node-group kind the provider table does not know."""


@dataclass(frozen=True)
class NodeGroupRule:
    kind: str  # managed-node-group, fargate, self-managed, node-pool
    max_older: int | None  # None: the upstream kubelet rule applies
    max_newer: int
    must_match_before_control_plane_upgrade: bool
    evidence: str  # key of the file's `source`
    note: str
    node_labels: tuple[str, ...] = ()  # `key` (present) or `key=value`: any one marks a node of this kind

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a node with these labels belongs to this kind of node group."""
        for selector in self.node_labels:
            key, eq, value = selector.partition("=")
            if key in labels and (not eq or labels[key] == value):
                return True
        return False


@dataclass(frozen=True)
class ProviderRules:
    name: str  # eks, gke, aks
    title: str
    control_plane_max_minor_step: int
    node_groups: dict[str, NodeGroupRule]
    evidence: dict[str, str]
    note: str
    default_node_group: str = ""  # the kind of a node whose labels match no group

    def node_group(self, kind: str) -> NodeGroupRule:
        try:
            return self.node_groups[kind]
        except KeyError:
            known = ", ".join(sorted(self.node_groups))
            raise UnknownProviderError(
                f"{self.title} has no node-group kind {kind!r} (known: {known})"
            ) from None

    def node_group_of(self, labels: Mapping[str, str]) -> NodeGroupRule:
        """The kind of node group a node belongs to, told by its labels (groups in file order; the
        default group when none matches)."""
        for group in self.node_groups.values():
            if group.matches(labels):
                return group
        return self.node_group(self.default_node_group)

    @property
    def strictest_max_older(self) -> int | None:
        """The fewest minors any of its node groups may lag the control plane (None: the upstream
        kubelet rule everywhere)."""
        limits = [g.max_older for g in self.node_groups.values() if g.max_older is not None]
        return min(limits) if limits else None


def _parse_group(kind: str, raw: dict[str, Any], where: str) -> NodeGroupRule:
    return NodeGroupRule(
        kind=kind,
        max_older=_data.optional_integer(raw.get("max_older"), f"{where}.max_older"),
        max_newer=_data.integer(raw.get("max_newer"), f"{where}.max_newer"),
        must_match_before_control_plane_upgrade=_data.flag(
            raw.get("must_match_before_control_plane_upgrade"),
            f"{where}.must_match_before_control_plane_upgrade",
        ),
        evidence=_data.text(raw.get("evidence"), f"{where}.evidence"),
        note=_data.optional_text(raw.get("note"), f"{where}.note") or "",
        node_labels=tuple(
            _data.text(label, f"{where}.node_labels[{i}]")
            for i, label in enumerate(_list(raw.get("node_labels"), f"{where}.node_labels"))
        ),
    )


def _list(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _data.KnowledgeDataError(f"{where}: expected a list")
    return value


def _parse(name: str, raw: dict[str, Any], where: str) -> ProviderRules:
    groups = _data.mapping(raw.get("node_groups"), f"{where}.node_groups")
    evidence = _data.mapping(raw.get("evidence", {}), f"{where}.evidence")
    default = _data.text(raw.get("default_node_group"), f"{where}.default_node_group")
    if default not in groups:
        raise _data.KnowledgeDataError(
            f"{where}.default_node_group: {default!r} is not one of its node_groups"
        )
    return ProviderRules(
        name=name,
        title=_data.text(raw.get("title"), f"{where}.title"),
        control_plane_max_minor_step=_data.integer(
            raw.get("control_plane_max_minor_step"), f"{where}.control_plane_max_minor_step"
        ),
        node_groups={
            str(kind): _parse_group(str(kind), dict(_data.mapping(g, f"{where}.{kind}")), f"{where}.{kind}")
            for kind, g in groups.items()
        },
        evidence={str(k): _data.text(v, f"{where}.evidence.{k}") for k, v in evidence.items()},
        note=_data.optional_text(raw.get("note"), f"{where}.note") or "",
        default_node_group=default,
    )


@functools.cache
def _table() -> dict[str, ProviderRules]:
    raw = _data.mapping(_data.load(_FILE).get("providers"), f"{_FILE} providers")
    return {
        str(name): _parse(str(name), dict(_data.mapping(p, f"{_FILE} {name}")), f"{_FILE} {name}")
        for name, p in raw.items()
    }


def provenance() -> _data.Provenance:
    return _data.provenance(_FILE)


def providers() -> tuple[ProviderRules, ...]:
    return tuple(_table().values())


def marked_by(node_labels: Iterable[Mapping[str, str]]) -> tuple[ProviderRules, ...]:
    """The providers whose node-group labels some node carries (a default group, which no label
    marks, tells nothing): the providers the cluster's nodes say it runs on."""
    labels = list(node_labels)
    return tuple(
        rules
        for rules in providers()
        if any(g.node_labels and g.matches(node) for node in labels for g in rules.node_groups.values())
    )


def provider(name: str) -> ProviderRules:
    try:
        return _table()[name.lower()]
    except KeyError:
        raise UnknownProviderError(
            f"no rules for provider {name!r} (known: {', '.join(sorted(_table()))})"
        ) from None


def node_skew_ok(name: str, node_kind: str, control_plane: Version | str, node: Version | str) -> bool:
    """Whether a node of that kind may run `node` against the provider's control plane minor."""
    group = provider(name).node_group(node_kind)
    cp, minor = _data.minor(control_plane), _data.minor(node)
    if cp.major != minor.major or minor.minor - cp.minor > group.max_newer:
        return False
    if group.max_older is None:
        return skew.kubelet_skew_ok(cp, minor)
    return cp.minor - minor.minor <= group.max_older


def blocks_control_plane_upgrade(
    name: str, node_kind: str, control_plane: Version | str, node: Version | str
) -> bool:
    """Whether this node must be upgraded before the control plane moves to its next minor: the provider
    demands a match, or the node would fall outside the allowed skew of the next minor."""
    rules = provider(name)
    group = rules.node_group(node_kind)
    cp, minor = _data.minor(control_plane), _data.minor(node)
    if group.must_match_before_control_plane_upgrade and minor != cp:
        return True
    return not node_skew_ok(name, node_kind, Version(cp.major, cp.minor + 1), minor)
