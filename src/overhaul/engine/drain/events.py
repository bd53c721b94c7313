"""What a drain tells its watcher as it goes (the CLI turns these into progress and log lines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeCordoned:
    node: str
    already: bool  # it was unschedulable before this drain


@dataclass(frozen=True, slots=True)
class NodeUncordoned:
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeUncordonFailed:
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeStarted:
    node: str
    to_evict: int
    skipped: int


@dataclass(frozen=True, slots=True)
class NodeWarning:
    node: str
    message: str  # kubectl's form: "ignoring DaemonSet-managed Pods: kube-system/kube-proxy-x"


@dataclass(frozen=True, slots=True)
class PodEvicting:
    node: str
    pod: str
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class PodGone:
    node: str
    pod: str
    deleted: bool  # removed with DELETE (--disable-eviction or past a budget), not evicted


@dataclass(frozen=True, slots=True)
class PodBlocked:
    node: str
    pod: str
    budget: str  # namespace/name of the PodDisruptionBudget, "" when the server did not say
    message: str
    seconds: float  # how long it has been blocked


@dataclass(frozen=True, slots=True)
class BudgetBypassed:
    node: str
    pod: str
    budget: str
    seconds: float


@dataclass(frozen=True, slots=True)
class NodeDrained:
    node: str
    seconds: float


@dataclass(frozen=True, slots=True)
class NodeFailed:
    node: str
    reason: str


DrainEvent = (
    NodeCordoned
    | NodeUncordoned
    | NodeUncordonFailed
    | NodeStarted
    | NodeWarning
    | PodEvicting
    | PodGone
    | PodBlocked
    | BudgetBypassed
    | NodeDrained
    | NodeFailed
)
Listener = Callable[[DrainEvent], None]
