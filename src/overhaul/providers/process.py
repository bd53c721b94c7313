"""Runs one command for a provider: output captured, a deadline, cancellable, never a shell of ours.

The command runs in a session of its own, so a timeout or a cancel ends it and everything it
started (a playbook's ssh children too): SIGTERM to the process group, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from overhaul.providers.base import MAX_OUTPUT

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when it did not start or was killed
    output: str  # stdout and stderr interleaved, as a terminal shows them (the tail when long)
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    error: str = ""  # why it could not start

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled and not self.error

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def failure(self, timeout: float) -> str:
        """Why it failed, one line ("" when it did not)."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {timeout:g}s"
        if self.cancelled:
            return "cancelled"
        if self.returncode is not None and self.returncode < 0:
            return f"killed by signal {-self.returncode}"
        if self.returncode:
            return f"exit status {self.returncode}"
        return ""


class _Tail:
    """Collects a stream's bytes, keeping only the last `limit` (and counting what was dropped)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > 2 * self.limit:
            data = b"".join(self.chunks)
            cut = len(data) - self.limit
            self.dropped += cut
            self.chunks, self.size = [data[cut:]], self.limit

    def text(self) -> str:
        data = b"".join(self.chunks)
        if len(data) > self.limit:
            self.dropped += len(data) - self.limit
            data = data[len(data) - self.limit :]
        text = data.decode("utf-8", "replace")
        return f"[... {self.dropped} bytes cut ...]\n{text}" if self.dropped else text


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
) -> CommandResult:
    """Runs `argv` (no shell) with stdin closed, until it exits, `timeout` seconds pass, or `cancel`
    is set; returns what it printed."""
    started = time.monotonic()
    args = tuple(argv)
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    except OSError as err:
        reason = f"cannot run {args[0] if args else '(nothing)'}: {err.strerror or err}"
        return CommandResult(args, None, "", time.monotonic() - started, error=reason)
    tail = _Tail(max_output)
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> None:
        # os.read returns what is there (a buffered read would wait to fill its buffer)
        while chunk := os.read(stdout.fileno(), 65536):
            tail.add(chunk)

    reader = threading.Thread(target=read, name=f"output of {args[0]}", daemon=True)
    reader.start()
    deadline = started + timeout
    timed_out = cancelled = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        try:
            proc.wait(timeout=min(remaining, 0.1))
            break
        except subprocess.TimeoutExpired:
            continue
    if timed_out or cancelled:
        _stop(proc)
    # Output still buffered after the exit; a grandchild that escaped the group may hold the
    # pipe open, so the wait is bounded.
    reader.join(timeout=KILL_GRACE)
    stdout.close()
    returncode = proc.returncode if not (timed_out or cancelled) else None
    return CommandResult(
        args,
        returncode,
        tail.text(),
        time.monotonic() - started,
        timed_out=timed_out,
        cancelled=cancelled,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after the grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
