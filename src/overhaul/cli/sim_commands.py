"""`overhaul sim`: the embedded cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from overhaul.cli.errors import EXIT_USAGE, fail
from overhaul.cli.versions import parse_version_option
from overhaul.domain.durations import DurationError, parse_duration

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
    fault_rate: float = typer.Option(
        0.0, "--fault-rate", min=0.0, max=1.0, help="Fraction of resource API requests that fail (e.g. 0.05)."
    ),
    fault_codes: str = typer.Option(
        "429,500,409", "--fault-codes", help="The errors injected, some of 429,500,409 (409 only on writes)."
    ),
    fault_latency: str = typer.Option(
        "0", "--fault-latency", help="Delay added to every resource API request (e.g. 50ms, 0.05)."
    ),
    watch_drop_seconds: str = typer.Option(
        "0",
        "--watch-drop-seconds",
        help="End each watch after a random time up to this (e.g. 30s); 0: never.",
    ),
    fault_seed: int | None = typer.Option(
        None, "--fault-seed", help="Seed of the fault generator, to reproduce a run (default: random)."
    ),
) -> None:
    """Run the embedded cluster in the foreground until SIGINT or SIGTERM."""
    # deferred: the embedded cluster is heavy to import, and most commands never start it
    from overhaul.sim.faults import FaultConfigError, FaultSettings, parse_codes
    from overhaul.sim.scenarios import ScenarioError
    from overhaul.sim.server import ServerError, SimConfig, prepare

    try:
        faults = FaultSettings(
            rate=fault_rate,
            codes=parse_codes(fault_codes),
            latency=_seconds("--fault-latency", fault_latency),
            watch_drop_seconds=_seconds("--watch-drop-seconds", watch_drop_seconds),
            seed=fault_seed,
        )
    except FaultConfigError as err:
        fail(f"--fault-codes: {err}", EXIT_USAGE)

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
        faults=faults,
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


def _seconds(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as err:
        fail(f"{flag}: {err}", EXIT_USAGE)


@app.command("scenarios")
def scenarios() -> None:
    """List the built-in scenarios."""
    from overhaul.sim.scenarios import BUILTIN

    for name, scenario in sorted(BUILTIN.items()):
        typer.echo(f"{name}\t{scenario.description}")
