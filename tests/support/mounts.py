"""Small tmpfs mounts for fault tests: a disk that fills up, a file system that is read-only."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "32k") mounted on `path` for the block. Where mounting is not
    permitted it fails under CI or as root (both can mount: a refusal there is a broken machine, and
    the test must not vanish), and skips, saying why, only for a developer without privileges."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        why = f"cannot mount a tmpfs here ({done.stderr.strip()}): the disk-full test needs one"
        if os.environ.get("CI") or os.geteuid() == 0:
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
