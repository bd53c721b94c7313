"""What the apply engine needs from the world, as small protocols (ports).

The adapters implement them structurally, without importing the engine (they may import only the
domain): `overhaul.kube.journal_store.ConfigMapJournalStore` and the engine's own
`overhaul.engine.journal.DirectoryJournalStore` store the journal; `overhaul.providers` upgrade
nodes (`NodeUpgrader`). The upgrade lock's port is in `overhaul.engine.lock`.

Everything that crosses a port is a domain type, a plain value or bytes, so that neither side
needs the other's classes: the engine hands a provider a `NodeTarget` (any object with the same
attributes does), and reads the provider's result through the `UpgradeOutcome` protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from overhaul.domain.version import Version

Role = Literal["control-plane", "worker"]


class JournalStore(Protocol):
    """Where a journal is kept: a `--state DIR` folder, or a ConfigMap in the cluster.

    The store deals in bytes: complete journal records, one JSON object per line, encoded and
    checked by `overhaul.engine.journal`. Every write is atomic: after a crash the journal is
    either as before the write or as after it. Control requests (pause / resume / abort from
    another terminal) are kept next to the journal, in a separate append-only list.
    """

    @property
    def location(self) -> str:
        """Where it is, for messages: `directory /var/lib/overhaul`, `ConfigMap kube-system/...`."""
        ...

    def load(self) -> bytes:
        """The journal as stored: its records, one per line (b"" when there is none yet). The end
        may be torn (a record cut short by a crash); the caller finds where the valid part ends."""
        ...

    def append(self, records: bytes, *, keep: int) -> None:
        """Atomically replaces the journal by its first `keep` bytes followed by `records` (one or
        more complete lines). `keep` is the length of the valid journal the caller loaded and
        appended since: anything stored past it (a torn tail) is dropped by this write."""
        ...

    def load_control(self) -> bytes:
        """The control requests, one JSON object per line (b"" when none was made)."""
        ...

    def append_control(self, record: bytes) -> None:
        """Atomically adds one control request (a complete line). Safe against another writer of
        control requests and against the journal's writer at the same time."""
        ...

    def close(self) -> None:
        """Releases what the store holds (file locks, connections it owns)."""
        ...


@dataclass(frozen=True)
class NodeTarget:
    """A node to upgrade, as the engine hands it to a provider.

    `address` is how a provider reaches the machine (an InternalIP or a host name); `zone` is the
    node's `topology.kubernetes.io/zone` label, "" when it has none.
    """

    name: str
    role: Role = "worker"
    zone: str = ""
    address: str = ""


class UpgradeOutcome(Protocol):
    """What a provider reports about one node upgrade (or, in a dry run, would do)."""

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why it failed, one line ("" when ok)."""
        ...

    @property
    def output(self) -> str:
        """What the commands printed, or what was observed (for the journal), possibly cut to its tail."""
        ...

    @property
    def actions(self) -> Sequence[str]:
        """The exact commands run or API requests made (in a dry run: that would be)."""
        ...

    @property
    def dry_run(self) -> bool: ...


class NodeUpgrader(Protocol):
    """Upgrades the Kubernetes software of one node: a provider (`overhaul.providers`).

    Draining and uncordoning are the engine's; the provider only changes the node's software and
    waits until it runs the new version. Failures, timeouts and a set `cancel` event are reported
    in the outcome (`ok` False), not raised; only a misuse (an inexact version) raises ValueError.
    """

    @property
    def name(self) -> str: ...

    def upgrade(
        self,
        target: NodeTarget,
        version: Version,
        *,
        first_control_plane: bool = False,
        timeout: float,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> UpgradeOutcome:
        """Upgrades `target` to `version` (an exact patch version). `first_control_plane` marks the
        control-plane node that upgrades the cluster (kubeadm's `upgrade apply`); the others
        follow it (`upgrade node`)."""
        ...
