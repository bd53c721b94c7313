"""What every node upgrader shares: the node it is given, the result it returns, config errors.

Providers implement the engine's `NodeUpgrader` port (`overhaul.engine.ports`) structurally: they
accept any object with a node's `name`, `role`, `zone` and `address` (`Target`; the engine passes
its `NodeTarget`, tests and the CLI may pass `Node`), and return an `UpgradeResult`, which has
the attributes of the port's `UpgradeOutcome`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from overhaul.domain.version import Version

CONTROL_PLANE = "control-plane"
WORKER = "worker"
ROLES = (CONTROL_PLANE, WORKER)
MAX_OUTPUT = 256 * 1024  # bytes of command output kept in a result (the tail)


class ProviderConfigError(ValueError):
    """A provider's settings are not usable: unknown provider, unknown key, bad template, ..."""


class Target(Protocol):
    """A node to upgrade."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str:
        """`control-plane` or `worker`."""
        ...

    @property
    def zone(self) -> str: ...

    @property
    def address(self) -> str:
        """How to reach the machine (InternalIP or host name); "" when unknown."""
        ...


@dataclass(frozen=True)
class Node:
    """A `Target` for callers that have no other node value at hand."""

    name: str
    role: str = WORKER
    zone: str = ""
    address: str = ""


@dataclass(frozen=True)
class UpgradeResult:
    """How one node upgrade went (or, with `dry_run`, what it would do)."""

    ok: bool
    node: str
    version: str  # v1.35.0
    provider: str
    actions: tuple[str, ...] = ()  # the exact commands run / requests made, in order
    output: str = ""
    reason: str = ""  # one line, "" when ok
    dry_run: bool = False
    duration: float = 0.0  # seconds


class Provider(Protocol):
    """A node upgrader (see `overhaul.engine.ports.NodeUpgrader` for the contract)."""

    @property
    def name(self) -> str: ...

    def upgrade(
        self,
        target: Target,
        version: Version,
        *,
        first_control_plane: bool = False,
        timeout: float,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> UpgradeResult: ...


def exact_version(version: Version) -> str:
    """`v1.35.0`; a provider installs one exact release, so `1.35` alone is refused."""
    if version.patch is None:
        raise ValueError(f"a node upgrade needs an exact version such as {version}.0, not {version}")
    return version.full()


def check_target(target: Target) -> None:
    if not target.name:
        raise ValueError("a node to upgrade needs a name")
    if target.role not in ROLES:
        raise ValueError(f"node {target.name}: unknown role {target.role!r} (use {' or '.join(ROLES)})")


def clip_tail(text: str, limit: int = MAX_OUTPUT) -> str:
    """The last `limit` bytes of `text` (the end of a log says why it failed), marked when cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    tail = data[len(data) - limit :].decode("utf-8", "ignore")
    return f"[... {len(data) - len(tail.encode())} bytes cut ...]\n{tail}"


# ----- settings as they come from a plan file or the command line


def check_keys(provider: str, config: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ProviderConfigError(
            f"provider {provider}: unknown setting{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def get_str(provider: str, config: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = config.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ProviderConfigError(f"provider {provider}: {key} must be a string")
    return value


def get_bool(provider: str, config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ProviderConfigError(f"provider {provider}: {key} must be true or false")
    return value


def get_int(provider: str, config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ProviderConfigError(f"provider {provider}: {key} must be a whole number")
    return value


def get_str_list(provider: str, config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key, ())
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ProviderConfigError(f"provider {provider}: {key} must be a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise ProviderConfigError(f"provider {provider}: {key} must be a list of strings")
    return tuple(value)


def get_str_map(provider: str, config: Mapping[str, Any], key: str) -> dict[str, str]:
    value = config.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ProviderConfigError(f"provider {provider}: {key} must map names to strings")
    return dict(value)
