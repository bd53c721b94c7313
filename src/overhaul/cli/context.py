"""The cluster a command talks to: `--kubeconfig` and `--context`, and kube errors as exit codes.

Both options are accepted before the command (`overhaul --context prod snapshot ...`, stored by
the root callback) and after it (`overhaul snapshot --context prod ...`, which wins), as kubectl
accepts its global flags anywhere. Commands that talk to a cluster do:

    with kube_errors():
        client = connect(ctx, kubeconfig, context)
        ...

and every cluster-access failure becomes a one-line `overhaul: ...` message and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from overhaul.cli.errors import EXIT_FAILED, fail
from overhaul.kube.errors import KubeError

if TYPE_CHECKING:
    from overhaul.kube.client import ApiClient

KUBECONFIG_HELP = "The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)."
CONTEXT_HELP = "The kubeconfig context (default: its current-context)."


@dataclass
class ClusterOptions:
    kubeconfig: Path | None = None
    context: str | None = None


def kubeconfig_option() -> Any:
    return typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP, show_default=False)


def context_option() -> Any:
    return typer.Option(None, "--context", help=CONTEXT_HELP, show_default=False)


def remember_root_options(ctx: typer.Context, kubeconfig: Path | None, context: str | None) -> None:
    """Called by the root callback: options given before the command."""
    ctx.obj = ClusterOptions(kubeconfig, context)


def cluster_options(
    ctx: typer.Context | None, kubeconfig: Path | None, context: str | None
) -> ClusterOptions:
    """The command's options, falling back on those given before the command."""
    root = ctx.find_root().obj if ctx is not None else None
    base = root if isinstance(root, ClusterOptions) else ClusterOptions()
    return ClusterOptions(
        kubeconfig if kubeconfig is not None else base.kubeconfig,
        context if context is not None else base.context,
    )


def connect(
    ctx: typer.Context | None, kubeconfig: Path | None = None, context: str | None = None
) -> ApiClient:
    """A client for the chosen cluster; a bad kubeconfig or unknown context fails with exit 1."""
    from overhaul.kube.client import ApiClient  # deferred: the HTTP stack is not needed by every command

    options = cluster_options(ctx, kubeconfig, context)
    with kube_errors():
        return ApiClient.from_kubeconfig(options.kubeconfig, options.context)


@contextmanager
def kube_errors() -> Iterator[None]:
    """Turns cluster-access failures (unreachable, 401, 403, bad kubeconfig, ...) into exit code 1."""
    try:
        yield
    except KubeError as err:
        fail(str(err), EXIT_FAILED)
