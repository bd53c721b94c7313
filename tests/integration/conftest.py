"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.simproc import SimProcess, start_cluster


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    """A demo cluster of the test's own, ready for `overhaul apply` (see `start_cluster`); stopped
    after the test. Modules that need another cluster define a `sim` fixture of their own."""
    proc = start_cluster(tmp_path / "sim")
    try:
        yield proc
    finally:
        proc.stop()
