"""What the backup package needs from the world, as small protocols (ports) the CLI wires up.

The package talks to a cluster only through `ClusterReader` (export) and `ClusterWriter` (restore),
which `overhaul.cli.backup_cluster` implements over the kube API client, and reports progress
through `Progress`, which the CLI draws as progress bars on stderr. etcd is reached through its own
command-line tools (see `overhaul.backup.etcdctl`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from overhaul.domain.cluster import ServedResource

JSON = dict[str, Any]


@dataclass(frozen=True)
class ClusterIdentity:
    """Which cluster a backup was taken from: its API server, kubeconfig context and version."""

    server: str
    context: str
    version: str  # /version gitVersion, e.g. v1.34.2


@dataclass(frozen=True)
class ServedApis:
    """What an API server serves (discovery): every resource, and each once at its preferred version."""

    resources: tuple[ServedResource, ...]
    preferred: tuple[ServedResource, ...]
    failed: tuple[tuple[str, str], ...] = ()  # (group-version, why its discovery failed)

    def versions_of(self, group: str, kind: str) -> tuple[str, ...]:
        """The apiVersions under which `group` serves `kind` (preferred first)."""
        preferred = [r.group_version for r in self.preferred if r.group == group and r.kind == kind]
        others = [
            r.group_version
            for r in self.resources
            if r.group == group and r.kind == kind and r.group_version not in preferred
        ]
        return tuple(preferred + others)


@dataclass(frozen=True)
class Page:
    """One page of a list. `restarted`: the list started over (what came before must be dropped)."""

    items: list[JSON]
    restarted: bool = False


class ClusterReader(Protocol):
    """Read access to one cluster, for the resource export."""

    def identity(self) -> ClusterIdentity: ...

    def discover(self) -> ServedApis: ...

    def list_pages(self, resource: ServedResource, namespace: str | None) -> Iterator[Page]:
        """Pages of every object of `resource` (in `namespace`, or in all of them when None)."""
        ...

    def get(self, resource: ServedResource, namespace: str | None, name: str) -> JSON | None:
        """One object, or None when it does not exist."""
        ...


class ClusterWriter(ClusterReader, Protocol):
    """Read and write access to one cluster, for the restore."""

    def create(
        self, resource: ServedResource, namespace: str | None, body: JSON, *, dry_run: bool = False
    ) -> JSON:
        """Creates the object; raises ObjectExists (409 AlreadyExists) or ObjectRejected."""
        ...

    def replace(
        self, resource: ServedResource, namespace: str | None, name: str, body: JSON, *, dry_run: bool = False
    ) -> JSON:
        """Replaces the object (body carries the current resourceVersion); raises ObjectRejected."""
        ...


class ProgressTask(Protocol):
    def update(
        self, *, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None: ...

    def finish(self) -> None: ...


class Progress(Protocol):
    """Progress bars: one task per part of the work (the etcd snapshot, the resource export...)."""

    def task(self, description: str, total: float | None = None) -> ProgressTask: ...


class _NoTask:
    def update(
        self, *, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None:
        return None

    def finish(self) -> None:
        return None


class NoProgress:
    """Progress that shows nothing (library callers, tests)."""

    def task(self, description: str, total: float | None = None) -> ProgressTask:
        return _NoTask()
