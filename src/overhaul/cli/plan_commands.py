"""`overhaul plan --to V`: preflight, then the upgrade plan, written as plan.yaml (for `overhaul
apply`) and plan.md (for people).

Exit codes: 0 the plan was written; 3 preflight found blocking findings (nothing written; accept
them with --accept); 2 bad input (a version, window, amount, duration, template or combination of
options that does not work; a target older than the cluster); 1 the cluster could not be read or
the files not written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import typer

from overhaul import __version__
from overhaul.cli.context import cluster_options, connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_USAGE, fail
from overhaul.cli.etcd_options import (
    etcd_cacert_option,
    etcd_cert_option,
    etcd_endpoint_option,
    etcd_key_option,
)
from overhaul.cli.preflight_inputs import LiveExtras, note, read_live_extras
from overhaul.cli.targets import load_snapshot, parse_target, refuse_downgrade
from overhaul.domain.cluster import ClusterView
from overhaul.domain.convert import server_version
from overhaul.domain.durations import DurationError, format_duration, parse_duration
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.plan import (
    Action,
    AlertGate,
    Amount,
    AmountError,
    BackupSpec,
    BatchBy,
    DrainSpec,
    EtcdEndpoint,
    Gates,
    Plan,
    PlanSpec,
    ProviderName,
    ProviderSpec,
    Strategy,
    Window,
)
from overhaul.domain.version import Version
from overhaul.planning.accept import accept_findings, check_of, finding_id, relax_for_strategy
from overhaul.planning.build import build_plan
from overhaul.planning.commands import PACKAGE_MANAGERS, TemplateError, check_template
from overhaul.planning.estimate import PHASES, TimingsError, measured_timings, parse_timings, timings_note
from overhaul.planning.markdown import render_markdown
from overhaul.planning.path import PathError
from overhaul.planning.planfile import dumps_plan
from overhaul.planning.windows import WindowError, parse_window
from overhaul.preflight.checks import CHECK_IDS, run_checks
from overhaul.preflight.input import PreflightInput
from overhaul.preflight.provider_skew import AUTO, GENERIC, choose_provider, provider_names


def _choice(text: str, option: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        fail(f"{option} {text}: choose one of {', '.join(choices)}", EXIT_USAGE)
    return value


def _amount(text: str, option: str) -> Amount:
    try:
        amount = Amount.parse(text)
    except AmountError as err:
        fail(f"{option}: {err}", EXIT_USAGE)
    if amount.value == 0:
        fail(f"{option} {text}: must be at least 1 (or 1%), or no node would ever be upgraded", EXIT_USAGE)
    return amount


def _seconds(text: str, option: str) -> int:
    try:
        return round(parse_duration(text))
    except DurationError as err:
        fail(f"{option}: {err}", EXIT_USAGE)


def _windows(specs: list[str]) -> tuple[Window, ...]:
    windows = []
    for spec in specs:
        try:
            windows.append(parse_window(spec))
        except WindowError as err:
            fail(f"--window: {err}", EXIT_USAGE)
    return tuple(windows)


def _accept_ids(ids: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(whole checks, single findings); exit 2 on an unknown check."""
    for accept_id in ids:
        if check_of(accept_id) not in CHECK_IDS:
            fail(
                f"--accept {accept_id}: unknown check {check_of(accept_id)!r} "
                f"(use CHECK or CHECK:NAMESPACE/NAME; checks: {', '.join(CHECK_IDS)})",
                EXIT_USAGE,
            )
    return tuple(i for i in ids if ":" not in i), tuple(i for i in ids if ":" in i)


@dataclass(frozen=True)
class _ProviderOptions:
    name: str
    exec_control_plane: str | None
    exec_node: str | None
    ssh_user: str | None
    package_manager: str | None


def _provider(options: _ProviderOptions, strategy: Strategy) -> ProviderSpec:
    name = ProviderName(_choice(options.name, "--provider", tuple(p.value for p in ProviderName)))
    if name is not ProviderName.EXEC and (options.exec_control_plane or options.exec_node):
        fail("--exec-control-plane and --exec-node go with --provider exec", EXIT_USAGE)
    if name is not ProviderName.KUBEADM and (options.ssh_user or options.package_manager):
        fail("--ssh-user and --package-manager go with --provider kubeadm", EXIT_USAGE)
    for option, template in (
        ("--exec-control-plane", options.exec_control_plane),
        ("--exec-node", options.exec_node),
    ):
        if template is not None:
            try:
                check_template(template)
            except TemplateError as err:
                fail(f"{option}: {err}", EXIT_USAGE)
    if strategy is not Strategy.ROLLING and not name.creates_nodes:
        creators = ", ".join(p.value for p in ProviderName if p.creates_nodes)
        fail(
            f"--strategy {strategy.value} adds nodes, which --provider {name.value} cannot do "
            f"(providers that can: {creators}); use --strategy rolling",
            EXIT_USAGE,
        )
    manager = ""
    if name is ProviderName.KUBEADM:
        manager = _choice(options.package_manager or "apt", "--package-manager", PACKAGE_MANAGERS)
    return ProviderSpec(
        name=name,
        control_plane_command=options.exec_control_plane or "",
        node_command=options.exec_node or "",
        ssh_user=options.ssh_user or "",
        package_manager=manager,
    )


def _gates(soak: str, prometheus: str | None, regex: str | None, validate: bool) -> Gates:
    alerts = None
    if prometheus is not None or regex is not None:
        if prometheus is None:
            fail("--alert-regex goes with --block-on-alerts PROMETHEUS_URL", EXIT_USAGE)
        if regex is None:
            fail(
                "--block-on-alerts needs --alert-regex R: the alerts that must not be firing "
                "(an always-firing alert such as Watchdog would block forever)",
                EXIT_USAGE,
            )
        if not re.match(r"^https?://[^/\s]+", prometheus):
            fail(f"--block-on-alerts {prometheus}: not an http(s) URL", EXIT_USAGE)
        try:
            re.compile(regex)
        except re.error as err:
            fail(f"--alert-regex {regex}: not a regular expression: {err}", EXIT_USAGE)
        alerts = AlertGate(prometheus.rstrip("/"), regex)
    return Gates(soak_seconds=_seconds(soak, "--soak"), alerts=alerts, validate=validate)


def _load_live(
    ctx: typer.Context, kubeconfig: Path | None, context: str | None, target: Version
) -> tuple[ClusterView, LiveExtras, str]:
    from overhaul.kube.view import load_cluster_view  # deferred: the HTTP stack loads only when used

    started = time.monotonic()
    with kube_errors(), connect(ctx, kubeconfig, context) as client:
        # A target older than the cluster is bad input: say so before reading the whole cluster.
        refuse_downgrade(target, ClusterView(server=server_version(client.version())))
        note("reading the cluster...")
        view = load_cluster_view(client)
        note(f"read {len(view.nodes)} nodes and {len(view.pods)} pods in {time.monotonic() - started:.1f}s")
        extras = read_live_extras(client, view)
        server = client.server
    for text in view.notes:
        note(f"note: {text}")
    return view, extras, server


def _preflight(
    target: Version,
    cluster: ClusterView,
    extras: LiveExtras,
    *,
    rules: str,
    accepted: list[str],
    adds_nodes: bool,
    now: dt.datetime,
    live: bool,
) -> list[Finding]:
    checks, single = _accept_ids(accepted)
    data = PreflightInput(
        target=target,
        today=now.date(),
        cluster=cluster,
        usages=tuple(extras.usages),
        problems=tuple(extras.problems),
        readyz=extras.readyz,
        batch=1,
        now=now if live else None,
        provider=None if rules == GENERIC else rules,
    )
    findings = run_checks(data, checks)
    return relax_for_strategy(accept_findings(findings, single), adds_nodes)


def _report_blocking(findings: list[Finding]) -> None:
    blocking = [f for f in findings if f.severity is Severity.BLOCKING]
    note(
        f"preflight found {len(blocking)} blocking finding{'s' if len(blocking) != 1 else ''}; "
        "no plan written:"
    )
    for f in blocking:
        print(f"  [{finding_id(f)}] {f.message}", file=sys.stderr)
        if f.remedy:
            print(f"      → {f.remedy}", file=sys.stderr)
    note("fix them, or accept one with --accept ID (the id in brackets) or a whole check with --accept CHECK")


def _check_provider_fits(plan: Plan, provider: ProviderSpec) -> None:
    """Exit 2 when the provider lacks what the plan's steps need."""
    steps = plan.steps
    cp_steps = [s for s in steps if s.action is Action.UPGRADE_CONTROL_PLANE]
    node_steps = [s for s in steps if s.action is Action.UPGRADE_NODES]
    if any(not s.nodes for s in cp_steps) and provider.name is not ProviderName.EXEC:
        fail(
            "the control plane is not visible as nodes (a managed cluster): "
            f"--provider {provider.name.value} cannot upgrade it; "
            "use --provider exec with --exec-control-plane",
            EXIT_USAGE,
        )
    if provider.name is ProviderName.EXEC:
        if cp_steps and not provider.control_plane_command:
            fail(
                "the plan upgrades the control plane: --provider exec needs --exec-control-plane CMD",
                EXIT_USAGE,
            )
        if node_steps and not provider.node_command:
            fail("the plan upgrades worker nodes: --provider exec needs --exec-node CMD", EXIT_USAGE)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"cannot write {path}: {err.strerror or err}", EXIT_FAILED)


def _summary(plan: Plan, findings: list[Finding], yaml_path: Path, md_path: Path) -> None:
    typer.echo(f"Upgrade plan {plan.name}: {plan.path_summary}")
    for i, stage in enumerate(plan.stages, start=1):
        groups = [
            "[" + ", ".join(s.node_names or tuple(n.name for n in s.new_nodes) or ("control plane",)) + "]"
            for s in stage.steps
            if s.action in (Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES, Action.DRAIN_NODES)
        ]
        seconds = sum(s.estimate_seconds for s in stage.steps)
        typer.echo(
            f"  {i}. {stage.title}: {len(stage.steps)} steps, {format_duration(seconds)}: {' '.join(groups)}"
        )
    if not plan.stages:
        typer.echo("  nothing to do: the cluster already runs the target")
    estimate = f"Estimate: {format_duration(plan.estimate.total_seconds)}"
    if plan.estimate.windows_needed:
        estimate += (
            f", {plan.estimate.windows_needed} window opening(s), earliest "
            f"{plan.estimate.earliest_start} to {plan.estimate.earliest_finish}"
        )
    typer.echo(estimate)
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    typer.echo(
        f"Preflight: {counts[Severity.BLOCKING]} blocking, {counts[Severity.WARNING]} warning, "
        f"{counts[Severity.INFO]} info (see {md_path.name})"
    )
    for warning in plan.warnings:
        typer.echo(f"Warning: {warning}")
    typer.echo(f"Wrote {yaml_path} and {md_path}")


def _backup_spec(
    no_backup: bool,
    endpoint: str | None,
    cacert: Path | None,
    cert: Path | None,
    key: Path | None,
    directory: Path | None,
) -> BackupSpec:
    """The backup apply takes; file paths made absolute, as apply may run from another folder."""
    if endpoint is None and (cacert or cert or key):
        fail("--etcd-cacert, --etcd-cert and --etcd-key need --etcd-endpoint", EXIT_USAGE)
    if no_backup and (endpoint is not None or directory is not None):
        fail("--no-backup goes with neither --etcd-endpoint nor --backup-dir", EXIT_USAGE)
    if (cert is None) != (key is None):
        fail("--etcd-cert and --etcd-key go together", EXIT_USAGE)
    etcd = None
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            fail(f"--etcd-endpoint {endpoint}: give a URL like https://10.0.0.1:2379", EXIT_USAGE)
        for flag, path in (("--etcd-cacert", cacert), ("--etcd-cert", cert), ("--etcd-key", key)):
            if path is not None and not path.is_file():
                fail(f"{flag} {path}: no such file", EXIT_USAGE)

        def absolute(path: Path | None) -> str:
            return str(path.resolve()) if path is not None else ""

        etcd = EtcdEndpoint(endpoint, absolute(cacert), absolute(cert), absolute(key))
    return BackupSpec(
        enabled=not no_backup,
        etcd=etcd,
        directory=str(directory.resolve()) if directory is not None else "",
    )


def plan(
    ctx: typer.Context,
    to: str = typer.Option(
        ..., "--to", metavar="V", help="The target version: 1.36, v1.36, 1.36.2 or v1.36.2."
    ),
    provider: str = typer.Option(
        ...,
        "--provider",
        metavar="NAME",
        help="Who upgrades the nodes: sim (the embedded cluster), exec (your commands), kubeadm (over ssh).",
    ),
    strategy: str = typer.Option("rolling", "--strategy", metavar="S", help="rolling, surge or blue-green."),
    max_unavailable: str = typer.Option(
        "10%", "--max-unavailable", metavar="N|P%", help="Most workers drained at once (rolling, blue-green)."
    ),
    max_surge: str = typer.Option(
        "10%", "--max-surge", metavar="N|P%", help="New nodes added at once (surge)."
    ),
    batch_by: str = typer.Option(
        "zone", "--batch-by", metavar="zone|none", help="Keep each batch inside one zone."
    ),
    window: list[str] = typer.Option(
        [],
        "--window",
        metavar="SPEC",
        help="A maintenance window, e.g. 'Sat,Sun 01:00-05:00 Europe/Berlin'. Repeatable.",
        show_default=False,
    ),
    exec_control_plane: str | None = typer.Option(
        None,
        "--exec-control-plane",
        metavar="CMD",
        help="exec: command upgrading one control-plane node; {node} {version} {zone} {role} are filled in.",
        show_default=False,
    ),
    exec_node: str | None = typer.Option(
        None,
        "--exec-node",
        metavar="CMD",
        help="exec: command upgrading one worker node; {node} {version} {zone} {role} are filled in.",
        show_default=False,
    ),
    ssh_user: str | None = typer.Option(
        None, "--ssh-user", help="kubeadm: the ssh user.", show_default=False
    ),
    package_manager: str | None = typer.Option(
        None,
        "--package-manager",
        metavar="apt|yum",
        help="kubeadm: the nodes' package manager (default apt).",
    ),
    rules: str = typer.Option(
        AUTO,
        "--rules",
        metavar="NAME",
        help=f"A managed provider's stricter node-version rules: {', '.join(provider_names())}. "
        "auto: the one the nodes' labels name, else generic.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Let drains delete pods that no controller recreates (they are lost)."
    ),
    drain_timeout: str = typer.Option(
        "15m", "--drain-timeout", metavar="D", help="Per node; 0 waits forever."
    ),
    soak: str = typer.Option("0s", "--soak", metavar="D", help="Wait this long after each batch."),
    block_on_alerts: str | None = typer.Option(
        None,
        "--block-on-alerts",
        metavar="PROMETHEUS_URL",
        help="Hold the next batch while an alert matching --alert-regex fires.",
        show_default=False,
    ),
    alert_regex: str | None = typer.Option(
        None, "--alert-regex", metavar="R", help="The alert names that block.", show_default=False
    ),
    validate_between_batches: bool = typer.Option(
        False, "--validate-between-batches", help="Run the validation checks after each batch."
    ),
    timings: str = typer.Option(
        "",
        "--timings",
        metavar="PHASE=D,...",
        help=f"Per-node times for the estimate; phases {', '.join(PHASES)} "
        "(default drain=2m,upgrade=3m,ready=1m).",
        show_default=False,
    ),
    timings_from: list[Path] = typer.Option(
        [],
        "--timings-from",
        metavar="STATE_DIR",
        help="Repeatable: estimate from the per-node timings earlier applies recorded in these state "
        "folders (medians; --timings still overrides a phase).",
        show_default=False,
    ),
    output: Path = typer.Option(
        Path("plan.yaml"),
        "-o",
        "--output",
        metavar="FILE",
        help="The plan file; plan.md is written beside it.",
        dir_okay=False,
    ),
    from_snapshot: Path | None = typer.Option(
        None,
        "--from-snapshot",
        metavar="FILE",
        help="Plan from a snapshot written by `overhaul snapshot` instead of a live cluster.",
        dir_okay=False,
    ),
    accept: list[str] = typer.Option(
        [],
        "--accept",
        metavar="ID",
        help="A blocking preflight finding to accept: CHECK (all of it) or CHECK:NAMESPACE/NAME. Repeatable.",
        show_default=False,
    ),
    no_backup: bool = typer.Option(
        False, "--no-backup", help="Apply takes no backup before acting (default: it takes one)."
    ),
    etcd_endpoint: str | None = etcd_endpoint_option("Apply's backup also snapshots this etcd member"),
    etcd_cacert: Path | None = etcd_cacert_option(),
    etcd_cert: Path | None = etcd_cert_option(),
    etcd_key: Path | None = etcd_key_option(),
    backup_dir: Path | None = typer.Option(
        None,
        "--backup-dir",
        metavar="DIR",
        help="Where apply writes its backup (default: a backups folder next to its state).",
        show_default=False,
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Plan an upgrade to V: preflight, the version path, control-plane steps and PDB-aware worker
    waves (rolling, surge or blue-green), windows and a time estimate; writes plan.yaml and plan.md."""
    target = parse_target(to)
    chosen = Strategy(_choice(strategy, "--strategy", tuple(s.value for s in Strategy)))
    spec_provider = _provider(
        _ProviderOptions(provider, exec_control_plane, exec_node, ssh_user, package_manager), chosen
    )
    rules_name = _choice(rules, "--rules", provider_names())
    samples = _journal_samples(timings_from)
    try:
        timing_values = parse_timings(timings, measured_timings(samples))
    except TimingsError as err:
        fail(f"--timings: {err}", EXIT_USAGE)
    explicit = {p.partition("=")[0].strip().lower() for p in timings.split(",") if p.strip()}
    timing_text = timings_note(
        timing_values, [s for s in samples if s[0] not in explicit], [str(d) for d in timings_from]
    )
    spec = PlanSpec(
        target=str(target),
        strategy=chosen,
        max_unavailable=_amount(max_unavailable, "--max-unavailable"),
        max_surge=_amount(max_surge, "--max-surge"),
        batch_by=BatchBy(_choice(batch_by, "--batch-by", tuple(b.value for b in BatchBy))),
        provider=spec_provider,
        drain=DrainSpec(force=force, timeout_seconds=_seconds(drain_timeout, "--drain-timeout")),
        gates=_gates(soak, block_on_alerts, alert_regex, validate_between_batches),
        windows=_windows(window),
        timings=timing_values,
        rules=rules_name,
        accepted=tuple(accept),
        backup=_backup_spec(no_backup, etcd_endpoint, etcd_cacert, etcd_cert, etcd_key, backup_dir),
    )
    _accept_ids(accept)
    md_path = output.with_suffix(".md")
    if not output.parent.is_dir():
        fail(f"-o {output}: {output.parent} is not a directory", EXIT_USAGE)
    if md_path == output:
        fail(
            f"-o {output}: the plan file needs a suffix other than .md (plan.md is written beside it)",
            EXIT_USAGE,
        )

    now = dt.datetime.now(dt.UTC)
    extras = LiveExtras()
    server = ""
    if from_snapshot is not None:
        cluster = load_snapshot(from_snapshot)
        source = f"snapshot:{from_snapshot}"
    else:
        cluster, extras, server = _load_live(ctx, kubeconfig, context, target)
        source = "live"
    refuse_downgrade(target, cluster)
    chosen_rules = choose_provider(rules_name, cluster, "--rules")
    if chosen_rules.note:
        note(chosen_rules.note)
    spec = dataclasses.replace(spec, rules=chosen_rules.name or GENERIC)
    findings = _preflight(
        target,
        cluster,
        extras,
        rules=spec.rules,
        accepted=accept,
        adds_nodes=chosen is not Strategy.ROLLING,
        now=now,
        live=from_snapshot is None,
    )
    if any(f.severity is Severity.BLOCKING for f in findings):
        _report_blocking(findings)
        raise typer.Exit(EXIT_FINDINGS)
    try:
        made = build_plan(
            cluster,
            spec,
            server=server,
            context=cluster_options(ctx, kubeconfig, context).context or "",
            source=source,
            findings=findings,
            now=now,
            generator=f"overhaul {__version__}",
        )
    except PathError as err:
        fail(f"--to {to}: {err}", EXIT_USAGE)
    _check_provider_fits(made, spec_provider)
    _write(output, dumps_plan(made))
    _write(md_path, render_markdown(made, output.name, timing_text))
    _summary(made, findings, output, md_path)


def _journal_samples(folders: list[Path]) -> list[tuple[str, float]]:
    """The (phase, seconds) measurements the journals in these state folders recorded."""
    from overhaul.engine.apply.timings import journal_timings
    from overhaul.engine.journal import DirectoryJournalStore, JournalError, read_journal

    states = []
    for folder in folders:
        if not folder.is_dir():
            fail(f"--timings-from {folder}: not a folder", EXIT_USAGE)
        try:
            with DirectoryJournalStore(folder) as store:
                state = read_journal(store)
        except (JournalError, OSError) as err:
            fail(f"--timings-from {folder}: {err}", EXIT_USAGE)
        if state is None:
            fail(f"--timings-from {folder}: no journal there (an `overhaul apply` state folder)", EXIT_USAGE)
        states.append(state)
    return journal_timings(states)
