"""Maintenance windows: `Sat,Sun 01:00-05:00 Europe/Berlin`, when they are open, and fitting steps in.

Grammar: `[DAYS] HH:MM-HH:MM [TIME_ZONE]`. DAYS is a comma list of days or day ranges (`Mon-Fri`,
`Sat,Sun`, `mon,wed-fri`; English names, three letters or whole), every day when left out; an end at
or before the start closes the next day (`Fri 22:00-02:00` opens Friday evening); `24:00` is
midnight at the end of the day; TIME_ZONE is an IANA name (`Europe/Berlin`, default `UTC`). Times are
wall-clock times in that zone, daylight-saving changes included.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from overhaul.domain.plan import Window

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_MERGE_LIMIT = dt.timedelta(days=7)  # windows open all week long still yield finite intervals
_SPAN = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")


class WindowError(ValueError):
    """A window that does not parse or makes no sense."""


def _day(text: str, spec: str) -> int:
    name = text.strip().lower()
    for names in (DAY_NAMES, _FULL_NAMES):
        if name in names:
            return names.index(name)
    raise WindowError(f"{spec!r}: {text!r} is not a day (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _days(text: str, spec: str) -> tuple[int, ...]:
    chosen: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            raise WindowError(f"{spec!r}: an empty day in {text!r}")
        first, dash, last = part.partition("-")
        if dash:
            a, b = _day(first, spec), _day(last, spec)
            chosen.update(range(a, b + 1) if a <= b else (*range(a, 7), *range(0, b + 1)))
        else:
            chosen.add(_day(first, spec))
    return tuple(sorted(chosen))


def _minutes(text: str, spec: str, *, end: bool) -> int:
    match = _TIME.match(text)
    if match is None:
        raise WindowError(f"{spec!r}: {text!r} is not a time (use HH:MM, 24-hour)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if (hours, minutes) == (24, 0) and end:
        return 24 * 60
    if hours > 23 or minutes > 59:
        raise WindowError(f"{spec!r}: {text!r} is not a time of day")
    return hours * 60 + minutes


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(
            f"{name!r} is not a time zone (use an IANA name such as Europe/Berlin or UTC)"
        ) from None


def parse_window(spec: str) -> Window:
    """A window from its text; raises WindowError with the reason."""
    parts = spec.split()
    span_at = next((i for i, p in enumerate(parts) if _SPAN.match(p)), None)
    if span_at is None:
        raise WindowError(f"{spec!r}: no HH:MM-HH:MM time range (e.g. 'Sat,Sun 01:00-05:00 Europe/Berlin')")
    if span_at > 1 or len(parts) > span_at + 2:
        raise WindowError(f"{spec!r}: expected [DAYS] HH:MM-HH:MM [TIME_ZONE]")
    days = _days(parts[0], spec) if span_at == 1 else tuple(range(7))
    match = _SPAN.match(parts[span_at])
    assert match is not None
    start = _minutes(match.group(1), spec, end=False)
    end = _minutes(match.group(2), spec, end=True)
    if start == end:
        raise WindowError(f"{spec!r}: the window opens and closes at the same time")
    time_zone = parts[span_at + 1] if len(parts) > span_at + 1 else "UTC"
    try:
        zone(time_zone)
    except WindowError as err:
        raise WindowError(f"{spec!r}: {err}") from None
    return Window(days, start, end, time_zone, spec.strip())


def describe(window: Window) -> str:
    """`Sat, Sun 01:00-05:00 Europe/Berlin (4h)`."""
    days = "every day" if len(window.days) == 7 else ", ".join(DAY_NAMES[d].title() for d in window.days)
    hours, minutes = divmod(window.minutes, 60)
    length = f"{hours}h{minutes:02d}m" if hours and minutes else f"{hours}h" if hours else f"{minutes}m"
    start = f"{window.start // 60:02d}:{window.start % 60:02d}"
    end = f"{window.end // 60:02d}:{window.end % 60:02d}"
    return f"{days} {start}-{end} {window.time_zone} ({length})"


def _local(day: dt.date, minutes: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(minutes=minutes)


def openings(window: Window, after: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The window's open intervals (aware, UTC) that end after `after`, in order, without end."""
    tz = zone(window.time_zone)
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    while True:
        if day.weekday() in window.days:
            # Aware arithmetic within one zone is wall-clock: a daylight-saving change inside the
            # window makes it an hour shorter or longer, as the clocks on the wall say.
            start = _local(day, window.start, tz)
            end = start + dt.timedelta(minutes=window.minutes)
            if end > after:
                yield start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        day += dt.timedelta(days=1)


def _merged(windows: Sequence[Window], after: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The open intervals of all windows, in order, overlapping or adjacent ones merged."""
    iterators = [openings(w, after) for w in windows]
    heads = [next(it) for it in iterators]
    current: tuple[dt.datetime, dt.datetime] | None = None
    while True:
        i = min(range(len(heads)), key=lambda k: heads[k][0])
        start, end = heads[i]
        heads[i] = next(iterators[i])
        if current is None:
            current = (start, end)
        elif start <= current[1] and current[1] - current[0] < _MERGE_LIMIT:
            current = (current[0], max(current[1], end))
        else:
            yield current
            current = (start, end)


def is_open(windows: Sequence[Window], moment: dt.datetime) -> bool:
    """Whether `moment` (aware) falls inside one of the windows (always, when there are none)."""
    if not windows:
        return True
    start, _ = next_opening(windows, moment)
    return start <= moment


def next_opening(windows: Sequence[Window], after: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The open interval containing `after`, or the next one (UTC)."""
    return next(_merged(windows, after))


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    window: int  # which opening (0 = the first used); -1 without windows
    overruns: bool = False  # longer than any opening: starts at one and runs past its end


def schedule(durations: Sequence[int], windows: Sequence[Window], start: dt.datetime) -> list[Slot]:
    """When each step would run if apply started at `start`: in order, each step starting inside an
    opening only if it also ends inside it (else at the next opening that can hold it). A step
    longer than every opening starts at one and overruns it."""
    slots: list[Slot] = []
    moment = start
    if not windows:
        for seconds in durations:
            end = moment + dt.timedelta(seconds=seconds)
            slots.append(Slot(moment, end, -1))
            moment = end
        return slots
    horizon = start + dt.timedelta(days=15)
    longest = dt.timedelta(0)
    for a, b in _merged(windows, start):
        longest = max(longest, b - a)
        if a > horizon:
            break
    intervals = _merged(windows, start)
    opening = next(intervals)
    index = 0
    for seconds in durations:
        length = dt.timedelta(seconds=seconds)
        while True:
            while opening[1] <= moment:
                opening, index = next(intervals), index + 1
            begin = max(moment, opening[0])
            if begin + length <= opening[1] or length > longest:
                slots.append(Slot(begin, begin + length, index, overruns=begin + length > opening[1]))
                moment = begin + length
                break
            opening, index = next(intervals), index + 1
    return _renumber(slots)


def _renumber(slots: list[Slot]) -> list[Slot]:
    """Openings numbered by use (0, 1, 2...), skipping ones no step used."""
    seen: dict[int, int] = {}
    return [
        Slot(s.start, s.end, seen.setdefault(s.window, len(seen)), s.overruns) if s.window >= 0 else s
        for s in slots
    ]


def start_for(windows: Sequence[Window], now: dt.datetime, seconds: float) -> dt.datetime:
    """When a step that takes `seconds` may start, at `now` or later: now when an opening is open
    and the step ends before it closes, else the next opening that can hold it (a step longer than
    every opening starts at an opening and overruns it, as the plan's estimate assumes). Always
    `now` without windows."""
    if not windows:
        return now
    return schedule([max(0, round(seconds))], windows, now)[0].start
