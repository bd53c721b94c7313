"""What the apply engine needs from a cluster, on top of what the drain engine needs.

`overhaul.kube.apply_cluster.KubeApplyCluster` implements it over the API. Objects cross the port
as the API's JSON (Nodes, PodDisruptionBudgets); `engine.apply.facts` reads the few fields the
engine decides on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from overhaul.engine.drain.ports import DrainCluster


class ApplyCluster(DrainCluster, Protocol):
    def list_nodes(self) -> Sequence[Mapping[str, Any]]:
        """Every Node."""
        ...

    def list_budgets(self) -> Sequence[Mapping[str, Any]]:
        """Every PodDisruptionBudget (policy/v1)."""
        ...


class BackupTaker(Protocol):
    """Takes the backup a plan asks for before apply's first step (the CLI wires `overhaul.backup`)."""

    def describe(self) -> str:
        """What `take` would do, one line, for a dry run."""
        ...

    def take(self) -> str:
        """Takes it and returns where it is; raises when it fails (nothing else was done then)."""
        ...


class NodePool(Protocol):
    """Creates and deletes Nodes, for surge and blue-green plans (the `sim` provider can)."""

    def create_node_like(self, name: str, like: Mapping[str, Any], version: str, zone: str) -> None:
        """Creates Node `name` like the Node object `like` (labels, taints, size, zone), its kubelet
        at `version`; a Node of that name that exists already is left as it is."""
        ...

    def delete_node(self, name: str) -> None:
        """Deletes Node `name`; one that is gone already is fine."""
        ...

    def describe_create(self, name: str, like: str, version: str) -> str:
        """The request `create_node_like` makes, for a dry run."""
        ...

    def describe_delete(self, name: str) -> str:
        """The request `delete_node` makes, for a dry run."""
        ...


class AlertSource(Protocol):
    """Prometheus' alerts (`overhaul.kube.prometheus.PrometheusAlerts`), for the alert gate."""

    def alerts(self, prometheus_url: str) -> Sequence[Mapping[str, Any]]:
        """Every alert Prometheus at `prometheus_url` holds (its `/api/v1/alerts` JSON); raises when
        it cannot be asked."""
        ...
