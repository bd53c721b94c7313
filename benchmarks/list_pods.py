"""Listing 150,000 pods from the embedded cluster with kubectl, at the published scalability limit.

Starts `overhaul sim up --scenario empty --nodes 5000 --pods-per-node 30`, then, side by side:
- `kubectl get pods -A -o name` (pages of 500, as kubectl does by default): wall time, kubectl's
  own CPU time and peak memory, and the server's CPU time over the same interval;
- the same 300 pages fetched over HTTPS with httpx, bodies read but not decoded: what the server
  and the wire cost without kubectl's decoding;
- one unpaged `GET /api/v1/pods`.
Samples the server's resident memory throughout and reads its high-water mark (VmHWM).
Writes benchmarks/results/list_pods.json and prints a short summary.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml
from prometheus_client.parser import text_string_to_metric_families

from measure import measure

NODES = 5000
PODS_PER_NODE = 30
EXPECTED_PODS = NODES * PODS_PER_NODE
PAGE = 500  # kubectl's default --chunk-size
RESULTS = Path(__file__).parent / "results" / "list_pods.json"
LOAD_POD = re.compile(r"^pod/worker-\d+-pod-\d+$")


@dataclass
class MemorySampler:
    """Samples a process's RSS on a thread; `peak` is the largest seen."""

    pid: int
    every: float = 0.25
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        proc = psutil.Process(self.pid)
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, proc.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def high_water_mark(pid: int) -> int | None:
    """VmHWM of /proc/<pid>/status in bytes: the kernel's own peak RSS (Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class Sim:
    """`overhaul sim up` in the background, until `stop()`."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.kubeconfig = workdir / "kubeconfig"
        cmd = [sys.executable, "-m", "overhaul", "sim", "up", "--port", "0"]
        cmd += ["--kubeconfig-out", str(self.kubeconfig), *args]
        self.started = time.perf_counter()
        self.stderr = (workdir / "sim.stderr").open("w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.memory = MemorySampler(self.proc.pid)
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline().strip():
            raise RuntimeError(f"the sim did not start; see {workdir / 'sim.stderr'}")
        config = yaml.safe_load(self.kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = config["users"][0]["user"]["token"]
        self.ssl = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        self._wait_ready()
        self.startup_seconds = time.perf_counter() - self.started

    def _wait_ready(self) -> None:
        with self.client() as client:
            while self.proc.poll() is None:
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.1)
        raise RuntimeError("the sim exited before it was ready")

    def client(self, timeout: float = 600) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.server, headers=headers, verify=self.ssl, timeout=timeout)

    def stop(self) -> None:
        self.memory.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


def kubectl_version(kubectl: str) -> str:
    out = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    return str(json.loads(out.stdout)["clientVersion"]["gitVersion"])


def kubectl_setup(kubectl: str, sim: Sim, cache: Path) -> tuple[list[str], dict[str, str]]:
    """kubectl's command for the sim and its environment (a discovery cache of its own, no
    KUBECONFIG), discovery fetched once so that the measurements leave it out."""
    env = {**os.environ, "KUBECACHEDIR": str(cache)}
    env.pop("KUBECONFIG", None)
    base = [kubectl, "--kubeconfig", str(sim.kubeconfig)]
    subprocess.run([*base, "get", "namespaces"], env=env, capture_output=True, check=True)
    return base, env


def run_kubectl_get(kubectl: str, sim: Sim, cache: Path, *args: str) -> dict[str, Any]:
    """`kubectl get ARGS` against the sim: wall time, kubectl's CPU and peak memory, the server's CPU
    over the same interval, the server's own latency for the LIST calls it answered (see
    `server_list_latency`) and the lines kubectl printed."""
    base, env = kubectl_setup(kubectl, sim, cache)
    server = psutil.Process(sim.proc.pid)
    server_cpu = cpu_seconds(server)
    latency_before = pod_list_latency(sim)
    ran = measure([*base, "get", *args], env)
    lines = ran["stdout"].splitlines()
    return {
        "args": list(args),
        "wall_seconds": ran["wall_seconds"],
        "kubectl_cpu_seconds": ran["cpu_seconds"],
        "kubectl_peak_rss_mb": ran["peak_rss_mb"],
        "server_cpu_seconds": round(cpu_seconds(server) - server_cpu, 2),
        "server_list_latency": server_list_latency(latency_before, pod_list_latency(sim)),
        "lines_printed": len(lines),
        "names_printed": sum(1 for line in lines if line.startswith("pod/")),
        "load_pods_printed": sum(1 for line in lines if LOAD_POD.match(line)),
    }


def run_kubectl_list(kubectl: str, sim: Sim, cache: Path) -> dict[str, Any]:
    """`kubectl get pods -A -o name`."""
    return run_kubectl_get(kubectl, sim, cache, "pods", "-A", "-o", "name")


LATENCY = "apiserver_request_duration_seconds"
POD_LIST = {"verb": "LIST", "resource": "pods", "scope": "cluster"}


def pod_list_latency(sim: Sim) -> dict[str, float]:
    """The server's `apiserver_request_duration_seconds` samples for cluster-wide pod LISTs: the
    count, the sum and each cumulative bucket (`le` -> count), as /metrics shows them now."""
    with sim.client(timeout=60) as client:
        response = client.get("/metrics")
        response.raise_for_status()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name != LATENCY:
            continue
        for sample in family.samples:
            if any(sample.labels.get(key) != value for key, value in POD_LIST.items()):
                continue
            key = sample.labels["le"] if sample.name.endswith("_bucket") else sample.name.rsplit("_", 1)[1]
            found[key] = found.get(key, 0.0) + sample.value
    return found


def server_list_latency(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """What the server spent answering the LIST calls between two readings, in the terms of the
    Kubernetes API call latency SLO (from the request's arrival to the last byte of its answer, per
    call; <= 30 s at the 99th percentile for cluster scope): calls, their total, and the bucket bound
    that the slowest call fell under."""
    calls = after.get("count", 0.0) - before.get("count", 0.0)
    total = after.get("sum", 0.0) - before.get("sum", 0.0)
    bounds = sorted((float(le), le) for le in after if le not in ("count", "sum"))
    slowest = next((bound for bound, le in bounds if after[le] - before.get(le, 0.0) >= calls), float("inf"))
    return {
        "calls": int(calls),
        "seconds_total": round(total, 2),
        "slowest_call_under_seconds": slowest if slowest != float("inf") else "over 60",
    }


def run_http_pages(sim: Sim) -> dict[str, Any]:
    """The pages kubectl asks for, read over HTTPS without decoding the pods."""
    server = psutil.Process(sim.proc.pid)
    server_cpu = cpu_seconds(server)
    pages = 0
    size = 0
    items = 0
    token = ""
    started = time.perf_counter()
    with sim.client() as client:
        while True:
            params = {"limit": str(PAGE)} | ({"continue": token} if token else {})
            response = client.get("/api/v1/pods", params=params)
            response.raise_for_status()
            body = response.content
            pages += 1
            size += len(body)
            # The continue token sits in the list's metadata, before the items: no full decode.
            head = body[: body.find(b'"items"')]
            match = re.search(rb'"continue":"([^"]+)"', head)
            items += body.count(b'{"apiVersion":"v1","kind":"Pod"')
            if match is None:
                break
            token = match.group(1).decode()
    return {
        "wall_seconds": round(time.perf_counter() - started, 2),
        "server_cpu_seconds": round(cpu_seconds(server) - server_cpu, 2),
        "pages": pages,
        "bytes": size,
        "pods": items,
    }


def run_http_unpaged(sim: Sim) -> dict[str, Any]:
    started = time.perf_counter()
    with sim.client() as client:
        response = client.get("/api/v1/pods")
        response.raise_for_status()
        size = len(response.content)
    return {"wall_seconds": round(time.perf_counter() - started, 2), "bytes": size}


def main() -> int:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("list_pods: kubectl is not on PATH (make bench installs it)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-list-pods-") as tmp:
        work = Path(tmp)
        print(f"list_pods: starting the sim with {NODES} nodes x {PODS_PER_NODE} pods ...", flush=True)
        sim = Sim(work, "--scenario", "empty", "--nodes", str(NODES), "--pods-per-node", str(PODS_PER_NODE))
        try:
            rss_loaded = psutil.Process(sim.proc.pid).memory_info().rss
            print(f"list_pods: ready in {sim.startup_seconds:.1f}s; listing with kubectl ...", flush=True)
            listed = run_kubectl_list(kubectl, sim, work / "kubecache")
            http_pages = run_http_pages(sim)
            http_unpaged = run_http_unpaged(sim)
            hwm = high_water_mark(sim.proc.pid)
        finally:
            sim.stop()
    if listed["load_pods_printed"] != EXPECTED_PODS:
        print(
            f"list_pods: kubectl listed {listed['load_pods_printed']} load pods, not {EXPECTED_PODS}",
            file=sys.stderr,
        )
        return 1
    peak = max(hwm or 0, sim.memory.peak)
    result: dict[str, Any] = {
        "benchmark": "list_pods",
        "nodes": NODES,
        "pods": EXPECTED_PODS,
        "kubectl": kubectl_version(kubectl),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "sim_startup_seconds": round(sim.startup_seconds, 1),
        "server_rss_after_load_mb": round(rss_loaded / 2**20, 1),
        "server_peak_rss_mb": round(peak / 2**20, 1),
        "server_peak_rss_source": "VmHWM" if hwm else "sampled",
        "kubectl_get_pods_o_name": listed,
        "http_pages_of_500": http_pages,
        "http_unpaged": http_unpaged,
        "ratio_kubectl_to_http_pages": round(
            listed["wall_seconds"] / max(http_pages["wall_seconds"], 1e-9), 1
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"list_pods: {EXPECTED_PODS:,} pods on {NODES:,} nodes, {result['cores']} cores, "
        f"kubectl {result['kubectl']}\n"
        f"  sim start-up (load + controllers):   {result['sim_startup_seconds']:>8.1f} s\n"
        f"  kubectl get pods -A -o name:         {listed['wall_seconds']:>8.1f} s wall, "
        f"{listed['kubectl_cpu_seconds']:.1f} s kubectl CPU, "
        f"{listed['server_cpu_seconds']:.1f} s server CPU, "
        f"kubectl peak {listed['kubectl_peak_rss_mb']:,.0f} MB\n"
        f"  same pages over HTTPS, not decoded:  {http_pages['wall_seconds']:>8.1f} s "
        f"({http_pages['pages']} pages, {http_pages['bytes'] / 2**20:,.0f} MB)  "
        f"kubectl/HTTP = {result['ratio_kubectl_to_http_pages']}x\n"
        f"  one unpaged GET /api/v1/pods:        {http_unpaged['wall_seconds']:>8.1f} s "
        f"({http_unpaged['bytes'] / 2**20:,.0f} MB)\n"
        f"  server RSS: {result['server_rss_after_load_mb']:,.0f} MB after load, "
        f"peak {result['server_peak_rss_mb']:,.0f} MB ({result['server_peak_rss_source']})\n"
        f"  -> {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
