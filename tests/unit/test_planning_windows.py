"""Maintenance windows: parsing, when they are open (across midnight and daylight-saving changes),
and fitting steps into their openings."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.planning.windows import WindowError, describe, is_open, next_opening, parse_window, schedule

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_parse_days_times_and_zone() -> None:
    w = parse_window("Sat,Sun 01:00-05:00 Europe/Berlin")
    assert (w.days, w.start, w.end, w.time_zone, w.minutes) == ((5, 6), 60, 300, "Europe/Berlin", 240)
    assert describe(w) == "Sat, Sun 01:00-05:00 Europe/Berlin (4h)"
    assert parse_window("mon-fri 22:00-02:30").days == (0, 1, 2, 3, 4)
    assert parse_window("Fri-Mon 22:00-02:30 UTC").days == (0, 4, 5, 6)  # wraps over the weekend
    assert parse_window("22:00-02:30").minutes == 270  # every day, closing the next morning
    assert parse_window("00:00-24:00").minutes == 24 * 60
    assert describe(parse_window("Tuesday 09:15-10:00 UTC")) == "Tue 09:15-10:00 UTC (45m)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Sat", "no HH:MM-HH:MM"),
        ("Sat 25:00-26:00", "not a time of day"),
        ("Sat 1-2", "no HH:MM-HH:MM"),
        ("Sat 01:00-01:00", "opens and closes at the same time"),
        ("Caturday 01:00-02:00", "not a day"),
        ("Sat,,Sun 01:00-02:00", "an empty day"),
        ("Sat 01:00-02:00 Mars/Olympus", "not a time zone"),
        ("Sat 01:00-02:00 UTC extra", "expected [DAYS]"),
        ("Sat Sun 01:00-02:00", "expected [DAYS]"),
    ],
)
def test_bad_windows_say_why(spec: str, message: str) -> None:
    with pytest.raises(WindowError, match=message.replace("[", r"\[")):
        parse_window(spec)


def test_open_across_midnight_belongs_to_the_opening_day() -> None:
    w = parse_window("Fri 22:00-02:00 UTC")
    assert is_open([w], at("2026-12-04T23:00:00"))  # Friday night
    assert is_open([w], at("2026-12-05T01:59:00"))  # Saturday early: Friday's window
    assert not is_open([w], at("2026-12-05T02:00:00"))
    assert not is_open([w], at("2026-12-05T23:00:00"))  # Saturday night: no window
    assert next_opening([w], at("2026-12-05T03:00:00"))[0] == at("2026-12-11T22:00:00")


def test_wall_clock_in_the_zone_through_daylight_saving() -> None:
    w = parse_window("Sun 01:00-05:00 Europe/Berlin")
    # 2026-03-29: clocks go from 02:00 to 03:00; the window opens 01:00 CET (00:00 UTC) and closes
    # 05:00 CEST (03:00 UTC), three real hours.
    start, end = next_opening([w], at("2026-03-28T12:00:00"))
    assert (start, end) == (at("2026-03-29T00:00:00"), at("2026-03-29T03:00:00"))
    start, end = next_opening([w], at("2026-04-01T00:00:00"))
    assert (start, end) == (at("2026-04-04T23:00:00"), at("2026-04-05T03:00:00"))


def test_without_windows_always_open() -> None:
    assert is_open([], at("2026-12-02T10:00:00"))
    slots = schedule([60, 120], [], at("2026-12-02T10:00:00"))
    assert [s.end for s in slots] == [at("2026-12-02T10:01:00"), at("2026-12-02T10:03:00")]
    assert {s.window for s in slots} == {-1}


def test_steps_start_only_if_they_end_inside_an_opening() -> None:
    w = parse_window("Sat,Sun 01:00-02:00 UTC")
    slots = schedule([1800, 1800, 1800], [w], at("2026-12-02T10:00:00"))
    assert [(s.start, s.window) for s in slots] == [
        (at("2026-12-05T01:00:00"), 0),
        (at("2026-12-05T01:30:00"), 0),
        (at("2026-12-06T01:00:00"), 1),
    ]


def test_a_step_longer_than_every_opening_overruns_the_next_one() -> None:
    w = parse_window("Mon 01:00-02:00 UTC")
    [slot] = schedule([3 * 3600], [w], at("2026-12-02T10:00:00"))
    assert slot.start == at("2026-12-07T01:00:00") and slot.overruns


def test_overlapping_windows_merge() -> None:
    a = parse_window("Sat 01:00-03:00 UTC")
    b = parse_window("Sat 02:00-05:00 UTC")
    assert next_opening([a, b], at("2026-12-02T10:00:00")) == (
        at("2026-12-05T01:00:00"),
        at("2026-12-05T05:00:00"),
    )


@settings(max_examples=100, deadline=None)
@given(
    days=st.sets(st.integers(0, 6), min_size=1),
    start=st.integers(0, 23 * 60),
    length=st.integers(30, 600),
    durations=st.lists(st.integers(1, 1800), max_size=12),
)
def test_every_step_is_scheduled_inside_an_opening_in_order(
    days: set[int], start: int, length: int, durations: list[int]
) -> None:
    end = (start + length) % (24 * 60)
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    hhmm = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    spec = f"{','.join(names[d] for d in sorted(days))} {hhmm} UTC"
    w = parse_window(spec)
    slots = schedule(durations, [w], at("2026-12-02T10:00:00"))
    previous = at("2026-12-02T10:00:00")
    for slot, seconds in zip(slots, durations, strict=True):
        assert slot.start >= previous
        assert slot.end - slot.start == dt.timedelta(seconds=seconds)
        assert is_open([w], slot.start)
        assert slot.overruns or is_open([w], slot.end - dt.timedelta(seconds=1))
        previous = slot.end
