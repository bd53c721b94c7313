"""The apply engine: runs a plan's steps in order, records each one, stops cleanly.

Each step is recorded in the journal before it runs and after; a step the journal says is done or
skipped is not run again, so running apply again resumes at the first unfinished step. Every step
is idempotent against what an interrupted run may have left: a node already at the step's version
is not upgraded again (it is only checked Ready and uncordoned), and a node left cordoned by a
crashed run is drained and uncordoned as the step requires.

Per node of an upgrade step (the nodes of a batch in parallel): cordon and drain (the drain engine,
never past a PodDisruptionBudget), upgrade through the provider, wait until the node is Ready at
the version, uncordon. Then the gates: soak, every node Ready and every PodDisruptionBudget healthy.
A node whose upgrade failed is left cordoned (it is broken); the others are uncordoned.

Stopping: `pause` (from another terminal) stops after the current step and waits for `resume`;
`abort` stops now, between nodes, and lets upgrades already running finish (a node mid-reboot is
better brought back than left half-done); `interrupt()` (Ctrl-C, SIGTERM, a lost lock) cancels the
running upgrades too. Nodes that are not broken are left schedulable.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum

from overhaul.domain.durations import format_duration
from overhaul.domain.plan import Action, AlertGate, NewNode, Plan, PlanNode, Role, StageKind, Step
from overhaul.domain.version import Version
from overhaul.engine.apply.events import (
    ApplyEvent,
    ApplyListener,
    DryRunAction,
    NodePhase,
    Notice,
    StepFinished,
    StepStarted,
)
from overhaul.engine.apply.facts import BudgetFacts, NodeFacts, budget_facts, node_facts
from overhaul.engine.apply.gates import blocking_alerts, expected_versions
from overhaul.engine.apply.ports import AlertSource, ApplyCluster, BackupTaker, NodePool
from overhaul.engine.apply.timings import timings_line
from overhaul.engine.drain.engine import Drainer
from overhaul.engine.drain.events import DrainEvent, NodeFailed, PodBlocked, PodEvicting
from overhaul.engine.drain.options import DrainOptions
from overhaul.engine.journal import Journal, JournalState, RunMode
from overhaul.engine.ports import NodeTarget, NodeUpgrader
from overhaul.planning.windows import start_for
from overhaul.validate.checks import Baseline, Failure, describe
from overhaul.validate.ports import ValidationCluster
from overhaul.validate.run import take_baseline, validate_cluster

SUPPORTED = (Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES)
NEEDS_NODE_POOL = (Action.ADD_NODES, Action.REMOVE_NODES)  # cordon and drain need only the API
BACKUP_STEP = "backup"  # the journal's id of the backup taken before the plan's first step


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    OUTSIDE_WINDOW = "outside-window"
    DRY_RUN = "dry-run"


@dataclass(frozen=True)
class ApplyOptions:
    dry_run: bool = False
    stop_outside_window: bool = False
    upgrade_timeout: float = 1800.0  # per node, the provider's whole upgrade
    ready_timeout: float = 600.0  # per node, after the provider returned: Ready at the version
    health_timeout: float = 600.0  # the health gate after each step
    alert_timeout: float = 1800.0  # how long firing alerts (or a silent Prometheus) may hold a step
    alert_interval: float = 5.0  # between two reads of Prometheus' alerts while they hold a step
    test_pod_timeout: float = 60.0  # the validate gate's test pod, to be Ready
    poll_interval: float = 1.0


@dataclass(frozen=True)
class ApplyResult:
    outcome: Outcome
    message: str = ""
    failed_step: str = ""
    broken_nodes: tuple[str, ...] = ()  # left cordoned: their upgrade failed
    steps_run: int = 0
    steps_total: int = 0


def unsupported_steps(plan: Plan, *, creates_nodes: bool = False) -> list[Step]:
    """Steps apply cannot run: adding and removing nodes needs a provider that can (`creates_nodes`)."""
    return [s for s in plan.steps if s.action in NEEDS_NODE_POOL and not creates_nodes]


class _Stop(Exception):
    """Raised inside a node's work when the apply stops (abort, interrupt)."""


@dataclass
class _NodeOutcome:
    name: str
    ok: bool
    broken: bool = False
    stopped: bool = False  # not finished because the apply stopped
    reason: str = ""
    output: list[str] = field(default_factory=list)


class Applier:
    """Runs `plan` on `cluster`; `run()` returns an ApplyResult. Thread-safe `interrupt()`."""

    def __init__(
        self,
        plan: Plan,
        cluster: ApplyCluster,
        upgrader: NodeUpgrader,
        journal: Journal | None,
        *,
        options: ApplyOptions = ApplyOptions(),
        listener: ApplyListener | None = None,
        lock_check: Callable[[], None] | None = None,
        journal_state: JournalState | None = None,
        backup: BackupTaker | None = None,
        node_pool: NodePool | None = None,
        alerts: AlertSource | None = None,
        validation: ValidationCluster | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if journal is None and not options.dry_run:
            raise ValueError("an apply that acts needs a journal")
        self.plan = plan
        self.cluster = cluster
        self.upgrader = upgrader
        self.journal = journal
        self.options = options
        self._listener = listener
        self._lock_check = lock_check
        self._backup = backup if plan.spec.backup.enabled else None
        self._pool = node_pool
        self._alerts = alerts
        self._validation = validation
        self._validation_baseline = Baseline()
        self._state = journal_state if journal_state is not None else (journal.state if journal else None)
        self._now = now
        self._interrupted = threading.Event()  # Ctrl-C, SIGTERM, lock lost: cancel everything
        self._aborting = threading.Event()  # abort: stop between nodes
        self._interrupt_reason = ""
        self._baseline_unhealthy: set[str] = set()
        self._baseline_not_ready: set[str] = set()

    # ----- control from outside

    def interrupt(self, reason: str = "interrupted") -> None:
        if not self._interrupted.is_set():
            self._interrupt_reason = reason
        self._interrupted.set()

    @property
    def stopping(self) -> bool:
        return self._interrupted.is_set() or self._aborting.is_set()

    # ----- the run

    def run(self) -> ApplyResult:
        steps = self.plan.steps
        total = len(steps)
        bad = unsupported_steps(self.plan, creates_nodes=self._pool is not None)
        if bad:
            raise ValueError(
                f"step {bad[0].id}: {bad[0].action.value} needs a provider that creates and deletes nodes"
            )
        if self.options.dry_run:
            return self._dry_run(steps)
        journal = self.journal
        assert journal is not None
        for step_id in journal.state.in_flight():
            journal.event(
                f"step {step_id} was interrupted by a crash; checking what it left and running it again",
                level="warning",
                step=step_id,
            )
        # What was already unwell before this apply acted is not held against its steps.
        self._baseline_unhealthy = {b.key for b in self._budgets() if not b.healthy}
        self._baseline_not_ready = {n.name for n in map(node_facts, self.cluster.list_nodes()) if not n.ready}
        if self._validation is not None and any(s.gates.validate for s in steps):
            self._validation_baseline = take_baseline(self._validation)
        steps_run = 0
        failed_backup = self._take_backup(journal)
        if failed_backup is not None:
            return self._finish(failed_backup, steps_run, total)
        for index, step in enumerate(steps, start=1):
            if journal.state.is_finished(step.id):
                self._emit(StepFinished(step.id, True, already=True))
                continue
            while True:
                stop = self._between_steps(step)
                if stop is not None:
                    return self._finish(stop, steps_run, total)
                held, waited = self._alerts_before(step)
                if held or not waited:
                    break
                # Alerts held the step a while: pause, abort and the window are looked at again.
            previous = journal.status_of(step.id)
            attempt = (previous.attempts if previous is not None else 0) + 1
            self._emit(StepStarted(step.id, index, total, step.action.value, step.node_names, attempt))
            journal.started(step.id, detail={"nodes": ",".join(step.node_names), "action": step.action.value})
            steps_run += 1
            if held:
                journal.failed(step.id, held)
                self._emit(StepFinished(step.id, False, held))
                outcome = Outcome.FAILED
                if self.stopping:
                    outcome = Outcome.INTERRUPTED if self._interrupted.is_set() else Outcome.ABORTED
                return self._finish(ApplyResult(outcome, held, step.id), steps_run, total)
            result = self._run_step(step)
            if result is not None:
                return self._finish(result, steps_run, total)
        return self._finish(ApplyResult(Outcome.SUCCEEDED, "every step is done"), steps_run, total)

    def _take_backup(self, journal: Journal) -> ApplyResult | None:
        """The plan's backup, before the first step of a fresh run (a run that resumes after a step
        started has its backup already, or the plan ran without one); None to go on."""
        if self._backup is None or journal.state.is_finished(BACKUP_STEP):
            return None
        if any(journal.status_of(step.id) is not None for step in self.plan.steps):
            return None
        self._check_lock()
        previous = journal.status_of(BACKUP_STEP)
        attempt = (previous.attempts if previous is not None else 0) + 1
        self._emit(Notice("info", "taking a backup before acting: " + self._backup.describe()))
        journal.started(BACKUP_STEP, detail={"action": "backup", "attempt": str(attempt)})
        try:
            where = self._backup.take()
        except Exception as err:  # any failure refuses the apply: nothing was touched yet
            reason = f"backup failed: {err}"
            journal.failed(BACKUP_STEP, reason)
            self._emit(Notice("error", reason))
            return ApplyResult(Outcome.FAILED, reason + " (nothing was changed)", BACKUP_STEP)
        journal.done(BACKUP_STEP, output=where)
        self._emit(Notice("info", f"backup written to {where}"))
        return None

    def _finish(self, result: ApplyResult, steps_run: int, total: int) -> ApplyResult:
        final = ApplyResult(
            result.outcome, result.message, result.failed_step, result.broken_nodes, steps_run, total
        )
        if self.journal is not None:
            self.journal.finish(final.outcome.value, final.message)
        return final

    # ----- between steps: lock, pause/abort, windows

    def _check_lock(self) -> None:
        if self._lock_check is not None:
            self._lock_check()

    def _control(self) -> RunMode:
        journal = self.journal
        assert journal is not None
        status = journal.control()
        for request in status.pending:
            journal.acknowledge(request)
            self._emit(Notice("info", f"{request.action.value} requested by {request.by}"))
        if status.mode is RunMode.ABORTING:
            self._aborting.set()
        return status.mode

    def _between_steps(self, step: Step) -> ApplyResult | None:
        """None to go on; otherwise why the apply stops before `step`."""
        paused_noted = False
        noted_window = False
        while True:
            if self._interrupted.is_set():
                return ApplyResult(Outcome.INTERRUPTED, self._interrupt_reason)
            self._check_lock()
            mode = self._control()
            if mode is RunMode.ABORTING:
                return ApplyResult(Outcome.ABORTED, "aborted on request")
            if mode is RunMode.PAUSED:
                if not paused_noted:
                    self._emit(Notice("info", "paused: waiting for `overhaul resume` (or abort)"))
                    paused_noted = True
                self._interrupted.wait(self.options.poll_interval)
                continue
            if paused_noted:
                self._emit(Notice("info", "resumed"))
                paused_noted = False
            windows = self.plan.spec.windows
            now = self._now()
            # A step starts only if its estimate ends before the window closes (a step longer than
            # every opening starts at one and overruns, as the plan's estimate placed it).
            start = start_for(windows, now, step.estimate_seconds)
            if start > now:
                why = (
                    "outside every maintenance window"
                    if start_for(windows, now, 0) > now
                    else f"step {step.id} (estimated {format_duration(step.estimate_seconds)}) would not "
                    "end before the maintenance window closes"
                )
                if self.options.stop_outside_window:
                    return ApplyResult(
                        Outcome.OUTSIDE_WINDOW, f"{why}; the next opening is {start.isoformat()}"
                    )
                if not noted_window:
                    self._emit(Notice("info", f"{why}; waiting until {start.isoformat()}"))
                    noted_window = True
                self._interrupted.wait(
                    min(self.options.poll_interval * 10, max(0.1, (start - now).total_seconds()))
                )
                continue
            return None

    # ----- a step

    def _run_step(self, step: Step) -> ApplyResult | None:
        """Runs one step and records how it ended; None when it succeeded."""
        journal = self.journal
        assert journal is not None
        first_cp = self._first_control_plane(step)
        outcomes: list[_NodeOutcome] = []
        with ThreadPoolExecutor(max_workers=max(1, len(step.nodes)), thread_name_prefix="apply-node") as pool:
            futures: dict[Future[_NodeOutcome], str] = {
                pool.submit(self._node_work, step, node, node.name == first_cp): node.name
                for node in step.nodes
            }
            for new in step.new_nodes:
                futures[pool.submit(self._add_work, step, new)] = new.name
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=self.options.poll_interval, return_when=FIRST_COMPLETED)
                for future in done:
                    outcomes.append(self._outcome_of(future, futures[future]))
                if pending and not self._aborting.is_set():
                    try:
                        if self._control() is RunMode.ABORTING:
                            self._emit(
                                Notice("warning", "aborting: no new node starts; running upgrades finish")
                            )
                    except Exception as err:  # the control list is advice: a failed read is retried
                        self._emit(Notice("warning", f"could not read control requests: {err}"))
        output = "\n".join(line for o in sorted(outcomes, key=lambda o: o.name) for line in o.output)
        failed = [o for o in outcomes if not o.ok and not o.stopped]
        stopped = [o for o in outcomes if o.stopped]
        broken = tuple(sorted(o.name for o in outcomes if o.broken))
        if failed:
            reason = "; ".join(f"{o.name}: {o.reason}" for o in sorted(failed, key=lambda o: o.name))
            journal.failed(step.id, reason, output=output)
            self._emit(StepFinished(step.id, False, reason))
            return ApplyResult(Outcome.FAILED, reason, step.id, broken)
        if stopped:
            outcome = Outcome.INTERRUPTED if self._interrupted.is_set() else Outcome.ABORTED
            reason = self._interrupt_reason if self._interrupted.is_set() else "aborted on request"
            journal.failed(step.id, f"{outcome.value}: {reason}", output=output)
            self._emit(StepFinished(step.id, False, reason))
            return ApplyResult(outcome, reason, step.id, broken)
        gate = self._gates(step)
        if gate:
            journal.failed(step.id, gate, output=output)
            self._emit(StepFinished(step.id, False, gate))
            outcome = Outcome.FAILED
            if self.stopping:
                outcome = Outcome.INTERRUPTED if self._interrupted.is_set() else Outcome.ABORTED
            return ApplyResult(outcome, gate, step.id)
        journal.done(step.id, output=output)
        self._emit(StepFinished(step.id, True))
        return None

    def _outcome_of(self, future: Future[_NodeOutcome], name: str) -> _NodeOutcome:
        try:
            return future.result()
        except Exception as err:  # an API failure the node's work did not expect: it may be broken
            return _NodeOutcome(name, False, broken=True, reason=str(err) or type(err).__name__)

    def _first_control_plane(self, step: Step) -> str:
        """The node that upgrades the cluster in its control-plane hop (kubeadm's `upgrade apply`):
        the first node of the hop's first step."""
        if step.action is not Action.UPGRADE_CONTROL_PLANE:
            return ""
        for stage in self.plan.stages:
            if stage.kind is StageKind.CONTROL_PLANE and step in stage.steps:
                for candidate in stage.steps:
                    if candidate.nodes:
                        return candidate.nodes[0].name
        return ""

    # ----- one node

    def _phase(self, step: Step, node: str, text: str, out: _NodeOutcome) -> None:
        out.output.append(f"{node}: {text}")
        self._emit(NodePhase(step.id, node, text))

    def _node_work(self, step: Step, node: PlanNode, first_cp: bool) -> _NodeOutcome:
        out = _NodeOutcome(node.name, False)
        try:
            if step.action is Action.CORDON_NODES:
                self._cordon_node(step, node, out)
            elif step.action is Action.DRAIN_NODES:
                self._drain_node(step, node, out)
            elif step.action is Action.REMOVE_NODES:
                self._remove_node(step, node, out)
            else:
                self._node_steps(step, node, first_cp, out)
        except _Stop:
            out.stopped = True
            out.reason = "stopped"
        return out

    # ----- surge and blue-green: nodes added, cordoned, drained, removed

    def _add_work(self, step: Step, new: NewNode) -> _NodeOutcome:
        out = _NodeOutcome(new.name, False)
        try:
            self._add_node(step, new, out)
        except _Stop:
            out.stopped = True
            out.reason = "stopped"
        return out

    def _add_node(self, step: Step, new: NewNode, out: _NodeOutcome) -> None:
        pool = self._pool
        assert pool is not None
        if self.cluster.node(new.name) is None:  # else created by an earlier (interrupted) run
            self._check_stop()
            like = self.cluster.node(new.like)
            if like is None:
                out.reason = f"node {new.like}, which {new.name} should be like, is gone"
                return
            self._phase(step, new.name, f"creating it like {new.like} at {step.version}", out)
            began = time.monotonic()
            pool.create_node_like(new.name, like, step.version, new.zone)
        else:
            self._phase(step, new.name, "already created", out)
            began = 0.0
        as_node = PlanNode(new.name, "", step.version, Role.WORKER, new.zone)
        if self._wait_ready(step, as_node, out):
            if began:
                out.output.append(timings_line(new.name, {"add-node": time.monotonic() - began}))
            out.ok = True

    def _cordon_node(self, step: Step, node: PlanNode, out: _NodeOutcome) -> None:
        facts = self._facts(node.name)
        if facts is None:
            self._phase(step, node.name, "gone already", out)
        elif not facts.unschedulable:
            self.cluster.set_unschedulable(node.name, True)
            self._phase(step, node.name, "cordoned", out)
        else:
            self._phase(step, node.name, "cordoned already", out)
        out.ok = True

    def _drain_node(self, step: Step, node: PlanNode, out: _NodeOutcome) -> None:
        """Cordon and drain; the node stays cordoned (it leaves the cluster), drained or not."""
        if self._facts(node.name) is None:
            self._phase(step, node.name, "gone already", out)
            out.ok = True
            return
        self._check_stop()
        self._phase(step, node.name, "cordoning and draining", out)
        began = time.monotonic()
        result = Drainer(self.cluster, self._drain_options(step), self._drain_listener(step, node.name)).run(
            [node.name]
        )
        if not result.ok and self._facts(node.name) is not None:
            self.cluster.set_unschedulable(node.name, True)  # the drain undid its cordon: keep it out
        if result.ok:
            self._phase(step, node.name, f"drained in {format_duration(result.seconds)}; left cordoned", out)
            out.output.append(timings_line(node.name, {"drain": time.monotonic() - began}))
            out.ok = True
            return
        if result.interrupted or self.stopping:
            raise _Stop
        errors = [e for n in result.nodes for e in n.errors]
        blocked = [f"{b.pod} blocked by {b.budget or 'a budget'}" for n in result.nodes for b in n.blocked]
        out.reason = "drain failed: " + "; ".join(errors + blocked or ["see the output"])

    def _remove_node(self, step: Step, node: PlanNode, out: _NodeOutcome) -> None:
        pool = self._pool
        assert pool is not None
        if self._facts(node.name) is None:
            self._phase(step, node.name, "gone already", out)
        else:
            self._check_stop()
            began = time.monotonic()
            pool.delete_node(node.name)
            self._phase(step, node.name, "removed", out)
            out.output.append(timings_line(node.name, {"remove-node": time.monotonic() - began}))
        out.ok = True

    def _drain_options(self, step: Step) -> DrainOptions:
        spec = step.drain
        return DrainOptions(
            ignore_daemonsets=spec.ignore_daemonsets if spec else True,
            delete_emptydir_data=spec.delete_emptydir_data if spec else True,
            force=spec.force if spec else False,
            grace_period=spec.grace_period_seconds if spec else -1,
            timeout=float(spec.timeout_seconds) if spec else 900.0,
        )

    def _facts(self, name: str) -> NodeFacts | None:
        obj = self.cluster.node(name)
        return node_facts(obj) if obj is not None else None

    def _uncordon(self, step: Step, node: PlanNode, out: _NodeOutcome, why: str) -> None:
        if node.cordoned:  # cordoned before the plan: the operator's, left as it was
            self._phase(step, node.name, "left cordoned (it was cordoned before the plan)", out)
            return
        self.cluster.set_unschedulable(node.name, False)
        self._phase(step, node.name, f"uncordoned ({why})", out)

    def _node_steps(self, step: Step, node: PlanNode, first_cp: bool, out: _NodeOutcome) -> None:
        facts = self._facts(node.name)
        if facts is None:
            out.reason = f"node {node.name} is gone"
            return
        if facts.runs(step.version):
            # Done by an earlier (interrupted) run: make sure it is back, and schedulable.
            self._phase(step, node.name, f"already at {step.version}", out)
            if not self._wait_ready(step, node, out):
                out.broken = True
                return
            if facts.unschedulable:
                self._uncordon(step, node, out, "upgraded by an earlier run")
            out.ok = True
            return
        self._check_stop()
        spec = step.drain
        options = DrainOptions(
            ignore_daemonsets=spec.ignore_daemonsets if spec else True,
            delete_emptydir_data=spec.delete_emptydir_data if spec else True,
            force=spec.force if spec else False,
            grace_period=spec.grace_period_seconds if spec else -1,
            timeout=float(spec.timeout_seconds) if spec else 900.0,
        )
        self._phase(step, node.name, "cordoning and draining", out)
        drainer = Drainer(self.cluster, options, self._drain_listener(step, node.name))
        began = time.monotonic()
        result = drainer.run([node.name])
        drained = time.monotonic()
        node_result = result.nodes[0] if result.nodes else None
        if node_result is not None:
            out.output.append(
                f"{node.name}: drain {node_result.status.value}: {len(node_result.evicted)} evicted, "
                f"{len(node_result.deleted)} deleted, {len(node_result.skipped)} skipped"
            )
        if not result.ok:
            # Not drained: the node is not broken. The drain uncordoned it if it cordoned it; a
            # cordon left by a crashed run of this plan is ours to undo too.
            if self._facts_unschedulable(node.name):
                self._uncordon(step, node, out, "not drained")
            if result.interrupted or self.stopping:
                raise _Stop
            errors = [e for n in result.nodes for e in n.errors]
            blocked = [
                f"{b.pod} blocked by {b.budget or 'a budget'}" for n in result.nodes for b in n.blocked
            ]
            out.reason = "drain failed: " + "; ".join(errors + blocked or ["see the output"])
            return
        self._phase(step, node.name, f"drained in {format_duration(result.seconds)}", out)
        if self.stopping:
            self._uncordon(step, node, out, "apply stopped before its upgrade")
            raise _Stop
        version = Version.parse(step.version)
        target = NodeTarget(node.name, node.role.value, node.zone, node.address)
        self._phase(step, node.name, f"upgrading to {step.version} ({self.upgrader.name})", out)
        upgrade = self.upgrader.upgrade(
            target,
            version,
            first_control_plane=first_cp,
            timeout=self.options.upgrade_timeout,
            cancel=self._interrupted,
        )
        upgraded = time.monotonic()
        if upgrade.output:
            out.output.extend(f"{node.name}: {line}" for line in upgrade.output.splitlines())
        if not upgrade.ok:
            out.broken = True  # half-upgraded, or not coming back: keep it out of scheduling
            if self._interrupted.is_set():
                out.stopped = True
                out.reason = f"upgrade interrupted: {upgrade.reason}"
                self._phase(step, node.name, "upgrade interrupted; left cordoned", out)
                return
            out.reason = f"upgrade failed: {upgrade.reason}"
            self._phase(step, node.name, f"upgrade failed, left cordoned: {upgrade.reason}", out)
            return
        if not self._wait_ready(step, node, out):
            out.broken = True
            return
        out.output.append(
            timings_line(
                node.name,
                {
                    "drain": drained - began,
                    "upgrade": upgraded - drained,
                    "ready": time.monotonic() - upgraded,
                },
            )
        )
        self._uncordon(step, node, out, f"upgraded to {step.version}")
        out.ok = True

    def _facts_unschedulable(self, name: str) -> bool:
        facts = self._facts(name)
        return facts is not None and facts.unschedulable

    def _check_stop(self) -> None:
        if self.stopping:
            raise _Stop

    def _wait_ready(self, step: Step, node: PlanNode, out: _NodeOutcome) -> bool:
        self._phase(step, node.name, f"waiting for Ready at {step.version}", out)
        deadline = time.monotonic() + self.options.ready_timeout
        last: NodeFacts | None = None
        while True:
            last = self._facts(node.name)
            if last is not None and last.ready and last.runs(step.version):
                self._phase(step, node.name, f"Ready at {step.version}", out)
                return True
            if time.monotonic() >= deadline:
                seen = f"kubelet {last.kubelet}, Ready={last.ready}" if last else "the node is gone"
                waited = format_duration(self.options.ready_timeout)
                out.reason = f"not Ready at {step.version} after {waited} ({seen})"
                return False
            if self._interrupted.wait(self.options.poll_interval):
                raise _Stop

    def _drain_listener(self, step: Step, node: str) -> Callable[[DrainEvent], None]:
        def listener(event: DrainEvent) -> None:
            if isinstance(event, PodEvicting):
                self._emit(NodePhase(step.id, node, f"draining: evicting {event.pod}"))
            elif isinstance(event, PodBlocked):
                self._emit(
                    NodePhase(step.id, node, f"draining: {event.pod} blocked by {event.budget or 'a budget'}")
                )
            elif isinstance(event, NodeFailed):
                self._emit(NodePhase(step.id, node, f"drain failed: {event.reason}"))
            if self.stopping:
                raise KeyboardInterrupt  # the drain engine's own way to stop cleanly

        return listener

    # ----- gates

    def _budgets(self) -> list[BudgetFacts]:
        return [budget_facts(b) for b in self.cluster.list_budgets()]

    def _gates(self, step: Step) -> str:
        """ "" when the step's gates pass, else why not."""
        gates = step.gates
        if gates.soak_seconds:
            self._emit(NodePhase(step.id, "", f"soaking for {format_duration(gates.soak_seconds)}"))
            if self._interrupted.wait(gates.soak_seconds):
                return f"soak interrupted: {self._interrupt_reason}"
        deadline = time.monotonic() + self.options.health_timeout
        while True:
            problems = self._health_problems()
            if not problems:
                break
            self._emit(NodePhase(step.id, "", "waiting for health: " + problems[0]))
            if time.monotonic() >= deadline:
                return "health gate: " + "; ".join(problems)
            if self._interrupted.wait(self.options.poll_interval):
                return f"health gate interrupted: {self._interrupt_reason}"
        if gates.validate:
            failed = self._validate_gate(step)
            if failed:
                return failed
        if gates.alerts is not None:
            return self._wait_alerts(step, gates.alerts, "after")[0]
        return ""

    def _validate_gate(self, step: Step) -> str:
        """Versions, Ready nodes, no new crash-looping or Pending pods, budgets, a test pod; retried
        until the health timeout (evicted pods take a moment to land); "" once it passes."""
        source = self._validation
        if source is None:
            return "validate gate: no way to validate the cluster was given"
        journal = self.journal
        assert journal is not None
        finished = [s.id for s in self.plan.steps if journal.state.is_finished(s.id)]
        expect = expected_versions(self.plan, finished, step)
        deadline = time.monotonic() + self.options.health_timeout
        while True:
            try:
                failures = validate_cluster(
                    source, expect, self._validation_baseline, test_pod_timeout=self.options.test_pod_timeout
                )
            except Exception as err:  # the API failed under us: a failure of the gate like another
                failures = [Failure("api", f"could not validate: {err}")]
            if not failures:
                self._emit(NodePhase(step.id, "", "validated: versions, nodes, pods, budgets, a test pod"))
                return ""
            self._emit(NodePhase(step.id, "", "validating: " + describe(failures, 1)))
            if time.monotonic() >= deadline:
                return "validate gate: " + describe(failures)
            if self._interrupted.wait(self.options.poll_interval):
                return f"validate gate interrupted: {self._interrupt_reason}"

    def _alerts_before(self, step: Step) -> tuple[str, bool]:
        """Before a step that drains: the plan's alert gate must be clear ("" when it is), and
        whether it held the step for a while."""
        gate = self.plan.spec.gates.alerts
        if gate is None or not step.action.drains:
            return "", False
        return self._wait_alerts(step, gate, "before")

    def _wait_alerts(self, step: Step, gate: AlertGate, when: str) -> tuple[str, bool]:
        """Waits while an alert matching the gate fires, or Prometheus cannot be read (fail safe);
        "" once none does, else why the step fails (the timeout, with what held it); and whether
        anything held it at all."""
        source = self._alerts
        if source is None:
            return "alert gate: no way to read Prometheus' alerts was given", False
        deadline = time.monotonic() + self.options.alert_timeout
        last = ""
        while True:
            try:
                firing = blocking_alerts(source.alerts(gate.prometheus_url), gate.alert_regex)
                problem = f"alerts firing: {', '.join(firing)}" if firing else ""
            except re.error as err:
                return f"alert gate: {gate.alert_regex!r} is not a regular expression: {err}", False
            except Exception as err:  # unreachable or garbled: hold, as a firing alert would
                problem = f"cannot read alerts ({err}); holding until Prometheus answers"
            if not problem:
                if last:
                    self._emit(Notice("info", f"alert gate clear {when} step {step.id}"))
                return "", bool(last)
            if problem != last:
                message = (
                    f"alert gate ({gate.prometheus_url}, {gate.alert_regex!r}) holds {when} step {step.id}: "
                    + problem
                )
                self._emit(Notice("warning", message))
                if self.journal is not None:
                    self.journal.event(message, level="warning", step=step.id)
                last = problem
            self._emit(NodePhase(step.id, "", f"alert gate: {problem}"))
            if time.monotonic() >= deadline:
                return f"alert gate: after {format_duration(self.options.alert_timeout)}, {problem}", True
            if self._interrupted.wait(self.options.alert_interval):
                return f"alert gate interrupted: {self._interrupt_reason}", True
            if self.journal is not None and self._control() is RunMode.ABORTING:
                return "alert gate: aborted on request", True

    def _health_problems(self) -> list[str]:
        problems = [
            f"node {n.name} is not Ready"
            for n in map(node_facts, self.cluster.list_nodes())
            if not n.ready and n.name not in self._baseline_not_ready
        ]
        for obj in self.cluster.list_budgets():
            budget = budget_facts(obj)
            if not budget.healthy and budget.key not in self._baseline_unhealthy:
                problems.append(budget.describe())
        return problems

    # ----- dry run

    def _dry_run(self, steps: Sequence[Step]) -> ApplyResult:
        state = self._state
        total = len(steps)
        fresh = state is None or not any(state.steps.get(s.id) is not None for s in steps)
        if self._backup is not None and fresh and not (state is not None and state.is_finished(BACKUP_STEP)):
            self._emit(DryRunAction(BACKUP_STEP, "", "# would take a backup: " + self._backup.describe()))
        for index, step in enumerate(steps, start=1):
            if state is not None and state.is_finished(step.id):
                self._emit(StepFinished(step.id, True, already=True))
                continue
            self._emit(StepStarted(step.id, index, total, step.action.value, step.node_names, 0))
            if step.action not in SUPPORTED:
                self._dry_run_pool_step(step)
                continue
            first_cp = self._first_control_plane(step)
            for node in step.nodes:
                obj = self.cluster.node(node.name)
                facts = node_facts(obj) if obj is not None else None
                if facts is not None and facts.runs(step.version):
                    self._emit(DryRunAction(step.id, node.name, f"# {node.name} already runs {step.version}"))
                    if facts.unschedulable and not node.cordoned:
                        self._emit(DryRunAction(step.id, node.name, f"kubectl uncordon {node.name}"))
                    continue
                drain = f"kubectl drain {node.name} {_drain_flags(step)}"
                self._emit(DryRunAction(step.id, node.name, drain))
                upgrade = self.upgrader.upgrade(
                    NodeTarget(node.name, node.role.value, node.zone, node.address),
                    Version.parse(step.version),
                    first_control_plane=node.name == first_cp,
                    timeout=self.options.upgrade_timeout,
                    dry_run=True,
                )
                for action in upgrade.actions:
                    self._emit(DryRunAction(step.id, node.name, action))
                self._emit(
                    DryRunAction(step.id, node.name, f"# wait until {node.name} is Ready at {step.version}")
                )
                if not node.cordoned:
                    self._emit(DryRunAction(step.id, node.name, f"kubectl uncordon {node.name}"))
            gates = step.gates
            if gates.soak_seconds:
                self._emit(DryRunAction(step.id, "", f"# soak {format_duration(gates.soak_seconds)}"))
            self._emit(DryRunAction(step.id, "", "# wait until every node is Ready and every PDB healthy"))
            if gates.validate:
                self._emit(
                    DryRunAction(step.id, "", "# validate: versions, nodes Ready, pods, PDBs, a test pod")
                )
            if gates.alerts is not None:
                self._emit(
                    DryRunAction(
                        step.id,
                        "",
                        f"# wait while an alert matching {gates.alerts.alert_regex!r} fires "
                        f"(GET {gates.alerts.prometheus_url}/api/v1/alerts)",
                    )
                )
        return ApplyResult(Outcome.DRY_RUN, "dry run: nothing was changed", steps_total=total)

    def _dry_run_pool_step(self, step: Step) -> None:
        pool = self._pool
        for new in step.new_nodes:
            if pool is not None:
                self._emit(
                    DryRunAction(step.id, new.name, pool.describe_create(new.name, new.like, step.version))
                )
            self._emit(DryRunAction(step.id, new.name, f"# wait until {new.name} is Ready at {step.version}"))
        for node in step.nodes:
            if step.action is Action.CORDON_NODES:
                self._emit(DryRunAction(step.id, node.name, f"kubectl cordon {node.name}"))
            elif step.action is Action.DRAIN_NODES:
                self._emit(
                    DryRunAction(step.id, node.name, f"kubectl drain {node.name} {_drain_flags(step)}")
                )
            elif step.action is Action.REMOVE_NODES and pool is not None:
                self._emit(DryRunAction(step.id, node.name, pool.describe_delete(node.name)))
        if step.action.drains:
            self._emit(DryRunAction(step.id, "", "# wait until every node is Ready and every PDB healthy"))

    def _emit(self, event: ApplyEvent) -> None:
        if self._listener is not None:
            self._listener(event)


def _drain_flags(step: Step) -> str:
    """kubectl drain's flags for the step's drain settings."""
    spec = step.drain
    flags = "--ignore-daemonsets" if spec is None or spec.ignore_daemonsets else ""
    if spec is None or spec.delete_emptydir_data:
        flags += " --delete-emptydir-data"
    if spec is not None and spec.force:
        flags += " --force"
    if spec is not None:
        flags += f" --timeout {spec.timeout_seconds}s"
        if spec.grace_period_seconds >= 0:
            flags += f" --grace-period {spec.grace_period_seconds}"
    return flags.strip()
