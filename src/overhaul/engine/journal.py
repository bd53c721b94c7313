"""The journal of an apply: a crash-safe, append-only record of every step it runs.

Each step is recorded before it runs (`started`) and after (`done`, `failed` with a reason, or
`skipped`), with what it printed. Reading the journal back gives each step's last state and the
first step still to do, which is how an interrupted apply resumes. The format is JSON lines, one
record per line, each with a sequence number and a CRC-32 of its content:

    {"at":"2026-05-01T12:00:00.000Z","kind":"begin","plan":"prod-1-35","hash":"…","seq":1,…,"sum":"…"}
    {"at":"…","kind":"run","run":"3f2a9c1e","by":"alice@laptop:4242","controlFrom":0,"seq":2,"sum":"…"}
    {"at":"…","kind":"step","step":"node/worker-1/drain","state":"started","attempt":1,"seq":3,"sum":"…"}

Stores (`engine.ports.JournalStore`) write atomically, so a crash leaves the journal as before or
after a write; still, a journal whose last record is cut short or damaged (a copy taken mid-write,
a file system that lost the end of a file) loads up to its last complete record, and the next
write drops the damaged tail. Damage anywhere but the last record is refused (`JournalCorrupt`):
the journal could no longer say what was done. A journal belongs to one plan: opening it for a
plan with another hash is refused (`JournalMismatch`).

Pause, resume and abort requests come from other processes (`overhaul pause` in another terminal)
through the store's control list (`request_control`); the running apply polls `Journal.control()`
and records in the journal when it honoured one (`Journal.acknowledge`).

`DirectoryJournalStore` keeps a journal in a `--state DIR` folder; the in-cluster store is
`overhaul.kube.journal_store.ConfigMapJournalStore`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from overhaul import __version__
from overhaul.engine.ports import JournalStore

FORMAT = 1
DEFAULT_MAX_OUTPUT = 16 * 1024  # bytes of a step's output kept in the journal (its tail)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------- errors


class JournalError(Exception):
    """A journal that cannot be used as asked; `str(err)` is one line fit for users."""


class JournalCorrupt(JournalError):
    """A record other than the last one is damaged: what was done can no longer be told."""


class JournalMismatch(JournalError):
    """The journal belongs to another plan (or another plan version: its hash differs)."""


class JournalBusy(JournalError):
    """Another process is writing this journal."""


# ----------------------------------------------------------------------------------------- values


class StepState(StrEnum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        """Done or skipped: nothing left to do for the step."""
        return self in (StepState.DONE, StepState.SKIPPED)


@dataclass(frozen=True)
class StepStatus:
    """A step's last state and how it got there."""

    step: str
    state: StepState
    attempts: int  # how many times it was started
    started_at: str  # of the last attempt ("" if it was skipped without starting)
    ended_at: str = ""  # "" while it runs (or ran when the apply stopped)
    reason: str = ""  # why it failed or was skipped
    output: str = ""
    run: str = ""  # the run that recorded the last state
    detail: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0  # the record that set the last state


@dataclass(frozen=True)
class RunInfo:
    """One process that applied the plan (the first, then each resume)."""

    run: str
    by: str
    at: str
    control_from: int  # control requests made before this run started are not its concern


@dataclass(frozen=True)
class JournalEvent:
    """Something worth keeping that is not a step: a lock taken over, a warning, a note."""

    at: str
    level: str  # info | warning | error
    message: str
    step: str = ""
    run: str = ""


@dataclass(frozen=True)
class Finish:
    outcome: str  # succeeded | failed | aborted | paused | stopped
    at: str
    run: str
    message: str = ""


class ControlAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"


class RunMode(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ABORTING = "aborting"


@dataclass(frozen=True)
class ControlRequest:
    """A pause, resume or abort asked for by someone, possibly from another machine."""

    id: str
    at: str
    action: ControlAction
    by: str
    reason: str = ""


@dataclass(frozen=True)
class ControlStatus:
    """What the running apply is asked to do: `mode`, and the requests it has not acknowledged yet."""

    mode: RunMode
    pending: tuple[ControlRequest, ...]


@dataclass(frozen=True)
class JournalState:
    """Everything a journal says, folded: per step its last state, the runs, events, the end."""

    plan_id: str
    plan_hash: str
    created_at: str
    created_by: str
    tool: str
    steps: Mapping[str, StepStatus]  # in the order steps were first recorded
    runs: tuple[RunInfo, ...]
    events: tuple[JournalEvent, ...]
    acknowledged: Mapping[str, str]  # control request id -> the action honoured
    finished: Finish | None  # how the last run ended, None while it runs (or if it crashed)
    records: int
    torn_bytes: int = 0  # a damaged tail that was left out

    def state_of(self, step: str) -> StepState | None:
        status = self.steps.get(step)
        return status.state if status is not None else None

    def is_finished(self, step: str) -> bool:
        status = self.steps.get(step)
        return status is not None and status.state.finished

    def first_unfinished(self, order: Iterable[str]) -> str | None:
        """The first step of `order` (the plan's steps, in order) that is not done or skipped."""
        for step in order:
            if not self.is_finished(step):
                return step
        return None

    def first_unfinished_recorded(self) -> str | None:
        """The first step the journal knows that is not done or skipped (without the plan's order)."""
        for step, status in self.steps.items():
            if not status.state.finished:
                return step
        return None

    def in_flight(self) -> tuple[str, ...]:
        """Steps started and never ended: running now, or interrupted by a crash (to check, then redo)."""
        return tuple(s for s, status in self.steps.items() if status.state is StepState.STARTED)

    def failed(self) -> tuple[str, ...]:
        return tuple(s for s, status in self.steps.items() if status.state is StepState.FAILED)

    @property
    def current_run(self) -> RunInfo | None:
        return self.runs[-1] if self.runs else None


# -------------------------------------------------------------------------------------- encoding


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: `2026-05-01T12:00:00.123Z`."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def encode_record(body: Mapping[str, Any]) -> bytes:
    """One record as a line: canonical JSON (sorted keys) plus `sum`, the CRC-32 of the rest."""
    if "sum" in body:
        raise ValueError("a record cannot carry its own `sum`")
    canonical = orjson.dumps(dict(body), option=orjson.OPT_SORT_KEYS)
    if canonical == b"{}":
        raise ValueError("an empty record")
    return canonical[:-1] + b',"sum":"%08x"}\n' % zlib.crc32(canonical)


def _check_line(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """The record of a line, or None and what is wrong with it."""
    if not line.strip():
        return None, "an empty line"
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    check = record.pop("sum", None)
    if not isinstance(check, str) or not re.fullmatch(r"[0-9a-f]{8}", check):
        return None, "no checksum"
    if zlib.crc32(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)) != int(check, 16):
        return None, "checksum mismatch"
    return record, ""


@dataclass(frozen=True)
class DecodedJournal:
    """The valid records of a journal's bytes, and where they end (past it: a torn tail)."""

    records: tuple[Mapping[str, Any], ...]
    valid_length: int
    torn_bytes: int = 0
    torn_reason: str = ""


def decode_records(data: bytes, where: str = "the journal") -> DecodedJournal:
    """Splits a journal into records. A damaged last line (cut short, or complete but not valid)
    is a torn tail and left out; a damaged line anywhere else raises JournalCorrupt."""
    records: list[Mapping[str, Any]] = []
    offset = 0
    size = len(data)
    while offset < size:
        end = data.find(b"\n", offset)
        complete = end >= 0
        following = end + 1 if complete else size
        if complete:
            record, problem = _check_line(data[offset:end])
            if record is not None and record.get("seq") != len(records) + 1:
                problem = f"sequence number {record.get('seq')!r}, expected {len(records) + 1}"
                record = None
        else:
            record, problem = None, "cut short (no end of line)"
        if record is None:
            if following >= size:
                return DecodedJournal(tuple(records), offset, size - offset, problem)
            raise JournalCorrupt(
                f"{where}: record {len(records) + 1} (at byte {offset}) is damaged ({problem}) and "
                "more records follow it: the journal cannot be trusted past it"
            )
        records.append(record)
        offset = following
    return DecodedJournal(tuple(records), offset)


# ----------------------------------------------------------------------------------------- replay


class _Fold:
    """Folds records into a journal's state, one at a time (replay, and the live journal)."""

    def __init__(self) -> None:
        self.header: Mapping[str, Any] = {}
        self.steps: dict[str, StepStatus] = {}
        self.runs: list[RunInfo] = []
        self.events: list[JournalEvent] = []
        self.acknowledged: dict[str, str] = {}
        self.finished: Finish | None = None
        self.records = 0

    def apply(self, record: Mapping[str, Any]) -> None:
        self.records += 1
        kind = record.get("kind")
        at = str(record.get("at") or "")
        run = self.runs[-1].run if self.runs else ""
        if kind == "begin":
            self.header = record
        elif kind == "run":
            self.runs.append(
                RunInfo(
                    str(record.get("run") or ""),
                    str(record.get("by") or ""),
                    at,
                    _int(record.get("controlFrom")),
                )
            )
            self.finished = None
        elif kind == "step":
            self._step(record, at, run)
        elif kind == "event":
            self.events.append(
                JournalEvent(
                    at,
                    str(record.get("level") or "info"),
                    str(record.get("message") or ""),
                    str(record.get("step") or ""),
                    run,
                )
            )
        elif kind == "control":
            self.acknowledged[str(record.get("request") or "")] = str(record.get("action") or "")
        elif kind == "finish":
            self.finished = Finish(
                str(record.get("outcome") or ""), at, run, str(record.get("message") or "")
            )
        # Unknown kinds (written by a newer overhaul) are kept in the count and otherwise ignored.

    def _step(self, record: Mapping[str, Any], at: str, run: str) -> None:
        step = str(record.get("step") or "")
        try:
            state = StepState(str(record.get("state")))
        except ValueError:
            return
        seq = _int(record.get("seq"))
        previous = self.steps.get(step)
        if state is StepState.STARTED:
            raw = record.get("detail")
            detail = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            attempts = (previous.attempts if previous else 0) + 1
            self.steps[step] = StepStatus(step, state, attempts, at, run=run, detail=detail, seq=seq)
            return
        base = previous or StepStatus(step, state, 0, "")
        self.steps[step] = replace(
            base,
            state=state,
            ended_at=at,
            reason=str(record.get("reason") or ""),
            output=str(record.get("output") or ""),
            run=run,
            seq=seq,
        )

    def snapshot(self, torn_bytes: int = 0) -> JournalState:
        h = self.header
        return JournalState(
            plan_id=str(h.get("plan") or ""),
            plan_hash=str(h.get("hash") or ""),
            created_at=str(h.get("at") or ""),
            created_by=str(h.get("by") or ""),
            tool=str(h.get("tool") or ""),
            steps=MappingProxyType(dict(self.steps)),
            runs=tuple(self.runs),
            events=tuple(self.events),
            acknowledged=MappingProxyType(dict(self.acknowledged)),
            finished=self.finished,
            records=self.records,
            torn_bytes=torn_bytes,
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def replay(records: Iterable[Mapping[str, Any]], torn_bytes: int = 0) -> JournalState:
    """The state a sequence of (valid) records describes."""
    fold = _Fold()
    for record in records:
        fold.apply(record)
    return fold.snapshot(torn_bytes)


def _decoded_state(store: JournalStore) -> tuple[DecodedJournal, _Fold]:
    decoded = decode_records(store.load(), store.location)
    if decoded.records and decoded.records[0].get("kind") != "begin":
        raise JournalCorrupt(f"{store.location}: the journal does not start with its header")
    fold = _Fold()
    for record in decoded.records:
        fold.apply(record)
    return decoded, fold


def read_journal(store: JournalStore) -> JournalState | None:
    """The state of the journal in `store` (None when there is none), without writing anything."""
    decoded, fold = _decoded_state(store)
    if not decoded.records:
        return None
    return fold.snapshot(decoded.torn_bytes)


# -------------------------------------------------------------------------------------- journal


def _clip(text: str, limit: int) -> str:
    """The tail of `text` within `limit` bytes of UTF-8 (what a failure's last lines say), with a
    note of what was cut; lone surrogates (undecodable bytes) become U+FFFD."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return data.decode("utf-8")
    tail = data[len(data) - limit :].decode("utf-8", "ignore")
    return f"[... {len(data) - len(tail.encode())} bytes cut ...]\n{tail}"


class Journal:
    """The journal of one run of an apply, open for writing. Thread-safe: steps running in
    parallel record through the same journal. Open it with `Journal.open`."""

    def __init__(
        self,
        store: JournalStore,
        fold: _Fold,
        valid_length: int,
        *,
        run_id: str,
        clock: Clock,
        max_output: int,
        recovered_tail: int,
    ) -> None:
        self._store = store
        self._fold = fold
        self._length = valid_length
        self._run = run_id
        self._clock = clock
        self._max_output = max_output
        self._lock = threading.Lock()
        self.recovered_tail = recovered_tail  # bytes of a damaged tail dropped when opening

    @classmethod
    def open(
        cls,
        store: JournalStore,
        *,
        plan_id: str,
        plan_hash: str,
        run_id: str,
        by: str,
        clock: Clock = _utcnow,
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> Journal:
        """Opens (or starts) the journal of plan `plan_id` whose content hashes to `plan_hash`, and
        records the start of a run. Refuses a journal of another plan (JournalMismatch)."""
        if not plan_id or not plan_hash:
            raise ValueError("a journal needs the plan's id and hash")
        decoded, fold = _decoded_state(store)
        if decoded.records:
            header = fold.header
            if header.get("hash") != plan_hash:
                raise JournalMismatch(
                    f"{store.location} holds the journal of plan {header.get('plan')!r} "
                    f"(hash {str(header.get('hash'))[:12]}), not of this plan {plan_id!r} "
                    f"(hash {plan_hash[:12]}): use another state location, or remove that journal "
                    "to start over"
                )
            fmt = header.get("format")
            if isinstance(fmt, int) and fmt > FORMAT:
                raise JournalError(
                    f"{store.location} was written by a newer overhaul (journal format {fmt}); "
                    "upgrade overhaul to resume it"
                )
        journal = cls(
            store,
            fold,
            decoded.valid_length,
            run_id=run_id,
            clock=clock,
            max_output=max_output,
            recovered_tail=decoded.torn_bytes,
        )
        controls = len(parse_control(store.load_control()))
        first: list[dict[str, Any]] = []
        if not decoded.records:
            first.append(
                {
                    "kind": "begin",
                    "plan": plan_id,
                    "hash": plan_hash,
                    "by": by,
                    "tool": f"overhaul {__version__}",
                    "format": FORMAT,
                }
            )
        first.append({"kind": "run", "run": run_id, "by": by, "controlFrom": controls})
        journal._write(first)
        return journal

    # ----- reading

    @property
    def location(self) -> str:
        return self._store.location

    @property
    def run_id(self) -> str:
        return self._run

    @property
    def state(self) -> JournalState:
        with self._lock:
            return self._fold.snapshot()

    def status_of(self, step: str) -> StepStatus | None:
        with self._lock:
            return self._fold.steps.get(step)

    def state_of(self, step: str) -> StepState | None:
        status = self.status_of(step)
        return status.state if status is not None else None

    # ----- steps

    def started(self, step: str, *, detail: Mapping[str, str] | None = None) -> StepStatus:
        """Records that `step` starts (again, when it was started before)."""
        body: dict[str, Any] = {"kind": "step", "step": _step_id(step), "state": StepState.STARTED.value}
        if detail:
            body["detail"] = {str(k): str(v) for k, v in detail.items()}
        with self._lock:
            previous = self._fold.steps.get(step)
            body["attempt"] = (previous.attempts if previous else 0) + 1
            self._write_locked([body])
            return self._fold.steps[step]

    def done(self, step: str, *, output: str = "") -> StepStatus:
        return self._end(step, StepState.DONE, "", output)

    def failed(self, step: str, reason: str, *, output: str = "") -> StepStatus:
        return self._end(step, StepState.FAILED, reason or "failed", output)

    def skipped(self, step: str, reason: str) -> StepStatus:
        """Records that `step` needs no doing (e.g. the node already runs the version)."""
        with self._lock:
            previous = self._fold.steps.get(_step_id(step))
            if previous is not None and previous.state is StepState.STARTED:
                raise JournalError(f"step {step!r} is running: record how it ended, not that it was skipped")
            body = {"kind": "step", "step": step, "state": StepState.SKIPPED.value, "reason": reason}
            self._write_locked([body])
            return self._fold.steps[step]

    def _end(self, step: str, state: StepState, reason: str, output: str) -> StepStatus:
        with self._lock:
            previous = self._fold.steps.get(_step_id(step))
            if previous is None or previous.state is not StepState.STARTED:
                now = previous.state.value if previous else "not recorded"
                raise JournalError(f"step {step!r} is not running (its last state: {now})")
            body: dict[str, Any] = {"kind": "step", "step": step, "state": state.value}
            if reason:
                body["reason"] = reason
            if output:
                body["output"] = _clip(output, self._max_output)
            self._write_locked([body])
            return self._fold.steps[step]

    # ----- the rest of the record

    def event(self, message: str, *, level: str = "info", step: str = "") -> None:
        """Keeps a note: a lock taken over, a warning, an operator's action."""
        if level not in ("info", "warning", "error"):
            raise ValueError(f"unknown event level {level!r}")
        body: dict[str, Any] = {"kind": "event", "level": level, "message": message}
        if step:
            body["step"] = step
        self._write([body])

    def finish(self, outcome: str, message: str = "") -> None:
        """Records how this run ended: succeeded, failed, aborted, paused (stopped while paused)..."""
        body: dict[str, Any] = {"kind": "finish", "outcome": outcome}
        if message:
            body["message"] = message
        self._write([body])

    # ----- control requests from other processes

    def control(self) -> ControlStatus:
        """What this run is asked to do: the requests made since it started, folded (a resume
        undoes a pause; an abort stays), and those it has not acknowledged yet, in order."""
        requests = parse_control(self._store.load_control())
        with self._lock:
            start = self._fold.runs[-1].control_from if self._fold.runs else 0
            acknowledged = dict(self._fold.acknowledged)
        mode = RunMode.RUNNING
        for request in requests[start:]:
            if request.action is ControlAction.ABORT:
                mode = RunMode.ABORTING
            elif mode is not RunMode.ABORTING:
                mode = RunMode.PAUSED if request.action is ControlAction.PAUSE else RunMode.RUNNING
        pending = tuple(r for r in requests[start:] if r.id not in acknowledged)
        return ControlStatus(mode, pending)

    def acknowledge(self, request: ControlRequest, note: str = "") -> None:
        """Records that this run honoured `request` (paused, resumed, started to abort)."""
        body: dict[str, Any] = {
            "kind": "control",
            "request": request.id,
            "action": request.action.value,
            "by": request.by,
        }
        if note:
            body["note"] = note
        self._write([body])

    # ----- writing

    def _write(self, bodies: list[dict[str, Any]]) -> None:
        with self._lock:
            self._write_locked(bodies)

    def _write_locked(self, bodies: list[dict[str, Any]]) -> None:
        at = timestamp(self._clock())
        seq = self._fold.records
        lines: list[bytes] = []
        records: list[dict[str, Any]] = []
        for body in bodies:
            seq += 1
            record = {**body, "seq": seq, "at": at}
            records.append(record)
            lines.append(encode_record(record))
        data = b"".join(lines)
        self._store.append(data, keep=self._length)
        self._length += len(data)
        for record in records:
            self._fold.apply(record)


def _step_id(step: str) -> str:
    if not step or not step.strip():
        raise ValueError("a step needs an id")
    return step


# ------------------------------------------------------------------------------ control requests


def parse_control(data: bytes) -> list[ControlRequest]:
    """The control requests of a store, in the order they were made. Damaged lines are skipped:
    a request is advice to the running apply, and the journal keeps what it did about it."""
    requests: list[ControlRequest] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        record, _ = _check_line(line)
        if record is None:
            continue
        try:
            action = ControlAction(str(record.get("action")))
        except ValueError:
            continue
        requests.append(
            ControlRequest(
                str(record.get("id") or ""),
                str(record.get("at") or ""),
                action,
                str(record.get("by") or ""),
                str(record.get("reason") or ""),
            )
        )
    return requests


def read_control(store: JournalStore) -> list[ControlRequest]:
    return parse_control(store.load_control())


def request_control(
    store: JournalStore,
    action: ControlAction,
    *,
    by: str,
    reason: str = "",
    clock: Clock = _utcnow,
) -> ControlRequest:
    """Asks the apply that writes the journal in `store` to pause, resume or abort (what
    `overhaul pause|resume|abort` do). Refused when there is no journal there."""
    if read_journal(store) is None:
        raise JournalError(f"{store.location} holds no journal: no apply to {action.value}")
    request = ControlRequest(secrets.token_hex(6), timestamp(clock()), action, by, reason)
    body: dict[str, Any] = {"id": request.id, "at": request.at, "action": action.value, "by": by}
    if reason:
        body["reason"] = reason
    store.append_control(encode_record(body))
    return request


# ------------------------------------------------------------------------- the directory store

_SEGMENT = re.compile(r"^journal-(\d{6})\.jsonl$")
CONTROL_FILE = "control.jsonl"
WRITER_LOCK = ".writer.lock"
CONTROL_LOCK = ".control.lock"
DEFAULT_SEGMENT_BYTES = 64 * 1024  # a write rewrites at most this much (plus one record)


def _segment_name(index: int) -> str:
    return f"journal-{index:06d}.jsonl"


def _fsync_directory(directory: Path) -> None:
    """Makes a rename in `directory` durable (the directory entry itself is data)."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(directory: Path, name: str, data: bytes) -> None:
    """Replaces `directory/name` by `data` all at once: a temporary file written and fsynced, renamed
    over the old one, then the directory fsynced. A crash leaves the old content or the new one."""
    temporary = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=True) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_directory(directory)


class DirectoryJournalStore:
    """A journal in a folder (`--state DIR`): `journal-000001.jsonl`, `journal-000002.jsonl`, ...
    (segments of about `segment_bytes`, so a write rewrites at most one segment), and
    `control.jsonl` for control requests.

    Every write replaces one file atomically (`atomic_write`). With `writer=True` the store takes
    an exclusive lock on the folder (`.writer.lock`, flock) for as long as it is open: a second
    apply writing the same folder is refused with JournalBusy. Readers (`overhaul status`,
    `overhaul pause`) open it without `writer`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        writer: bool = False,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.segment_bytes = max(1, segment_bytes)
        self._writer_fd: int | None = None
        self._segments: list[int] | None = None  # sizes, in order
        self._last = b""  # the last segment's bytes as stored
        if writer:
            self._lock_writer()

    @property
    def location(self) -> str:
        return f"directory {self.directory}"

    def _lock_writer(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise JournalError(f"cannot create the state directory {self.directory}: {err.strerror}") from err
        path = self.directory / WRITER_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f" (pid {holder})" if holder else ""
                raise JournalBusy(
                    f"another overhaul process{who} is writing the journal in {self.directory}"
                ) from err
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._writer_fd = fd
        for leftover in self.directory.glob(".journal-*.tmp"):  # temporaries of a crashed writer
            with contextlib.suppress(OSError):
                leftover.unlink()

    def close(self) -> None:
        if self._writer_fd is not None:
            os.close(self._writer_fd)  # releases the flock
            self._writer_fd = None

    def __enter__(self) -> DirectoryJournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- the journal

    def _segment_indexes(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        indexes = sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT.match(p.name)))
        if indexes != list(range(1, len(indexes) + 1)):
            raise JournalCorrupt(
                f"{self.location}: journal segments {indexes} are not numbered 1 to {len(indexes)}: "
                "a segment is missing"
            )
        return indexes

    def load(self) -> bytes:
        parts = [(self.directory / _segment_name(i)).read_bytes() for i in self._segment_indexes()]
        self._segments = [len(p) for p in parts]
        self._last = parts[-1] if parts else b""
        return b"".join(parts)

    def append(self, records: bytes, *, keep: int) -> None:
        if self._writer_fd is None:
            raise JournalError(f"{self.location} was opened for reading only")
        if self._segments is None:
            self.load()
        assert self._segments is not None
        total = sum(self._segments)
        last_start = total - (self._segments[-1] if self._segments else 0)
        if not last_start <= keep <= total:
            raise JournalError(
                f"{self.location}: cannot append after byte {keep} (the journal has {total} bytes, "
                f"its last segment starts at {last_start})"
            )
        kept = self._last[: keep - last_start]
        if self._segments and kept == self._last and len(kept) >= self.segment_bytes:
            index = len(self._segments) + 1  # the current segment is full (and intact): start one
            atomic_write(self.directory, _segment_name(index), records)
            self._segments.append(len(records))
            self._last = records
            return
        index = max(1, len(self._segments))
        data = kept + records
        atomic_write(self.directory, _segment_name(index), data)
        if self._segments:
            self._segments[-1] = len(data)
        else:
            self._segments.append(len(data))
        self._last = data

    # ----- control requests

    def load_control(self) -> bytes:
        try:
            return (self.directory / CONTROL_FILE).read_bytes()
        except FileNotFoundError:
            return b""

    def append_control(self, record: bytes) -> None:
        if not record.endswith(b"\n") or b"\n" in record[:-1]:
            raise ValueError("a control request is one complete line")
        if not self.directory.is_dir():
            raise JournalError(f"{self.location} does not exist")
        # Several terminals may ask at once: the read-modify-write runs under an exclusive flock.
        fd = os.open(self.directory / CONTROL_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = self.load_control()
            if current and not current.endswith(b"\n"):  # a torn last request: drop it
                current = current[: current.rfind(b"\n") + 1]
            atomic_write(self.directory, CONTROL_FILE, current + record)
        finally:
            os.close(fd)  # releases the flock
