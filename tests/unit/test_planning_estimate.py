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
