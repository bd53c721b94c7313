"""Runs every benchmark in this folder (each `*.py` with a `main()`, but this one), one after another.

Each runs in a process of its own, prints its summary and writes benchmarks/results/<name>.json.
Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def benchmarks() -> list[Path]:
    return sorted(
        p
        for p in HERE.glob("*.py")
        if p.name != Path(__file__).name and not p.name.startswith("_") and "\ndef main(" in p.read_text()
    )


def main() -> int:
    failed = []
    for script in benchmarks():
        print(f"== {script.stem}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], check=False).returncode
        outcome = "ok" if code == 0 else f"FAILED ({code})"
        print(f"== {script.stem}: {outcome} in {time.perf_counter() - started:.0f}s")
        if code != 0:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
