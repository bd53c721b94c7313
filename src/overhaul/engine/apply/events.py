"""What an apply tells its watcher as it goes (the CLI turns these into progress and log lines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepStarted:
    step: str
    index: int  # 1-based, in the plan's order
    total: int
    action: str
    nodes: tuple[str, ...]
    attempt: int


@dataclass(frozen=True, slots=True)
class StepFinished:
    step: str
    ok: bool
    reason: str = ""
    already: bool = False  # recorded as finished by an earlier run


@dataclass(frozen=True, slots=True)
class NodePhase:
    step: str
    node: str
    phase: str  # what the node is doing or waiting for, one short line


@dataclass(frozen=True, slots=True)
class Notice:
    level: str  # info | warning | error
    message: str


@dataclass(frozen=True, slots=True)
class DryRunAction:
    step: str
    node: str
    action: str  # one command or request, as it would be made


ApplyEvent = StepStarted | StepFinished | NodePhase | Notice | DryRunAction
ApplyListener = Callable[[ApplyEvent], None]
