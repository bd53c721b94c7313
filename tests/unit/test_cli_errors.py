"""Bad flags and bad values give a one-line error and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sim", "up", "--port", "abc"], "Invalid value for '--port'"),
        (["sim", "up", "--version", "banana"], "is not a Kubernetes version"),
        (["bogus"], "No such command"),
        (["sim", "up", "--no-such-flag"], "No such option"),
        (["plan", "--to", "1.36"], "plan: Missing option '--provider'. (see "),
        (["demo", "--out", "/proc/no-such-dir/out"], "--out /proc/no-such-dir/out: cannot create it"),
    ],
)
def test_bad_usage_exits_2_without_traceback(args: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "overhaul", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_version_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "overhaul", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith("overhaul ")
