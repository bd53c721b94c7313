"""The ReplicaSet controller (pkg/controller/replicaset): keeps `replicas` pods from the template,
adopts matching orphans, deletes the least useful pods first, and reports status.

Status comes from per-owner counts kept by the pod index, so a kubelet marking one pod Ready
costs O(1) here, not a pass over the ReplicaSet's pods.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import timedelta
from typing import Any

from overhaul.sim.clock import rfc3339
from overhaul.sim.controllers.podutil import (
    SharedPodParts,
    controller_ref,
    deletion_order,
    is_active,
    is_finished,
    is_ready,
    is_terminating,
    meta,
    pod_from_template,
    ready_since,
    replicas_of,
)
from overhaul.sim.controllers.workload import BURST, PODS, Item, WorkloadController
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
REPLICASETS: StorageKey = ("apps", "replicasets")

ACTIVE, READY, LABELED = 1, 2, 4
# A pod's readiness changing alters only a ReplicaSet's status: such changes are written at most once
# per this many simulated seconds per ReplicaSet. Without it, 150,000 pods becoming Ready would cost
# 150,000 ReplicaSet status writes and as many Deployment syncs; a loaded work queue batches the same way
# (the window grows while much work is queued: see Controller.coalesce).
STATUS_BATCH = 0.5


def status_only(old: JSONDict, new: JSONDict) -> bool:
    """Whether a pod change can only move status counts (not the number of active pods)."""
    return (
        is_active(old) == is_active(new)
        and controller_ref(old) == controller_ref(new)
        and meta(old).get("labels") == meta(new).get("labels")
    )


def _template_labels(rs: JSONDict) -> dict[str, str]:
    return dict((((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})


class ReplicaSetController(WorkloadController):
    name = "replicaset"
    own_key = REPLICASETS
    own_kind = "ReplicaSet"
    watches = (REPLICASETS, PODS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self._last_sync: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], float] = {}  # status syncs set for later: when
        self._labels: dict[str, dict[str, str]] = {}  # ReplicaSet uid → its template's labels
        self._parts = SharedPodParts()

    def tally(self, pod: JSONDict) -> int:
        if not is_active(pod):
            return 0
        flags = ACTIVE
        if is_ready(pod):
            flags |= READY
        ref = controller_ref(pod)
        wanted = self._labels.get(str(ref.get("uid"))) if ref is not None else None
        if wanted is not None:
            labels = meta(pod).get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                flags |= LABELED
        return flags

    def own_changed(self, event: WatchEvent) -> Iterable[Item]:
        items = list(super().own_changed(event))
        rs = event.stored.obj
        uid = str(meta(rs)["uid"])
        if event.type == "DELETED":
            self._labels.pop(uid, None)
            self._parts.forget(uid)
            return items
        labels = _template_labels(rs)
        if self._labels.get(uid) != labels:
            # Pods seen before their ReplicaSet, or a new template: "fully labeled" must be recounted.
            self._labels[uid] = labels
            self.children.recount(uid)
        return items

    def child_changed(self, event: WatchEvent) -> list[Hashable]:
        old, obj = event.old, event.stored.obj
        if event.type == "MODIFIED" and old is not None:
            # The common change, a binding or a kubelet status write, keeps the metadata's parts:
            # the pod stays with its ReplicaSet, and only the status counts may move.
            m, o_meta = obj["metadata"], old["metadata"]
            refs = m.get("ownerReferences")
            if (
                refs
                and refs is o_meta.get("ownerReferences")
                and m.get("labels") is o_meta.get("labels")
                and m.get("deletionTimestamp") == o_meta.get("deletionTimestamp")
                and is_finished(old) == is_finished(obj)
            ):
                ref = controller_ref(obj)
                if ref is not None and ref.get("kind") == self.own_kind:
                    ns, name = str(m.get("namespace") or ""), str(m["name"])
                    if self.children.update_owned((ns, name), name, obj, old, ref) is not None:
                        return [("status", ns, str(ref.get("name")))]
        items = super().child_changed(event)
        if event.type == "MODIFIED" and event.old is not None and status_only(event.old, event.stored.obj):
            # Readiness changes only move counts in the status: they are batched (see STATUS_BATCH).
            return [("status", *item) for item in items if isinstance(item, tuple)]
        return items

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        if len(item) == 3:
            ns, name = item[1], item[2]
            now = self.cluster.clock.now().timestamp()
            held = self._held.get((ns, name))
            if held is None:
                window = self.coalesce(STATUS_BATCH)
                last = self._last_sync.get((ns, name))
                held = last + window if last is not None else now
                if window > STATUS_BATCH:
                    # Under load, the first change of a burst waits for the rest of it too.
                    held = max(held, now + window)
                if held > now:
                    self._held[(ns, name)] = held
                    return self.again(item, held - now)
            elif now < held:
                return self.again(item, held - now)
            self._held.pop((ns, name), None)
            item = (ns, name)
        ns, name = item
        self._last_sync[(ns, name)] = self.cluster.clock.now().timestamp()
        stored = self.get(REPLICASETS, ns, name)
        if stored is None:
            self._last_sync.pop((ns, name), None)
            self._held.pop((ns, name), None)
            return None
        rs = stored.obj
        uid = str(meta(rs)["uid"])
        self.claim(rs, self.selectors.get(ns, {}).get(name))
        again: float | None = None
        failure: str | None = None
        if not is_terminating(rs):
            try:
                again = self._manage(rs, uid)
            except ApiError as err:
                if err.code in (404, 409):
                    raise
                failure = err.message
                again = 1.0
        stored = self.get(REPLICASETS, ns, name)
        if stored is None:
            return None
        status, available_at = self._status(stored.obj, uid, failure)
        if status != stored.obj.get("status"):
            self.write_status(REPLICASETS, stored, status)
        if available_at is not None:
            wait = max(0.0, available_at)
            again = wait if again is None else min(again, wait)
        return self.again(item, again)

    def _manage(self, rs: JSONDict, uid: str) -> float | None:
        want = replicas_of(rs)
        have = self.children.count(uid, ACTIVE)
        ns = str(meta(rs).get("namespace") or "")
        if have < want:
            n = min(want - have, BURST)
            template = (rs.get("spec") or {}).get("template") or {}
            shared = self._parts.get(rs, template)
            for _ in range(n):
                self.create(PODS, ns, pod_from_template(template, rs, ns, shared=shared))
            return 0.0 if want - have > n else None
        if have > want:
            active = [p for p in self.children.owned(uid).values() if is_active(p)]
            for pod in self._pods_to_delete(rs, active, have - want)[:BURST]:
                self.delete(PODS, pod)
            return 0.0 if have - want > BURST else None
        return None

    def _pods_to_delete(self, rs: JSONDict, active: list[JSONDict], n: int) -> list[JSONDict]:
        # Pods of sibling ReplicaSets (same controller) on the same node make a pod "doubled up".
        on_node: dict[str, int] = {}
        owner = controller_ref(rs)
        related = [active]
        if owner is not None:
            ns = str(meta(rs).get("namespace") or "")
            for sibling in self._siblings(ns, str(owner.get("uid"))):
                if sibling != meta(rs)["uid"]:
                    related.append([p for p in self.children.owned(sibling).values() if is_active(p)])
        for group in related:
            for pod in group:
                node = (pod.get("spec") or {}).get("nodeName")
                if node:
                    on_node[node] = on_node.get(node, 0) + 1
        return deletion_order(active, on_node)[:n]

    def _siblings(self, ns: str, owner_uid: str) -> list[str]:
        out = []
        for name in self.selectors.get(ns, {}):
            stored = self.get(REPLICASETS, ns, name)
            ref = controller_ref(stored.obj) if stored is not None else None
            if stored is not None and ref is not None and ref.get("uid") == owner_uid:
                out.append(str(meta(stored.obj)["uid"]))
        return out

    def _status(self, rs: JSONDict, uid: str, failure: str | None) -> tuple[JSONDict, float | None]:
        """The new status, and in how many seconds a ready pod becomes available (minReadySeconds)."""
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        ready = self.children.count(uid, READY)
        available = ready
        next_at: float | None = None
        if min_ready > 0 and ready:
            now = self.cluster.clock.now()
            available = 0
            for pod in self.children.owned(uid).values():
                since = ready_since(pod) if is_active(pod) else None
                if since is None:
                    continue
                remaining = (since + timedelta(seconds=min_ready) - now).total_seconds()
                if remaining <= 0:
                    available += 1
                else:
                    next_at = remaining if next_at is None else min(next_at, remaining)
        old = rs.get("status") or {}
        status: JSONDict = {"replicas": self.children.count(uid, ACTIVE)}
        for field, value in (
            ("fullyLabeledReplicas", self.children.count(uid, LABELED)),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("observedGeneration", int(meta(rs).get("generation") or 0)),
        ):
            if value:
                status[field] = value
        conditions = [c for c in old.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        if failure is not None:
            previous = next(
                (c for c in old.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None
            )
            conditions.append(
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "lastTransitionTime": (previous or {}).get("lastTransitionTime")
                    or rfc3339(self.cluster.clock.now()),
                    "reason": "FailedCreate" if replicas_of(rs) > status["replicas"] else "FailedDelete",
                    "message": failure,
                }
            )
        if conditions:
            status["conditions"] = conditions
        return status, next_at
