"""report.md: the record of an upgrade, from an UpgradeRecord (templates/report.md.j2).

Sections: summary (cluster, versions, path, outcome, times and the headline: are all nodes at the
target), preflight (what it found and what was done about each finding), backup, the steps as the
journal recorded them, the nodes with the times of their upgrades, what went wrong and how it was
handled, validation, and the files. Nothing is decided here beyond reading the record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import jinja2

from overhaul.domain.durations import format_duration
from overhaul.domain.record import NodeInfo, StepRecord, UpgradeRecord, parse_time, seconds_between

# Output lines of a step that say something went less than smoothly.
TROUBLE_MARKERS = ("blocked by", "failed", "retry", "retrying", "timed out", "interrupted", "took over")


def cell(text: object) -> str:
    """Text for a Markdown table cell: pipes escaped, lines joined."""
    return " ".join(str(text).split()).replace("|", "\\|")


def clock(text: str) -> str:
    """A journal time as HH:MM:SS (UTC), "" when unknown."""
    moment = parse_time(text)
    return moment.strftime("%H:%M:%S") if moment is not None else ""


def took(start: str, end: str) -> str:
    seconds = seconds_between(start, end)
    return format_duration(seconds) if seconds is not None and seconds >= 0 else ""


@dataclass(frozen=True)
class NodeHop:
    step: str
    version: str
    state: str
    started_at: str
    ended_at: str
    attempts: int


@dataclass(frozen=True)
class NodeRow:
    name: str
    role: str
    zone: str
    before: str
    after: str
    hops: tuple[NodeHop, ...]
    at_target: bool


def node_rows(record: UpgradeRecord) -> list[NodeRow]:
    """Per node: its version before and after, and every step that acted on it, in plan order."""
    infos: dict[str, NodeInfo] = {n.name: n for n in record.nodes}
    for step in record.steps:
        for name in step.nodes:
            infos.setdefault(name, NodeInfo(name, "", "", ""))
    rows = []
    for info in infos.values():
        hops = tuple(
            NodeHop(s.id, s.version, s.state, s.started_at, s.ended_at, s.attempts)
            for s in record.steps
            if info.name in s.nodes
        )
        after = info.version
        for hop in hops:
            if hop.state in ("done", "skipped"):
                after = hop.version
        rows.append(
            NodeRow(
                info.name,
                info.role,
                info.zone,
                info.version,
                after,
                hops,
                _same_version(after, record.to_version),
            )
        )
    return rows


def _same_version(a: str, b: str) -> bool:
    return a.lstrip("v") == b.lstrip("v") and a != ""


def headline(record: UpgradeRecord) -> str:
    """One sentence: are all nodes at the target?"""
    rows = node_rows(record)
    behind = [r.name for r in rows if not r.at_target]
    if rows and not behind:
        return f"All {len(rows)} nodes are at {record.to_version}."
    if not rows:
        return "The record names no nodes."
    return (
        f"{len(rows) - len(behind)} of {len(rows)} nodes are at {record.to_version}; "
        f"not yet: {', '.join(behind)}."
    )


def trouble(record: UpgradeRecord) -> list[str]:
    """What went wrong and how it was handled, one line each: preflight's blockers, then the apply."""
    lines: list[str] = []
    blocking = [m for m in record.remedies if m.severity == "blocking"]
    if blocking:
        done = Counter(m.action for m in blocking)
        how = ", ".join(f"{count} {action}" for action, count in sorted(done.items()))
        lines.append(
            f"Before the upgrade, preflight found {len(blocking)} blocking finding"
            f"{'s' if len(blocking) != 1 else ''}: {how} (see Preflight)."
        )
    during: list[str] = []
    if record.outcome and record.outcome != "succeeded":
        message = f": {record.outcome_message}" if record.outcome_message else ""
        during.append(f"The apply ended {record.outcome}{message}.")
    if record.runs > 1:
        during.append(
            f"The apply ran {record.runs} times: each later run resumed from the journal where the "
            "previous one stopped."
        )
    for step in record.steps:
        during.extend(_step_trouble(step))
    for event in record.events:
        if event.level in ("warning", "error"):
            where = f" (step {event.step})" if event.step else ""
            during.append(f"{event.level.capitalize()} at {clock(event.at)}{where}: {event.message}")
    if not during and record.outcome == "succeeded":
        during.append(
            "During the apply, nothing: every step succeeded at its first attempt, no drain was blocked "
            "and the journal holds no warning."
        )
    return lines + during


def _step_trouble(step: StepRecord) -> list[str]:
    lines = []
    if step.state == "failed":
        lines.append(f"Step {step.id} failed: {step.reason}")
    elif step.attempts > 1:
        lines.append(
            f"Step {step.id} needed {step.attempts} attempts (an earlier run stopped during it); "
            f"it ended {step.state}."
        )
    for line in step.output:
        lowered = line.lower()
        if any(marker in lowered for marker in TROUBLE_MARKERS):
            lines.append(f"Step {step.id}: {line}")
    return lines


def drain_summaries(step: StepRecord) -> list[str]:
    """The drain lines of a step's output ("worker-1: drain drained: 3 evicted, ...")."""
    return [line for line in step.output if ": drain " in line]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("overhaul.report", "templates"),
        autoescape=False,  # Markdown, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["clock"] = clock
    env.filters["duration"] = lambda s: format_duration(float(s))
    env.globals["took"] = took
    return env


def render_report(record: UpgradeRecord) -> str:
    """report.md for `record`."""
    context: dict[str, Any] = {
        "r": record,
        "headline": headline(record),
        "nodes": node_rows(record),
        "trouble": trouble(record),
        "drains": [(s.id, line) for s in record.steps for line in drain_summaries(s)],
        "total": took(record.started_at, record.finished_at),
        "validation_ok": all(c.ok for c in record.validation),
    }
    return _environment().get_template("report.md.j2").render(context)
