"""`overhaul apply` end to end: subprocesses against the embedded cluster over real HTTPS.

Each cluster is the demo scenario (3 control-plane nodes and 9 workers at v1.34.2) with its clock
twenty times faster than the wall, and the two things preflight blocks on fixed first as an operator
would (the PodDisruptionBudget that can never allow a disruption, the pods without a controller).
The plan is written by `overhaul plan`, then applied with `overhaul apply --yes` as a user runs it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from overhaul.engine.journal import DirectoryJournalStore, read_journal
from overhaul.kube.client import ApiClient
from overhaul.kube.lease import LeaseLock
from overhaul.planning.planfile import load_plan
from tests.support.simproc import SimProcess, sim_command, start_cluster
from tests.support.waiting import eventually

TARGET = "v1.35.4"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/overhaul-upgrade"


def overhaul(sim: SimProcess, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sim_command(*args, "--kubeconfig", str(sim.kubeconfig)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_plan(sim: SimProcess, path: Path, *extra: str) -> Path:
    done = overhaul(
        sim, "plan", "--to", "1.35", "--provider", "sim", "--accept", "removed-api",
        "--max-unavailable", "3", "-o", str(path), *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def apply_popen(sim: SimProcess, plan: Path, state: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = sim_command("apply", str(plan), "--yes", "--state", str(state), "--kubeconfig", str(sim.kubeconfig))
    return subprocess.Popen([*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def nodes(client: ApiClient) -> list[dict[str, Any]]:
    return client.list_all("/api/v1/nodes")[0]


def upgrades_started(client: ApiClient) -> Counter[str]:
    events = client.list_all("/api/v1/events")[0]
    return Counter(
        e["involvedObject"]["name"]
        for e in events
        if e.get("reason") == "UpgradeStarted" and e["involvedObject"].get("kind") == "Node"
    )


def violations(sim: SimProcess) -> list[Any]:
    with sim.client() as http:
        found: list[Any] = http.get("/debug/overhaul/violations").json()["violations"]
    return found


def assert_all_upgraded_once(sim: SimProcess, client: ApiClient) -> None:
    for node in nodes(client):
        name = node["metadata"]["name"]
        assert node["status"]["nodeInfo"]["kubeletVersion"] == TARGET, name
        assert not node["spec"].get("unschedulable"), f"{name} is left cordoned"
    started = upgrades_started(client)
    assert len(started) == 12 and set(started.values()) == {1}, started
    assert violations(sim) == []


@pytest.fixture
def client(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


def test_apply_upgrades_every_node_then_a_second_apply_does_nothing(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    plan = write_plan(sim, tmp_path / "plan.yaml")
    dry = overhaul(sim, "apply", str(plan), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "kubectl drain worker-1 --ignore-daemonsets" in dry.stdout
    assert "upgrade.overhaul.io/kubelet-version" in dry.stdout
    assert "backup\t-\t# would take a backup: every API resource, into" in dry.stdout
    assert not (tmp_path / "plan.state").exists() and not (tmp_path / "backups").exists()
    assert upgrades_started(client) == Counter()

    done = overhaul(sim, "apply", str(plan), "--yes")  # default state: plan.state next to the plan
    assert done.returncode == 0, done.stderr
    assert "apply: every step is done" in done.stderr
    assert_all_upgraded_once(sim, client)
    state = tmp_path / "plan.state"
    with DirectoryJournalStore(state) as store:
        journal = read_journal(store)
    assert journal is not None and journal.finished is not None
    assert journal.finished.outcome == "succeeded"
    assert all(s.state.value == "done" for s in journal.steps.values()) and len(journal.steps) == 10
    backups = list((tmp_path / "backups").glob("overhaul-backup-*"))  # taken first, next to the state
    assert len(backups) == 1 and (backups[0] / "manifest.json").is_file()
    assert journal.steps["backup"].output.strip() == str(backups[0])
    assert next(iter(journal.steps)) == "backup"

    again = overhaul(sim, "apply", str(plan), "--yes")
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stderr
    with DirectoryJournalStore(state) as store:
        after = read_journal(store)
    assert after is not None and after.records == journal.records
    assert set(upgrades_started(client).values()) == {1}

    status = overhaul(sim, "status", "--state", str(state), "-o", "json")
    assert status.returncode == 0, status.stderr
    doc = orjson.loads(status.stdout)
    assert doc["outcome"] == "succeeded" and doc["done"] == doc["total"] == 9 and doc["remaining"] == 0
    assert doc["target"] == TARGET


def test_bad_plans_a_changed_cluster_and_a_held_lock_are_refused(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    plan = write_plan(sim, tmp_path / "plan.yaml")
    state = tmp_path / "state"
    text = plan.read_text()

    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace("soakSeconds: 0", "soakSeconds: 5", 1))
    done = overhaul(sim, "apply", str(edited), "--yes", "--state", str(state))
    assert done.returncode == 2, done.stderr
    assert "digest" in done.stderr and "Traceback" not in done.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text(text[: len(text) // 2] + "\n  : [\n")
    done = overhaul(sim, "apply", str(broken), "--yes", "--state", str(state))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr

    (tmp_path / "a-file").write_text("")
    unwritable = write_plan(sim, tmp_path / "unwritable.yaml", "--backup-dir", str(tmp_path / "a-file" / "b"))
    done = overhaul(sim, "apply", str(unwritable), "--yes", "--state", str(tmp_path / "state-b"))
    assert done.returncode == 1, done.stderr
    assert "apply failed at step backup: backup failed: cannot write the backup" in done.stderr
    assert upgrades_started(client) == Counter()
    assert not any(n["spec"].get("unschedulable") for n in nodes(client))

    holder = LeaseLock(client, "alice@laptop:4242/cafe0001")
    assert holder.try_acquire().acquired
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state))
    assert done.returncode == 1, done.stderr
    assert "held by alice@laptop:4242/cafe0001" in done.stderr
    holder.release()

    client.post(
        "/api/v1/nodes",
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-10", "labels": {}}},
    )
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state))
    assert done.returncode == 2, done.stderr
    assert "+ node worker-10" in done.stderr and "no longer matches" in done.stderr
    assert upgrades_started(client) == Counter()
    assert not any(n["spec"].get("unschedulable") for n in nodes(client))


def test_outside_every_window_apply_stops_and_the_cluster_journal_says_so(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    closed_day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(datetime.now(UTC).weekday() + 3) % 7]
    plan = write_plan(sim, tmp_path / "plan.yaml", "--window", f"{closed_day} 01:00-02:00 UTC")
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", "cluster", "--stop-outside-window")
    assert done.returncode == 1, done.stderr
    assert "outside every maintenance window" in done.stderr
    assert upgrades_started(client) == Counter()
    status = overhaul(sim, "status", str(plan), "--state", "cluster", "-o", "json")
    assert status.returncode == 0, status.stderr
    doc = orjson.loads(status.stdout)
    assert doc["outcome"] == "outside-window" and doc["done"] == 0 and doc["remaining"] == 9
    configmaps = client.list_all("/api/v1/namespaces/kube-system/configmaps")[0]
    assert any(c["metadata"]["name"].startswith("overhaul-journal-") for c in configmaps)


def journal_text(state: Path) -> str:
    return "".join(p.read_text() for p in sorted(state.glob("journal-*.jsonl")))


def started_or_ended(state: Path, proc: subprocess.Popen[str], starts: int) -> bool:
    return journal_text(state).count('"state":"started"') >= starts or proc.poll() is not None


KILLS = 20


def test_a_killed_apply_resumes_and_every_node_is_upgraded_exactly_once(tmp_path: Path) -> None:
    """SIGKILL at 20 random moments (seeded: a failure replays; OVERHAUL_KILL_SEED picks another
    sequence), each time on the run that resumed the last: before the backup, mid-backup, mid-drain,
    mid-upgrade, while waiting for Ready... The next run takes the dead run's lock over at once (its
    process on this host is gone) and carries on."""
    seed = int(os.environ.get("OVERHAUL_KILL_SEED", "20261128"))
    moments = random.Random(seed)
    sim = start_cluster(tmp_path / "sim", speed="10")
    try:
        plan = write_plan(sim, tmp_path / "plan.yaml")
        state = tmp_path / "state"
        kills = 0
        while kills < KILLS:
            runs = journal_text(state).count('"kind":"run"') if state.exists() else 0
            proc = apply_popen(sim, plan, state)
            try:  # a moment after the run began (recorded its `run`): it is at work by then
                eventually(partial(run_began, state, proc, runs), "the run to begin", timeout=60, every=0.02)
                finished = proc_wait(proc, moments.uniform(0.0, 0.8))
                if not finished:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
            finally:
                code = proc.wait(timeout=30)
                assert proc.stdout is not None and proc.stderr is not None
                err = proc.stderr.read()
                proc.stdout.close()
                proc.stderr.close()
            if finished:  # it ran to its end before its moment came: it must have succeeded
                assert code == 0, f"seed {seed}: {err}"
                break
            assert "took over" not in err or "its process on this host is gone" in err, err
        done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state))
        assert done.returncode == 0, f"seed {seed}: {done.stderr}"
        assert kills >= KILLS, f"seed {seed}: the apply finished after {kills} kills"
        assert "took over a stale upgrade lock" in done.stderr  # at once: no waiting out the Lease
        assert "(its process on this host is gone)" in done.stderr
        with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
            assert_all_upgraded_once(sim, client)
            assert not client.get(LEASE)["spec"].get("holderIdentity")
        with DirectoryJournalStore(state) as store:
            journal = read_journal(store)
        assert journal is not None and journal.in_flight() == () and journal.failed() == ()
        assert journal.finished is not None and journal.finished.outcome == "succeeded"
        assert len(journal.runs) >= KILLS + 1
        assert all(journal.is_finished(s.id) for s in load_plan(plan).steps)
        assert journal.steps["backup"].state.value == "done"
    finally:
        sim.stop()


def run_began(state: Path, proc: subprocess.Popen[str], runs: int) -> bool:
    return (state.exists() and journal_text(state).count('"kind":"run"') > runs) or proc.poll() is not None


def proc_wait(proc: subprocess.Popen[str], seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_pause_resume_and_abort_from_another_process(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    plan = write_plan(sim, tmp_path / "plan.yaml")
    state = tmp_path / "state"

    def status() -> dict[str, Any]:
        done = overhaul(sim, "status", "--state", str(state), "-o", "json")
        assert done.returncode == 0, done.stderr
        doc: dict[str, Any] = orjson.loads(done.stdout)
        return doc

    proc = apply_popen(sim, plan, state)
    try:
        eventually(lambda: '"state":"started"' in journal_text(state), "the first step", timeout=60)
        paused = overhaul(sim, "pause", "--state", str(state))
        assert paused.returncode == 0, paused.stderr

        # Paused once the step that was running has ended: pause stops after the current step.
        eventually(
            lambda: (lambda doc: doc["outcome"] == "paused" and not doc["current"])(status()),
            "the apply to pause after its current step",
            timeout=60,
            every=0.5,
        )
        steps_done = status()["done"]
        time.sleep(1.5)
        assert status()["done"] == steps_done and steps_done < 9  # it waits while paused
        second = overhaul(sim, "apply", str(plan), "--yes", "--state", str(tmp_path / "other"))
        assert second.returncode == 1, second.stderr  # a paused apply still holds the lock
        assert "the upgrade lock (Lease kube-system/overhaul-upgrade) is held by" in second.stderr
        assert overhaul(sim, "resume", "--state", str(state)).returncode == 0
        eventually(lambda: status()["done"] > steps_done, "a step after the resume", timeout=60, every=0.3)
        assert overhaul(sim, "abort", "--state", str(state)).returncode == 0
        code = proc.wait(timeout=120)
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert code == 1, err
        assert "apply aborted" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    doc = status()
    assert doc["outcome"] == "aborted" and doc["done"] < 9
    assert not any(n["spec"].get("unschedulable") for n in nodes(client))
    assert violations(sim) == []
    lease = client.get(LEASE)["spec"]
    assert not lease.get("holderIdentity")  # released
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state))
    assert done.returncode == 0, done.stderr
    assert_all_upgraded_once(sim, client)


def test_sigterm_stops_cleanly_and_the_next_apply_finishes(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    plan = write_plan(sim, tmp_path / "plan.yaml")
    state = tmp_path / "state"
    proc = apply_popen(sim, plan, state)
    try:
        eventually(partial(started_or_ended, state, proc, 4), "the first worker wave", timeout=120)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert code == 1, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    assert not client.get(LEASE)["spec"].get("holderIdentity")  # released
    with DirectoryJournalStore(state) as store:
        journal = read_journal(store)
    assert journal is not None and journal.in_flight() == ()
    assert journal.finished is not None and journal.finished.outcome == "interrupted"
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state))
    assert done.returncode == 0, done.stderr
    assert "took over" not in done.stderr
    assert_all_upgraded_once(sim, client)


def test_a_node_that_does_not_come_back_stops_the_apply_and_stays_cordoned(
    sim: SimProcess, client: ApiClient, tmp_path: Path
) -> None:
    plan = write_plan(sim, tmp_path / "plan.yaml")
    state = tmp_path / "state"
    client.patch(
        "/api/v1/nodes/worker-4", {"metadata": {"annotations": {"sim.overhaul.io/fail-upgrade": "true"}}}
    )
    done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(state), "--upgrade-timeout", "4s")
    assert done.returncode == 1, done.stderr
    assert "apply failed at step workers-v1.35.4/wave-01" in done.stderr
    assert "worker-4: upgrade failed" in done.stderr
    assert "kubectl uncordon worker-4" in done.stderr
    assert f"overhaul apply {plan} --state {state}" in done.stderr
    by_name = {n["metadata"]["name"]: n for n in nodes(client)}
    assert by_name["worker-4"]["spec"].get("unschedulable") is True  # broken: kept out of scheduling
    for name in ("worker-1", "worker-7"):  # the rest of its batch: upgraded and schedulable
        assert by_name[name]["status"]["nodeInfo"]["kubeletVersion"] == TARGET
        assert not by_name[name]["spec"].get("unschedulable")
    assert not any(n["spec"].get("unschedulable") for name, n in by_name.items() if name != "worker-4")
    assert by_name["worker-2"]["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.2"  # later waves untouched
    with DirectoryJournalStore(state) as store:
        journal = read_journal(store)
    assert journal is not None and journal.failed() == ("workers-v1.35.4/wave-01",)
    assert "worker-4" in journal.steps["workers-v1.35.4/wave-01"].reason
    assert journal.finished is not None and journal.finished.outcome == "failed"
    assert violations(sim) == []
