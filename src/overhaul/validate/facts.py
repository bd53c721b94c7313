"""The fields validation decides on, read from API JSON (Nodes, Pods, PodDisruptionBudgets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from overhaul.validate.checks import BudgetState, NodeState, PodState


def node_state(obj: Mapping[str, Any]) -> NodeState:
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    return NodeState(
        name=str((obj.get("metadata") or {}).get("name") or ""),
        kubelet=str((status.get("nodeInfo") or {}).get("kubeletVersion") or ""),
        ready=ready,
    )


def pod_state(obj: Mapping[str, Any]) -> PodState:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]
    crash = any(
        ((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff" for s in statuses
    )
    return PodState(
        key=f"{meta.get('namespace', '')}/{meta.get('name', '')}",
        crash_looping=crash,
        pending=status.get("phase") == "Pending" and not meta.get("deletionTimestamp"),
    )


def budget_state(obj: Mapping[str, Any]) -> BudgetState:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    return BudgetState(
        key=f"{meta.get('namespace', '')}/{meta.get('name', '')}",
        current_healthy=int(status.get("currentHealthy") or 0),
        desired_healthy=int(status.get("desiredHealthy") or 0),
    )
