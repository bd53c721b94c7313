"""The apply journal: records, states, torn tails, plan mismatch, control requests, the folder store.

The folder store is the real one, on a temporary directory. The properties drive the journal
through its API, then cut the bytes it wrote anywhere and add a torn tail: loading must give exactly
the complete records before the cut, and the next write must carry on from there.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overhaul.engine.journal import (
    ControlAction,
    DirectoryJournalStore,
    Journal,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalMismatch,
    RunMode,
    StepState,
    decode_records,
    encode_record,
    read_control,
    read_journal,
    replay,
    request_control,
)
from overhaul.engine.ports import JournalStore

PLAN = "prod-1-35"
HASH = "a" * 64


class Clock:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class MemoryStore:
    """A journal store in memory (the port's contract, for the properties on bytes)."""

    def __init__(self, data: bytes = b"", control: bytes = b"") -> None:
        self.data = data
        self.control = control

    @property
    def location(self) -> str:
        return "memory"

    def load(self) -> bytes:
        return self.data

    def append(self, records: bytes, *, keep: int) -> None:
        assert keep <= len(self.data)
        self.data = self.data[:keep] + records

    def load_control(self) -> bytes:
        return self.control

    def append_control(self, record: bytes) -> None:
        self.control += record

    def close(self) -> None:
        pass


def open_journal(store: JournalStore, run: str = "run1", plan_hash: str = HASH) -> Journal:
    return Journal.open(
        store,
        plan_id=PLAN,
        plan_hash=plan_hash,
        run_id=run,
        by="alice@laptop:1",
        clock=Clock(),
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def writer(state_dir: Path) -> Iterator[DirectoryJournalStore]:
    store = DirectoryJournalStore(state_dir, writer=True)
    yield store
    store.close()


# ----------------------------------------------------------------------------------- the basics


def test_steps_are_recorded_before_and_after_and_read_back(
    writer: DirectoryJournalStore, state_dir: Path
) -> None:
    journal = open_journal(writer)
    journal.started("cp/control-plane-1/upgrade", detail={"node": "control-plane-1"})
    journal.done("cp/control-plane-1/upgrade", output="upgraded\n")
    journal.started("node/worker-1/drain")
    journal.failed("node/worker-1/drain", "PDB web blocks eviction", output="evicting web-1\n")
    journal.started("node/worker-1/drain")
    journal.started("node/worker-2/drain")
    journal.skipped("node/worker-3/drain", "already at v1.35.0")

    state = read_journal(DirectoryJournalStore(state_dir))
    assert state is not None
    assert (state.plan_id, state.plan_hash, state.created_by) == (PLAN, HASH, "alice@laptop:1")
    assert state.state_of("cp/control-plane-1/upgrade") is StepState.DONE
    assert state.steps["cp/control-plane-1/upgrade"].output == "upgraded\n"
    assert state.steps["cp/control-plane-1/upgrade"].detail == {"node": "control-plane-1"}
    drain = state.steps["node/worker-1/drain"]
    assert (drain.state, drain.attempts, drain.reason) == (StepState.STARTED, 2, "")
    assert state.in_flight() == ("node/worker-1/drain", "node/worker-2/drain")
    assert state.state_of("node/worker-3/drain") is StepState.SKIPPED
    assert state.state_of("never") is None
    order = ["cp/control-plane-1/upgrade", "node/worker-3/drain", "node/worker-1/drain", "node/worker-4/x"]
    assert state.first_unfinished(order) == "node/worker-1/drain"
    assert state.first_unfinished(order[:2]) is None
    assert state.first_unfinished_recorded() == "node/worker-1/drain"
    assert [r.run for r in state.runs] == ["run1"]
    assert state.records == 2 + 7


def test_failed_step_keeps_reason_and_output(writer: DirectoryJournalStore) -> None:
    journal = open_journal(writer)
    journal.started("s1")
    status = journal.failed("s1", "exit status 2", output="E: boom\n")
    assert (status.state, status.reason, status.output) == (StepState.FAILED, "exit status 2", "E: boom\n")
    assert journal.state.failed() == ("s1",)
    assert status.ended_at > status.started_at


def test_a_step_ends_only_after_it_started(writer: DirectoryJournalStore) -> None:
    journal = open_journal(writer)
    with pytest.raises(JournalError, match="not running"):
        journal.done("s1")
    journal.started("s1")
    with pytest.raises(JournalError, match="is running"):
        journal.skipped("s1", "no need")
    journal.done("s1")
    with pytest.raises(JournalError, match="last state: done"):
        journal.failed("s1", "late")
    with pytest.raises(ValueError):
        journal.started("")


def test_long_output_keeps_its_tail(writer: DirectoryJournalStore) -> None:
    journal = Journal.open(writer, plan_id=PLAN, plan_hash=HASH, run_id="r", by="b", max_output=100)
    journal.started("s")
    output = "".join(f"line {i}\n" for i in range(1000))
    kept = journal.done("s", output=output).output
    assert kept.startswith("[... ") and kept.endswith("line 999\n")
    assert len(kept.split("\n", 1)[1].encode()) <= 100


def test_reopening_resumes_with_a_new_run(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        first = open_journal(store, "run1")
        first.started("s1")
        first.done("s1")
        first.started("s2")  # then the process dies
    with DirectoryJournalStore(state_dir, writer=True) as store:
        second = open_journal(store, "run2")
        state = second.state
        assert [r.run for r in state.runs] == ["run1", "run2"]
        assert state.in_flight() == ("s2",)
        assert state.first_unfinished(["s1", "s2", "s3"]) == "s2"
        second.started("s2")
        assert second.status_of("s2") is not None
        assert second.state.steps["s2"].attempts == 2
        assert second.state.steps["s2"].run == "run2"


def test_a_journal_of_another_plan_is_refused_and_left_alone(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        open_journal(store).started("s1")
    before = (state_dir / "journal-000001.jsonl").read_bytes()
    with DirectoryJournalStore(state_dir, writer=True) as store, pytest.raises(JournalMismatch) as err:
        open_journal(store, plan_hash="b" * 64)
    assert (
        "prod-1-35" in str(err.value)
        and "aaaaaaaaaaaa" in str(err.value)
        and "bbbbbbbbbbbb" in str(err.value)
    )
    assert (state_dir / "journal-000001.jsonl").read_bytes() == before


def test_finish_and_events_are_kept(writer: DirectoryJournalStore) -> None:
    journal = open_journal(writer)
    journal.event("took over a stale lock from bob@ci:7/x", level="warning")
    journal.finish("failed", "node/worker-1/drain failed")
    state = journal.state
    assert state.events[0].level == "warning" and state.events[0].run == "run1"
    assert state.finished is not None and state.finished.outcome == "failed"
    with pytest.raises(ValueError):
        journal.event("x", level="loud")


def test_parallel_steps_record_through_one_journal(writer: DirectoryJournalStore, state_dir: Path) -> None:
    journal = open_journal(writer)

    def work(worker: int) -> None:
        for i in range(25):
            journal.started(f"w{worker}/s{i}")
            journal.done(f"w{worker}/s{i}", output=f"{worker}:{i}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = read_journal(DirectoryJournalStore(state_dir))
    assert state is not None
    assert len(state.steps) == 150 and all(s.state is StepState.DONE for s in state.steps.values())
    assert state.records == 2 + 300


# ------------------------------------------------------------------------------ damage and tails


def test_a_torn_tail_loads_up_to_the_last_complete_record_and_is_dropped_by_the_next_write(
    state_dir: Path,
) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        journal = open_journal(store)
        journal.started("s1")
        journal.done("s1")
    segment = state_dir / "journal-000001.jsonl"
    good = segment.read_bytes()
    torn = encode_record({"kind": "step", "step": "s2", "state": "started", "seq": 5, "at": "x"})[:25]
    segment.write_bytes(good + torn)

    state = read_journal(DirectoryJournalStore(state_dir))
    assert state is not None and state.torn_bytes == 25 and state.state_of("s1") is StepState.DONE
    with DirectoryJournalStore(state_dir, writer=True) as store:
        journal = open_journal(store, "run2")
        assert journal.recovered_tail == 25
        journal.started("s2")
    data = segment.read_bytes()
    assert data.startswith(good) and torn not in data
    decoded = decode_records(data)
    assert decoded.torn_bytes == 0 and len(decoded.records) == 6


def test_a_complete_but_damaged_last_record_is_a_torn_tail(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        open_journal(store).started("s1")
    segment = state_dir / "journal-000001.jsonl"
    data = segment.read_bytes()
    segment.write_bytes(data[:-10] + b"XXXXXXXXX\n")  # same length, bad checksum or JSON
    state = read_journal(DirectoryJournalStore(state_dir))
    assert state is not None and state.steps == {} and state.torn_bytes > 0


def test_damage_before_the_last_record_is_refused(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        journal = open_journal(store)
        journal.started("s1")
        journal.done("s1")
    segment = state_dir / "journal-000001.jsonl"
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"started"', b'"done"')
    segment.write_bytes(b"".join(lines))
    with pytest.raises(JournalCorrupt, match="record 3"):
        read_journal(DirectoryJournalStore(state_dir))


def test_records_out_of_sequence_are_damage() -> None:
    a = encode_record({"kind": "begin", "plan": PLAN, "hash": HASH, "seq": 1, "at": "t"})
    b = encode_record({"kind": "run", "run": "r", "seq": 3, "at": "t"})
    c = encode_record({"kind": "run", "run": "r", "seq": 4, "at": "t"})
    assert decode_records(a + b).records == decode_records(a).records
    with pytest.raises(JournalCorrupt, match="sequence number 3"):
        decode_records(a + b + c)


def test_a_journal_must_start_with_its_header() -> None:
    store = MemoryStore(encode_record({"kind": "run", "run": "r", "seq": 1, "at": "t"}))
    with pytest.raises(JournalCorrupt, match="header"):
        read_journal(store)


# ------------------------------------------------------------------------------ the folder store


def test_every_write_is_a_fsynced_rename_and_leaves_no_temporary(
    writer: DirectoryJournalStore, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    journal = open_journal(writer)
    journal.started("s1")
    assert synced == ["file", "dir"] * 2
    assert sorted(p.name for p in state_dir.iterdir()) == [".writer.lock", "journal-000001.jsonl"]
    assert stat.S_IMODE((state_dir / "journal-000001.jsonl").stat().st_mode) == 0o600


def test_segments_roll_over_and_load_in_order(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True, segment_bytes=400) as store:
        journal = open_journal(store)
        for i in range(20):
            journal.started(f"s{i}")
            journal.done(f"s{i}")
    segments = sorted(p.name for p in state_dir.glob("journal-*.jsonl"))
    assert len(segments) > 3
    state = read_journal(DirectoryJournalStore(state_dir))
    assert state is not None and len(state.steps) == 20 and state.records == 42
    (state_dir / segments[1]).unlink()
    with pytest.raises(JournalCorrupt, match="missing"):
        read_journal(DirectoryJournalStore(state_dir))


def test_a_second_writer_is_refused(writer: DirectoryJournalStore, state_dir: Path) -> None:
    with pytest.raises(JournalBusy, match=f"pid {os.getpid()}"):
        DirectoryJournalStore(state_dir, writer=True)
    writer.close()
    DirectoryJournalStore(state_dir, writer=True).close()


def test_a_reader_cannot_write(state_dir: Path) -> None:
    with pytest.raises(JournalError, match="reading only"):
        open_journal(DirectoryJournalStore(state_dir))


def test_no_journal_reads_as_none(tmp_path: Path) -> None:
    assert read_journal(DirectoryJournalStore(tmp_path / "nothing")) is None


# ------------------------------------------------------------------------------ control requests


def test_pause_resume_abort_from_another_process(writer: DirectoryJournalStore, state_dir: Path) -> None:
    journal = open_journal(writer)
    other = DirectoryJournalStore(state_dir)  # another terminal: a reader that only asks
    assert journal.control().mode is RunMode.RUNNING

    pause = request_control(other, ControlAction.PAUSE, by="bob@desk:9", reason="lunch")
    status = journal.control()
    assert status.mode is RunMode.PAUSED and status.pending == (pause,)
    journal.acknowledge(pause)
    assert journal.control() == type(status)(RunMode.PAUSED, ())
    assert journal.state.acknowledged == {pause.id: "pause"}

    resume = request_control(other, ControlAction.RESUME, by="bob@desk:9")
    assert journal.control().mode is RunMode.RUNNING and journal.control().pending == (resume,)
    journal.acknowledge(resume)

    abort = request_control(other, ControlAction.ABORT, by="carol@ops:3")
    request_control(other, ControlAction.RESUME, by="bob@desk:9")
    status = journal.control()
    assert status.mode is RunMode.ABORTING  # an abort is not undone by a later resume
    assert status.pending[0] == abort
    assert [r.action for r in read_control(other)] == ["pause", "resume", "abort", "resume"]


def test_a_new_run_is_not_held_by_requests_made_before_it(state_dir: Path) -> None:
    with DirectoryJournalStore(state_dir, writer=True) as store:
        open_journal(store, "run1")
        request_control(DirectoryJournalStore(state_dir), ControlAction.ABORT, by="x")
    with DirectoryJournalStore(state_dir, writer=True) as store:
        journal = open_journal(store, "run2")
        assert journal.control().mode is RunMode.RUNNING and journal.control().pending == ()
        request_control(DirectoryJournalStore(state_dir), ControlAction.PAUSE, by="x")
        assert journal.control().mode is RunMode.PAUSED


def test_control_needs_a_journal(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(JournalError, match="holds no journal"):
        request_control(DirectoryJournalStore(tmp_path / "empty"), ControlAction.PAUSE, by="x")


def test_damaged_control_requests_are_skipped(writer: DirectoryJournalStore, state_dir: Path) -> None:
    journal = open_journal(writer)
    other = DirectoryJournalStore(state_dir)
    request_control(other, ControlAction.PAUSE, by="x")
    with (state_dir / "control.jsonl").open("ab") as f:
        f.write(b'{"garbage": tr')  # a torn request
    assert journal.control().mode is RunMode.PAUSED
    request_control(other, ControlAction.RESUME, by="x")  # drops the torn line
    assert [r.action for r in read_control(other)] == ["pause", "resume"]
    assert b"garbage" not in (state_dir / "control.jsonl").read_bytes()


def test_concurrent_control_requests_are_all_kept(writer: DirectoryJournalStore, state_dir: Path) -> None:
    open_journal(writer)

    def ask() -> None:
        for _ in range(10):
            request_control(DirectoryJournalStore(state_dir), ControlAction.PAUSE, by="x")

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_control(DirectoryJournalStore(state_dir))) == 40


# ------------------------------------------------------------------------------------ properties

step_ids = st.sampled_from([f"node/worker-{i}/{a}" for i in range(4) for a in ("drain", "upgrade")])
operations = st.lists(
    st.tuples(st.sampled_from(["run", "fail", "skip", "event", "crash"]), step_ids), max_size=25
)
torn_tails = st.one_of(
    st.just(b""),
    st.binary(max_size=60).filter(lambda b: b"\n" not in b),
    st.binary(max_size=60).filter(lambda b: b"\n" not in b).map(lambda b: b + b"\n"),
)


def drive(journal: Journal, ops: list[tuple[str, str]]) -> None:
    """Applies operations the way an engine would (a step ends only after it started)."""
    for op, step in ops:
        running = journal.state_of(step) is StepState.STARTED
        if op == "run":
            if not running:
                journal.started(step, detail={"op": op})
            journal.done(step, output=f"did {step}")
        elif op == "fail":
            if not running:
                journal.started(step)
            journal.failed(step, "boom", output="E: boom")
        elif op == "skip" and not running:
            journal.skipped(step, "not needed")
        elif op == "event":
            journal.event(f"note about {step}")
        elif op == "crash" and not running:
            journal.started(step)


def complete_records(original: bytes, damaged: bytes) -> int:
    """How many records of `original` a damaged copy (a prefix of it plus a torn tail) still holds
    complete: those before the cut, and the next one if the torn part happens to restore it."""
    lines = original.splitlines(keepends=True)
    count = 0
    offset = 0
    for line in lines:
        if damaged[offset : offset + len(line)] != line:
            break
        count += 1
        offset += len(line)
    return count


def written(ops: list[tuple[str, str]]) -> bytes:
    store = MemoryStore()
    drive(open_journal(store), ops)
    return store.data


@settings(max_examples=300, deadline=None)
@given(ops=operations, cut=st.floats(min_value=0, max_value=1), tail=torn_tails)
def test_any_prefix_with_a_torn_tail_loads_its_complete_records(
    ops: list[tuple[str, str]], cut: float, tail: bytes
) -> None:
    data = written(ops)
    lines = data.splitlines(keepends=True)
    damaged = data[: int(len(data) * cut)] + tail
    decoded = decode_records(damaged)
    expected = complete_records(data, damaged)
    assert len(decoded.records) == expected
    assert decoded.valid_length == len(b"".join(lines[:expected]))
    assert decoded.valid_length + decoded.torn_bytes == len(damaged)
    assert replay(decoded.records) == replay(decode_records(b"".join(lines[:expected])).records)

    if expected == 0:
        return
    # The next writer drops the torn tail and carries on from the last complete record.
    store = MemoryStore(damaged)
    journal = open_journal(store, "run2")
    journal.started("after/crash")
    again = decode_records(store.data)
    assert again.torn_bytes == 0
    assert again.records[:expected] == decoded.records
    assert [r["seq"] for r in again.records] == list(range(1, expected + 3))
    assert journal.state.state_of("after/crash") is StepState.STARTED


def folder_case(check: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check(Path(tmp) / "state")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, cut=st.integers(min_value=0, max_value=400), tail=torn_tails)
def test_the_folder_store_loads_a_torn_last_segment_consistently(
    ops: list[tuple[str, str]], cut: int, tail: bytes
) -> None:
    def check(state_dir: Path) -> None:
        with DirectoryJournalStore(state_dir, writer=True, segment_bytes=300) as store:
            drive(open_journal(store), ops)
        segments = sorted(state_dir.glob("journal-*.jsonl"))
        before = b"".join(p.read_bytes() for p in segments[:-1])
        data = segments[-1].read_bytes()
        kept = data[: max(0, len(data) - cut)]
        segments[-1].write_bytes(kept + tail)
        original, damaged = before + data, before + kept + tail
        count = complete_records(original, damaged)
        expected = replay(decode_records(b"".join(original.splitlines(keepends=True)[:count])).records)
        state = read_journal(DirectoryJournalStore(state_dir))
        if state is None:
            assert count == 0
            return
        assert state.steps == expected.steps and state.records == expected.records == count
        with DirectoryJournalStore(state_dir, writer=True, segment_bytes=300) as store:
            journal = open_journal(store, "run2")
            journal.started("after/crash")
        reloaded = read_journal(DirectoryJournalStore(state_dir))
        assert reloaded is not None and reloaded.torn_bytes == 0
        assert reloaded.state_of("after/crash") is StepState.STARTED
        assert {k: v for k, v in reloaded.steps.items() if k != "after/crash"} == dict(state.steps)

    folder_case(check)
