"""`overhaul preflight --to <next minor> -o json` against kubectl fetching the same data, side by side.

Starts `overhaul sim up --scenario large --nodes N --pods-per-node M` (default 5000 x 30: the
published scalability limits, 150,000 pods, Deployments and StatefulSets with PDBs), waits until
its controllers have created every pod, then runs, alternately, `kubectl get
nodes,pods,deployments,statefulsets,daemonsets,pdb -A -o json` (just fetching what preflight
reads) and `overhaul preflight --to 1.35 -o json` (fetching it, converting it to the ClusterView,
scanning API usage and Helm releases, running every check). Wall time and peak RSS of each
process (the kernel's ru_maxrss). Target of issue 4: preflight at most 1.5x kubectl's wall time,
under 2 GB peak RSS. Writes benchmarks/results/preflight.json.

    .venv/bin/python benchmarks/preflight.py [--nodes 5000] [--pods-per-node 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from list_pods import Sim, kubectl_setup, kubectl_version
from measure import measure as measure_process

RESULTS = Path(__file__).parent / "results" / "preflight.json"
KUBECTL_KINDS = "nodes,pods,deployments,statefulsets,daemonsets,pdb"


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """`cmd` measured; preflight exits 3 when it finds blocking findings, which is no failure here."""
    figures = measure_process(cmd, env, ok_codes=(0, 3))
    figures["stdout_bytes"] = len(figures.pop("stdout").encode())
    return figures


def wait_for_pods(sim: Sim, expected: int, timeout: float = 1800) -> float:
    """Waits until the controllers have created `expected` pods; returns the seconds it took."""
    started = time.perf_counter()
    with sim.client() as client:
        while time.perf_counter() - started < timeout:
            body = client.get("/api/v1/pods", params={"limit": "1"}).json()
            remaining = int(body["metadata"].get("remainingItemCount") or 0) + len(body.get("items") or [])
            if remaining >= expected:
                return time.perf_counter() - started
            time.sleep(2)
    raise RuntimeError(f"fewer than {expected} pods after {timeout}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("preflight: kubectl is not on PATH (make bench installs it)", file=sys.stderr)
        return 1
    expected = args.nodes * args.pods_per_node
    with tempfile.TemporaryDirectory(prefix="bench-preflight-") as tmp:
        work = Path(tmp)
        print(
            f"preflight: starting the sim with {args.nodes} nodes x {args.pods_per_node} pods ...", flush=True
        )
        sim = Sim(
            work,
            "--scenario",
            "large",
            "--nodes",
            str(args.nodes),
            "--pods-per-node",
            str(args.pods_per_node),
        )
        try:
            settle = wait_for_pods(sim, int(expected * 0.99))
            print(
                f"preflight: {expected} pods in {sim.startup_seconds + settle:.0f}s; measuring ...",
                flush=True,
            )
            kube, env = kubectl_setup(kubectl, sim, work / "kubecache")
            ours = [sys.executable, "-m", "overhaul", "preflight", "--kubeconfig", str(sim.kubeconfig)]
            ours += ["--to", "1.35", "-o", "json"]
            rounds = []
            for i in range(args.rounds):
                theirs = measure([*kube, "get", KUBECTL_KINDS, "-A", "-o", "json"], env)
                mine = measure(ours, env)
                rounds.append({"kubectl": theirs, "preflight": mine})
                ratio = mine["wall_seconds"] / theirs["wall_seconds"]
                print(
                    f"preflight: round {i + 1}: kubectl {theirs['wall_seconds']}s "
                    f"({theirs['peak_rss_mb']} MB), preflight {mine['wall_seconds']}s "
                    f"({mine['peak_rss_mb']} MB): {ratio:.2f}x",
                    flush=True,
                )
        finally:
            sim.stop()
    best_kubectl = min(r["kubectl"]["wall_seconds"] for r in rounds)
    best_preflight = min(r["preflight"]["wall_seconds"] for r in rounds)
    peak = max(r["preflight"]["peak_rss_mb"] for r in rounds)
    result: dict[str, Any] = {
        "benchmark": "preflight",
        "nodes": args.nodes,
        "pods": expected,
        "kubectl": kubectl_version(kubectl),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "rounds": rounds,
        "ratio_preflight_to_kubectl_wall": round(best_preflight / best_kubectl, 2),
        "preflight_peak_rss_mb": peak,
        "target": {"max_ratio": 1.5, "max_peak_rss_mb": 2048},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"preflight: {result['ratio_preflight_to_kubectl_wall']}x kubectl's wall time, "
        f"peak RSS {peak} MB; wrote {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
