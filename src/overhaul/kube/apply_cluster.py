"""The apply engine's access to a cluster (`engine.apply.ports.ApplyCluster`) over the API: the
drain port (cordon, evictions, watches) plus lists of Nodes and PodDisruptionBudgets."""

from __future__ import annotations

from typing import Any

from overhaul.kube.drain import KubeDrainCluster

JSON = dict[str, Any]


class KubeApplyCluster(KubeDrainCluster):
    def list_nodes(self) -> list[JSON]:
        items, _ = self.client.list_all("/api/v1/nodes")
        return items

    def list_budgets(self) -> list[JSON]:
        items, _ = self.client.list_all("/apis/policy/v1/poddisruptionbudgets")
        return items
