"""`overhaul drain`: kubectl drain's flags and filters, several nodes at once, never past a PDB."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from overhaul.cli.consoles import stderr_console, stdout_console, step_progress
from overhaul.cli.context import connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_FAILED, EXIT_USAGE, fail
from overhaul.domain.durations import DurationError, format_duration, parse_duration
from overhaul.engine.drain.engine import Drainer, DrainInputError
from overhaul.engine.drain.events import (
    BudgetBypassed,
    DrainEvent,
    NodeCordoned,
    NodeDrained,
    NodeFailed,
    NodeStarted,
    NodeUncordoned,
    NodeUncordonFailed,
    NodeWarning,
    PodBlocked,
    PodEvicting,
    PodGone,
)
from overhaul.engine.drain.options import DrainOptions, parse_on_blocked
from overhaul.engine.drain.summary import DrainResult

OUTPUTS = ("table", "json")


def drain(
    ctx: typer.Context,
    nodes: list[str] = typer.Argument(
        None, metavar="NODE...", help="The nodes to drain.", show_default=False
    ),
    selector: str = typer.Option(
        "", "-l", "--selector", help="Also drain the nodes this label selector picks."
    ),
    ignore_daemonsets: bool = typer.Option(False, "--ignore-daemonsets", help="Skip DaemonSet-managed pods."),
    delete_emptydir_data: bool = typer.Option(
        False, "--delete-emptydir-data", help="Evict pods with emptyDir volumes (their data is lost)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Also delete pods without a controller (nothing recreates them)."
    ),
    grace_period: int = typer.Option(
        -1, "--grace-period", help="Seconds each pod gets to stop; -1 uses the pod's own setting."
    ),
    timeout: str = typer.Option(
        "0s", "--timeout", help="Give up after this long (e.g. 5m); 0 waits forever."
    ),
    pod_selector: str = typer.Option(
        "", "--pod-selector", help="Only evict the pods this label selector picks."
    ),
    disable_eviction: bool = typer.Option(
        False,
        "--disable-eviction",
        help="DELETE pods instead of evicting them: bypasses every PodDisruptionBudget.",
    ),
    skip_wait_for_delete_timeout: int = typer.Option(
        0,
        "--skip-wait-for-delete-timeout",
        min=0,
        help="Skip pods deleted more than this many seconds ago (their node is probably gone).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be cordoned and evicted; change nothing."
    ),
    parallel: int = typer.Option(0, "--parallel", min=0, help="Nodes drained at once (default: all given)."),
    on_blocked: str = typer.Option(
        "wait",
        "--on-blocked",
        metavar="POLICY",
        help="When a PDB blocks an eviction: wait (until --timeout), fail (when the budget can never "
        "allow it), "
        "or disable-eviction-after=DURATION (then delete past the budget, loudly).",
    ),
    leave_cordoned: bool = typer.Option(
        False,
        "--leave-cordoned",
        help="On failure, keep the nodes cordoned (default: uncordon what was not drained).",
    ),
    output: str = typer.Option(
        "table", "-o", "--output", metavar="FORMAT", help="table or json (to stdout)."
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Cordon and drain nodes, evicting pods without ever breaking a PodDisruptionBudget.

    Exit codes: 0 drained, 1 not drained (timeout, blocked, API failure, interrupted), 2 bad input.
    """
    if output not in OUTPUTS:
        fail(f"-o {output}: choose one of {', '.join(OUTPUTS)}", EXIT_USAGE)
    try:
        timeout_seconds = parse_duration(timeout)
        policy = parse_on_blocked(on_blocked)
    except (DurationError, ValueError) as err:
        fail(f"--timeout {timeout!r}: {err}" if isinstance(err, DurationError) else str(err), EXIT_USAGE)
    if not nodes and not selector:
        fail("name at least one node, or give --selector", EXIT_USAGE)
    options = DrainOptions(
        ignore_daemonsets=ignore_daemonsets,
        delete_emptydir_data=delete_emptydir_data,
        force=force,
        grace_period=grace_period,
        timeout=timeout_seconds,
        pod_selector=pod_selector,
        disable_eviction=disable_eviction,
        skip_wait_for_delete_timeout=skip_wait_for_delete_timeout,
        dry_run=dry_run,
        parallel=parallel,
        on_blocked=policy,
        leave_cordoned=leave_cordoned,
    )
    from overhaul.kube.drain import KubeDrainCluster  # deferred: the HTTP stack loads only when used

    console = stderr_console()
    with kube_errors(), connect(ctx, kubeconfig, context) as client:
        cluster = KubeDrainCluster(client)
        reporter = _Reporter(console, dry_run)
        drainer = Drainer(cluster, options, reporter.on_event)
        try:
            chosen = drainer.resolve_nodes(nodes or [], selector)
            cluster.check_pod_selector(pod_selector)
        except DrainInputError as err:
            fail(str(err), EXIT_USAGE)
        except ValueError as err:
            fail(f"invalid --pod-selector {pod_selector!r}: {err} (nothing was changed)", EXIT_USAGE)
        if disable_eviction and not dry_run:
            console.print(
                "[bold red]WARNING:[/] --disable-eviction deletes pods directly: "
                "PodDisruptionBudgets are NOT respected."
            )
        with reporter.progress(), _signals_as_interrupt():
            result = drainer.run(chosen)
    if output == "json":
        sys.stdout.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_table(result)
    _print_outcome(console, result)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


class _Reporter:
    """kubectl-like lines on stderr and a progress bar per node."""

    def __init__(self, console: Console, dry_run: bool) -> None:
        self.console = console
        self.suffix = " (dry run)" if dry_run else ""
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    @contextmanager
    def progress(self) -> Iterator[None]:
        progress = step_progress(self.console)
        self._progress = progress
        with progress:
            yield
        self._progress = None

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def on_event(self, event: DrainEvent) -> None:
        if isinstance(event, NodeCordoned):
            self.line(f"node/{event.node} {'already cordoned' if event.already else 'cordoned'}{self.suffix}")
        elif isinstance(event, NodeWarning):
            self.line(f"Warning: {event.message}")
        elif isinstance(event, NodeStarted):
            if self._progress is not None and event.to_evict:
                self._tasks[event.node] = self._progress.add_task(f"node/{event.node}", total=event.to_evict)
        elif isinstance(event, PodEvicting):
            self.line(f"evicting pod {event.pod}{self.suffix}")
        elif isinstance(event, PodGone):
            self.line(f"pod/{event.pod.split('/', 1)[-1]} {'deleted' if event.deleted else 'evicted'}")
            task = self._tasks.get(event.node)
            if self._progress is not None and task is not None:
                self._progress.advance(task)
        elif isinstance(event, PodBlocked):
            budget = f" by PodDisruptionBudget {event.budget}" if event.budget else ""
            waited = f" for {format_duration(event.seconds)}" if event.seconds >= 1 else ""
            self.line(f"pod {event.pod} blocked{budget}{waited}: {event.message}")
        elif isinstance(event, BudgetBypassed):
            self.console.print(
                f"[bold red]WARNING: deleting pod {event.pod} past PodDisruptionBudget {event.budget or '?'} "
                f"after {format_duration(event.seconds)} blocked (--on-blocked disable-eviction-after)[/]"
            )
        elif isinstance(event, NodeDrained):
            self.line(f"node/{event.node} drained{self.suffix}")
            self._finish(event.node)
        elif isinstance(event, NodeFailed):
            self.line(f'error: unable to drain node "{event.node}": {event.reason}')
            self._finish(event.node)
        elif isinstance(event, NodeUncordoned):
            self.line(f"node/{event.node} uncordoned (drain {event.reason})")
        elif isinstance(event, NodeUncordonFailed):
            self.line(f"error: {event.reason}; the node is still cordoned: run kubectl uncordon {event.node}")

    def _finish(self, node: str) -> None:
        task = self._tasks.pop(node, None)
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)


def _print_table(result: DrainResult) -> None:
    table = Table(title="drain" + (" (dry run)" if result.dry_run else ""))
    for column in ("NODE", "STATUS", "EVICTED", "DELETED", "SKIPPED", "BLOCKED", "SECONDS", "CORDONED"):
        table.add_column(column)
    for node in result.nodes:
        table.add_row(
            node.name,
            node.status.value,
            str(len(node.evicted)),
            str(len(node.deleted)),
            str(len(node.skipped)),
            str(len(node.blocked)),
            f"{node.seconds:.1f}",
            "yes" if node.cordoned else "no",
        )
    stdout_console().print(table)


def _print_outcome(console: Console, result: DrainResult) -> None:
    if result.bypassed:
        console.print(
            f"[bold red]WARNING: {len(result.bypassed)} pod(s) deleted past their PodDisruptionBudget:[/] "
            + ", ".join(result.bypassed)
        )
    if result.interrupted:
        console.print("overhaul: interrupted; nodes not drained were uncordoned", markup=False)
    elif not result.ok:
        failed = [n.name for n in result.nodes if n.status.value != "drained"]
        console.print(f"overhaul: not drained: {', '.join(failed)}", markup=False)


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (a CI job cancelled, a pod stopped) end the drain cleanly, even when the
    drain was started with SIGINT ignored (a background job of a non-interactive shell)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
