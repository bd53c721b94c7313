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
