"""`overhaul snapshot`: save a cluster's state for offline preflight and rehearsals."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from overhaul.cli.context import connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_USAGE, fail


def snapshot(
    ctx: typer.Context,
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="The file to write: gzip-compressed JSON, or plain JSON if the name ends in .json.",
        dir_okay=False,
    ),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Save the cluster's nodes, pods, workloads, PDBs, namespaces, CRDs and API usage (never Secrets).

    The file loads with `overhaul sim up --scenario FILE` and `overhaul preflight --from-snapshot FILE`.
    """
    from overhaul.kube.snapshot import write_snapshot  # deferred: the HTTP stack loads only when used

    if not output.parent.is_dir():
        fail(f"cannot write {output}: {output.parent} is not a directory", EXIT_USAGE)
    started = time.monotonic()
    with kube_errors(), connect(ctx, kubeconfig, context) as client:
        try:
            summary = write_snapshot(client, output)
        except OSError as err:
            fail(f"cannot write {output}: {err.strerror or err}")
    for note in summary.notes:
        print(f"overhaul: note: {note}", file=sys.stderr)
    counts = ", ".join(f"{n} {kind}s" for kind, n in summary.counts.items() if n)
    print(
        f"overhaul: wrote {output} ({summary.objects} objects: {counts}; "
        f"{summary.api_usage} API usage records) in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    typer.echo(str(output))
