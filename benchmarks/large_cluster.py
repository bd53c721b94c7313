"""The `large` scenario at the published scalability limit comes alive: 5,000 nodes, 150,000 pods.

Starts `overhaul sim up --scenario large --nodes 5000 --pods-per-node 30`, whose controllers then
create, schedule and start every pod of the scenario's Deployments, StatefulSets and DaemonSets.
Measures, from the start of the process:
- the time until every pod is Running and no controller has work queued (polling
  `GET /debug/overhaul/stats`), and the slowest answer to that poll and to `GET /readyz` meanwhile
  (the API must stay responsive while the controllers churn);
- then `kubectl get pods -A -o name` (its count must be the pod total): wall time, kubectl's CPU
  and the server's CPU over the same interval, and the server's own latency for each LIST call it
  answered (`apiserver_request_duration_seconds`, the measure of the Kubernetes API call SLO:
  <= 30 s per cluster-scoped LIST);
- for comparison, the same pages fetched over HTTPS without decoding them, and `kubectl get pods -A`
  (the default table output: the server prints the rows, kubectl decodes tables, not pods);
- the server's peak resident memory (VmHWM, and sampled).
Writes benchmarks/results/large_cluster.json and prints a short summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from list_pods import (
    Sim,
    cpu_seconds,
    high_water_mark,
    kubectl_version,
    run_http_pages,
    run_kubectl_get,
    run_kubectl_list,
)

NODES = 5000
PODS_PER_NODE = 30
CONTROL_PLANE_NODES = 3
RESULTS = Path(__file__).parent / "results" / "large_cluster.json"
TARGET_RUNNING_SECONDS = 120.0
TARGET_LIST_SECONDS = 30.0
TARGET_PEAK_RSS_MB = 6 * 1024
# kubectl's client-side rate limiter for API requests: client-go's defaults (rest.DefaultQPS,
# rest.DefaultBurst), which kubectl raises for discovery only (WithDiscoveryQPS(50), burst 300).
# Each page of a chunked list is a request, so the pages alone take (pages - burst) / qps seconds.
KUBECTL_QPS = 5.0
KUBECTL_BURST = 10


def throttle_floor(pages: int) -> float:
    """The least time kubectl's rate limiter allows for `pages` requests, however fast the server."""
    return max(0, pages - KUBECTL_BURST) / KUBECTL_QPS


POLL_SECONDS = 1.0


def expected_pods(nodes: int, pods_per_node: int, control_planes: int = CONTROL_PLANE_NODES) -> int:
    """Workload pods (pods_per_node - 2 per worker), kube-proxy and kindnet on every node, CoreDNS's 2
    replicas and the 4 static pods of each control-plane node."""
    return max(0, pods_per_node - 2) * nodes + 2 * (nodes + control_planes) + 2 + 4 * control_planes


class Prober:
    """Asks `GET /readyz` every 0.2 s on a thread of its own; `slowest` is its longest wait."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.slowest = 0.0
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self.sim.client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    client.get("/readyz")
                except httpx.TransportError:
                    return
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.count += 1
                self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_all_running(sim: Sim, total: int, timeout: float) -> dict[str, Any]:
    """Polls the stats until every pod is Running and no work is queued; returns what it saw."""
    slowest = 0.0
    polls = 0
    stats: dict[str, Any] = {}
    first_all_running: float | None = None
    with sim.client(timeout=120) as client:
        while time.perf_counter() - sim.started < timeout:
            started = time.perf_counter()
            response = client.get("/debug/overhaul/stats")
            response.raise_for_status()
            slowest = max(slowest, time.perf_counter() - started)
            polls += 1
            stats = response.json()
            running = int(stats["pods"].get("Running", 0))
            if running >= total and first_all_running is None:
                first_all_running = time.perf_counter() - sim.started
            if running >= total and stats["pending_work"] == 0:
                return {
                    "all_running_seconds": round(first_all_running or 0.0, 1),
                    "settled_seconds": round(time.perf_counter() - sim.started, 1),
                    "stats_polls": polls,
                    "slowest_stats_seconds": round(slowest, 3),
                    "stats": stats,
                }
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"not every pod was Running after {timeout:.0f}s: {stats}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=NODES)
    parser.add_argument("--pods-per-node", type=int, default=PODS_PER_NODE)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument(
        "--sim-arg", action="append", default=[], help="an extra `sim up` argument (repeatable)"
    )
    args = parser.parse_args()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("large_cluster: kubectl is not on PATH (make bench installs it)", file=sys.stderr)
        return 1
    total = expected_pods(args.nodes, args.pods_per_node)
    sim_args = ["--scenario", "large", "--nodes", str(args.nodes), "--pods-per-node", str(args.pods_per_node)]
    sim_args += args.sim_arg
    with tempfile.TemporaryDirectory(prefix="bench-large-cluster-") as tmp:
        work = Path(tmp)
        print(f"large_cluster: starting the sim: {' '.join(sim_args)} ({total:,} pods) ...", flush=True)
        sim = Sim(work, *sim_args)
        try:
            prober = Prober(sim)
            print(f"large_cluster: serving in {sim.startup_seconds:.1f}s; waiting for pods ...", flush=True)
            server = sim.proc.pid
            alive = wait_all_running(sim, total, args.timeout)
            prober.stop()
            server_cpu = cpu_seconds(psutil.Process(server))
            print(
                f"large_cluster: all Running in {alive['all_running_seconds']:.1f}s; listing ...", flush=True
            )
            listed = run_kubectl_list(kubectl, sim, work / "kubecache")
            took = listed["wall_seconds"]
            print(f"large_cluster: kubectl -o name took {took:.1f}s; comparisons ...", flush=True)
            pages = run_http_pages(sim)
            table = run_kubectl_get(kubectl, sim, work / "kubecache", "pods", "-A")
            hwm = high_water_mark(server)
        finally:
            sim.stop()
    if listed["names_printed"] != total:
        print(f"large_cluster: kubectl listed {listed['names_printed']} pods, not {total}", file=sys.stderr)
        return 1
    peak = max(hwm or 0, sim.memory.peak)
    result: dict[str, Any] = {
        "benchmark": "large_cluster",
        "nodes": args.nodes,
        "pods_per_node": args.pods_per_node,
        "pods": total,
        "sim_args": sim_args,
        "kubectl": kubectl_version(kubectl),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "sim_serving_seconds": round(sim.startup_seconds, 1),
        "all_running_seconds": alive["all_running_seconds"],
        "settled_seconds": alive["settled_seconds"],
        "server_cpu_seconds_until_settled": round(server_cpu, 1),
        "slowest_readyz_seconds": round(prober.slowest, 3),
        "readyz_probes": prober.count,
        "slowest_stats_seconds": alive["slowest_stats_seconds"],
        "final_stats": alive["stats"],
        "kubectl_get_pods_o_name": listed,
        "http_pages_not_decoded": pages,
        "kubectl_get_pods_table": table,
        "server_peak_rss_mb": round(peak / 2**20, 1),
        "server_peak_rss_source": "VmHWM" if hwm else "sampled",
        "kubectl_rate_limit_floor_seconds": throttle_floor(listed["server_list_latency"]["calls"]),
        "targets": {
            "all_running_seconds": TARGET_RUNNING_SECONDS,
            "kubectl_seconds": TARGET_LIST_SECONDS,
            "peak_rss_mb": TARGET_PEAK_RSS_MB,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    def verdict(value: float, target: float) -> str:
        return "ok" if value <= target else "OVER"

    print(
        f"large_cluster: {total:,} pods on {args.nodes:,} nodes, {result['cores']} cores, "
        f"kubectl {result['kubectl']}\n"
        f"  serving after:                       {result['sim_serving_seconds']:>8.1f} s\n"
        f"  every pod Running after:             {result['all_running_seconds']:>8.1f} s "
        f"(target {TARGET_RUNNING_SECONDS:.0f} s: "
        f"{verdict(result['all_running_seconds'], TARGET_RUNNING_SECONDS)}); "
        f"no work queued after {result['settled_seconds']:.1f} s, "
        f"{result['server_cpu_seconds_until_settled']:.0f} s server CPU\n"
        f"  slowest /readyz meanwhile:           {result['slowest_readyz_seconds']:>8.3f} s "
        f"({prober.count} probes); slowest stats poll {result['slowest_stats_seconds']:.3f} s\n"
        f"  kubectl get pods -A -o name:         {listed['wall_seconds']:>8.1f} s wall "
        f"(target {TARGET_LIST_SECONDS:.0f} s: {verdict(listed['wall_seconds'], TARGET_LIST_SECONDS)}), "
        f"{listed['kubectl_cpu_seconds']:.1f} s kubectl CPU, "
        f"{listed['server_cpu_seconds']:.1f} s server CPU\n"
        f"    kubectl's rate limit ({KUBECTL_QPS:.0f} requests/s after {KUBECTL_BURST}) alone: "
        f"{result['kubectl_rate_limit_floor_seconds']:.1f} s for its pages\n"
        f"    server latency of its {listed['server_list_latency']['calls']} LIST calls: "
        f"{listed['server_list_latency']['seconds_total']:.1f} s in all, each under "
        f"{listed['server_list_latency']['slowest_call_under_seconds']} s (SLO: 30 s per call)\n"
        f"  same pages over HTTPS, not decoded:  {pages['wall_seconds']:>8.1f} s "
        f"({pages['pages']} pages, {pages['bytes'] / 2**20:,.0f} MB)\n"
        f"  kubectl get pods -A (table):         {table['wall_seconds']:>8.1f} s wall, "
        f"{table['kubectl_cpu_seconds']:.1f} s kubectl CPU, {table['lines_printed'] - 1:,} rows\n"
        f"  server peak RSS:                     {result['server_peak_rss_mb']:>8,.0f} MB "
        f"({result['server_peak_rss_source']}; target {TARGET_PEAK_RSS_MB:,} MB: "
        f"{verdict(result['server_peak_rss_mb'], TARGET_PEAK_RSS_MB)})\n"
        f"  -> {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
