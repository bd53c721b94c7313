"""What the checks read: the cluster, the target, the date, and the API usage found elsewhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from overhaul.domain.cluster import ClusterView, ObjectRef
from overhaul.domain.version import Version
from overhaul.preflight.index import ClusterIndex

LIVE = "live"
METRICS = "metrics"


def manifest_source(path: str) -> str:
    return f"manifest:{path}"


def helm_source(namespace: str, release: str) -> str:
    return f"helm:{namespace}/{release}"


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """An object written with `ref.api_version` by the user's current source: a manifest, a Helm
    release, or (`metrics`) a client the API server saw request that version.

    `removed_in` is what the API server itself says (the metric's `removed_release` label), for
    APIs the removed-API table does not know.
    """

    ref: ObjectRef
    source: str
    removed_in: str | None = None


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that could not be scanned (a Helm release that does not decode): reported, skipped."""

    source: str
    message: str


@dataclass(frozen=True)
class PreflightInput:
    """Everything the checks decide from. `cluster` is None with `--no-cluster` (manifests only).

    `today` dates end of support; `now` ages pods (pending or unready for too long), falling back
    on the moment the cluster was read. `readyz` is the text of `/readyz?verbose` (None when it
    could not be read); `batch` how many nodes are drained at once; `provider` names the managed
    provider whose stricter rules apply (data/providers.yaml: eks, gke, aks; None: upstream only).
    """

    target: Version
    today: dt.date
    cluster: ClusterView | None = None
    usages: tuple[ApiUsage, ...] = ()
    problems: tuple[SourceProblem, ...] = ()
    readyz: str | None = None
    batch: int = 1
    now: dt.datetime | None = None
    provider: str | None = None

    @cached_property
    def index(self) -> ClusterIndex | None:
        """Pods by PDB, PDBs by pod and pods' controllers, built once for all the checks."""
        return ClusterIndex(self.cluster) if self.cluster is not None else None

    @cached_property
    def memo(self) -> dict[str, object]:
        """Results derived once and shared by checks (removed-api and deprecated-api share a scan)."""
        return {}

    @property
    def moment(self) -> dt.datetime | None:
        """The time pods are aged against."""
        if self.now is not None:
            return self.now
        return self.cluster.observed_at if self.cluster is not None else None

    @property
    def current(self) -> Version | None:
        """The API server's version, when the cluster is known and reports a parseable one."""
        return self.cluster.server.version if self.cluster is not None else None
