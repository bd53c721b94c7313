"""The engine's use of the upgrade lock: refusal, background renewal, loss, release.

`MemoryLock` implements the lock port in memory, with switches for what the store answers; the
Lease implementation is tested against the embedded cluster in tests/integration/test_lease.py.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from overhaul.engine.lock import (
    LockLost,
    LockRefused,
    LockRenewer,
    UpgradeLock,
    crashed_here,
    hold_lock,
    local_identity,
    new_run_id,
    parse_identity,
)

SINCE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Holder:
    identity: str
    acquired_at: datetime | None = SINCE
    renewed_at: datetime | None = SINCE
    duration_seconds: int = 2
    transitions: int = 0
    stale: bool = False


@dataclass(frozen=True)
class Attempt:
    acquired: bool
    holder: Holder
    taken_over: Holder | None = None


class MemoryLock:
    def __init__(self, identity: str = "me@here:1/r", duration: int = 2) -> None:
        self._identity = identity
        self._duration = duration
        self.holder: str = ""
        self.renew_calls = 0
        self.released = 0
        self.fail_renewals = False  # renewals raise (the store is unreachable)
        self.lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def description(self) -> str:
        return "Lease kube-system/overhaul-upgrade"

    @property
    def duration_seconds(self) -> int:
        return self._duration

    def try_acquire(self) -> Attempt:
        with self.lock:
            if self.holder and self.holder != self._identity:
                return Attempt(False, Holder(self.holder))
            self.holder = self._identity
            return Attempt(True, Holder(self._identity))

    def renew(self) -> bool:
        with self.lock:
            self.renew_calls += 1
            if self.fail_renewals:
                raise ConnectionError("cannot reach the cluster")
            return self.holder == self._identity

    def release(self) -> None:
        with self.lock:
            self.released += 1
            if self.holder == self._identity:
                self.holder = ""

    def current(self) -> Holder | None:
        return Holder(self.holder) if self.holder else None


def as_port(lock: MemoryLock) -> UpgradeLock:
    return lock


def test_identity_names_user_host_pid_and_run() -> None:
    run = new_run_id()
    assert len(run) == 8
    assert local_identity(run) == f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}/{run}"


def test_a_held_lock_is_refused_with_its_holder() -> None:
    lock = MemoryLock()
    lock.holder = "alice@laptop:4242/3f2a9c1e"
    with pytest.raises(LockRefused) as err, hold_lock(as_port(lock)):
        pytest.fail("must not run")
    assert str(err.value) == (
        "the upgrade lock (Lease kube-system/overhaul-upgrade) is held by alice@laptop:4242/3f2a9c1e "
        "since 2026-05-01T12:00:00Z, last renewed 2026-05-01T12:00:00Z (it expires 2s after its last "
        "renewal if its holder stops)"
    )
    assert err.value.holder.identity == "alice@laptop:4242/3f2a9c1e"
    assert lock.released == 0


def test_the_lock_is_renewed_while_held_and_released_after() -> None:
    lock = MemoryLock()
    with hold_lock(as_port(lock), renew_interval=0.02) as held:
        deadline = time.monotonic() + 5
        while lock.renew_calls < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        held.check()
        assert held.attempt.acquired
    assert lock.renew_calls >= 3 and lock.released == 1 and lock.holder == ""
    calls = lock.renew_calls
    time.sleep(0.06)
    assert lock.renew_calls == calls  # the renewer stopped


def test_the_lock_is_released_when_the_work_fails() -> None:
    lock = MemoryLock()
    with pytest.raises(RuntimeError), hold_lock(as_port(lock), renew_interval=1):
        raise RuntimeError("step failed")
    assert lock.released == 1


def test_a_takeover_is_noticed_at_the_next_renewal() -> None:
    lock = MemoryLock()
    reasons: list[str] = []
    with hold_lock(as_port(lock), renew_interval=0.02, on_lost=reasons.append) as held:
        lock.holder = "bob@desk:2/b"
        assert held.renewer.wait_lost(5)
        with pytest.raises(LockLost, match="taken over"):
            held.check()
    assert reasons == ["Lease kube-system/overhaul-upgrade was taken over by someone else"]
    assert lock.released == 0  # not ours any more: nothing to release


def test_failed_renewals_are_retried_and_lose_the_lock_after_its_duration() -> None:
    lock = MemoryLock(duration=1)
    assert lock.try_acquire().acquired
    clock = [0.0]
    renewer = LockRenewer(as_port(lock), interval=0.01, monotonic=lambda: clock[0])
    lock.fail_renewals = True
    renewer.start()
    try:
        deadline = time.monotonic() + 5
        while lock.renew_calls < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not renewer.lost  # errors within the duration are retried
        lock.fail_renewals = False
        calls = lock.renew_calls
        while lock.renew_calls < calls + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert renewer.renewals >= 1 and not renewer.lost
        lock.fail_renewals = True
        clock[0] = 5.0  # no renewal succeeded for longer than the duration
        assert renewer.wait_lost(5)
        assert "could not renew" in renewer.lost_reason and "cannot reach the cluster" in renewer.lost_reason
        assert isinstance(renewer.last_error, ConnectionError)
    finally:
        renewer.stop()


def test_default_renewal_interval_is_a_third_of_the_duration() -> None:
    assert LockRenewer(as_port(MemoryLock(duration=60))).interval == 20


def test_identity_parses_back_to_user_host_and_pid() -> None:
    assert parse_identity(local_identity("r1")) == (getpass.getuser(), socket.gethostname(), os.getpid())
    assert parse_identity("alice@laptop:4242/cafe") == ("alice", "laptop", 4242)
    assert parse_identity("ci-bot") is None and parse_identity("alice@laptop/cafe") is None


def test_a_holder_is_crashed_only_when_it_names_this_host_and_a_pid_that_is_gone() -> None:
    dead = {4242}

    def alive(pid: int) -> bool:
        return pid not in dead

    assert crashed_here("alice@laptop:4242/cafe", host="laptop", alive=alive)
    assert not crashed_here("alice@laptop:4243/cafe", host="laptop", alive=alive)  # still runs
    assert not crashed_here("alice@desk:4242/cafe", host="laptop", alive=alive)  # another machine
    assert not crashed_here("ci-bot", host="laptop", alive=alive)  # not ours to judge
    assert not crashed_here(local_identity("other-run"))  # this very process
