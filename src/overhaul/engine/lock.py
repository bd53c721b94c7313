"""The upgrade lock: one overhaul at a time acts on a cluster.

The port (`UpgradeLock`) is implemented by `overhaul.kube.lease.LeaseLock`, a coordination.k8s.io/v1
Lease `kube-system/overhaul-upgrade`, as client-go's leader election uses one: a holder identity,
a duration, acquire and renew times, and a count of transitions. Whoever holds it renews it well
within its duration; a lock not renewed for its duration is stale and the next overhaul takes it
over (with a warning: the previous holder crashed, or lost the network).

`hold_lock` is how the engine uses it: acquire or refuse (`LockRefused`, naming the holder and since
when), renew in a background thread (`LockRenewer`), release on the way out.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class LockHolder(Protocol):
    """Who holds the lock, as the lock's record says."""

    @property
    def identity(self) -> str: ...

    @property
    def acquired_at(self) -> datetime | None: ...

    @property
    def renewed_at(self) -> datetime | None: ...

    @property
    def duration_seconds(self) -> int: ...

    @property
    def transitions(self) -> int: ...

    @property
    def stale(self) -> bool:
        """Not renewed within its duration (as of when it was read)."""
        ...


class LockAttempt(Protocol):
    """The answer to an attempt to take the lock."""

    @property
    def acquired(self) -> bool: ...

    @property
    def holder(self) -> LockHolder:
        """The holder now: us when acquired, else the one who refused us."""
        ...

    @property
    def taken_over(self) -> LockHolder | None:
        """The stale holder we replaced, when we took the lock over."""
        ...


class UpgradeLock(Protocol):
    @property
    def identity(self) -> str:
        """Who we are: `user@host:pid/run`."""
        ...

    @property
    def description(self) -> str:
        """What the lock is, for messages: `Lease kube-system/overhaul-upgrade`."""
        ...

    @property
    def duration_seconds(self) -> int: ...

    def try_acquire(self) -> LockAttempt:
        """Takes the lock if it is free, released or stale; otherwise reports who holds it.
        Of two processes trying at once, exactly one gets it. Errors talking to the store raise."""
        ...

    def renew(self) -> bool:
        """Extends our hold. False when the lock is no longer ours (someone took it over);
        errors talking to the store raise (the renewer retries them)."""
        ...

    def release(self) -> None:
        """Gives the lock up, if it is still ours."""
        ...

    def current(self) -> LockHolder | None:
        """Who holds the lock now (None when nobody does)."""
        ...


def new_run_id() -> str:
    return secrets.token_hex(4)


def local_identity(run_id: str) -> str:
    """The holder identity of this process: `user@host:pid/run`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}:{os.getpid()}/{run_id}"


def parse_identity(identity: str) -> tuple[str, str, int] | None:
    """(user, host, pid) of a `user@host:pid/run` identity; None for another form."""
    user, at, rest = identity.rpartition("@")
    host_pid = rest.split("/", 1)[0]
    host, colon, pid = host_pid.rpartition(":")
    if not at or not colon or not host or not pid.isdigit():
        return None
    return user, host, int(pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def crashed_here(
    identity: str, *, host: str | None = None, alive: Callable[[int], bool] = _pid_alive
) -> bool:
    """Whether `identity` names a process of this host that no longer runs: an apply that crashed or
    was killed here, whose lock need not be waited out. A pid reused since is taken as alive (the
    lock then expires as usual)."""
    parsed = parse_identity(identity)
    if parsed is None:
        return False
    _, holder_host, pid = parsed
    if holder_host != (host if host is not None else socket.gethostname()):
        return False
    return pid != os.getpid() and not alive(pid)


class LockRefused(Exception):
    """Someone else holds the lock; `str(err)` names them and since when."""

    def __init__(self, description: str, holder: LockHolder) -> None:
        since = f" since {_when(holder.acquired_at)}" if holder.acquired_at else ""
        renewed = f", last renewed {_when(holder.renewed_at)}" if holder.renewed_at else ""
        super().__init__(
            f"the upgrade lock ({description}) is held by {holder.identity}{since}{renewed} "
            f"(it expires {holder.duration_seconds}s after its last renewal if its holder stops)"
        )
        self.holder = holder


class LockLost(Exception):
    """The lock was taken from us while we acted (we could not renew it in time)."""


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "?"


class LockRenewer:
    """Renews a held lock every `interval` seconds in a background thread until `stop()`.

    A renewal that fails to reach the store is retried at the next tick; when no renewal succeeded
    for the lock's whole duration, or the lock turned out to be someone else's, the hold is lost:
    `lost` becomes True and `on_lost(reason)` is called once (from the renewer's thread).
    """

    def __init__(
        self,
        lock: UpgradeLock,
        *,
        interval: float | None = None,
        on_lost: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = lock
        # client-go renews leader leases at 2/3 of their duration at the latest; a third keeps two
        # chances to retry a failed renewal before the lock is stale.
        self.interval = interval if interval is not None else max(0.05, lock.duration_seconds / 3)
        self.on_lost = on_lost
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._reason = ""
        self.renewals = 0
        self.last_error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="overhaul-lock-renewer", daemon=True)

    def start(self) -> LockRenewer:
        self._thread.start()
        return self

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    @property
    def lost_reason(self) -> str:
        return self._reason

    def wait_lost(self, timeout: float | None = None) -> bool:
        return self._lost.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops renewing (does not release) and waits for the thread to end."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        last_success = self._monotonic()
        while not self._stop.wait(self.interval):
            try:
                still_ours = self.lock.renew()
            except Exception as err:  # any failure to reach the store: retried at the next tick
                self.last_error = err
                if self._monotonic() - last_success >= self.lock.duration_seconds:
                    self._lose(f"could not renew {self.lock.description} for its whole duration: {err}")
                    return
                continue
            if not still_ours:
                self._lose(f"{self.lock.description} was taken over by someone else")
                return
            self.renewals += 1
            last_success = self._monotonic()

    def _lose(self, reason: str) -> None:
        self._reason = reason
        self._lost.set()
        if self.on_lost is not None:
            self.on_lost(reason)


@dataclass
class HeldLock:
    """A lock held by `hold_lock`: the attempt that got it (see `taken_over`) and its renewer."""

    attempt: LockAttempt
    renewer: LockRenewer

    def check(self) -> None:
        """Raises LockLost when the lock is no longer ours (call it before each action)."""
        if self.renewer.lost:
            raise LockLost(self.renewer.lost_reason)


@contextlib.contextmanager
def hold_lock(
    lock: UpgradeLock,
    *,
    renew_interval: float | None = None,
    on_lost: Callable[[str], None] | None = None,
) -> Iterator[HeldLock]:
    """Holds `lock` for the duration of the block: raises LockRefused when another holder has it,
    renews it in the background, and releases it on the way out (even on errors)."""
    attempt = lock.try_acquire()
    if not attempt.acquired:
        raise LockRefused(lock.description, attempt.holder)
    renewer = LockRenewer(lock, interval=renew_interval, on_lost=on_lost).start()
    try:
        yield HeldLock(attempt, renewer)
    finally:
        renewer.stop()
        if not renewer.lost:
            with contextlib.suppress(Exception):  # best effort: an unreleased lock goes stale
                lock.release()
