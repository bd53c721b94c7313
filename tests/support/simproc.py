"""Runs `overhaul sim up` as a subprocess on a free port, as a user would."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import httpx
import yaml

from overhaul.kube.client import ApiClient
from tests.support.waiting import eventually


def sim_command(*args: str) -> list[str]:
    """The command line of `overhaul ARGS` run with this interpreter (the project's venv)."""
    return [sys.executable, "-m", "overhaul", *args]


class SimProcess:
    """`overhaul sim up --port 0` in the background; `kubeconfig`, `server` and `token` once it serves.

    The server speaks HTTPS with a per-run CA; `ssl_context` (and `client()`) trust exactly that CA,
    read from the kubeconfig the sim wrote.
    """

    def __init__(self, workdir: Path, *args: str, startup_timeout: float = 120.0) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.server = ""
        self.token = ""
        self.ca_pem = ""
        self.stderr_path = workdir / "sim.stderr"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> SimProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = sim_command("sim", "up", "--port", "0", "--kubeconfig-out", str(self.kubeconfig), *self.args)
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            self.stop()
            raise RuntimeError(f"sim did not start: {self.stderr_path.read_text()}")
        config = yaml.safe_load(Path(line).read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.token = config["users"][0]["user"]["token"]
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.server, verify=self.ssl_context(), timeout=2) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if probe.get("/readyz").status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sim did not become ready: {self.stderr_path.read_text()}")

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the sim's own CA only (and checks the host name, 127.0.0.1)."""
        return ssl.create_default_context(cadata=self.ca_pem)

    def client(self, token: str | None = None, timeout: float = 60) -> httpx.Client:
        """An HTTPS client with the sim's CA and, unless `token` says otherwise, its bearer token."""
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        return httpx.Client(base_url=self.server, headers=headers, verify=self.ssl_context(), timeout=timeout)

    def anonymous_client(self, timeout: float = 60) -> httpx.Client:
        """An HTTPS client that sends no credentials at all."""
        return httpx.Client(base_url=self.server, verify=self.ssl_context(), timeout=timeout)

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

    def stderr(self) -> str:
        return self.stderr_path.read_text()

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


def deployments_ready(api: httpx.Client) -> bool:
    """Every Deployment of the cluster has all its replicas ready."""
    deployments = api.get("/apis/apps/v1/deployments").json()["items"]
    return all((d.get("status") or {}).get("readyReplicas") == d["spec"]["replicas"] for d in deployments)


@contextlib.contextmanager
def settled_demo(workdir: Path, *args: str) -> Iterator[SimProcess]:
    """The `demo` scenario serving, once its Deployments are ready; stopped on leaving."""
    with SimProcess(workdir, "--scenario", "demo", *args) as proc:
        with proc.client() as api:
            eventually(lambda: deployments_ready(api), "the demo's workloads to be ready", timeout=60)
        yield proc


def start_cluster(workdir: Path, *, speed: str = "20") -> SimProcess:
    """The demo cluster, serving, with what blocks an upgrade fixed as a user would (the PDB that
    allows no disruption relaxed, the bare pods deleted): ready for `overhaul apply`."""
    sim = SimProcess(workdir, "--scenario", "demo", "--speed", speed).start()
    with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
        client.patch(
            "/apis/policy/v1/namespaces/payments/poddisruptionbudgets/ledger", {"spec": {"minAvailable": 1}}
        )
        for pod in ("debug-shell", "scratch-builder"):
            client.delete(f"/api/v1/namespaces/default/pods/{pod}")
        eventually(
            lambda: (
                not any(
                    p["metadata"]["name"] in ("debug-shell", "scratch-builder")
                    for p in client.list_all("/api/v1/namespaces/default/pods")[0]
                )
            ),
            "the bare pods to be gone",
        )
    return sim


@contextlib.contextmanager
def client_with_namespace(sim: SimProcess, namespace: str) -> Iterator[httpx.Client]:
    """A client of the cluster, once `namespace` is created in it."""
    with sim.client() as client:
        created = client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        assert created.status_code == 201, created.text
        yield client
