"""The outcome of a drain, per node: what was evicted, skipped and blocked, and how long it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class NodeStatus(Enum):
    DRAINED = "drained"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    DRY_RUN = "dry-run"


@dataclass(frozen=True, slots=True)
class BlockedPod:
    pod: str
    budget: str
    seconds: float
    message: str


@dataclass(frozen=True, slots=True)
class SkippedPod:
    pod: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeResult:
    name: str
    status: NodeStatus
    seconds: float
    evicted: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()  # removed with DELETE: --disable-eviction, or past a budget
    skipped: tuple[SkippedPod, ...] = ()
    blocked: tuple[BlockedPod, ...] = ()  # pods still blocked at the end
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    cordoned: bool = True  # left unschedulable

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "cordoned": self.cordoned,
            "evicted": len(self.evicted),
            "deleted": len(self.deleted),
            "skipped": len(self.skipped),
            "blocked": len(self.blocked),
            "pods": {
                "evicted": list(self.evicted),
                "deleted": list(self.deleted),
                "skipped": [{"pod": s.pod, "reason": s.reason} for s in self.skipped],
                "blocked": [
                    {"pod": b.pod, "budget": b.budget, "seconds": round(b.seconds, 1), "message": b.message}
                    for b in self.blocked
                ],
            },
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


@dataclass(frozen=True, slots=True)
class DrainResult:
    nodes: tuple[NodeResult, ...]
    seconds: float
    dry_run: bool = False
    interrupted: bool = False
    bypassed: tuple[str, ...] = field(default=())  # pods deleted past their budget (--on-blocked)

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(
            n.status in (NodeStatus.DRAINED, NodeStatus.DRY_RUN) for n in self.nodes
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "drained": self.ok,
            "dryRun": self.dry_run,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "nodes": [n.to_json() for n in self.nodes],
            "budgetsBypassed": list(self.bypassed),
        }
