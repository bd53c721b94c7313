"""The StatefulSet controller (pkg/controller/statefulset): pods `<set>-<ordinal>` with stable
hostnames and claims, created in order and removed in reverse (OrderedReady) or all at once
(Parallel); template history in ControllerRevisions; RollingUpdate from the highest ordinal
down to the partition, one pod at a time, or OnDelete.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterable
from datetime import timedelta
from typing import Any

from overhaul.sim.controllers import revisions
from overhaul.sim.controllers.ownerindex import OwnerIndex
from overhaul.sim.controllers.podutil import (
    SharedPodParts,
    controller_ref,
    is_finished,
    is_running_and_ready,
    is_terminating,
    meta,
    owner_reference,
    pod_from_template,
    pod_phase,
    ready_since,
    replicas_of,
    template_hash,
)
from overhaul.sim.controllers.workload import PODS, WorkloadController
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
STATEFULSETS: StorageKey = ("apps", "statefulsets")
PVCS: StorageKey = ("", "persistentvolumeclaims")
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def ordinal_of(sts_name: str, pod_name: str) -> int | None:
    """The ordinal in `<set>-<ordinal>`, or None for a pod not named after the set."""
    prefix, _, tail = pod_name.rpartition("-")
    if prefix != sts_name or not tail.isdigit():
        return None
    return int(tail)


class StatefulSetController(WorkloadController):
    name = "statefulset"
    own_key = STATEFULSETS
    own_kind = "StatefulSet"
    watches = (STATEFULSETS, PODS, revisions.REVISIONS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self.history = OwnerIndex(self.own_kind)
        self._parts = SharedPodParts()
        self._data: dict[str, tuple[object, JSONDict]] = {}  # by StatefulSet uid: its revision data

    def own_changed(self, event: WatchEvent) -> Iterable[tuple[str, str]]:
        if event.type == "DELETED":
            uid = str(meta(event.stored.obj).get("uid"))
            self._data.pop(uid, None)
            self._parts.forget(uid)
        return super().own_changed(event)

    def other_changed(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        self.history.observe(event)
        ref = controller_ref(event.stored.obj)
        if ref is not None and ref.get("kind") == self.own_kind:
            return ((str(meta(event.stored.obj).get("namespace") or ""), str(ref.get("name"))),)
        return ()

    def may_adopt(self, owner: JSONDict, orphan: JSONDict) -> bool:
        return ordinal_of(str(meta(owner)["name"]), str(meta(orphan)["name"])) is not None

    # ----- sync ----------------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        ns, name = item
        stored = self.get(STATEFULSETS, ns, name)
        if stored is None or is_terminating(stored.obj):
            return None
        sts = stored.obj
        uid = str(meta(sts)["uid"])
        self.claim(sts, self.selectors.get(ns, {}).get(name))
        status = dict(sts.get("status") or {})
        data = self._patch_data(uid, sts)
        history = list(self.history.owned(uid).values())
        update, collisions = revisions.ensure(
            self, sts, history, data, lambda c: template_hash(data, c), int(status.get("collisionCount") or 0)
        )
        history = list(self.history.owned(uid).values())
        current = next((r for r in history if meta(r)["name"] == status.get("currentRevision")), update)
        self._manage(sts, current, update)
        stored = self.get(STATEFULSETS, ns, name)
        if stored is None:
            return None
        new_status, again = self._status(stored.obj, current, update, collisions)
        if new_status != stored.obj.get("status"):
            self.write_status(STATEFULSETS, stored, new_status)
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        history = list(self.history.owned(uid).values())
        if len(history) > limit + 1:
            live = {meta(current)["name"], meta(update)["name"]}
            live |= {
                str((meta(p).get("labels") or {}).get(REVISION_LABEL))
                for p in self.children.owned(uid).values()
            }
            revisions.truncate(self, history, live, limit)
        return self.again(item, again)

    def _patch_data(self, uid: str, sts: JSONDict) -> JSONDict:
        """revisions.patch_data, copied once per template (a sync runs for every pod change)."""
        template = (sts.get("spec") or {}).get("template")
        known = self._data.get(uid)
        if known is None or known[0] is not template:
            known = (template, revisions.patch_data(sts))
            self._data[uid] = known
        return known[1]

    def _pods(self, sts: JSONDict) -> dict[int, JSONDict]:
        name = str(meta(sts)["name"])
        out = {}
        for pod_name, pod in self.children.owned(str(meta(sts)["uid"])).items():
            ordinal = ordinal_of(name, pod_name)
            if ordinal is not None:
                out[ordinal] = pod
        return out

    def _healthy(self, sts: JSONDict, pod: JSONDict) -> bool:
        if is_terminating(pod) or not is_running_and_ready(pod):
            return False
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        since = ready_since(pod)
        if min_ready <= 0:
            return True
        return since is not None and since + timedelta(seconds=min_ready) <= self.cluster.clock.now()

    def _manage(self, sts: JSONDict, current: JSONDict, update: JSONDict) -> None:
        spec = sts.get("spec") or {}
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        end = start + replicas_of(sts)
        pods = self._pods(sts)
        unhealthy = [o for o in sorted(pods) if not self._healthy(sts, pods[o])]
        first_unhealthy = unhealthy[0] if unhealthy else None
        for ordinal in range(start, end):
            pod = pods.get(ordinal)
            if pod is not None and is_finished(pod) and not is_terminating(pod):
                self.delete(PODS, pod)  # a failed or completed pod is replaced
                if monotonic:
                    return
                continue
            if pod is None:
                self._create_pod(sts, ordinal, self._revision_for(sts, ordinal, current, update))
                if monotonic:
                    return
                continue
            if pod_phase(pod) == "Pending":
                self._ensure_claims(sts, ordinal)
            if not self._healthy(sts, pod) and monotonic:
                return
        for ordinal in sorted((o for o in pods if not start <= o < end), reverse=True):
            pod = pods[ordinal]
            if is_terminating(pod):
                if monotonic:
                    return
                continue
            if monotonic and not self._healthy(sts, pod) and ordinal != first_unhealthy:
                return
            self._condemn(sts, pod)
            if monotonic:
                return
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        for ordinal in range(end - 1, start + partition - 1, -1):
            pod = pods.get(ordinal)
            if pod is None:
                continue
            revision = (meta(pod).get("labels") or {}).get(REVISION_LABEL)
            if revision != meta(update)["name"] and not is_terminating(pod):
                self.delete(PODS, pod)
                return
            if not self._healthy(sts, pod):
                return

    def _revision_for(self, sts: JSONDict, ordinal: int, current: JSONDict, update: JSONDict) -> JSONDict:
        """Pods below the partition are (re)created at the current revision (newVersionedStatefulSetPod)."""
        spec = sts.get("spec") or {}
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return update
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        rolling = strategy.get("rollingUpdate")
        if rolling is None:
            below = ordinal < start + int((sts.get("status") or {}).get("currentReplicas") or 0)
        else:
            below = ordinal < start + int(rolling.get("partition") or 0)
        return current if below else update

    def _create_pod(self, sts: JSONDict, ordinal: int, revision: JSONDict) -> None:
        ns, name = str(meta(sts)["namespace"]), str(meta(sts)["name"])
        pod_name = f"{name}-{ordinal}"
        labels = {
            REVISION_LABEL: str(meta(revision)["name"]),
            POD_NAME_LABEL: pod_name,
            POD_INDEX_LABEL: str(ordinal),
        }
        template = revisions.template_of(revision)
        # The revision's defaulted spec is shared by its pods; what is theirs alone goes on top.
        shared = self._parts.get(sts, template, source=revision.get("data"))
        spec = {**shared.spec, "hostname": pod_name}
        service = (sts.get("spec") or {}).get("serviceName")
        if service:
            spec["subdomain"] = service
        pod = pod_from_template(
            template, sts, ns, name=pod_name, extra_labels=labels, spec=spec, shared=shared
        )
        claims = self._ensure_claims(sts, ordinal)
        if claims:
            volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
            for claim, pvc_name in claims.items():
                volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": pvc_name}})
            spec["volumes"] = volumes
        self.create(PODS, ns, pod)

    def _ensure_claims(self, sts: JSONDict, ordinal: int) -> dict[str, str]:
        """Creates the pod's missing claims `<claim>-<set>-<ordinal>` (bound at once); claim → PVC name."""
        ns, name = str(meta(sts)["namespace"]), str(meta(sts)["name"])
        spec = sts.get("spec") or {}
        policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        out = {}
        for template in spec.get("volumeClaimTemplates") or []:
            claim = str((template.get("metadata") or {}).get("name") or "")
            pvc_name = f"{claim}-{name}-{ordinal}"
            out[claim] = pvc_name
            if self.get(PVCS, ns, pvc_name) is not None:
                continue
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            labels.update(((spec.get("selector") or {}).get("matchLabels")) or {})
            pvc_meta: JSONDict = {"name": pvc_name, "namespace": ns, "labels": labels}
            if (template.get("metadata") or {}).get("annotations"):
                pvc_meta["annotations"] = dict(template["metadata"]["annotations"])
            if policy.get("whenDeleted") == "Delete":
                ref = owner_reference(sts)
                ref["controller"] = False
                pvc_meta["ownerReferences"] = [ref]
            body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pvc_meta}
            body["spec"] = copy.deepcopy(template.get("spec") or {})
            try:
                created = self.create(PVCS, ns, body)
            except ApiError as err:
                if err.code == 409:
                    continue
                raise
            pvc_spec = created.obj.get("spec") or {}
            storage = ((pvc_spec.get("resources") or {}).get("requests") or {}).get("storage")
            bound: JSONDict = {"phase": "Bound", "accessModes": list(pvc_spec.get("accessModes") or [])}
            if storage:
                bound["capacity"] = {"storage": storage}
            self.write_status(PVCS, created, bound)
        return out

    def _condemn(self, sts: JSONDict, pod: JSONDict) -> None:
        """Scales a pod away; with whenScaled=Delete its claims become the pod's, so they go with it."""
        spec = sts.get("spec") or {}
        if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled") == "Delete":
            ordinal = ordinal_of(str(meta(sts)["name"]), str(meta(pod)["name"]))
            ns = str(meta(sts)["namespace"])
            for template in spec.get("volumeClaimTemplates") or []:
                claim = str((template.get("metadata") or {}).get("name") or "")
                pvc = self.get(PVCS, ns, f"{claim}-{meta(sts)['name']}-{ordinal}")
                if pvc is None:
                    continue
                # The claim now belongs to the pod alone (even under whenDeleted=Delete).
                gone = (meta(pod)["uid"], meta(sts)["uid"])
                refs = [r for r in meta(pvc.obj).get("ownerReferences") or [] if r.get("uid") not in gone]
                ref = owner_reference(pod)
                ref["controller"] = False
                self.update(PVCS, {**pvc.obj, "metadata": {**meta(pvc.obj), "ownerReferences": [*refs, ref]}})
        self.delete(PODS, pod)

    # ----- status ------------------------------------------------------------------------------

    def _status(
        self, sts: JSONDict, current: JSONDict, update: JSONDict, collisions: int
    ) -> tuple[JSONDict, float | None]:
        spec = sts.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = self.cluster.clock.now()
        counts = {"replicas": 0, "ready": 0, "available": 0, "current": 0, "updated": 0}
        again: float | None = None
        current_name, update_name = str(meta(current)["name"]), str(meta(update)["name"])
        for pod in self.children.owned(str(meta(sts)["uid"])).values():
            counts["replicas"] += 1
            if is_running_and_ready(pod):
                counts["ready"] += 1
                since = ready_since(pod)
                wait = 0.0 if min_ready <= 0 or since is None else (since - now).total_seconds() + min_ready
                if wait <= 0:
                    counts["available"] += 1
                else:
                    again = wait if again is None else min(again, wait)
            if not is_terminating(pod):
                revision = (meta(pod).get("labels") or {}).get(REVISION_LABEL)
                counts["current"] += revision == current_name
                counts["updated"] += revision == update_name
        if (
            (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
            and counts["updated"] == counts["replicas"]
            and counts["ready"] == counts["replicas"]
        ):
            counts["current"], current_name = counts["updated"], update_name
        status: JSONDict = {
            "observedGeneration": int(meta(sts).get("generation") or 0),
            "replicas": counts["replicas"],
            "readyReplicas": counts["ready"],
            "currentReplicas": counts["current"],
            "updatedReplicas": counts["updated"],
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": collisions,
            "availableReplicas": counts["available"],
        }
        for field in ("observedGeneration", "readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[field]:
                del status[field]
        return status, again
