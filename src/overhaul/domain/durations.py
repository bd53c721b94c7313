"""Durations as users write them (`30s`, `5m`, `1h30m`, `250ms`), as Go's time.ParseDuration reads them."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


class DurationError(ValueError):
    """Text that is not a duration."""


def parse_duration(text: str) -> float:
    """Seconds in `text`: a sequence of number+unit (`1h30m`, `90s`, `1.5h`), or a bare number of
    seconds (`0`, `30`). Negative durations are refused: nothing here waits a negative time."""
    value = text.strip()
    if not value:
        raise DurationError("an empty duration")
    if re.fullmatch(r"\d+(?:\.\d*)?", value):
        return float(value)
    total = 0.0
    position = 0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise DurationError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """A short human form: `45s`, `3m05s`, `1h02m`."""
    whole = round(seconds)
    if seconds < 10 and seconds != whole:
        return f"{seconds:.1f}s"
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
