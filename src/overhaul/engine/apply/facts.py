"""The few fields of Nodes and PodDisruptionBudgets the apply engine decides on, read from API JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from overhaul.domain.version import Version, VersionError


@dataclass(frozen=True)
class NodeFacts:
    name: str
    uid: str
    kubelet: str  # status.nodeInfo.kubeletVersion, e.g. v1.34.2
    ready: bool
    unschedulable: bool

    def runs(self, version: str) -> bool:
        """Whether the kubelet runs exactly `version` (`v1.35.4` and `1.35.4` are the same)."""
        return same_version(self.kubelet, version)


def same_version(a: str, b: str) -> bool:
    try:
        return Version.parse(a) == Version.parse(b)
    except VersionError:
        return a == b


def node_facts(obj: Mapping[str, Any]) -> NodeFacts:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    return NodeFacts(
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        kubelet=str((status.get("nodeInfo") or {}).get("kubeletVersion") or ""),
        ready=ready,
        unschedulable=bool(spec.get("unschedulable")),
    )


@dataclass(frozen=True)
class BudgetFacts:
    key: str  # namespace/name
    current_healthy: int
    desired_healthy: int
    observed: bool  # the disruption controller has seen the budget's current spec

    @property
    def healthy(self) -> bool:
        return self.current_healthy >= self.desired_healthy

    def describe(self) -> str:
        return (
            f"PodDisruptionBudget {self.key} has {self.current_healthy} healthy pods, "
            f"needs {self.desired_healthy}"
        )


def budget_facts(obj: Mapping[str, Any]) -> BudgetFacts:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    return BudgetFacts(
        key=f"{meta.get('namespace', '')}/{meta.get('name', '')}",
        current_healthy=int(status.get("currentHealthy") or 0),
        desired_healthy=int(status.get("desiredHealthy") or 0),
        observed=generation is None or observed == generation,
    )
