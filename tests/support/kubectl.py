"""Finds the kubectl binaries on this machine: `kubectl` on PATH and the versioned ones beside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_VERSIONED = re.compile(r"^kubectl\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Kubectl:
    path: Path
    minor: int

    @property
    def label(self) -> str:
        return f"kubectl-1.{self.minor}"


def _client_minor(path: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(path), "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'"minor":\s*"(\d+)', out.stdout)
    return int(m.group(1)) if m else None


def discover() -> list[Kubectl]:
    """Every distinct kubectl minor found: versioned binaries beside the PATH one, and the PATH one."""
    found: dict[int, Kubectl] = {}
    on_path = shutil.which("kubectl")
    if on_path is None:
        return []
    real = Path(os.path.realpath(on_path))
    for entry in sorted(real.parent.iterdir()):
        m = _VERSIONED.match(entry.name)
        if m and os.access(entry, os.X_OK):
            found.setdefault(int(m.group(2)), Kubectl(entry, int(m.group(2))))
    minor = _client_minor(real)
    if minor is not None:
        found.setdefault(minor, Kubectl(real, minor))
    return [found[k] for k in sorted(found)]


def oldest_and_newest() -> list[Kubectl]:
    all_found = discover()
    if len(all_found) <= 2:
        return all_found
    return [all_found[0], all_found[-1]]
