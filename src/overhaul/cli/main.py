"""The `overhaul` command: the only place that prints and picks exit codes."""

from __future__ import annotations

import typer

from overhaul import __version__
from overhaul.cli import sim_commands
from overhaul.cli.errors import run_guarded

app = typer.Typer(
    name="overhaul",
    help="Safe, fast, resumable Kubernetes upgrades and maintenance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sim_commands.app, name="sim")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"overhaul {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Safe, fast, resumable Kubernetes upgrades and maintenance."""


def run() -> None:
    """Console-script entry point (also `kubectl-overhaul`)."""
    run_guarded(app)
