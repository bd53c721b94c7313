"""One process measured as the benchmarks compare tools: wall time, CPU time and peak memory."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Collection
from typing import Any


def measure(cmd: list[str], env: dict[str, str], ok_codes: Collection[int] = (0,)) -> dict[str, Any]:
    """Runs `cmd` with stdout and stderr to temporary files and waits for it: wall seconds, CPU
    seconds and peak RSS of the process (and of the children it waited for), its exit code and
    stdout. An exit code not in `ok_codes` raises with the end of stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        out.seek(0)
        stdout = out.read().decode(errors="replace")
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if code not in ok_codes:
        raise RuntimeError(f"{cmd[0]} exited {code}: {stderr[-2000:]}")
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": code,
        "stdout": stdout,
    }
