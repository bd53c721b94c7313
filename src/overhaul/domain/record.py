"""The upgrade record: what was done to a cluster, as plain values, for the report to render.

The CLI fills it from the plan, the apply journal, the backup and the checks it ran; the report
(`overhaul/report/`) turns it into Markdown. Times are RFC 3339 UTC strings as the journal writes
them ("" when unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class NodeInfo:
    """A node as the plan found it."""

    name: str
    role: str  # control-plane | worker
    zone: str
    version: str  # its kubelet before the upgrade


@dataclass(frozen=True)
class StepRecord:
    """One step of the plan and how the journal says it went."""

    id: str
    action: str
    version: str  # what the step brings its nodes to
    nodes: tuple[str, ...]
    state: str  # done | failed | skipped | started | pending
    attempts: int = 0
    started_at: str = ""
    ended_at: str = ""
    reason: str = ""
    output: tuple[str, ...] = ()  # the step's output lines (per node: "worker-1: drained in 0.1s")


@dataclass(frozen=True)
class EventRecord:
    """A journal event: a warning, a lock taken over, a note."""

    at: str
    level: str  # info | warning | error
    message: str
    step: str = ""


@dataclass(frozen=True)
class Remedy:
    """A preflight finding and what was done about it before planning."""

    finding: str  # its id, as `--accept` takes it (check:namespace/name)
    severity: str
    action: str  # fixed | deleted | accepted | noted
    explanation: str  # one line


@dataclass(frozen=True)
class CheckResult:
    """One post-upgrade check."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Artifact:
    label: str
    path: str


@dataclass(frozen=True)
class UpgradeRecord:
    """Everything the report says about one upgrade."""

    plan: str
    server: str
    from_version: str
    to_version: str
    path_summary: str
    outcome: str  # how the last apply run ended (succeeded, failed, ...), "" if it never ran
    outcome_message: str = ""
    runs: int = 0
    started_at: str = ""
    finished_at: str = ""
    nodes: tuple[NodeInfo, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()
    preflight_summary: tuple[tuple[str, int], ...] = ()  # (severity, count) before anything was done
    remedies: tuple[Remedy, ...] = ()
    backup: str = ""  # where the backup is, "" if none was taken
    backup_objects: int = 0
    validation: tuple[CheckResult, ...] = ()
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time as the journal writes it, or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_between(start: str, end: str) -> float | None:
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return None
    return (last - first).total_seconds()
