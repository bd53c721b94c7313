"""Runs the embedded cluster on 127.0.0.1 and writes a kubeconfig for it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import gc
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from overhaul.sim.api.app import SimApi, json_response, new_token
from overhaul.sim.faults import FaultSettings
from overhaul.sim.scenarios import ScenarioOptions, load_scenario
from overhaul.sim.tls import make_serving_cert
from overhaul.sim.world import SimSettings, World

CLUSTER_NAME = "overhaul-sim"
FREEZE_EVERY = 1.0  # wall seconds between moves of what survived into the collector's permanent set


async def keep_collector_cheap() -> None:
    """Keeps Python's cyclic garbage collector off the stored objects.

    150,000 pods are some 15 million small dicts and lists, acyclic and long-lived; every full
    collection walks all of them and stops the API for seconds. What is alive is moved to the
    permanent generation now and then (gc.freeze), so collections only look at what is new.
    """
    while True:
        gc.freeze()
        await asyncio.sleep(FREEZE_EVERY)


class ServerError(RuntimeError):
    """The server could not start (port in use, bad address)."""


@dataclass
class SimConfig:
    scenario: str = "empty"
    version: str = "v1.34.2"
    port: int = 6443
    kubeconfig_out: Path | None = None
    speed: float = 1.0
    nodes: int = 0
    pods_per_node: int = 0
    bookmark_interval: float = 15.0  # seconds between watch bookmarks (shorter in tests)
    pod_start_seconds: float = 1.0  # simulated seconds from a pod's acceptance to Running
    pod_ready_seconds: float = 1.0  # and from Running to Ready
    faults: FaultSettings = field(default_factory=FaultSettings)  # API faults from the start (docs/sim.md)


def kubeconfig(server: str, token: str, ca_pem: bytes) -> dict[str, Any]:
    ca_data = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CLUSTER_NAME, "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": f"{CLUSTER_NAME}-admin", "user": {"token": token}}],
        "contexts": [
            {"name": CLUSTER_NAME, "context": {"cluster": CLUSTER_NAME, "user": f"{CLUSTER_NAME}-admin"}}
        ],
        "current-context": CLUSTER_NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server: str, token: str, ca_pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(kubeconfig(server, token, ca_pem), out, sort_keys=False)


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise ServerError(f"port {port} on 127.0.0.1 is already in use") from err
        raise ServerError(f"cannot listen on 127.0.0.1:{port}: {err.strerror}") from err
    sock.listen(1024)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGINT and SIGTERM end `run()` normally (exit status 0).

    uvicorn re-raises the signal it caught once it has shut down, which would make the process
    die of SIGTERM (or raise KeyboardInterrupt) after a clean stop.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set from the main thread
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


@dataclass
class PreparedServer:
    """A bound socket, a loaded cluster and its kubeconfig: ready to serve."""

    api: SimApi
    sock: socket.socket
    kubeconfig_path: Path
    objects: int
    cert_file: Path
    key_file: Path
    tmpdir: tempfile.TemporaryDirectory[str]

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        """Serves until SIGINT or SIGTERM (uvicorn's handlers), then closes cleanly."""
        config = uvicorn.Config(
            self.api,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            # kube-apiserver keeps idle connections 90 s (IdleTimeout, as http.DefaultTransport).
            # uvicorn's default of 5 s races clients that come back after exactly 5 s, as
            # `kubectl drain` does when an eviction got 429: its POST then fails with EOF.
            timeout_keep_alive=90,
            access_log=False,
            ssl_certfile=str(self.cert_file),
            ssl_keyfile=str(self.key_file),
            loop="uvloop",
            http="httptools",
        )
        server = _Server(config)
        try:
            server.run(sockets=[self.sock])
        finally:
            self.sock.close()
            self.tmpdir.cleanup()


def prepare(config: SimConfig) -> PreparedServer:
    """Binds the port, loads the scenario and writes the kubeconfig (errors before anything serves)."""
    sock = bind(config.port)
    tmpdir = tempfile.TemporaryDirectory(prefix="overhaul-sim-")
    try:
        port = int(sock.getsockname()[1])
        settings = SimSettings(
            version=config.version,
            speed=config.speed,
            pod_start_seconds=config.pod_start_seconds,
            pod_ready_seconds=config.pod_ready_seconds,
        )
        world = World(settings)
        cluster = world.cluster
        opts = ScenarioOptions(version=config.version, nodes=config.nodes, pods_per_node=config.pods_per_node)
        objects = load_scenario(cluster, config.scenario, opts)
        gc.freeze()
        token = new_token()
        server = f"https://127.0.0.1:{port}"
        api = SimApi(
            cluster,
            token,
            server_address=f"127.0.0.1:{port}",
            bookmark_interval=config.bookmark_interval,
            background=[world.manager.run, keep_collector_cheap],
            faults=config.faults,
        )
        api.extra_routes["/debug/overhaul/violations"] = lambda _request: json_response(
            {"violations": world.monitor.violations}
        )
        api.extra_routes["/debug/overhaul/stats"] = lambda _request: json_response(world.stats())
        tls = make_serving_cert()
        cert_file, key_file = tls.write(Path(tmpdir.name))
        path = config.kubeconfig_out or Path(tempfile.gettempdir()) / f"overhaul-sim-{port}.kubeconfig"
        write_kubeconfig(path, server, token, tls.ca_pem)
    except BaseException:
        sock.close()
        tmpdir.cleanup()
        raise
    return PreparedServer(
        api=api,
        sock=sock,
        kubeconfig_path=path,
        objects=objects,
        cert_file=cert_file,
        key_file=key_file,
        tmpdir=tmpdir,
    )
