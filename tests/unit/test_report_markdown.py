"""report.md from hand-built records: its sections, the headline, per-node times, what went wrong."""

from __future__ import annotations

from dataclasses import replace

from overhaul.domain.record import (
    Artifact,
    CheckResult,
    EventRecord,
    NodeInfo,
    Remedy,
    StepRecord,
    UpgradeRecord,
)
from overhaul.report.markdown import cell, clock, headline, node_rows, render_report, took, trouble

SECTIONS = (
    "# Upgrade record: ",
    "## Summary",
    "## Preflight",
    "## Backup",
    "## Steps",
    "## Nodes",
    "## What went wrong and how it was handled",
    "## Validation",
    "## Files",
)


def at(clock_time: str) -> str:
    return f"2026-11-28T{clock_time}.000Z"


def record() -> UpgradeRecord:
    return UpgradeRecord(
        plan="upgrade-1.34.2-to-1.36.0",
        server="https://127.0.0.1:6443",
        from_version="v1.34.2",
        to_version="v1.36.0",
        path_summary="control plane 1.34.2 → 1.35.4 → 1.36.0; 2 workers → 1.36.0",
        outcome="succeeded",
        outcome_message="every step is done",
        runs=1,
        started_at=at("10:00:00"),
        finished_at=at("10:03:30"),
        nodes=(
            NodeInfo("cp-1", "control-plane", "zone-a", "v1.34.2"),
            NodeInfo("worker-1", "worker", "zone-a", "v1.34.2"),
            NodeInfo("worker-2", "worker", "zone-b", "v1.34.2"),
        ),
        steps=(
            StepRecord(
                "control-plane-v1.35.4/cp-1", "upgrade-control-plane", "v1.35.4", ("cp-1",), "done", 1,
                at("10:00:00"), at("10:01:00"),
                output=("cp-1: drain drained: 0 evicted, 0 deleted, 7 skipped",),
            ),
            StepRecord(
                "control-plane-v1.36.0/cp-1", "upgrade-control-plane", "v1.36.0", ("cp-1",), "done", 1,
                at("10:01:00"), at("10:02:00"),
            ),
            StepRecord(
                "workers-v1.36.0/wave-01", "upgrade-nodes", "v1.36.0", ("worker-1", "worker-2"), "done", 1,
                at("10:02:00"), at("10:03:30"),
                output=("worker-1: drain drained: 3 evicted, 0 deleted, 3 skipped",),
            ),
        ),
        preflight_summary=(("blocking", 1), ("warning", 1), ("info", 0)),
        remedies=(
            Remedy(
                "pdb-blocks-drain:payments/ledger", "blocking", "fixed", "lowered minAvailable from 2 to 1"
            ),
            Remedy("single-replica:monitoring/grafana", "warning", "noted", "down while its pod moves"),
        ),
        backup="/out/backup/overhaul-backup-20261128T100000Z",
        backup_objects=83,
        validation=(CheckResult("kubelets", True, "all 3 nodes run kubelet 1.36.0"),),
        artifacts=(Artifact("the plan (for apply)", "/out/plan.yaml"),),
    )  # fmt: skip


def test_a_clean_upgrade_has_every_section_and_says_all_nodes_are_at_the_target() -> None:
    text = render_report(record())
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "**All 3 nodes are at v1.36.0.**" in text
    assert "| Took | 3m30s |" in text
    assert "passed (1 checks)" in text
    assert "83 objects" in text and "/out/backup/overhaul-backup-20261128T100000Z" in text
    assert (
        "| `pdb-blocks-drain:payments/ledger` | blocking | fixed | lowered minAvailable from 2 to 1 |" in text
    )
    assert "worker-1: drain drained: 3 evicted" in text
    assert "1 blocking finding: 1 fixed" in text
    assert "During the apply, nothing" in text
    assert "- the plan (for apply): `/out/plan.yaml`" in text


def test_each_node_gets_its_hops_with_times_from_the_journal() -> None:
    rows = {row.name: row for row in node_rows(record())}
    cp = rows["cp-1"]
    assert (cp.before, cp.after, cp.at_target) == ("v1.34.2", "v1.36.0", True)
    assert [h.version for h in cp.hops] == ["v1.35.4", "v1.36.0"]
    text = render_report(record())
    assert (
        "| cp-1 | control-plane | zone-a | v1.34.2 | v1.36.0 | v1.35.4 done: 10:00:00-10:01:00, 1m00s; "
        in text
    )
    assert (
        "| worker-2 | worker | zone-b | v1.34.2 | v1.36.0 | v1.36.0 done: 10:02:00-10:03:30, 1m30s |" in text
    )


def test_a_failed_and_resumed_upgrade_says_what_went_wrong_and_which_nodes_are_behind() -> None:
    base = record()
    failed = replace(
        base.steps[2],
        state="failed",
        attempts=2,
        reason="worker-2: upgrade failed: timed out waiting for node worker-2",
        output=(
            "worker-1: draining: shop/web-1 blocked by shop/web",
            "worker-2: upgrade failed, left cordoned: timed out",
        ),
    )
    broken = replace(
        base,
        outcome="failed",
        outcome_message="worker-2: upgrade failed",
        runs=2,
        steps=(*base.steps[:2], failed),
        events=(EventRecord(at("10:02:10"), "warning", "took over a stale upgrade lock from bob@host:1/ab"),),
        validation=(CheckResult("kubelets", False, "behind: worker-1 (v1.34.2), worker-2 (v1.34.2)"),),
    )
    assert headline(broken) == "1 of 3 nodes are at v1.36.0; not yet: worker-1, worker-2."
    lines = trouble(broken)
    assert "The apply ended failed: worker-2: upgrade failed." in lines
    assert any(line.startswith("The apply ran 2 times") for line in lines)
    assert (
        "Step workers-v1.36.0/wave-01 failed: worker-2: upgrade failed: timed out waiting for node worker-2"
        in lines
    )
    assert "Step workers-v1.36.0/wave-01: worker-1: draining: shop/web-1 blocked by shop/web" in lines
    assert "Warning at 10:02:10: took over a stale upgrade lock from bob@host:1/ab" in lines
    assert not any("During the apply, nothing" in line for line in lines)
    text = render_report(broken)
    assert "| Validation | FAILED |" in text
    assert "| kubelets | FAILED | behind: worker-1 (v1.34.2), worker-2 (v1.34.2) |" in text
    assert "v1.34.2 (not at v1.36.0)" in text


def test_a_record_without_an_apply_renders_too() -> None:
    empty = UpgradeRecord("p", "", "v1.34.2", "v1.36.0", "", outcome="")
    text = render_report(empty)
    assert "The record names no nodes." in text
    assert "No step was recorded." in text and "No validation was run." in text
    assert "No backup was taken." in text and "Nothing is recorded." in text
    assert "## Files" not in text


def test_cells_and_times() -> None:
    assert cell("a | b\nc") == "a \\| b c"
    assert clock("2026-11-28T10:02:03.456Z") == "10:02:03"
    assert clock("") == "" and clock("not a time") == ""
    assert took(at("10:00:00"), at("10:00:45")) == "45s"
    assert took("", at("10:00:45")) == ""
