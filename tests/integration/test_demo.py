"""`overhaul demo` end to end, as a user runs it: a subprocess that starts the embedded cluster and
takes it through preflight, backup, plan, apply, validation and the record."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import orjson
import pytest

from overhaul.kube.client import ApiClient
from overhaul.kube.errors import Unreachable
from overhaul.planning.planfile import load_plan
from tests.support.simproc import sim_command

REPORT_SECTIONS = (
    "## Summary",
    "## Preflight",
    "## Backup",
    "## Steps",
    "## Nodes",
    "## What went wrong and how it was handled",
    "## Validation",
)


def assert_lifecycle_files(out: Path) -> None:
    for name in ("plan.yaml", "plan.md", "report.md", "kubeconfig", "sim.log"):
        assert (out / name).is_file(), name
    assert list((out / "plan.state").glob("journal-*.jsonl")), "no journal"
    backups = list((out / "backup").glob("overhaul-backup-*"))
    assert len(backups) == 1, backups
    manifest = orjson.loads((backups[0] / "manifest.json").read_bytes())
    assert manifest["complete"] is True and manifest["resources"]["objects"] > 0

    plan = load_plan(out / "plan.yaml")
    assert plan.spec.target.startswith("v1.36.")
    assert plan.path_summary.startswith("control plane 1.34.2 → 1.35.")
    assert len([s for s in plan.stages if s.kind.value == "control-plane"]) == 2

    report = (out / "report.md").read_text()
    positions = [report.index(section) for section in REPORT_SECTIONS]
    assert positions == sorted(positions)
    assert re.search(r"\*\*All 12 nodes are at v1\.36\.\d+\.\*\*", report), report[:500]
    assert "pdb-blocks-drain:payments/ledger` | blocking | fixed" in report
    assert "unmanaged-pod:default/debug-shell` | blocking | deleted" in report
    assert "removed-api:batch/legacy-reports` | blocking | accepted" in report
    assert "| Outcome | succeeded" in report and "| Validation | passed" in report
    assert "FAILED" not in report


def test_demo_runs_the_whole_lifecycle_and_stops_the_cluster(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        sim_command("demo", "--out", str(out)), capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    assert f"report:   {out / 'report.md'}" in done.stdout
    assert f"kubectl --kubeconfig {out / 'kubeconfig'} get nodes" in done.stdout
    assert "All 12 nodes are at v1.36." in done.stderr and "Every check passed" in done.stderr
    assert_lifecycle_files(out)
    with ApiClient.from_kubeconfig(out / "kubeconfig") as client, pytest.raises(Unreachable):
        client.get("/version")  # by default the embedded cluster is stopped at the end


def test_demo_keep_serves_the_upgraded_cluster_until_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "plan.state").mkdir(parents=True)
    (out / "plan.state" / "journal-000001.jsonl").write_text("a previous demo's journal\n")
    (out / ".overhaul-demo").write_text("")  # an earlier demo's folder: its files are replaced
    proc = subprocess.Popen(
        sim_command("demo", "--out", str(out), "--keep"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("look around"):
                break
        assert lines and lines[-1].startswith("look around"), "".join(lines)
        with ApiClient.from_kubeconfig(out / "kubeconfig") as client:
            nodes = client.list_all("/api/v1/nodes")[0]
        assert len(nodes) == 12
        assert {n["status"]["nodeInfo"]["kubeletVersion"][:6] for n in nodes} == {"v1.36."}
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-4000:]
    assert_lifecycle_files(out)


def test_demo_refuses_a_folder_holding_files_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("mine\n")
    done = subprocess.run(
        sim_command("demo", "--out", str(tmp_path)), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "not written by a demo" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "plan.yaml").read_text() == "mine\n"
