"""`overhaul sim`: the embedded cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from overhaul.cli.errors import EXIT_USAGE, fail
from overhaul.cli.versions import parse_version_option

app = typer.Typer(help="The embedded, simulated cluster.", no_args_is_help=True)


@app.command("up")
def up(
    scenario: str = typer.Option("empty", "--scenario", help="A built-in scenario name or a YAML/JSON file."),
    version: str = typer.Option("v1.34.2", "--version", help="The cluster's starting Kubernetes version."),
    port: int = typer.Option(
        6443, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one)."
    ),
    kubeconfig_out: Path | None = typer.Option(
        None, "--kubeconfig-out", help="Where to write the kubeconfig."
    ),
    speed: float = typer.Option(1.0, "--speed", min=0.001, help="Simulated seconds per wall-clock second."),
    nodes: int = typer.Option(0, "--nodes", min=0, help="Worker nodes to add."),
    pods_per_node: int = typer.Option(0, "--pods-per-node", min=0, help="Running pods per added worker."),
    pod_start_seconds: float = typer.Option(
        1.0, "--pod-start-seconds", min=0.0, help="Simulated seconds from a pod's acceptance to Running."
    ),
    pod_ready_seconds: float = typer.Option(
        1.0, "--pod-ready-seconds", min=0.0, help="Simulated seconds from Running to Ready."
    ),
    bookmark_interval: float = typer.Option(
        15.0, "--bookmark-interval", min=0.01, hidden=True, help="Seconds between watch bookmarks."
    ),
) -> None:
    """Run the embedded cluster in the foreground until SIGINT or SIGTERM."""
    # deferred: the embedded cluster is heavy to import, and most commands never start it
    from overhaul.sim.scenarios import ScenarioError
    from overhaul.sim.server import ServerError, SimConfig, prepare

    config = SimConfig(
        scenario=scenario,
        version=parse_version_option(version, "--version"),
        port=port,
        kubeconfig_out=kubeconfig_out,
        speed=speed,
        nodes=nodes,
        pods_per_node=pods_per_node,
        bookmark_interval=bookmark_interval,
        pod_start_seconds=pod_start_seconds,
        pod_ready_seconds=pod_ready_seconds,
    )
    try:
        prepared = prepare(config)
    except ScenarioError as err:
        fail(f"scenario {err}", EXIT_USAGE)
    except ServerError as err:
        fail(str(err))
    typer.echo(str(prepared.kubeconfig_path))
    print(
        f"overhaul sim: Kubernetes {config.version} serving on https://127.0.0.1:{prepared.port} "
        f"({prepared.objects} objects); try: kubectl --kubeconfig {prepared.kubeconfig_path} get nodes",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    prepared.serve()
    print("overhaul sim: stopped", file=sys.stderr)


@app.command("scenarios")
def scenarios() -> None:
    """List the built-in scenarios."""
    from overhaul.sim.scenarios import BUILTIN

    for name, scenario in sorted(BUILTIN.items()):
        typer.echo(f"{name}\t{scenario.description}")
