"""Estimates: per-step times from per-node timings, overrides, and timings measured by earlier runs."""

from __future__ import annotations

import datetime as dt

import pytest

from overhaul.domain.plan import Action, Gates, Step, Timings
from overhaul.planning.estimate import (
    TimingsError,
    estimate,
    measured_timings,
    parse_timings,
    step_seconds,
    timings_note,
)
from overhaul.planning.windows import parse_window


def test_defaults_and_overrides() -> None:
    assert Timings() == Timings(drain=120, upgrade=180, ready=60, add_node=180, remove_node=30, validate=30)
    assert parse_timings("drain=90s, upgrade=4m,add-node=10m") == Timings(drain=90, upgrade=240, add_node=600)
    assert parse_timings("") == Timings()


@pytest.mark.parametrize(
    ("text", "message"),
    [("drain", "PHASE=DURATION"), ("boot=1m", "PHASE=DURATION"), ("drain=soon", "invalid duration")],
)
def test_bad_timings(text: str, message: str) -> None:
    with pytest.raises(TimingsError, match=message):
        parse_timings(text)


def test_step_times() -> None:
    t = Timings()
    assert step_seconds(Action.UPGRADE_NODES, Gates(), t) == 360
    assert (
        step_seconds(Action.UPGRADE_CONTROL_PLANE, Gates(soak_seconds=600, validate=True), t)
        == 360 + 600 + 30
    )
    assert step_seconds(Action.ADD_NODES, Gates(), t) == 180
    assert step_seconds(Action.DRAIN_NODES, Gates(), t) == 120
    assert step_seconds(Action.CORDON_NODES, Gates(), t) == 0
    assert step_seconds(Action.REMOVE_NODES, Gates(), t) == 30


def test_measured_timings_take_medians_and_keep_defaults_otherwise() -> None:
    samples = [("drain", 30.0), ("drain", 50.0), ("drain", 400.0), ("upgrade", 100.0), ("reboot", 9.0)]
    assert measured_timings(samples) == Timings(drain=50, upgrade=100)


def test_total_and_windows() -> None:
    steps = [Step(f"s{i}", Action.UPGRADE_NODES, "v1.36.0", estimate_seconds=3600) for i in range(5)]
    start = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    assert estimate(steps, (), start).total_seconds == 5 * 3600
    windowed = estimate(steps, (parse_window("Sat,Sun 01:00-05:00 UTC"),), start)
    assert (windowed.windows_needed, windowed.earliest_start, windowed.earliest_finish) == (
        2,
        "2026-12-05T01:00:00Z",
        "2026-12-06T02:00:00Z",
    )


def test_journal_timings_lines_round_trip_into_medians_and_the_note_says_so() -> None:
    from overhaul.engine.apply.timings import parse_timings_lines, timings_line

    output = "\n".join(
        [
            "worker-1: cordoning and draining",
            timings_line("worker-1", {"drain": 30.04, "upgrade": 100.0, "ready": 9.96}),
            timings_line("worker-2", {"drain": 50.0, "upgrade": 80.0, "ready": 20.0}),
            timings_line("worker-3", {"drain": 40.0, "upgrade": 90.0, "ready": 11.0}),
            "worker-3: timings are nice",  # not a timings line
        ]
    )
    samples = parse_timings_lines(output)
    assert ("drain", 30.0) in samples and len(samples) == 9
    timings = measured_timings(samples)
    assert timings == Timings(drain=40, upgrade=90, ready=11)  # the others keep their defaults
    assert step_seconds(Action.UPGRADE_NODES, Gates(), timings) == 141
    note = timings_note(timings, samples, ["a.state"])
    assert note.startswith("drain 40s (median of 3 measured), upgrade 1m30s (median of 3 measured)")
    assert "add-node 3m00s," in note and note.endswith("measured in the journals of a.state")
    assert "defaults used" in timings_note(Timings(), [], ["empty.state"])
    assert parse_timings("ready=5s", timings) == Timings(drain=40, upgrade=90, ready=5)
