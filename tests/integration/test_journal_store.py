"""The journal kept in the cluster (`--state cluster`), against the embedded cluster over HTTPS.

The journal code is the engine's; the store writes ConfigMaps with resourceVersion preconditions.
A second ApiClient plays the other terminal (pause/resume/abort) or a second writer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from overhaul.engine.journal import (
    ControlAction,
    Journal,
    JournalError,
    JournalMismatch,
    RunMode,
    StepState,
    read_journal,
    request_control,
)
from overhaul.kube.client import ApiClient
from overhaul.kube.journal_store import ConfigMapJournalStore, JournalStoreConflict, journal_name
from tests.support.simproc import SimProcess

CONFIGMAPS = "/api/v1/namespaces/kube-system/configmaps"
HASH = "c" * 64


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-journal"), "--scenario", "empty") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


@pytest.fixture(scope="module")
def other(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


@pytest.fixture
def plan() -> str:
    return f"plan-{uuid.uuid4().hex[:8]}"


def open_journal(
    store: ConfigMapJournalStore, plan: str, run: str = "run1", plan_hash: str = HASH
) -> Journal:
    return Journal.open(store, plan_id=plan, plan_hash=plan_hash, run_id=run, by="alice@laptop:1")


def configmap(client: ApiClient, name: str) -> dict[str, Any]:
    return client.get(f"{CONFIGMAPS}/{name}")


def test_the_journal_lives_in_a_configmap_named_for_the_plan(
    client: ApiClient, other: ApiClient, plan: str
) -> None:
    journal = open_journal(ConfigMapJournalStore(client, plan), plan)
    journal.started("node/worker-1/upgrade", detail={"node": "worker-1"})
    journal.done("node/worker-1/upgrade", output="back at v1.35.0\n")
    journal.started("node/worker-2/upgrade")
    journal.failed("node/worker-2/upgrade", "timed out", output="state upgrading\n")

    cm = configmap(client, f"overhaul-journal-{plan}")
    assert cm["metadata"]["labels"]["upgrade.overhaul.io/journal"] == plan
    assert cm["data"]["control"] == ""
    assert cm["data"]["journal"].count("\n") == 6

    state = read_journal(ConfigMapJournalStore(other, plan))
    assert state is not None and state.plan_id == plan
    assert state.state_of("node/worker-1/upgrade") is StepState.DONE
    assert state.steps["node/worker-2/upgrade"].reason == "timed out"
    assert (
        state.first_unfinished(["node/worker-1/upgrade", "node/worker-2/upgrade"]) == "node/worker-2/upgrade"
    )
    assert ConfigMapJournalStore(client, plan).location == f"ConfigMap kube-system/overhaul-journal-{plan}"


def test_a_long_journal_continues_in_further_parts(client: ApiClient, other: ApiClient, plan: str) -> None:
    journal = open_journal(ConfigMapJournalStore(client, plan, part_bytes=700), plan)
    for i in range(12):
        journal.started(f"s{i}")
        journal.done(f"s{i}", output=f"output {i}")
    names = [f"overhaul-journal-{plan}", f"overhaul-journal-{plan}.2", f"overhaul-journal-{plan}.3"]
    for name in names:
        assert configmap(client, name)["data"]["journal"]
    state = read_journal(ConfigMapJournalStore(other, plan))
    assert state is not None and len(state.steps) == 12 and state.records == 26

    resumed = open_journal(ConfigMapJournalStore(other, plan, part_bytes=700), plan, "run2")
    resumed.started("s12")
    assert [r.run for r in resumed.state.runs] == ["run1", "run2"]


def test_a_torn_last_part_loads_and_is_repaired_by_the_next_write(client: ApiClient, plan: str) -> None:
    journal = open_journal(ConfigMapJournalStore(client, plan), plan)
    journal.started("s1")
    journal.done("s1")
    name = journal_name(plan)
    cm = configmap(client, name)
    good = cm["data"]["journal"]
    cm["data"]["journal"] = good + '{"at":"2026-05-01T12:00:00.000Z","kind":"st'
    client.put(f"{CONFIGMAPS}/{name}", cm)

    state = read_journal(ConfigMapJournalStore(client, plan))
    assert state is not None and state.torn_bytes > 0 and state.state_of("s1") is StepState.DONE
    resumed = open_journal(ConfigMapJournalStore(client, plan), plan, "run2")
    assert resumed.recovered_tail > 0
    resumed.started("s2")
    text = configmap(client, name)["data"]["journal"]
    assert text.startswith(good) and '"kind":"st\n' not in text and '"kind":"st{' not in text
    again = read_journal(ConfigMapJournalStore(client, plan))
    assert again is not None and again.torn_bytes == 0 and again.state_of("s2") is StepState.STARTED


def test_a_journal_of_another_plan_hash_is_refused(client: ApiClient, plan: str) -> None:
    open_journal(ConfigMapJournalStore(client, plan), plan)
    with pytest.raises(JournalMismatch):
        open_journal(ConfigMapJournalStore(client, plan), plan, plan_hash="d" * 64)


def test_control_requests_from_another_terminal_do_not_break_the_writer(
    client: ApiClient, other: ApiClient, plan: str
) -> None:
    journal = open_journal(ConfigMapJournalStore(client, plan), plan)
    journal.started("s1")
    terminal = ConfigMapJournalStore(other, plan)
    pause = request_control(terminal, ControlAction.PAUSE, by="bob@desk:9", reason="incident")
    # The writer's cached resourceVersion is now stale: its next write meets a conflict, sees that
    # only the control requests changed, and writes again on the fresh object.
    journal.done("s1")
    status = journal.control()
    assert status.mode is RunMode.PAUSED and status.pending == (pause,)
    journal.acknowledge(pause)
    request_control(terminal, ControlAction.ABORT, by="carol@ops:3")
    journal.started("s2")
    assert journal.control().mode is RunMode.ABORTING
    cm = configmap(client, journal_name(plan))
    assert cm["data"]["control"].count("\n") == 2
    state = read_journal(ConfigMapJournalStore(other, plan))
    assert state is not None and state.acknowledged == {pause.id: "pause"}
    assert state.state_of("s1") is StepState.DONE and state.state_of("s2") is StepState.STARTED


def test_a_second_writer_of_the_same_journal_is_refused(
    client: ApiClient, other: ApiClient, plan: str
) -> None:
    first = open_journal(ConfigMapJournalStore(client, plan), plan)
    second = open_journal(ConfigMapJournalStore(other, plan), plan, "run2")
    second.started("s1")
    with pytest.raises(JournalStoreConflict, match="changed by another process"):
        first.started("s1")


def test_control_needs_a_journal_and_plan_ids_must_name_a_configmap(client: ApiClient, plan: str) -> None:
    with pytest.raises(JournalError, match="holds no journal"):
        request_control(ConfigMapJournalStore(client, plan), ControlAction.PAUSE, by="x")
    for bad in ("Prod", "a.b", "-x", "x" * 64, ""):
        with pytest.raises(ValueError, match="cannot name a ConfigMap"):
            ConfigMapJournalStore(client, bad)
