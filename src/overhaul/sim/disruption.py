"""PodDisruptionBudget arithmetic as kube-controller-manager's disruption controller does it.

Pure functions over plain objects (pkg/controller/disruption/disruption.go): which pods a PDB
selects, how many must stay healthy, how many are healthy, and how many may be disrupted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from overhaul.sim.clock import parse_rfc3339
from overhaul.sim.selectors import LabelSelector, label_selector_from_dict

JSONDict = dict[str, Any]

# How long an eviction's entry in status.disruptedPods keeps a pod out of the healthy count.
DELETION_TIMEOUT = timedelta(minutes=2)


def pdb_selector(pdb: JSONDict) -> LabelSelector:
    """policy/v1: a nil selector selects nothing, an empty one every pod of the namespace."""
    return label_selector_from_dict((pdb.get("spec") or {}).get("selector"))


def selector_is_empty(pdb: JSONDict) -> bool:
    """The Eviction API ignores PDBs with a nil or empty selector (they "match nothing" there)."""
    sel = (pdb.get("spec") or {}).get("selector")
    return not sel or (not sel.get("matchLabels") and not sel.get("matchExpressions"))


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError as err:
            raise ValueError(f"invalid value {text!r}: not an integer or percentage") from err
    try:
        percent = int(text[:-1])
    except ValueError as err:
        raise ValueError(f"invalid value {text!r}: not a percentage") from err
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def is_pod_ready(pod: JSONDict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


@dataclass(frozen=True)
class Budget:
    """What the controller writes into a PDB's status."""

    expected_pods: int
    desired_healthy: int
    current_healthy: int
    disruptions_allowed: int
    disrupted_pods: dict[str, str]
    recheck_at: datetime | None


def desired_and_expected(
    pdb: JSONDict, pods: list[JSONDict], scale_of: dict[str, int], unmanaged: list[str]
) -> tuple[int, int]:
    """(expectedCount, desiredHealthy). `scale_of` maps controller uid → scale for the pods'
    controllers; raise ValueError when a pod's controller cannot be found (the controller's
    failSafe case)."""
    spec = pdb.get("spec") or {}
    expected_scale = sum(scale_of.values())
    if spec.get("maxUnavailable") is not None:
        max_unavailable = scaled_value(spec["maxUnavailable"], expected_scale, True)
        return expected_scale, max(0, expected_scale - max_unavailable)
    min_available = spec.get("minAvailable")
    if min_available is None:
        return 0, 0
    if isinstance(min_available, int):
        return len(pods), min_available
    return expected_scale, scaled_value(min_available, expected_scale, True)


def needs_scale(pdb: JSONDict) -> bool:
    """Whether the budget depends on the controllers' scale (percentages and maxUnavailable)."""
    spec = pdb.get("spec") or {}
    return spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str)


def compute_budget(pdb: JSONDict, pods: list[JSONDict], expected: int, desired: int, now: datetime) -> Budget:
    """currentHealthy, the surviving disruptedPods entries and disruptionsAllowed."""
    old = (pdb.get("status") or {}).get("disruptedPods") or {}
    disrupted: dict[str, str] = {}
    recheck: datetime | None = None
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        when = old.get(meta.get("name"))
        if when is None:
            continue
        expires = parse_rfc3339(when) + DELETION_TIMEOUT
        if expires >= now:
            disrupted[meta["name"]] = when
            if recheck is None or expires < recheck:
                recheck = expires
    healthy = 0
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp") or meta.get("name") in disrupted:
            continue
        if is_pod_ready(pod):
            healthy += 1
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    return Budget(expected, desired, healthy, allowed, disrupted, recheck)


def allowed_condition(
    allowed: int, observed_generation: int, now: str, old: list[JSONDict]
) -> list[JSONDict]:
    """pdbhelper.UpdateDisruptionAllowedCondition: the DisruptionAllowed condition."""
    status, reason = ("True", "SufficientPods") if allowed > 0 else ("False", "InsufficientPods")
    return set_condition(old, "DisruptionAllowed", status, reason, "", observed_generation, now)


def set_condition(
    old: list[JSONDict], kind: str, status: str, reason: str, message: str, generation: int, now: str
) -> list[JSONDict]:
    """apimeta.SetStatusCondition: lastTransitionTime changes only when the status does."""
    out = []
    found = False
    for c in old:
        if c.get("type") == kind:
            found = True
            transition = c.get("lastTransitionTime") if c.get("status") == status else now
            out.append(
                {
                    "type": kind,
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "observedGeneration": generation,
                    "lastTransitionTime": transition or now,
                }
            )
        else:
            out.append(c)
    if not found:
        out.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "observedGeneration": generation,
                "lastTransitionTime": now,
            }
        )
    return out
