"""`overhaul backup --no-etcd` (the resource export) against the runbook's kubectl loop, side by side.

Starts `overhaul sim up --scenario large --nodes N --pods-per-node M` (default 5000 x 30: the
published scalability limits, 150,000 pods in about 175 namespaces), waits until its controllers have
created every pod, then runs, alternately:
- the loop upgrade runbooks give for "export every resource" (kubectl's own docs and countless
  scripts): `kubectl get <kinds> -o yaml` for the cluster-scoped kinds, then once per namespace for
  the namespaced kinds, each into its own file; the kinds are exactly those the export lists;
- `overhaul backup --no-etcd --out DIR -o json`: discovery, every served resource listed page by
  page, cleaned, written per namespace with checksums and the manifest.
Wall time, CPU time and peak RSS of each (the kernel's rusage of the process and its children).
Target of issue 6: the export at least 2x faster than the loop. Writes
benchmarks/results/backup_export.json.

    .venv/bin/python benchmarks/backup_export.py [--nodes 5000] [--pods-per-node 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from list_pods import Sim, kubectl_setup, kubectl_version
from measure import measure
from preflight import wait_for_pods

RESULTS = Path(__file__).parent / "results" / "backup_export.json"


def kubectl_name(resource_type: dict[str, Any]) -> str:
    """`deployments.apps`, `pods`: how kubectl names a resource the manifest lists."""
    group = str(resource_type["apiVersion"]).rpartition("/")[0]
    return f"{resource_type['plural']}.{group}" if group else str(resource_type["plural"])


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def loop_script(kubectl: str, kubeconfig: Path, out: Path, namespaced: list[str], cluster: list[str]) -> str:
    """The runbook's loop, as a bash script."""
    k = f"{shlex.quote(kubectl)} --kubeconfig {shlex.quote(str(kubeconfig))}"
    o = shlex.quote(str(out))
    return "\n".join(
        [
            "set -euo pipefail",
            f"mkdir -p {o}",
            f"{k} get {','.join(cluster)} -o yaml > {o}/cluster.yaml",
            f"for ns in $({k} get namespaces -o jsonpath='{{.items[*].metadata.name}}'); do",
            f'  {k} get {",".join(namespaced)} -n "$ns" -o yaml > {o}/"$ns".yaml',
            "done",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("backup_export: kubectl is not on PATH (make bench installs it)", file=sys.stderr)
        return 1
    expected = args.nodes * args.pods_per_node
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-backup-export-") as tmp:
        work = Path(tmp)
        print(
            f"backup_export: starting the sim with {args.nodes} nodes x {args.pods_per_node} pods ...",
            flush=True,
        )
        sim = Sim(
            work,
            "--scenario",
            "large",
            "--nodes",
            str(args.nodes),
            "--pods-per-node",
            str(args.pods_per_node),
            "--pod-start-seconds",
            "0",
            "--pod-ready-seconds",
            "0",
        )
        try:
            settle = wait_for_pods(sim, int(expected * 0.99))
            print(
                f"backup_export: {expected} pods in {sim.startup_seconds + settle:.0f}s; measuring ...",
                flush=True,
            )
            _, env = kubectl_setup(kubectl, sim, work / "kubecache")  # the loop script names kubectl itself
            ours = [
                sys.executable,
                "-m",
                "overhaul",
                "backup",
                "--kubeconfig",
                str(sim.kubeconfig),
                "--no-etcd",
            ]
            for i in range(args.rounds):
                out = work / f"ours-{i}"
                mine = measure([*ours, "--out", str(out), "-o", "json"], env)
                answer = json.loads(mine.pop("stdout"))
                manifest = answer["manifest"]["resources"]
                mine["objects_exported"] = manifest["objects"]
                mine["objects_left_to_controllers"] = sum(s["objects"] for s in manifest["skipped"])
                mine["bytes_written"] = folder_bytes(out)
                types = manifest["types"]
                namespaced = sorted(kubectl_name(t) for t in types if t["namespaced"])
                cluster = sorted(kubectl_name(t) for t in types if not t["namespaced"])
                loop_out = work / f"loop-{i}"
                script = loop_script(kubectl, sim.kubeconfig, loop_out, namespaced, cluster)
                theirs = measure(["bash", "-c", script], env)
                theirs.pop("stdout")
                theirs["bytes_written"] = folder_bytes(loop_out)
                theirs["kubectl_runs"] = len(list(loop_out.glob("*.yaml"))) + 1
                shutil.rmtree(out)
                shutil.rmtree(loop_out)
                rounds.append({"kubectl_loop": theirs, "overhaul_backup": mine})
                ratio = theirs["wall_seconds"] / mine["wall_seconds"]
                print(
                    f"backup_export: round {i + 1}: kubectl loop {theirs['wall_seconds']}s "
                    f"({theirs['kubectl_runs']} kubectl runs, {theirs['peak_rss_mb']} MB), "
                    f"overhaul backup {mine['wall_seconds']}s ({mine['objects_exported']} objects, "
                    f"{mine['peak_rss_mb']} MB): "
                    f"{ratio:.1f}x faster",
                    flush=True,
                )
        finally:
            sim.stop()
    best_loop = min(r["kubectl_loop"]["wall_seconds"] for r in rounds)
    best_ours = min(r["overhaul_backup"]["wall_seconds"] for r in rounds)
    result: dict[str, Any] = {
        "benchmark": "backup_export",
        "command": f"benchmarks/backup_export.py --nodes {args.nodes} --pods-per-node {args.pods_per_node} "
        f"--rounds {args.rounds}",
        "nodes": args.nodes,
        "pods": expected,
        "kubectl": kubectl_version(kubectl),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "kinds": {"namespaced": namespaced, "cluster": cluster},
        "rounds": rounds,
        "speedup_over_kubectl_loop": round(best_loop / best_ours, 2),
        "target": {"min_speedup": 2.0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"backup_export: overhaul backup {best_ours}s vs kubectl loop {best_loop}s: "
        f"{result['speedup_over_kubectl_loop']}x faster (target 2x); wrote {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
