"""`overhaul apply PLAN`: runs a plan, crash-safe and resumable; `status`, `pause`, `resume`, `abort`.

Exit codes: apply 0 every step done (or a dry run), 1 a step failed, the apply was aborted or
interrupted, the lock is held, or the cluster could not be reached; 2 a bad, changed or unsupported
plan, or a cluster that no longer matches it (nothing changed). status/pause/resume/abort: 0 done,
1 no journal or unreachable, 2 bad input.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from overhaul.cli.consoles import stderr_console, stdout_console, step_progress
from overhaul.cli.context import connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_FAILED, EXIT_USAGE, fail
from overhaul.domain.durations import DurationError, format_duration, parse_duration
from overhaul.domain.plan import Plan, ProviderName
from overhaul.engine.apply.drift import cluster_drift
from overhaul.engine.apply.engine import Applier, ApplyOptions, ApplyResult, Outcome, unsupported_steps
from overhaul.engine.apply.events import (
    ApplyEvent,
    DryRunAction,
    NodePhase,
    Notice,
    StepFinished,
    StepStarted,
)
from overhaul.engine.apply.facts import node_facts
from overhaul.engine.journal import (
    DEFAULT_MAX_OUTPUT,
    WRITER_LOCK,
    ControlAction,
    DirectoryJournalStore,
    Journal,
    JournalError,
    JournalState,
    RunMode,
    atomic_write,
    read_control,
    read_journal,
    request_control,
)
from overhaul.engine.lock import (
    LockLost,
    LockRefused,
    crashed_here,
    hold_lock,
    local_identity,
    new_run_id,
)
from overhaul.engine.ports import JournalStore
from overhaul.planning.planfile import PlanFileError, digest, load_plan, plan_to_dict

if TYPE_CHECKING:
    from overhaul.kube.client import ApiClient

CLUSTER_STATE = "cluster"
CLUSTER_MAX_OUTPUT = 4096
PLAN_COPY = "plan.yaml"
OUTPUTS = ("table", "json")


def default_state(plan_path: Path) -> Path:
    """plan.yaml -> plan.state/, next to the plan."""
    return plan_path.with_name(plan_path.stem + ".state")


def journal_id(plan: Plan) -> str:
    """The plan's id in its journal: its name as a DNS label (the ConfigMap store needs one)."""
    text = re.sub(r"[^a-z0-9-]+", "-", plan.name.lower()).strip("-")[:63].strip("-")
    return text or "plan"


def plan_hash(plan: Plan) -> str:
    return digest(plan_to_dict(plan))


def _load(plan_path: Path) -> Plan:
    try:
        return load_plan(plan_path)
    except PlanFileError as err:
        fail(str(err), EXIT_USAGE)


def _store(state: str, plan: Plan | None, client: ApiClient | None, *, writer: bool) -> JournalStore:
    if state == CLUSTER_STATE:
        if plan is None or client is None:
            fail("--state cluster needs the plan file (to name its journal)", EXIT_USAGE)
        from overhaul.kube.journal_store import ConfigMapJournalStore

        return ConfigMapJournalStore(client, journal_id(plan))
    try:
        return DirectoryJournalStore(Path(state), writer=writer)
    except JournalError as err:
        fail(str(err), EXIT_FAILED)


def _provider_config(plan: Plan) -> dict[str, Any]:
    spec = plan.spec.provider
    if spec.name is ProviderName.EXEC:
        config: dict[str, Any] = {}
        if spec.node_command:
            config["worker"] = spec.node_command
        if spec.control_plane_command:
            config["control_plane"] = spec.control_plane_command
        return config
    if spec.name is ProviderName.KUBEADM:
        config = {}
        if spec.ssh_user:
            config["user"] = spec.ssh_user
        if spec.package_manager:
            config["package_manager"] = spec.package_manager
        return config
    return {}


def default_backup_dir(plan_file: Path, state: str) -> Path:
    """Where apply's backup goes unless the plan says: a `backups` folder next to the state folder
    (next to the plan with `--state cluster`)."""
    if state == CLUSTER_STATE:
        return plan_file.resolve().parent / "backups"
    return Path(state).resolve().parent / "backups"


class _PlanBackup:
    """The plan's backup through `overhaul.backup.take_backup` (an `engine.apply.ports.BackupTaker`)."""

    def __init__(self, plan: Plan, client: ApiClient, directory: Path) -> None:
        self.spec = plan.spec.backup
        self.client = client
        self.directory = directory

    def describe(self) -> str:
        etcd = f"an etcd snapshot of {self.spec.etcd.endpoint} and " if self.spec.etcd is not None else ""
        return f"{etcd}every API resource, into {self.directory}/"

    def take(self) -> str:
        from overhaul.backup import BackupOptions, BackupPorts, EtcdOptions, take_backup
        from overhaul.cli.backup_cluster import KubeBackupCluster

        etcd = None
        if self.spec.etcd is not None:
            spec = self.spec.etcd
            etcd = EtcdOptions(
                spec.endpoint,
                Path(spec.cacert) if spec.cacert else None,
                Path(spec.cert) if spec.cert else None,
                Path(spec.key) if spec.key else None,
            )
        options = BackupOptions(self.directory, etcd=etcd, etcd_skipped="no etcd endpoint in the plan")
        result = take_backup(options, BackupPorts(cluster=KubeBackupCluster(self.client)))
        return str(result.path)


def _seconds(text: str, option: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as err:
        fail(f"{option}: {err}", EXIT_USAGE)


def _positive(seconds: float, option: str) -> float:
    if seconds <= 0:
        fail(f"{option}: give a duration longer than 0s", EXIT_USAGE)
    return seconds


def apply(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., metavar="PLAN", help="The plan file `overhaul plan` wrote."),
    state: str = typer.Option(
        "",
        "--state",
        metavar="DIR|cluster",
        help="Where the journal is kept: a folder (default: PLAN's name + .state, next to it) or "
        "'cluster' (a ConfigMap in kube-system).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print every action and command; change nothing."),
    stop_outside_window: bool = typer.Option(
        False,
        "--stop-outside-window",
        help="Outside every maintenance window, stop (exit 1) instead of waiting.",
    ),
    upgrade_timeout: str = typer.Option("30m", "--upgrade-timeout", help="Per node, for the provider."),
    ready_timeout: str = typer.Option("10m", "--ready-timeout", help="Per node, to be Ready at the version."),
    health_timeout: str = typer.Option(
        "10m", "--health-timeout", help="After each step, for the health gate."
    ),
    alert_timeout: str = typer.Option(
        "30m",
        "--alert-timeout",
        help="How long firing alerts (or an unreachable Prometheus) may hold a step before it fails.",
    ),
    alert_interval: str = typer.Option(
        "5s", "--alert-interval", help="How often Prometheus' alerts are read again while they hold a step."
    ),
    test_pod_timeout: str = typer.Option(
        "1m", "--test-pod-timeout", help="How long the validate gate's test pod may take to run."
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Run an upgrade plan: cordon, drain, upgrade, wait Ready, uncordon, gates; resumable.

    Exit codes: 0 done, 1 a step failed / aborted / interrupted / lock held, 2 bad or stale plan.
    """
    options = ApplyOptions(
        dry_run=dry_run,
        stop_outside_window=stop_outside_window,
        upgrade_timeout=_seconds(upgrade_timeout, "--upgrade-timeout"),
        ready_timeout=_seconds(ready_timeout, "--ready-timeout"),
        health_timeout=_seconds(health_timeout, "--health-timeout"),
        alert_timeout=_seconds(alert_timeout, "--alert-timeout"),
        alert_interval=_positive(_seconds(alert_interval, "--alert-interval"), "--alert-interval"),
        test_pod_timeout=_positive(_seconds(test_pod_timeout, "--test-pod-timeout"), "--test-pod-timeout"),
    )
    plan = _load(plan_file)
    bad = unsupported_steps(plan, creates_nodes=plan.spec.provider.name.creates_nodes)
    if bad:
        fail(
            f"{plan_file}: step {bad[0].id} ({bad[0].action.value}) needs a provider that creates and "
            f"deletes nodes, and {plan.spec.provider.name.value} does not (nothing was changed)",
            EXIT_USAGE,
        )
    state = state or str(default_state(plan_file))
    console = stderr_console()
    from overhaul.kube.apply_cluster import KubeApplyCluster
    from overhaul.kube.lease import LeaseLock
    from overhaul.kube.prometheus import PrometheusAlerts
    from overhaul.kube.validate_cluster import KubeValidateCluster
    from overhaul.providers.base import ProviderConfigError
    from overhaul.providers.registry import create_provider
    from overhaul.providers.sim import SimNodePool

    with kube_errors(), connect(ctx, kubeconfig, context) as client, ExitStack() as stack:
        cluster = KubeApplyCluster(client)
        try:
            upgrader = create_provider(plan.spec.provider.name.value, _provider_config(plan), api=client)
        except ProviderConfigError as err:
            fail(f"{plan_file}: {err}", EXIT_USAGE)
        previous = _read_previous(state, plan, client)
        run_id = new_run_id()
        identity = local_identity(run_id)
        # A lock left by an apply that crashed on this machine is taken over at once, not waited out.
        lock = LeaseLock(client, identity, abandoned=crashed_here)
        if not dry_run:
            # Before judging the cluster: another apply at work changes it, and that is the news.
            current = lock.current()
            if current is not None and not current.stale:
                fail(f"{LockRefused(lock.description, current)}; nothing was changed", EXIT_FAILED)
        _refuse_drift(plan, cluster.list_nodes(), previous)
        backup_dir = (
            Path(plan.spec.backup.directory)
            if plan.spec.backup.directory
            else default_backup_dir(plan_file, state)
        )
        backup = _PlanBackup(plan, client, backup_dir) if plan.spec.backup.enabled else None
        node_pool = SimNodePool(client) if plan.spec.provider.name.creates_nodes else None
        alerts = PrometheusAlerts()
        stack.callback(alerts.close)
        if dry_run:
            reporter = _Reporter(console, plan)
            applier = Applier(
                plan,
                cluster,
                upgrader,
                None,
                options=options,
                listener=reporter.dry_run,
                journal_state=previous,
                backup=backup,
                node_pool=node_pool,
            )
            applier.run()
            console.print("dry run: nothing was changed", markup=False)
            return
        remaining = [s for s in plan.steps if previous is None or not previous.is_finished(s.id)]
        if not remaining:
            console.print(f"every step of {plan.name} is already done (journal: {state})", markup=False)
            return
        if not yes:
            if not sys.stdin.isatty():
                fail("not a terminal to confirm on: pass --yes to apply the plan", EXIT_USAGE)
            question = (
                f"Apply {plan.name} ({len(remaining)} of {len(plan.steps)} steps to run) to {client.server}?"
            )
            if not typer.confirm(question, err=True):
                fail("not confirmed: nothing was changed", EXIT_FAILED)
        store = _store(state, plan, client, writer=True)
        stack.callback(store.close)
        reporter = _Reporter(console, plan)
        holder: list[Applier] = []

        def lost(reason: str) -> None:
            if holder:
                holder[0].interrupt(f"the upgrade lock was lost: {reason}")

        try:
            held = stack.enter_context(hold_lock(lock, on_lost=lost))
        except LockRefused as err:
            fail(f"{err}; nothing was changed", EXIT_FAILED)
        try:
            journal = Journal.open(
                store,
                plan_id=journal_id(plan),
                plan_hash=plan_hash(plan),
                run_id=run_id,
                by=identity,
                # every record rewrites the ConfigMap, and etcd keeps each revision until compaction
                max_output=CLUSTER_MAX_OUTPUT if state == CLUSTER_STATE else DEFAULT_MAX_OUTPUT,
            )
        except JournalError as err:
            fail(str(err), EXIT_USAGE)
        if isinstance(store, DirectoryJournalStore):
            atomic_write(store.directory, PLAN_COPY, plan_file.read_bytes())
        if held.attempt.taken_over is not None:
            previous_holder = held.attempt.taken_over.identity
            gone = " (its process on this host is gone)" if crashed_here(previous_holder) else ""
            message = f"took over a stale upgrade lock from {previous_holder}{gone}"
            console.print(f"[bold yellow]warning:[/] {message}")
            journal.event(message, level="warning")
        if previous is not None:
            done = len(plan.steps) - len(remaining)
            console.print(
                f"resuming {plan.name}: {done} of {len(plan.steps)} steps done, next {remaining[0].id}",
                markup=False,
            )
        applier = Applier(
            plan,
            cluster,
            upgrader,
            journal,
            options=options,
            listener=reporter.on_event,
            lock_check=held.check,
            backup=backup,
            node_pool=node_pool,
            alerts=alerts,
            validation=KubeValidateCluster(client),
        )
        holder.append(applier)
        with reporter.progress(len(plan.steps)), _signals_interrupt(applier):
            try:
                result = applier.run()
            except LockLost as err:
                journal.finish(Outcome.INTERRUPTED.value, f"the upgrade lock was lost: {err}")
                fail(f"the upgrade lock was lost: {err}; stopped", EXIT_FAILED)
    _report(console, plan_file, state, result)


def _read_previous(state: str, plan: Plan, client: ApiClient) -> JournalState | None:
    if state != CLUSTER_STATE and not Path(state).exists():
        return None
    store = _store(state, plan, client, writer=False)
    try:
        previous = read_journal(store)
    except JournalError as err:
        fail(str(err), EXIT_FAILED)
    finally:
        store.close()
    if previous is not None and previous.plan_hash != plan_hash(plan):
        fail(
            f"{store.location} holds the journal of another plan ({previous.plan_id}): use another "
            "--state, or remove that journal to start over (nothing was changed)",
            EXIT_USAGE,
        )
    return previous


def _refuse_drift(plan: Plan, nodes: Any, previous: JournalState | None) -> None:
    journaled = list(previous.steps) if previous is not None else []
    drifts = cluster_drift(plan, [node_facts(n) for n in nodes], journaled)
    if drifts:
        lines = "\n".join(f"  {d.message}" for d in drifts)
        fail(
            f"the cluster no longer matches plan {plan.name} (nothing was changed):\n{lines}\n"
            "make a new plan with `overhaul plan`",
            EXIT_USAGE,
        )


def _report(console: Console, plan_file: Path, state: str, result: ApplyResult) -> None:
    resume = f"overhaul apply {plan_file} --state {state}"
    if result.outcome is Outcome.SUCCEEDED:
        console.print(f"apply: every step is done ({result.steps_run} run now, {result.steps_total} in all)")
        return
    if result.outcome is Outcome.FAILED:
        console.print(f"[bold red]apply failed[/] at step {result.failed_step}: {result.message}")
        for node in result.broken_nodes:
            console.print(
                f"node {node} is left cordoned (its upgrade did not complete): look at it, fix it, "
                f"then `kubectl uncordon {node}` if it should serve again"
            )
        console.print(f"next: fix the cause, then resume with `{resume}`", markup=False)
    elif result.outcome is Outcome.ABORTED:
        console.print(f"apply aborted: {result.message}. Resume with `{resume}`", markup=False)
    elif result.outcome is Outcome.INTERRUPTED:
        console.print(f"apply interrupted: {result.message}. Resume with `{resume}`", markup=False)
        for node in result.broken_nodes:
            console.print(f"node {node} is left cordoned: its upgrade was cut short", markup=False)
    elif result.outcome is Outcome.OUTSIDE_WINDOW:
        console.print(f"apply stopped: {result.message}. Resume with `{resume}`", markup=False)
    raise typer.Exit(EXIT_FAILED)


@contextmanager
def _signals_interrupt(applier: Applier) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the apply cleanly (a second Ctrl-C stops it at once)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        applier.interrupt(f"interrupted by {signal.Signals(signum).name}")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Reporter:
    """Log lines and a progress display on stderr: the steps overall, each node and what it waits for."""

    def __init__(self, console: Console, plan: Plan) -> None:
        self.console = console
        self.plan = plan
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._nodes: dict[str, TaskID] = {}

    @contextmanager
    def progress(self, total: int) -> Iterator[None]:
        progress = step_progress(self.console)
        self._progress = progress
        with progress:
            self._overall = progress.add_task("steps", total=total)
            yield
        self._progress = None

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def dry_run(self, event: ApplyEvent) -> None:
        if isinstance(event, StepStarted):
            self.line(
                f"step {event.index}/{event.total} {event.step} ({event.action}): {', '.join(event.nodes)}"
            )
        elif isinstance(event, StepFinished) and event.already:
            self.line(f"step {event.step}: already done")
        elif isinstance(event, DryRunAction):
            sys.stdout.write(f"{event.step}\t{event.node or '-'}\t{event.action}\n")

    def on_event(self, event: ApplyEvent) -> None:
        progress = self._progress
        if isinstance(event, StepStarted):
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            nodes = ", ".join(event.nodes)
            self.line(f"step {event.index}/{event.total} {event.step}{again}: {event.action} {nodes}")
            if progress is not None:
                for node in event.nodes:
                    self._nodes[node] = progress.add_task(f"  {node}: starting", total=None)
        elif isinstance(event, StepFinished):
            if progress is not None and self._overall is not None:
                progress.advance(self._overall)
                for task in self._nodes.values():
                    progress.remove_task(task)
                self._nodes.clear()
            if event.already:
                return
            self.line(f"step {event.step} {'done' if event.ok else 'FAILED: ' + event.reason}")
        elif isinstance(event, NodePhase):
            if event.node and not event.phase.startswith("draining: "):
                self.line(f"  {event.node}: {event.phase}")
            elif not event.node:
                self.line(f"  {event.phase}")
            node_task = self._nodes.get(event.node)
            if progress is not None and node_task is not None:
                progress.update(node_task, description=f"  {event.node}: {event.phase}")
        elif isinstance(event, Notice):
            style = {"warning": "[bold yellow]warning:[/] ", "error": "[bold red]error:[/] "}.get(
                event.level, ""
            )
            self.console.print(style + event.message.replace("[", "\\["))


# ----------------------------------------------------------------------------- status & control


def _state_location(plan_file: Path | None, state: str) -> tuple[str, Plan | None]:
    plan = _load(plan_file) if plan_file is not None else None
    if not state:
        if plan_file is None:
            fail("give the plan file or --state DIR", EXIT_USAGE)
        state = str(default_state(plan_file))
    if plan is None and state != CLUSTER_STATE and (Path(state) / PLAN_COPY).exists():
        plan = _load(Path(state) / PLAN_COPY)
    return state, plan


@contextmanager
def _reader(
    ctx: typer.Context, state: str, plan: Plan | None, kubeconfig: Path | None, context: str | None
) -> Iterator[JournalStore]:
    if state == CLUSTER_STATE:
        with kube_errors(), connect(ctx, kubeconfig, context) as client:
            store = _store(state, plan, client, writer=False)
            yield store
        return
    if not Path(state).is_dir():
        fail(f"{state}: no such state folder (no apply wrote a journal there)", EXIT_FAILED)
    store = _store(state, plan, None, writer=False)
    try:
        yield store
    finally:
        store.close()


def _writer_running(state: str) -> bool | None:
    """Whether an apply holds the folder's writer lock now (None: cannot tell, e.g. --state cluster)."""
    if state == CLUSTER_STATE:
        return None
    path = Path(state) / WRITER_LOCK
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we got
    return False


def _parse_at(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def status_document(
    plan: Plan | None, journal: JournalState, mode: str, running: bool | None
) -> dict[str, Any]:
    order = [s.id for s in plan.steps] if plan is not None else list(journal.steps)
    actions = {s.id: s for s in plan.steps} if plan is not None else {}
    steps = []
    for step_id in order:
        status = journal.steps.get(step_id)
        step = actions.get(step_id)
        steps.append(
            {
                "id": step_id,
                "action": step.action.value if step else status.detail.get("action", "") if status else "",
                "nodes": list(step.node_names) if step else [],
                "state": status.state.value if status else "pending",
                "attempts": status.attempts if status else 0,
                "startedAt": status.started_at if status else "",
                "endedAt": status.ended_at if status else "",
                "reason": status.reason if status else "",
            }
        )
    done = [s["id"] for s in steps if s["state"] in ("done", "skipped")]
    current = [s["id"] for s in steps if s["state"] in ("started", "failed")]
    first = _parse_at(journal.runs[0].at) if journal.runs else None
    end = _parse_at(journal.finished.at) if journal.finished is not None else None
    if end is None or running:
        end = datetime.now(UTC)
    finished = journal.finished
    if running:
        outcome = "paused" if mode == RunMode.PAUSED.value else "running"
    elif finished is not None:
        outcome = finished.outcome
    else:
        outcome = "stopped without finishing (crashed or killed); run apply again to resume"
    return {
        "plan": plan.name if plan is not None else journal.plan_id,
        "target": plan.spec.target if plan is not None else "",
        "outcome": outcome,
        "message": finished.message if finished is not None and not running else "",
        "mode": mode,
        "runs": len(journal.runs),
        "elapsedSeconds": round((end - first).total_seconds(), 1) if first is not None else 0.0,
        "done": len(done),
        "current": current,
        "remaining": len(steps) - len(done),
        "total": len(steps),
        "steps": steps,
    }


def _mode(store: JournalStore, journal: JournalState) -> str:
    requests = read_control(store)
    start = journal.runs[-1].control_from if journal.runs else 0
    mode = RunMode.RUNNING
    for request in requests[start:]:
        if request.action is ControlAction.ABORT:
            mode = RunMode.ABORTING
        elif mode is not RunMode.ABORTING:
            mode = RunMode.PAUSED if request.action is ControlAction.PAUSE else RunMode.RUNNING
    return mode.value


def _state_option() -> Any:
    return typer.Option(
        "", "--state", metavar="DIR|cluster", help="The apply's journal: its folder, or 'cluster'."
    )


def _plan_argument() -> Any:
    return typer.Argument(
        None, metavar="[PLAN]", help="The plan file (default: the copy in the state folder)."
    )


def status(
    ctx: typer.Context,
    plan_file: Path | None = _plan_argument(),
    state: str = _state_option(),
    output: str = typer.Option(
        "table", "-o", "--output", metavar="FORMAT", help="table or json (to stdout)."
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Show an apply's progress: the plan, done, current and remaining steps, elapsed time."""
    if output not in OUTPUTS:
        fail(f"-o {output}: choose one of {', '.join(OUTPUTS)}", EXIT_USAGE)
    state, plan = _state_location(plan_file, state)
    with _reader(ctx, state, plan, kubeconfig, context) as store:
        try:
            journal = read_journal(store)
        except JournalError as err:
            fail(str(err), EXIT_FAILED)
        if journal is None:
            fail(f"{store.location} holds no journal: no apply has run there", EXIT_FAILED)
        document = status_document(plan, journal, _mode(store, journal), _writer_running(state))
    if output == "json":
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out = stdout_console()
    out.print(
        f"plan {document['plan']} → {document['target']}: {document['outcome']}; "
        f"{document['done']}/{document['total']} steps done, elapsed "
        f"{format_duration(document['elapsedSeconds'])}, {document['runs']} run(s)",
        markup=False,
    )
    table = Table()
    for column in ("STEP", "ACTION", "NODES", "STATE", "ATTEMPTS", "REASON"):
        table.add_column(column)
    for step in document["steps"]:
        table.add_row(
            step["id"],
            step["action"],
            ",".join(step["nodes"]),
            step["state"],
            str(step["attempts"]),
            step["reason"],
        )
    out.print(table)


def _control(
    ctx: typer.Context,
    action: ControlAction,
    plan_file: Path | None,
    state: str,
    reason: str,
    kubeconfig: Path | None,
    context: str | None,
) -> None:
    state, plan = _state_location(plan_file, state)
    with _reader(ctx, state, plan, kubeconfig, context) as store:
        try:
            request = request_control(store, action, by=local_identity(new_run_id()), reason=reason)
        except JournalError as err:
            fail(str(err), EXIT_FAILED)
    running = _writer_running(state)
    note = "" if running is not False else " (no apply is running now: it applies to the next one)"
    if action is ControlAction.RESUME and running is False:
        note = " (no apply is running now: run `overhaul apply` again to resume)"
    stderr_console().print(f"{action.value} requested ({request.id}){note}", markup=False)


def pause(
    ctx: typer.Context,
    plan_file: Path | None = _plan_argument(),
    state: str = _state_option(),
    reason: str = typer.Option("", "--reason", help="Kept in the journal."),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Ask the running apply to pause after its current step (it waits for `overhaul resume`)."""
    _control(ctx, ControlAction.PAUSE, plan_file, state, reason, kubeconfig, context)


def resume(
    ctx: typer.Context,
    plan_file: Path | None = _plan_argument(),
    state: str = _state_option(),
    reason: str = typer.Option("", "--reason", help="Kept in the journal."),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Ask a paused apply to go on."""
    _control(ctx, ControlAction.RESUME, plan_file, state, reason, kubeconfig, context)


def abort(
    ctx: typer.Context,
    plan_file: Path | None = _plan_argument(),
    state: str = _state_option(),
    reason: str = typer.Option("", "--reason", help="Kept in the journal."),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Ask the running apply to stop now, between nodes, leaving nodes schedulable where it safely can."""
    _control(ctx, ControlAction.ABORT, plan_file, state, reason, kubeconfig, context)
