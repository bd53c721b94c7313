"""The `overhaul` command: the only place that prints and picks exit codes."""

from __future__ import annotations

from pathlib import Path

import typer

from overhaul import __version__
from overhaul.cli import (
    apply_commands,
    backup_commands,
    demo_commands,
    drain_commands,
    plan_commands,
    preflight_commands,
    sim_commands,
    snapshot_commands,
)
from overhaul.cli.context import context_option, kubeconfig_option, remember_root_options
from overhaul.cli.errors import run_guarded

app = typer.Typer(
    name="overhaul",
    help="Safe, fast, resumable Kubernetes upgrades and maintenance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sim_commands.app, name="sim")
app.command("demo")(demo_commands.demo)
app.command("snapshot")(snapshot_commands.snapshot)
app.command("preflight")(preflight_commands.preflight)
app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)
app.command("drain")(drain_commands.drain)
app.command("plan")(plan_commands.plan)
app.command("apply")(apply_commands.apply)
app.command("status")(apply_commands.status)
app.command("pause")(apply_commands.pause)
app.command("resume")(apply_commands.resume)
app.command("abort")(apply_commands.abort)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"overhaul {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Safe, fast, resumable Kubernetes upgrades and maintenance."""
    remember_root_options(ctx, kubeconfig, context)


def run() -> None:
    """Console-script entry point (also `kubectl-overhaul`)."""
    run_guarded(app)
