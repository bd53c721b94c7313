"""A Deployment's status as the controller computes it (sync.go calculateStatus and
syncRolloutStatus, progress.go): counts from its ReplicaSets, the Available condition, the
Progressing condition with its deadline, and when to look again for a stalled rollout. Pure:
`now` is passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from overhaul.sim.clock import parse_rfc3339, rfc3339
from overhaul.sim.controllers import deploymentutil as du
from overhaul.sim.controllers.podutil import json_copy, meta, replicas_of

JSONDict = dict[str, Any]


def calculate(d: JSONDict, new: JSONDict | None, olds: list[JSONDict], now: datetime) -> JSONDict:
    """Counts and the Available condition (calculateStatus); other conditions carried over."""
    everyone = [*olds, *([new] if new is not None else [])]
    available = du.total_status(everyone, "availableReplicas")
    old = du.status(d)
    counts = {
        "observedGeneration": int(meta(d).get("generation") or 0),
        "replicas": du.total_status(everyone, "replicas"),
        "updatedReplicas": int(du.status(new).get("replicas") or 0) if new is not None else 0,
        "readyReplicas": du.total_status(everyone, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, du.total_spec(everyone) - available),
    }
    status: JSONDict = {k: v for k, v in counts.items() if v}
    status["conditions"] = [dict(c) for c in old.get("conditions") or []]
    stamp = rfc3339(now)
    if available >= replicas_of(d) - du.max_unavailable(d):
        cond = du.new_condition(
            "Available", "True", du.MIN_AVAILABLE, "Deployment has minimum availability.", stamp
        )
    else:
        message = "Deployment does not have minimum availability."
        cond = du.new_condition("Available", "False", du.MIN_UNAVAILABLE, message, stamp)
    du.set_condition(status, cond)
    if "collisionCount" in old:
        status["collisionCount"] = old["collisionCount"]
    return status


def with_progress(d: JSONDict, new: JSONDict | None, olds: list[JSONDict], now: datetime) -> JSONDict:
    """calculate() plus the Progressing and ReplicaFailure conditions (syncRolloutStatus)."""
    status = calculate(d, new, olds, now)
    if not du.has_deadline(d):
        du.remove_condition(status, "Progressing")
    current = du.get_condition(du.status(d), "Progressing")
    rs_name = str(meta(new)["name"]) if new is not None else ""
    # A finished rollout is not re-estimated on every resync.
    settled = (
        int(status.get("replicas") or 0) == int(status.get("updatedReplicas") or 0)
        and current is not None
        and current.get("reason") == du.NEW_RS_AVAILABLE
    )
    stamp = rfc3339(now)
    if du.has_deadline(d) and not settled:
        if du.complete(d, status):
            message = f'ReplicaSet "{rs_name}" has successfully progressed.'
            du.set_condition(
                status, du.new_condition("Progressing", "True", du.NEW_RS_AVAILABLE, message, stamp)
            )
        elif du.progressing(d, status):
            # Progress moves lastUpdateTime (the deadline counts from it), not lastTransitionTime.
            message = f'ReplicaSet "{rs_name}" is progressing.'
            cond = du.new_condition("Progressing", "True", du.RS_UPDATED, message, stamp)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
                du.remove_condition(status, "Progressing")
            du.set_condition(status, cond)
        elif timed_out(d, status, now):
            message = f'ReplicaSet "{rs_name}" has timed out progressing.'
            du.set_condition(status, du.new_condition("Progressing", "False", du.TIMED_OUT, message, stamp))
    failure = replica_failure([*olds, *([new] if new is not None else [])], stamp)
    if failure is not None:
        du.set_condition(status, failure)
    else:
        du.remove_condition(status, "ReplicaFailure")
    return status


def replica_failure(rss: list[JSONDict], stamp: str) -> JSONDict | None:
    """The first ReplicaSet's ReplicaFailure, as the Deployment's."""
    for rs in rss:
        for c in du.status(rs).get("conditions") or []:
            if c.get("type") == "ReplicaFailure" and c.get("status") == "True":
                return du.new_condition(
                    "ReplicaFailure", "True", c.get("reason", ""), c.get("message", ""), stamp
                )
    return None


def _deadline_at(d: JSONDict, cond: JSONDict) -> datetime:
    seconds = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return parse_rfc3339(str(cond.get("lastUpdateTime"))) + timedelta(seconds=seconds)


def timed_out(d: JSONDict, status: JSONDict, now: datetime) -> bool:
    cond = du.get_condition(status, "Progressing")
    if cond is None or cond.get("reason") == du.NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == du.TIMED_OUT:
        return True
    return _deadline_at(d, cond) < now


def recheck_after(d: JSONDict, status: JSONDict, now: datetime) -> float | None:
    """Seconds until a rollout showing no progress must be checked for ProgressDeadlineExceeded
    (requeueStuckDeployment), or None."""
    current = du.get_condition(du.status(d), "Progressing")
    if not du.has_deadline(d) or current is None:
        return None
    if du.complete(d, status) or current.get("reason") == du.TIMED_OUT:
        return None
    after = (_deadline_at(d, current) - now).total_seconds()
    return after + 1.0 if after >= 1.0 else 0.5


def paused_status(d: JSONDict, now: datetime) -> JSONDict | None:
    """The status with the paused or resumed Progressing condition, when spec.paused changed it."""
    if not du.has_deadline(d):
        return None
    cond = du.get_condition(du.status(d), "Progressing")
    if cond is not None and cond.get("reason") == du.TIMED_OUT:
        return None  # a reported lack of progress is not overwritten by a pause
    paused = bool((d.get("spec") or {}).get("paused"))
    if paused == (cond is not None and cond.get("reason") == du.PAUSED):
        return None
    status = json_copy(d.get("status") or {})
    reason, message = (du.PAUSED, "Deployment is paused") if paused else (du.RESUMED, "Deployment is resumed")
    du.set_condition(status, du.new_condition("Progressing", "Unknown", reason, message, rfc3339(now)))
    return status
