"""Runs `overhaul sim up` as a subprocess on a free port, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
import yaml


class SimProcess:
    """`overhaul sim up --port 0` in the background; `kubeconfig`, `server` and `token` once it serves."""

    def __init__(self, workdir: Path, *args: str, startup_timeout: float = 120.0) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.server = ""
        self.token = ""

    def start(self) -> SimProcess:
        cmd = [
            sys.executable,
            "-m",
            "overhaul",
            "sim",
            "up",
            "--port",
            "0",
            "--kubeconfig-out",
            str(self.kubeconfig),
            *self.args,
        ]
        self.stderr_path = self.workdir / "sim.stderr"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            self.stop()
            raise RuntimeError(f"sim did not start: {self.stderr_path.read_text()}")
        config = yaml.safe_load(Path(line).read_text())
        self.server = config["clusters"][0]["cluster"]["server"]
        self.token = config["users"][0]["user"]["token"]
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.server + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("sim did not become ready")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def kubectl_env(cache_dir: Path) -> dict[str, str]:
    """An environment for kubectl that keeps its discovery cache out of the user's home."""
    env = dict(os.environ)
    env["KUBECACHEDIR"] = str(cache_dir)
    env.pop("KUBECONFIG", None)
    return env
