"""The `--etcd-*` options, declared once for every command that reaches etcd (backup, plan)."""

from __future__ import annotations

from typing import Any

import typer

ENDPOINT_EXAMPLE = "https://10.0.0.1:2379"


def etcd_endpoint_option(purpose: str) -> Any:
    """`--etcd-endpoint URL`; PURPOSE says what the command does with the member."""
    return typer.Option(
        None,
        "--etcd-endpoint",
        metavar="URL",
        help=f"{purpose} (e.g. {ENDPOINT_EXAMPLE}).",
        show_default=False,
    )


def etcd_cacert_option() -> Any:
    return typer.Option(
        None, "--etcd-cacert", metavar="FILE", help="The CA of etcd's server certificate.", show_default=False
    )


def etcd_cert_option() -> Any:
    return typer.Option(
        None, "--etcd-cert", metavar="FILE", help="A client certificate etcd accepts.", show_default=False
    )


def etcd_key_option() -> Any:
    return typer.Option(
        None, "--etcd-key", metavar="FILE", help="The key of --etcd-cert.", show_default=False
    )
