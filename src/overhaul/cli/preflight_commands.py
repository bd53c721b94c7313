"""`overhaul preflight --to V`: is the cluster (or are these manifests) ready for the upgrade?

Exit codes: 0 nothing blocking, 3 blocking findings, 2 bad input (a version that is not one, a
target older than the cluster, a malformed manifest), 1 the cluster could not be read.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from overhaul.cli.consoles import stdout_console
from overhaul.cli.context import connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_FINDINGS, EXIT_USAGE, fail
from overhaul.cli.preflight_inputs import LiveExtras, note, read_live_extras, read_manifests
from overhaul.cli.targets import load_snapshot, parse_target, refuse_downgrade
from overhaul.domain.cluster import ClusterView
from overhaul.domain.findings import Finding, Severity
from overhaul.preflight.checks import CHECK_IDS, UnknownCheckError, run_checks, validate_ids
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.provider_skew import AUTO, choose_provider, provider_names
from overhaul.preflight.report import PreflightReport

OUTPUTS = ("table", "json", "junit")
SEVERITY_STYLE = {Severity.BLOCKING: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _day(text: str | None) -> dt.date:
    if text is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--today {text}: not a YYYY-MM-DD date", EXIT_USAGE)


def _provider(text: str) -> str:
    """`--provider` as given, checked (exit 2 for one that is not known)."""
    name = text.strip().lower()
    known = provider_names()
    if name not in known:
        fail(f"--provider {text}: choose one of {', '.join(known)}", EXIT_USAGE)
    return name


def _load_cluster(
    ctx: typer.Context, kubeconfig: Path | None, context: str | None
) -> tuple[ClusterView, LiveExtras]:
    from overhaul.kube.view import load_cluster_view  # deferred: the HTTP stack loads only when used

    started = time.monotonic()
    note("reading the cluster...")
    with kube_errors(), connect(ctx, kubeconfig, context) as client:
        view = load_cluster_view(client)
        note(f"read {len(view.nodes)} nodes and {len(view.pods)} pods in {time.monotonic() - started:.1f}s")
        extras = read_live_extras(client, view)
    for text in view.notes:
        note(f"note: {text}")
    return view, extras


def preflight(
    ctx: typer.Context,
    to: str = typer.Option(
        ..., "--to", metavar="V", help="The target version: 1.36, v1.36, 1.36.2 or v1.36.2."
    ),
    manifests: list[str] = typer.Option(
        [],
        "--manifests",
        metavar="PATH",
        help="Manifest files or directories (recursively) to scan for removed APIs; `-` reads stdin. "
        "Repeatable.",
        show_default=False,
    ),
    no_cluster: bool = typer.Option(
        False, "--no-cluster", help="Do not contact a cluster: scan the --manifests alone (CI)."
    ),
    from_snapshot: Path | None = typer.Option(
        None,
        "--from-snapshot",
        metavar="FILE",
        help="Check a snapshot written by `overhaul snapshot` instead of a live cluster.",
        dir_okay=False,
    ),
    batch: int = typer.Option(
        1, "--batch", metavar="N", help="How many nodes are drained at once (for the capacity check)."
    ),
    accept: list[str] = typer.Option(
        [],
        "--accept",
        metavar="CHECK",
        help="A check whose blocking findings are accepted (reported as warnings). Repeatable.",
        show_default=False,
    ),
    provider: str = typer.Option(
        AUTO,
        "--provider",
        metavar="NAME",
        help=f"The managed provider whose stricter node-version rules apply on top of the upstream "
        f"skew policy (e.g. EKS node groups on the control plane's minor before its upgrade): "
        f"{', '.join(provider_names())}. auto: the one the nodes' labels name, else generic.",
    ),
    output: str = typer.Option("table", "-o", "--output", metavar="FORMAT", help="table, json or junit."),
    today: str | None = typer.Option(
        None,
        "--today",
        metavar="DATE",
        help="Judge end of support as of this date, YYYY-MM-DD (default: today).",
        show_default=False,
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Readiness for an upgrade to V: removed and deprecated APIs (live objects, manifests, Helm
    releases, API server metrics), version skew, end of support, PDBs that block drains, pods a
    drain would lose, capacity headroom and cluster health."""
    target = parse_target(to)
    day = _day(today)
    provider_name = _provider(provider)
    if output not in OUTPUTS:
        fail(f"-o {output}: choose one of {', '.join(OUTPUTS)}", EXIT_USAGE)
    if batch < 1:
        fail(f"--batch {batch}: drain at least 1 node at a time", EXIT_USAGE)
    try:
        accepted = validate_ids(accept)
    except UnknownCheckError as err:
        fail(f"--accept: {err}", EXIT_USAGE)
    if no_cluster and from_snapshot is not None:
        fail("--no-cluster and --from-snapshot exclude each other", EXIT_USAGE)
    usages = read_manifests(manifests)
    cluster: ClusterView | None = None
    extras = LiveExtras()
    if from_snapshot is not None:
        cluster = load_snapshot(from_snapshot)
    elif not no_cluster:
        cluster, extras = _load_cluster(ctx, kubeconfig, context)
    if cluster is not None:
        refuse_downgrade(target, cluster)
    chosen = choose_provider(provider_name, cluster)
    if chosen.note:
        note(chosen.note)
    data = PreflightInput(
        target=target,
        today=day,
        cluster=cluster,
        usages=(*usages, *extras.usages),
        problems=tuple(extras.problems),
        readyz=extras.readyz,
        batch=batch,
        now=dt.datetime.now(dt.UTC) if from_snapshot is None else None,
        provider=chosen.name,
    )
    findings = run_checks(data, accepted)
    report = PreflightReport.of(target, cluster, findings, CHECK_IDS)
    if output == "json":
        sys.stdout.buffer.write(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    elif output == "junit":
        sys.stdout.write(report.to_junit())
        sys.stdout.flush()
    else:
        _print_table(report)
    if report.blocking:
        raise typer.Exit(EXIT_FINDINGS)


def _print_table(report: PreflightReport) -> None:
    console = stdout_console()
    current = (
        f"cluster {report.apiserver}, kubelets " + ", ".join(f"{v} ({n})" for v, n in report.kubelets.items())
        if report.apiserver
        else "no cluster"
    )
    console.print(f"[bold]Preflight for an upgrade to {report.target}[/bold] ({current})")
    for severity in Severity:
        group: list[Finding] = [f for f in report.findings if f.severity is severity]
        if not group:
            continue
        style = SEVERITY_STYLE[severity]
        table = Table(
            title=f"{severity.value.upper()} ({len(group)})",
            title_style=style,
            title_justify="left",
            show_header=False,
            show_lines=True,
            expand=True,
        )
        table.add_column("check", no_wrap=True, style=style)
        table.add_column("details", ratio=1)
        for f in group:
            where = escape(str(f.object) or "cluster")
            if f.source != "live":
                where += f" [dim]({escape(f.source)})[/dim]"
            details = f"[bold]{where}[/bold]\n{escape(f.message)}"
            if f.remedy:
                details += f"\n[green]→ {escape(f.remedy)}[/green]"
            table.add_row(f.check, details)
        console.print(table)
    counts = report.summary
    verdict = (
        "[bold red]not ready[/bold red]: fix the blocking findings (or --accept a check)"
        if report.blocking
        else "[bold green]ready[/bold green]: nothing blocking"
    )
    console.print(
        f"{verdict} — {counts['blocking']} blocking, {counts['warning']} warning, {counts['info']} info"
    )
