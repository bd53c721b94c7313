"""Finds the kubectl binaries on this machine: `kubectl` on PATH and the versioned ones beside it."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

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


class KubectlFailed(AssertionError):
    """kubectl exited non-zero where the test expected success; carries its output."""


@dataclass
class KubectlRunner:
    """Runs one kubectl binary against one kubeconfig, with a private discovery cache."""

    kubectl: Kubectl
    kubeconfig: Path
    env: dict[str, str]
    timeout: float = 60.0

    @property
    def minor(self) -> int:
        return self.kubectl.minor

    @property
    def validate_flags(self) -> list[str]:
        """kubectl 1.27 and 1.28 validate with OpenAPI v2 (protobuf), which the sim does not serve."""
        return ["--validate=false"] if self.kubectl.minor < 29 else []

    def command(self, *args: str) -> list[str]:
        return [str(self.kubectl.path), "--kubeconfig", str(self.kubeconfig), *args]

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=self.timeout,
        )
        if check and done.returncode != 0:
            raise KubectlFailed(
                f"{self.kubectl.label} {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def create(self, *objects: Any, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`kubectl create -f -` of the objects."""
        return self._from_stdin("create", objects, check)

    def apply(self, *objects: Any, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`kubectl apply -f -` of the objects (client-side apply, as kubectl does by default)."""
        return self._from_stdin("apply", objects, check)

    def _from_stdin(
        self, verb: str, objects: tuple[Any, ...], check: bool
    ) -> subprocess.CompletedProcess[str]:
        # A YAML stream rather than a v1 List: kubectl validates a List against OpenAPI v2 only.
        stream = yaml.safe_dump_all(objects, sort_keys=False)
        return self.run(verb, "-f", "-", *self.validate_flags, stdin=stream, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    @contextlib.contextmanager
    def background(self, *args: str) -> Iterator[LineReader]:
        """kubectl running (e.g. `get -w`) while the test reads its output lines (stderr included)."""
        proc = subprocess.Popen(
            self.command(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env
        )
        assert proc.stdout is not None
        reader = LineReader(proc.stdout)
        try:
            yield reader
        finally:
            proc.kill()
            proc.wait()
            reader.join()
            proc.stdout.close()


class LineReader:
    """Reads a stream's lines on a thread so that a test can wait for one with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def join(self) -> None:
        self._thread.join(timeout=10)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        """The first line (from now on) that satisfies `predicate`; fails at the deadline or at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching line within {timeout}s; saw: {self.seen}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream ended without a matching line; saw: {self.seen}")
            self.seen.append(line)
            if predicate(line):
                return line


def parse_table(text: str) -> list[dict[str, str]]:
    """kubectl's human output as rows of column → cell, cut at the header's column starts."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows
