"""What the drain engine needs from a cluster; `overhaul.kube.drain` implements it over the API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from overhaul.domain.eviction import EvictionResult

JSON = Mapping[str, Any]
# (event type ADDED | MODIFIED | DELETED, object)
Sink = Callable[[str, JSON], None]


class ObjectWatch(Protocol):
    """A list-then-watch of a collection that delivers every change to its sink."""

    def wait_synced(self, timeout: float | None = None) -> bool: ...

    def items(self) -> list[dict[str, Any]]: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    @property
    def stopped(self) -> bool:
        """It stopped by itself: `error` says why (credentials refused, the resource gone, ...)."""
        ...

    @property
    def error(self) -> Exception | None: ...


class DrainCluster(Protocol):
    def node(self, name: str) -> JSON | None:
        """The Node, or None when there is none by that name."""
        ...

    def nodes(self, label_selector: str) -> Sequence[JSON]:
        """Nodes selected by a label selector; raises ValueError for an invalid selector."""
        ...

    def set_unschedulable(self, name: str, unschedulable: bool) -> None:
        """Cordons or uncordons; passing failures of the API server are retried by the adapter."""
        ...

    def daemonset_exists(self, namespace: str, name: str) -> bool | str:
        """True, False when it is not found, or the error message when the lookup failed."""
        ...

    def evict(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult: ...

    def delete_pod(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult: ...

    def watch_pods(self, node: str, pod_selector: str, sink: Sink) -> ObjectWatch:
        """Pods bound to `node` (and selected by `pod_selector`); raises ValueError for a bad selector."""
        ...

    def watch_budgets(self, sink: Sink) -> ObjectWatch:
        """Every PodDisruptionBudget (policy/v1)."""
        ...
