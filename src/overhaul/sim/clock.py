"""The embedded cluster's clock: wall time, optionally running faster (`--speed`)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Simulated time: starts at the wall time and advances `speed` times faster."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start_sim = start or datetime.now(UTC)
        self._start_mono = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._start_mono) * self.speed
        return self._start_sim + timedelta(seconds=elapsed)

    def wall_seconds(self, sim_seconds: float) -> float:
        """How long a simulated duration takes in wall time."""
        return sim_seconds / self.speed


_last_second: list[tuple[int, str]] = [(-1, "")]


def rfc3339(moment: datetime) -> str:
    """Kubernetes' metav1.Time format: second precision, UTC, `Z`."""
    # Every write stamps the time: the text of the last second is kept (strftime costs ~8 µs).
    second = math.floor(moment.timestamp())
    last = _last_second[0]
    if last[0] == second:
        return last[1]
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_second[0] = (second, text)
    return text


def rfc3339_micro(moment: datetime) -> str:
    """metav1.MicroTime format (leases, events)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class VirtualClock(Clock):
    """Time that moves only when told to: rehearsals and in-process tests run in it."""

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(1.0, start)
        self._now = self._start_sim

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=max(0.0, seconds))

    def advance_to(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment

    def wall_seconds(self, sim_seconds: float) -> float:
        return 0.0
