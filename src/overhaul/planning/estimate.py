"""How long a plan takes: per-step estimates from per-node timings, and the total with windows.

The nodes of one step work in parallel, so a step takes as long as one node does: drain, upgrade and
Ready for an upgrade; the provider's time to create a node for add-nodes; then its gates (soak,
validation). Defaults are modest guesses (`Timings()`); `--timings` overrides them, and
`measured_timings` derives them from what earlier runs recorded (the journal's per-phase durations).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace

from overhaul.domain.durations import DurationError, format_duration, parse_duration
from overhaul.domain.plan import Action, Estimate, Gates, Step, Timings, Window
from overhaul.planning.windows import schedule

PHASES = tuple(f.name.replace("_", "-") for f in fields(Timings))


class TimingsError(ValueError):
    """A --timings value that does not parse."""


def parse_timings(text: str, base: Timings | None = None) -> Timings:
    """`drain=90s,upgrade=4m` over `base` (the defaults): phases drain, upgrade, ready, add-node,
    remove-node, validate."""
    timings = base or Timings()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        phase, eq, value = part.partition("=")
        phase = phase.strip().lower()
        if not eq or phase not in PHASES:
            raise TimingsError(f"{part!r}: use PHASE=DURATION with PHASE one of {', '.join(PHASES)}")
        try:
            seconds = parse_duration(value)
        except DurationError as err:
            raise TimingsError(f"{part!r}: {err}") from None
        timings = replace(timings, **{phase.replace("-", "_"): round(seconds)})
    return timings


def measured_timings(samples: Iterable[tuple[str, float]], base: Timings | None = None) -> Timings:
    """Timings from measurements (phase, seconds), e.g. read from the journals of earlier runs: each
    phase's median, the base's value for a phase never measured."""
    by_phase: dict[str, list[float]] = {}
    for phase, seconds in samples:
        key = phase.replace("-", "_")
        if key.replace("_", "-") in PHASES:
            by_phase.setdefault(key, []).append(seconds)
    measured: Mapping[str, int] = {k: round(statistics.median(v)) for k, v in by_phase.items() if v}
    return replace(base or Timings(), **measured)


def gate_seconds(gates: Gates, timings: Timings) -> int:
    return gates.soak_seconds + (timings.validate if gates.validate else 0)


def step_seconds(action: Action, gates: Gates, timings: Timings) -> int:
    """One step: its slowest node (they run in parallel), then its gates."""
    work = {
        Action.UPGRADE_CONTROL_PLANE: timings.drain + timings.upgrade + timings.ready,
        Action.UPGRADE_NODES: timings.drain + timings.upgrade + timings.ready,
        Action.ADD_NODES: timings.add_node,
        Action.CORDON_NODES: 0,
        Action.DRAIN_NODES: timings.drain,
        Action.REMOVE_NODES: timings.remove_node,
    }[action]
    return work + gate_seconds(gates, timings)


def estimate(steps: Sequence[Step], windows: Sequence[Window], start: dt.datetime | None) -> Estimate:
    """The total; with windows and a start moment, how many openings it needs and when it would
    start and finish if apply began at `start`."""
    durations = [s.estimate_seconds for s in steps]
    total = sum(durations)
    if not windows or start is None or not steps:
        return Estimate(total)
    slots = schedule(durations, windows, start)
    return Estimate(
        total,
        windows_needed=len({s.window for s in slots}),
        earliest_start=_iso(slots[0].start),
        earliest_finish=_iso(slots[-1].end),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timings_note(
    timings: Timings, samples: Iterable[tuple[str, float]] = (), sources: Sequence[str] = ()
) -> str:
    """Which per-node timings the estimate used, for plan.md: each phase's value, and for the
    measured ones how many samples their median came from and where."""
    counts: dict[str, int] = {}
    for phase, _ in samples:
        if phase in PHASES:
            counts[phase] = counts.get(phase, 0) + 1
    parts = []
    for phase in PHASES:
        value = format_duration(getattr(timings, phase.replace("-", "_")))
        n = counts.get(phase)
        parts.append(f"{phase} {value}" + (f" (median of {n} measured)" if n else ""))
    text = ", ".join(parts)
    if sources:
        text += "; measured in the journals of " + ", ".join(sources)
        if not counts:
            text += " (no completed node recorded its timings there: defaults used)"
    return text
