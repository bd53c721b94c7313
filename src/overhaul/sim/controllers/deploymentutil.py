"""The deployment controller's arithmetic and bookkeeping, as pure functions over plain dicts
(pkg/controller/deployment/util/deployment_util.go): surge and unavailability fenceposts, how
far a new ReplicaSet may grow, proportional scaling, revisions, annotations and conditions.
"""

from __future__ import annotations

import math
from typing import Any

from overhaul.sim.controllers.podutil import json_copy, meta, replicas_of, scaled_value

JSONDict = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
MAX_REV_HISTORY_CHARS = 2000
# Annotations of a Deployment that its ReplicaSets do not inherit.
SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)

# Condition reasons, as kubectl and dashboards read them.
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NO_DEADLINE = 2**31 - 1  # progressDeadlineSeconds of MaxInt32 means "no deadline"


def spec(obj: JSONDict) -> JSONDict:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def status(obj: JSONDict) -> JSONDict:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def is_rolling(d: JSONDict) -> bool:
    return bool((spec(d).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate")


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both zero would stall a rollout, so unavailable is 1."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(d: JSONDict) -> tuple[int, int]:
    ru = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas_of(d))


def max_surge(d: JSONDict) -> int:
    return _fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: JSONDict) -> int:
    replicas = replicas_of(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    return min(_fenceposts(d)[1], replicas)


def rs_replicas(rs: JSONDict | None) -> int:
    return 0 if rs is None else replicas_of(rs, 0)


def total_spec(rss: list[JSONDict]) -> int:
    return sum(rs_replicas(rs) for rs in rss)


def total_status(rss: list[JSONDict], field: str) -> int:
    return sum(int(status(rs).get(field) or 0) for rs in rss)


def new_rs_new_replicas(d: JSONDict, all_rss: list[JSONDict], new_rs: JSONDict) -> int:
    """How many replicas the new ReplicaSet may have now (NewRSNewReplicas)."""
    replicas = replicas_of(d)
    if not is_rolling(d):
        return replicas
    # Pods a scaled-down ReplicaSet has not removed yet count too (the real controller counts specs
    # only): surging before they go would briefly exceed maxSurge in actual pods.
    current = sum(max(rs_replicas(rs), int(status(rs).get("replicas") or 0)) for rs in all_rss)
    max_total = replicas + max_surge(d)
    if current >= max_total:
        return rs_replicas(new_rs)
    grow = min(max_total - current, replicas - rs_replicas(new_rs))
    return rs_replicas(new_rs) + grow


def annotation_int(obj: JSONDict, name: str) -> int | None:
    value = (meta(obj).get("annotations") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def revision(rs: JSONDict) -> int:
    return annotation_int(rs, REVISION) or 0


def max_revision(rss: list[JSONDict]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def is_saturated(d: JSONDict, rs: JSONDict | None) -> bool:
    if rs is None:
        return False
    replicas = replicas_of(d)
    return (
        rs_replicas(rs) == replicas
        and annotation_int(rs, DESIRED_REPLICAS) == replicas
        and int(status(rs).get("availableReplicas") or 0) == replicas
    )


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def proportion(rs: JSONDict, d: JSONDict, to_add: int, added: int) -> int:
    """An active ReplicaSet's share of a scaling event (GetProportion)."""
    if rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas_of(d) == 0:
        fraction = -rs_replicas(rs)
    else:
        deployment_replicas = replicas_of(d) + max_surge(d)
        annotated = annotation_int(rs, MAX_REPLICAS)
        if annotated is None:
            annotated = int(status(d).get("replicas") or 0)
        fraction = (
            _round_half_away(rs_replicas(rs) * deployment_replicas / annotated) - rs_replicas(rs)
            if annotated
            else 0
        )
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def without_hash(template: JSONDict) -> JSONDict:
    t = json_copy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def _semantic(value: Any) -> Any:
    """Empty and absent are the same to Go's typed decoding (omitempty)."""
    if isinstance(value, dict):
        out = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def equal_ignore_hash(a: JSONDict, b: JSONDict) -> bool:
    """Templates equal but for the pod-template-hash label (EqualIgnoreHash)."""
    return bool(_semantic(without_hash(a)) == _semantic(without_hash(b)))


def new_rs_annotations(
    d: JSONDict, rs_annotations: dict[str, str], new_revision: int, exists: bool
) -> dict[str, str]:
    """The new ReplicaSet's annotations: the Deployment's (but the skipped ones), its revision moved
    up (keeping the old ones in revision-history on a rollback), and the replica annotations."""
    out = dict(rs_annotations)
    for k, v in (meta(d).get("annotations") or {}).items():
        if k not in SKIPPED_ANNOTATIONS:
            out[k] = v
    old_text = out.get(REVISION)
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return out
    if old < new_revision:
        out[REVISION] = str(new_revision)
        if old_text:
            history = out.get(REVISION_HISTORY, "")
            if not history:
                out[REVISION_HISTORY] = old_text
            else:
                parts = history.split(",")
                total = len(history) + len(old_text) + 1
                start = 0
                while total > MAX_REV_HISTORY_CHARS and start < len(parts):
                    total -= len(parts[start]) + 1
                    start += 1
                if total <= MAX_REV_HISTORY_CHARS:
                    out[REVISION_HISTORY] = ",".join([*parts[start:], old_text])
    if not exists:
        out.update(replica_annotations(d))
    return out


def replica_annotations(d: JSONDict) -> dict[str, str]:
    replicas = replicas_of(d)
    return {DESIRED_REPLICAS: str(replicas), MAX_REPLICAS: str(replicas + max_surge(d))}


def replica_annotations_need_update(rs: JSONDict, d: JSONDict) -> bool:
    ann = meta(rs).get("annotations") or {}
    return any(ann.get(k) != v for k, v in replica_annotations(d).items())


# ----- conditions ---------------------------------------------------------------------------


def get_condition(st: JSONDict, kind: str) -> JSONDict | None:
    for c in st.get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def new_condition(kind: str, cond_status: str, reason: str, message: str, now: str) -> JSONDict:
    return {
        "type": kind,
        "status": cond_status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def set_condition(st: JSONDict, cond: JSONDict) -> None:
    """Replaces the condition of its type, unless status and reason are unchanged; a transition
    time moves only when the status does (SetDeploymentCondition)."""
    current = get_condition(st, cond["type"])
    if (
        current is not None
        and current["status"] == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    cond = dict(cond)
    if current is not None and current["status"] == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime", cond["lastTransitionTime"])
    remove_condition(st, cond["type"])
    st["conditions"] = [*(st.get("conditions") or []), cond]


def remove_condition(st: JSONDict, kind: str) -> None:
    st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != kind]


def has_deadline(d: JSONDict) -> bool:
    value = spec(d).get("progressDeadlineSeconds")
    return value is not None and int(value) != NO_DEADLINE


def complete(d: JSONDict, st: JSONDict) -> bool:
    replicas = replicas_of(d)
    return (
        int(st.get("updatedReplicas") or 0) == replicas
        and int(st.get("replicas") or 0) == replicas
        and int(st.get("availableReplicas") or 0) == replicas
        and int(st.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0)
    )


def progressing(d: JSONDict, new: JSONDict) -> bool:
    old = status(d)

    def n(st: JSONDict, field: str) -> int:
        return int(st.get(field) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new, "replicas") - n(new, "updatedReplicas")
    return (
        n(new, "updatedReplicas") > n(old, "updatedReplicas")
        or new_old < old_old
        or n(new, "readyReplicas") > n(old, "readyReplicas")
        or n(new, "availableReplicas") > n(old, "availableReplicas")
    )
