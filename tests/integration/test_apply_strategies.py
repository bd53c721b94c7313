"""Surge and blue-green plans run by `overhaul apply` on the embedded cluster (demo scenario).

The sim provider creates each new node like an old one (POST of a Node the cluster adopts) at the
target version, and deletes the old ones once drained; no PodDisruptionBudget is ever left short.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from overhaul.engine.journal import DirectoryJournalStore, read_journal
from overhaul.kube.client import ApiClient
from tests.integration.test_apply import TARGET, nodes, overhaul, upgrades_started, violations
from tests.support.simproc import SimProcess

WORKERS = [f"worker-{i}" for i in range(1, 10)]


@pytest.mark.parametrize(
    ("strategy", "options"),
    [("surge", ("--max-surge", "3")), ("blue-green", ("--max-unavailable", "3"))],
)
def test_new_nodes_replace_the_old_workers(
    sim: SimProcess, tmp_path: Path, strategy: str, options: tuple[str, ...]
) -> None:
    plan = tmp_path / "plan.yaml"
    done = overhaul(
        sim, "plan", "--to", "1.35", "--provider", "sim", "--accept", "removed-api", "--no-backup",
        "--strategy", strategy, *options, "-o", str(plan),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
        before = {n["metadata"]["name"]: n for n in nodes(client)}
        dry = overhaul(sim, "apply", str(plan), "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert (
            "POST /api/v1/nodes worker-1-v1-35-4" in dry.stdout
            and "DELETE /api/v1/nodes/worker-1" in dry.stdout
        )
        assert {n["metadata"]["name"] for n in nodes(client)} == set(before)

        done = overhaul(sim, "apply", str(plan), "--yes", timeout=400)
        assert done.returncode == 0, done.stderr
        after = {n["metadata"]["name"]: n for n in nodes(client)}
        new = {f"{w}-v1-35-4" for w in WORKERS}
        assert set(after) == {"control-plane-1", "control-plane-2", "control-plane-3"} | new
        for name, node in after.items():
            assert node["status"]["nodeInfo"]["kubeletVersion"] == TARGET, name
            assert not node["spec"].get("unschedulable"), name
            assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
        for worker in WORKERS:  # like the old one: zone, labels, size
            old, replacement = before[worker], after[f"{worker}-v1-35-4"]
            zone = "topology.kubernetes.io/zone"
            assert replacement["metadata"]["labels"][zone] == old["metadata"]["labels"][zone]
            assert replacement["status"]["capacity"] == old["status"]["capacity"]
        # the control plane was upgraded in place, once each; no worker was upgraded in place
        assert upgrades_started(client) == Counter({f"control-plane-{i}": 1 for i in (1, 2, 3)})
        pods = client.list_all("/api/v1/pods")[0]
        assert not [
            p
            for p in pods
            if p["spec"].get("nodeName") in WORKERS
            and p["metadata"].get("ownerReferences", [{}])[0].get("kind") != "DaemonSet"
        ]
    assert violations(sim) == []
    with DirectoryJournalStore(tmp_path / "plan.state") as store:
        journal = read_journal(store)
    assert journal is not None and journal.finished is not None and journal.finished.outcome == "succeeded"
    assert "backup" not in journal.steps  # --no-backup
