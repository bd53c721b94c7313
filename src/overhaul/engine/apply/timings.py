"""How long each node's phases took, recorded in a step's journal output so that later plans can
estimate from measurements (`overhaul plan --timings-from STATE_DIR`).

One line per node and step: `worker-3: timings drain=41.2 upgrade=95.0 ready=12.4` (seconds, wall
time), the phases named as `--timings` names them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from overhaul.engine.journal import JournalState, StepState

_LINE = re.compile(r"^(?P<node>\S+): timings (?P<pairs>(?:[a-z-]+=\d+(?:\.\d+)? ?)+)$")


def timings_line(node: str, seconds: Mapping[str, float]) -> str:
    return f"{node}: timings " + " ".join(f"{phase}={value:.1f}" for phase, value in seconds.items())


def parse_timings_lines(output: str) -> list[tuple[str, float]]:
    """(phase, seconds) from every timings line of a step's output; other lines are skipped."""
    samples: list[tuple[str, float]] = []
    for line in output.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        for pair in match["pairs"].split():
            phase, _, value = pair.partition("=")
            samples.append((phase, float(value)))
    return samples


def journal_timings(states: Iterable[JournalState]) -> list[tuple[str, float]]:
    """Every measured (phase, seconds) of the steps that succeeded in these journals."""
    return [
        sample
        for state in states
        for step in state.steps.values()
        if step.state is StepState.DONE
        for sample in parse_timings_lines(step.output)
    ]
