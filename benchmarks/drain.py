"""`overhaul drain` against `kubectl drain` on the same embedded cluster, side by side in one run.

(a) one node with 110 pods (a Deployment filling a worker, plus its DaemonSet pods): wall time and
    API requests of `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data` and of
    `overhaul drain NODE` with the same flags. Target: no slower, at most half the requests.
(b) ten nodes with 30 pods each, every pod under a PodDisruptionBudget (ten Deployments of 30
    replicas, budgets of maxUnavailable 25%, minAvailable 75% or maxUnavailable 3), drained as
    users run it: `kubectl drain n1 ... n10` (node after node) against `overhaul drain n1 ... n10`
    (all at once). Target: at least 3x faster, with zero PDB violations.

The pods behave as typical services do: Ready one second after they start, and they take
`--stop-seconds` (default 3) to shut down after SIGTERM (the sim's `sim.overhaul.io/stop-seconds`),
well inside the default 30 s grace period. Each tool drains a fresh copy of the same workload
placed on the same number of nodes (the workload is recreated between runs, the runs alternate).
API requests are counted by the sim's `apiserver_request_total` per client (the user agent's
product: `kubectl` or `overhaul`); PDB violations by its invariant monitor. Writes
benchmarks/results/drain.json.

    .venv/bin/python benchmarks/drain.py [--rounds 2] [--stop-seconds 3] [--only a|b]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from list_pods import Sim, kubectl_version

RESULTS = Path(__file__).parent / "results" / "drain.json"
FLAGS = ["--ignore-daemonsets", "--delete-emptydir-data"]
JSON = dict[str, Any]


# ----- the cluster ----------------------------------------------------------------------------------


def requests_by_client(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics").text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "apiserver_request":
            continue
        for sample in family.samples:
            if sample.name == "apiserver_request_total":
                who = sample.labels.get("client", "")
                totals[who] = totals.get(who, 0.0) + sample.value
    return totals


def violations(client: httpx.Client) -> int:
    return len(client.get("/debug/overhaul/violations").json()["violations"])


def set_unschedulable(client: httpx.Client, node: str, value: bool) -> None:
    body = b'{"spec":{"unschedulable":true}}' if value else b'{"spec":{"unschedulable":null}}'
    response = client.patch(
        f"/api/v1/nodes/{node}", content=body, headers={"Content-Type": "application/merge-patch+json"}
    )
    response.raise_for_status()


def create(client: httpx.Client, path: str, obj: JSON) -> None:
    response = client.post(path, json=obj)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")


def wait(probe: Callable[[], bool], what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.25)
    raise RuntimeError(f"timed out waiting for {what}")


def ready_pods(client: httpx.Client, ns: str) -> int:
    items = client.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
    return sum(
        1
        for p in items
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
    )


def pods_on(client: httpx.Client, node: str) -> int:
    return len(client.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"}).json()["items"])


def deployment(ns: str, name: str, replicas: int, stop_seconds: float) -> JSON:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {"sim.overhaul.io/stop-seconds": str(stop_seconds)},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


def budget(ns: str, name: str, rule: JSON) -> JSON:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {**rule, "selector": {"matchLabels": {"app": name}}},
    }


def place(
    client: httpx.Client,
    ns: str,
    targets: Sequence[str],
    workers: Sequence[str],
    objects: Sequence[JSON],
    pods: int,
) -> None:
    """Creates `objects` in a fresh namespace while only `targets` take pods; waits until `pods`
    are Ready and every budget is settled; then makes every worker schedulable again."""
    for node in workers:
        set_unschedulable(client, node, node not in targets)
    create(client, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for obj in objects:
        plural = "deployments" if obj["kind"] == "Deployment" else "poddisruptionbudgets"
        group = "apps/v1" if obj["kind"] == "Deployment" else "policy/v1"
        create(client, f"/apis/{group}/namespaces/{ns}/{plural}", obj)
    wait(lambda: ready_pods(client, ns) >= pods, f"{pods} ready pods in {ns}")

    def settled() -> bool:
        items = client.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets").json()["items"]
        return all((b.get("status") or {}).get("expectedPods") == pods // max(1, len(items)) for b in items)

    if any(o["kind"] == "PodDisruptionBudget" for o in objects):
        wait(settled, f"the budgets of {ns}")
    for node in workers:
        set_unschedulable(client, node, False)


def remove(client: httpx.Client, ns: str) -> None:
    client.delete(f"/api/v1/namespaces/{ns}")
    wait(
        lambda: client.get(f"/api/v1/namespaces/{ns}").status_code == 404,
        f"namespace {ns} to go",
        timeout=300,
    )


# ----- the tools -------------------------------------------------------------------------------------


def run_tool(tool: str, kubectl: str, sim: Sim, nodes: Sequence[str], env: dict[str, str]) -> JSON:
    if tool == "kubectl":
        cmd = [kubectl, "--kubeconfig", str(sim.kubeconfig), "drain", *nodes, *FLAGS]
    else:
        cmd = [sys.executable, "-m", "overhaul", "drain", "--kubeconfig", str(sim.kubeconfig), *nodes, *FLAGS]
    with sim.client() as client:
        before_requests = requests_by_client(client)
        before_violations = violations(client)
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
        after_requests = requests_by_client(client)
        broken = violations(client) - before_violations
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} drain exited {proc.returncode}: {proc.stderr[-2000:]}")
    requests = after_requests.get(tool, 0.0) - before_requests.get(tool, 0.0)
    return {"wall_seconds": round(wall, 2), "requests": int(requests), "pdb_violations": broken}


def scenario_a(kubectl: str, rounds: int, stop_seconds: float, env: dict[str, str], workdir: Path) -> JSON:
    workers = ["worker-1", "worker-2", "worker-3"]
    (workdir / "a").mkdir()
    sim = Sim(workdir / "a", "--scenario", "empty", "--nodes", "3")
    runs: dict[str, list[JSON]] = {"kubectl": [], "overhaul": []}
    try:
        with sim.client() as client:
            base = pods_on(client, "worker-1")  # the DaemonSet pods every worker runs
            replicas = 110 - base
            turn = 0
            for _ in range(rounds):
                for tool in ("kubectl", "overhaul"):
                    node = workers[turn % len(workers)]
                    turn += 1
                    ns = f"bench-a-{turn}"
                    place(
                        client,
                        ns,
                        [node],
                        workers,
                        [deployment(ns, "filler", replicas, stop_seconds)],
                        replicas,
                    )
                    assert pods_on(client, node) == 110, "the node runs 110 pods"
                    result = run_tool(tool, kubectl, sim, [node], env)
                    result["pods_on_node"] = 110
                    runs[tool].append(result)
                    print(f"  (a) {tool}: {result}", flush=True)
                    remove(client, ns)
                    set_unschedulable(client, node, False)
    finally:
        sim.stop()
    return summarize(runs)


PDB_RULES: list[JSON] = [{"maxUnavailable": "25%"}, {"minAvailable": "75%"}, {"maxUnavailable": 3}]


def scenario_b(kubectl: str, rounds: int, stop_seconds: float, env: dict[str, str], workdir: Path) -> JSON:
    workers = [f"worker-{i}" for i in range(1, 21)]
    halves = [workers[:10], workers[10:]]
    (workdir / "b").mkdir()
    sim = Sim(workdir / "b", "--scenario", "empty", "--nodes", "20")
    runs: dict[str, list[JSON]] = {"kubectl": [], "overhaul": []}
    try:
        with sim.client() as client:
            turn = 0
            for _ in range(rounds):
                for tool in ("kubectl", "overhaul"):
                    targets = halves[turn % 2]
                    turn += 1
                    ns = f"bench-b-{turn}"
                    objects: list[JSON] = []
                    for i in range(10):
                        objects.append(deployment(ns, f"svc-{i}", 30, stop_seconds))
                        objects.append(budget(ns, f"svc-{i}", PDB_RULES[i % len(PDB_RULES)]))
                    place(client, ns, targets, workers, objects, 300)
                    per_node = [pods_on(client, n) for n in targets]
                    result = run_tool(tool, kubectl, sim, targets, env)
                    result["pods_per_node"] = per_node
                    runs[tool].append(result)
                    print(f"  (b) {tool}: {result}", flush=True)
                    remove(client, ns)
                    for node in targets:
                        set_unschedulable(client, node, False)
    finally:
        sim.stop()
    return summarize(runs)


def summarize(runs: dict[str, list[JSON]]) -> JSON:
    k, o = runs["kubectl"], runs["overhaul"]
    k_wall = round(median(r["wall_seconds"] for r in k), 2)
    o_wall = round(median(r["wall_seconds"] for r in o), 2)
    k_req, o_req = round(median(r["requests"] for r in k)), round(median(r["requests"] for r in o))
    return {
        "runs": runs,
        "kubectl_wall_seconds": k_wall,
        "overhaul_wall_seconds": o_wall,
        "speedup": round(k_wall / o_wall, 2) if o_wall else None,
        "kubectl_requests": k_req,
        "overhaul_requests": o_req,
        "request_ratio": round(o_req / k_req, 3) if k_req else None,
        "pdb_violations": {
            "kubectl": sum(r["pdb_violations"] for r in k),
            "overhaul": sum(r["pdb_violations"] for r in o),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stop-seconds", type=float, default=3.0)
    parser.add_argument("--only", choices=["a", "b"])
    args = parser.parse_args()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("drain: kubectl is not on PATH (make bench installs it)", file=sys.stderr)
        return 1
    results: JSON = {
        "benchmark": "drain",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "kubectl": kubectl_version(kubectl),
        "stop_seconds": args.stop_seconds,
        "rounds": args.rounds,
    }
    with tempfile.TemporaryDirectory(prefix="overhaul-drain-bench-") as tmp:
        workdir = Path(tmp)
        env = dict(os.environ)
        env["KUBECACHEDIR"] = str(workdir / "kube-cache")  # warm after the first run, as a user's is
        env.pop("KUBECONFIG", None)
        if args.only in (None, "a"):
            results["a_one_node_110_pods"] = a = scenario_a(
                kubectl, args.rounds, args.stop_seconds, env, workdir
            )
            print(
                f"(a) one node, 110 pods: kubectl {a['kubectl_wall_seconds']}s / "
                f"{a['kubectl_requests']} requests, "
                f"overhaul {a['overhaul_wall_seconds']}s / {a['overhaul_requests']} requests: "
                f"{a['speedup']}x faster, {a['request_ratio']} of the requests"
            )
        if args.only in (None, "b"):
            results["b_ten_nodes_30_pods_pdbs"] = b = scenario_b(
                kubectl, args.rounds, args.stop_seconds, env, workdir
            )
            print(
                f"(b) ten nodes x 30 pods with PDBs: kubectl {b['kubectl_wall_seconds']}s, "
                f"overhaul {b['overhaul_wall_seconds']}s: {b['speedup']}x faster; "
                f"PDB violations {b['pdb_violations']}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
