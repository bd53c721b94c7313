"""The Deployment controller (pkg/controller/deployment): one ReplicaSet per pod template, rolled
by RollingUpdate (maxSurge / maxUnavailable) or Recreate, with revisions kubectl's `rollout
history` and `rollout undo` read, proportional scaling, history clean-up and the Available and
Progressing conditions `rollout status` waits on.

The arithmetic lives in `deploymentutil`; this module orders the writes as sync.go, rolling.go
and recreate.go do.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from overhaul.sim.controllers import deploymentstatus as ds
from overhaul.sim.controllers import deploymentutil as du
from overhaul.sim.controllers.events import record_event
from overhaul.sim.controllers.podutil import (
    controller_ref,
    is_finished,
    is_terminating,
    json_copy,
    meta,
    namespace_terminating,
    owner_reference,
    replicas_of,
    template_hash,
)
from overhaul.sim.controllers.replicaset import REPLICASETS
from overhaul.sim.controllers.workload import PODS, WorkloadController
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey, Stored, WatchEvent

JSONDict = dict[str, Any]
DEPLOYMENTS: StorageKey = ("apps", "deployments")
COMPONENT = "deployment-controller"


@dataclass
class _State:
    """The Deployment as last read or written during one sync."""

    stored: Stored
    # _new_and_old's answer and the store revision it was computed at: any write invalidates it.
    memo: tuple[int, JSONDict | None, list[JSONDict]] | None = None

    @property
    def d(self) -> JSONDict:
        return self.stored.obj


def _by_age(rss: list[JSONDict]) -> list[JSONDict]:
    return sorted(rss, key=lambda rs: (str(meta(rs).get("creationTimestamp") or ""), str(meta(rs)["name"])))


class DeploymentController(WorkloadController):
    name = "deployment"
    own_key = DEPLOYMENTS
    own_kind = "Deployment"
    child_key = REPLICASETS
    watches = (DEPLOYMENTS, REPLICASETS, PODS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        # ReplicaSet uid → its pods not yet Succeeded/Failed: Recreate waits for old ones to be gone.
        self._unfinished: dict[str, int] = {}
        self._counted: dict[tuple[str, str], str] = {}
        self._templates: dict[str, tuple[int, Any]] = {}

    # ----- events ------------------------------------------------------------------------------

    def other_changed(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        pod = event.stored.obj
        m = pod["metadata"]
        old = event.old
        if (
            event.type == "MODIFIED"
            and old is not None
            and old["metadata"].get("ownerReferences") is m.get("ownerReferences")
            and is_finished(old) == is_finished(pod)
        ):
            return ()  # the same controller, and as unfinished as it was: nothing to count again
        ns = str(m.get("namespace") or "")
        pod_key = (ns, str(m["name"]))
        before = self._counted.pop(pod_key, None)
        if before is not None:
            self._unfinished[before] -= 1
        ref = controller_ref(pod)
        after = None
        if (
            event.type != "DELETED"
            and ref is not None
            and ref.get("kind") == "ReplicaSet"
            and not is_finished(pod)
        ):
            after = str(ref.get("uid"))
            self._counted[pod_key] = after
            self._unfinished[after] = self._unfinished.get(after, 0) + 1
        if before is None or before == after or self._unfinished.get(before):
            return ()
        del self._unfinished[before]
        # The last running pod of a ReplicaSet went: a Recreate rollout may go on.
        old_ref = controller_ref(event.old or pod) or ref
        rs = self.get(REPLICASETS, ns, str(old_ref.get("name"))) if old_ref else None
        owner = controller_ref(rs.obj) if rs is not None else None
        if owner is not None and owner.get("kind") == self.own_kind:
            return ((ns, str(owner.get("name"))),)
        return ()

    # ----- sync ----------------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        ns, name = item
        stored = self.get(DEPLOYMENTS, ns, name)
        if stored is None:
            return None
        d = stored.obj
        if (d.get("spec") or {}).get("selector") == {}:
            return self._selecting_all(stored)
        self.claim(d, self.selectors.get(ns, {}).get(name))
        st = _State(self.get(DEPLOYMENTS, ns, name) or stored)
        if is_terminating(st.d):
            new, olds = self._new_and_old(st, create=False)
            self._write_status(st, ds.calculate(st.d, new, olds, self.cluster.clock.now()))
            return None
        paused = ds.paused_status(st.d, self.cluster.clock.now())
        if paused is not None:
            self._write_status(st, paused)
        spec = st.d.get("spec") or {}
        if spec.get("paused") or self._is_scaling_event(st):
            return self._sync(st)
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            return self.again(item, self._recreate(st))
        return self.again(item, self._rolling(st))

    def _selecting_all(self, stored: Stored) -> float | None:
        d = stored.obj
        generation = int(meta(d).get("generation") or 0)
        status = dict(d.get("status") or {})
        if int(status.get("observedGeneration") or 0) < generation:
            record_event(
                self.cluster,
                d,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
                COMPONENT,
                "Warning",
            )
            status["observedGeneration"] = generation
            self.write_status(DEPLOYMENTS, stored, status)
        return None

    def _sync(self, st: _State) -> float | None:
        """Scaling and paused deployments: resize ReplicaSets, clean up, report (sync.go `sync`)."""
        new, olds = self._new_and_old(st, create=False)
        self._scale(st, new, olds)
        new, olds = self._new_and_old(st, create=False)
        if (st.d.get("spec") or {}).get("paused"):
            self._cleanup(st, olds)
            new, olds = self._new_and_old(st, create=False)
        self._write_status(st, ds.calculate(st.d, new, olds, self.cluster.clock.now()))
        return None

    def _rolling(self, st: _State) -> float | None:
        new, olds = self._new_and_old(st, create=True)
        assert new is not None
        if self._reconcile_new(st, [*olds, new], new):
            return self._sync_rollout_status(st)
        new, olds = self._new_and_old(st, create=False)
        assert new is not None
        active_olds = [rs for rs in olds if du.rs_replicas(rs) > 0]
        if self._reconcile_olds(st, [*olds, new], active_olds, new):
            return self._sync_rollout_status(st)
        if du.complete(st.d, du.status(st.d)):
            self._cleanup(st, olds)
        return self._sync_rollout_status(st)

    def _recreate(self, st: _State) -> float | None:
        new, olds = self._new_and_old(st, create=False)
        scaled = False
        for rs in olds:
            if du.rs_replicas(rs) > 0:
                self._scale_rs(st, rs, 0)
                scaled = True
        if scaled:
            return self._sync_rollout_status(st)
        if self._old_pods_running(new, olds):
            return self._sync_rollout_status(st)
        if new is None:
            new, olds = self._new_and_old(st, create=True)
            assert new is not None
        self._scale_rs(st, new, replicas_of(st.d))
        if du.complete(st.d, du.status(st.d)):
            self._cleanup(st, olds)
        return self._sync_rollout_status(st)

    def _old_pods_running(self, new: JSONDict | None, olds: list[JSONDict]) -> bool:
        if du.total_status(olds, "replicas") > 0:
            return True
        new_uid = meta(new)["uid"] if new is not None else None
        return any(self._unfinished.get(str(meta(rs)["uid"])) for rs in olds if meta(rs)["uid"] != new_uid)

    # ----- finding and creating the new ReplicaSet -----------------------------------------------

    def _rss(self, st: _State) -> list[JSONDict]:
        return list(self.children.owned(str(meta(st.d)["uid"])).values())

    def _normalized(self, obj: JSONDict) -> Any:
        uid, generation = str(meta(obj)["uid"]), int(meta(obj).get("generation") or 0)
        cached = self._templates.get(uid)
        if cached is None or cached[0] != generation:
            template = (obj.get("spec") or {}).get("template") or {}
            cached = (generation, du._semantic(du.without_hash(template)))
            self._templates[uid] = cached
        return cached[1]

    def _find_new(self, d: JSONDict, rss: list[JSONDict]) -> JSONDict | None:
        """The oldest ReplicaSet whose template is the Deployment's (ignoring pod-template-hash)."""
        want = self._normalized(d)
        for rs in _by_age(rss):
            if self._normalized(rs) == want:
                return rs
        return None

    def _new_and_old(self, st: _State, create: bool) -> tuple[JSONDict | None, list[JSONDict]]:
        """getAllReplicaSetsAndSyncRevision: the new ReplicaSet (its annotations synced, or created
        when asked) and all the others."""
        if not create and st.memo is not None and st.memo[0] == self.cluster.store.rv:
            return st.memo[1], list(st.memo[2])
        rss = self._rss(st)
        new = self._find_new(st.d, rss)
        olds = [rs for rs in rss if new is None or meta(rs)["uid"] != meta(new)["uid"]]
        new_revision = du.max_revision(olds) + 1
        if new is not None:
            new = self._sync_new(st, new, new_revision)
        elif create:
            new = self._create_new(st, olds, new_revision)
        st.memo = (self.cluster.store.rv, new, olds)
        return new, list(olds)

    def _sync_new(self, st: _State, rs: JSONDict, new_revision: int) -> JSONDict:
        d = st.d
        annotations = dict(meta(rs).get("annotations") or {})
        wanted = du.new_rs_annotations(d, annotations, new_revision, exists=True)
        min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
        if wanted != annotations or ((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
            spec = json_copy(rs.get("spec") or {})
            spec["minReadySeconds"] = min_ready
            return self.update(
                REPLICASETS, {**rs, "metadata": {**meta(rs), "annotations": wanted}, "spec": spec}
            ).obj
        status = d.get("status") or {}
        if du.has_deadline(d) and du.get_condition(status, "Progressing") is None:
            status = json_copy(status)
            message = f'Found new replica set "{meta(rs)["name"]}"'
            cond = du.new_condition("Progressing", "True", du.FOUND_NEW_RS, message, self.cluster.now())
            du.set_condition(status, cond)
        self._commit(st, str(wanted.get(du.REVISION, "")), status)
        return rs

    def _create_new(self, st: _State, olds: list[JSONDict], new_revision: int) -> JSONDict:
        d = st.d
        ns, dname = str(meta(d)["namespace"]), str(meta(d)["name"])
        spec = d.get("spec") or {}
        status = json_copy(d.get("status") or {})
        collisions = int(status.get("collisionCount") or 0)
        template = json_copy(spec.get("template") or {})
        pod_hash = template_hash(spec.get("template") or {}, collisions)
        t_meta = template.setdefault("metadata", {})
        t_meta["labels"] = {**(t_meta.get("labels") or {}), du.HASH_LABEL: pod_hash}
        selector = json_copy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), du.HASH_LABEL: pod_hash}
        rs: JSONDict = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{dname}-{pod_hash}",
                "namespace": ns,
                "labels": dict(t_meta["labels"]),
                "ownerReferences": [owner_reference(d)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds") or 0,
                "selector": selector,
                "template": template,
            },
        }
        replicas = du.new_rs_new_replicas(d, [*olds, rs], rs)
        rs["spec"]["replicas"] = replicas
        rs["metadata"]["annotations"] = du.new_rs_annotations(d, {}, new_revision, exists=False)
        try:
            created = self.create(REPLICASETS, ns, rs).obj
        except ApiError as err:
            if err.code == 409 and err.reason == "AlreadyExists":
                existing = self.get(REPLICASETS, ns, str(rs["metadata"]["name"]))
                ref = controller_ref(existing.obj) if existing is not None else None
                if (
                    existing is not None
                    and ref is not None
                    and ref.get("uid") == meta(d)["uid"]
                    and du.equal_ignore_hash(spec.get("template") or {}, existing.obj["spec"]["template"])
                ):
                    return existing.obj
                # A hash collision: the next name comes from the next collisionCount.
                status["collisionCount"] = collisions + 1
                self._write_status(st, status)
            elif du.has_deadline(d) and not namespace_terminating(err.details):
                message = f'Failed to create new replica set "{rs["metadata"]["name"]}": {err.message}'
                du.set_condition(
                    status,
                    du.new_condition(
                        "Progressing", "False", "ReplicaSetCreateError", message, self.cluster.now()
                    ),
                )
                self._write_status(st, status)
                record_event(self.cluster, d, "ReplicaSetCreateError", message, COMPONENT, "Warning")
            raise
        if replicas > 0:
            self._scaled_event(d, "up", str(created["metadata"]["name"]), 0, replicas)
        if du.has_deadline(d):
            message = f'Created new replica set "{created["metadata"]["name"]}"'
            cond = du.new_condition("Progressing", "True", du.NEW_RS_CREATED, message, self.cluster.now())
            du.set_condition(status, cond)
        self._commit(st, str(new_revision), status)
        return created

    # ----- scaling ------------------------------------------------------------------------------

    def _scaled_event(self, d: JSONDict, op: str, rs_name: str, old: int, new: int) -> None:
        message = f"Scaled {op} replica set {rs_name} from {old} to {new}"
        record_event(self.cluster, d, "ScalingReplicaSet", message, COMPONENT)

    def _scale_rs(self, st: _State, rs: JSONDict, size: int, op: str = "") -> tuple[bool, JSONDict]:
        """Sets a ReplicaSet's size and replica annotations; True when the size changed."""
        old = du.rs_replicas(rs)
        resize = old != size
        if not resize and not du.replica_annotations_need_update(rs, st.d):
            return False, rs
        annotations = {**(meta(rs).get("annotations") or {}), **du.replica_annotations(st.d)}
        spec = json_copy(rs.get("spec") or {})
        spec["replicas"] = size
        updated = self.update(
            REPLICASETS, {**rs, "metadata": {**meta(rs), "annotations": annotations}, "spec": spec}
        )
        if resize:
            self._scaled_event(st.d, op or ("up" if size > old else "down"), str(meta(rs)["name"]), old, size)
        return resize, updated.obj

    def _is_scaling_event(self, st: _State) -> bool:
        new, olds = self._new_and_old(st, create=False)
        replicas = replicas_of(st.d)
        for rs in [*olds, *([new] if new is not None else [])]:
            desired = du.annotation_int(rs, du.DESIRED_REPLICAS)
            if du.rs_replicas(rs) > 0 and desired is not None and desired != replicas:
                return True
        return False

    def _scale(self, st: _State, new: JSONDict | None, olds: list[JSONDict]) -> None:
        d = st.d
        replicas = replicas_of(d)
        everyone = [*olds, *([new] if new is not None else [])]
        active = [rs for rs in everyone if du.rs_replicas(rs) > 0]
        if new is not None or olds:
            only = None
            if len(active) == 1:
                only = active[0]
            elif not active:
                only = new if new is not None else _by_age(olds)[-1]
            if only is not None:
                if du.rs_replicas(only) != replicas:
                    self._scale_rs(st, only, replicas)
                return
        if du.is_saturated(d, new):
            for rs in olds:
                if du.rs_replicas(rs) > 0:
                    self._scale_rs(st, rs, 0)
            return
        if not du.is_rolling(d) or not active:
            return
        allowed = replicas + du.max_surge(d) if replicas > 0 else 0
        to_add = allowed - du.total_spec(active)
        if to_add > 0:  # newer and bigger first (ReplicaSetsBySizeNewer)
            ordered = sorted(
                active,
                key=lambda rs: (du.rs_replicas(rs), str(meta(rs).get("creationTimestamp") or "")),
                reverse=True,
            )
            op = "up"
        else:  # older and bigger first (ReplicaSetsBySizeOlder)
            ordered = sorted(_by_age(active), key=lambda rs: du.rs_replicas(rs), reverse=True)
            op = "down" if to_add < 0 else ""
        sizes: dict[str, int] = {}
        added = 0
        for rs in ordered:
            share = du.proportion(rs, d, to_add, added) if to_add else 0
            sizes[str(meta(rs)["name"])] = du.rs_replicas(rs) + share
            added += share
        for i, rs in enumerate(ordered):
            name = str(meta(rs)["name"])
            if i == 0 and to_add:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self._scale_rs(st, rs, sizes[name], op)

    def _reconcile_new(self, st: _State, everyone: list[JSONDict], new: JSONDict) -> bool:
        replicas = replicas_of(st.d)
        if du.rs_replicas(new) == replicas:
            return False
        if du.rs_replicas(new) > replicas:
            return self._scale_rs(st, new, replicas)[0]
        return self._scale_rs(st, new, du.new_rs_new_replicas(st.d, everyone, new))[0]

    def _reconcile_olds(
        self, st: _State, everyone: list[JSONDict], olds: list[JSONDict], new: JSONDict
    ) -> bool:
        d = st.d
        if du.total_spec(olds) == 0:
            return False
        min_available = replicas_of(d) - du.max_unavailable(d)
        new_unavailable = du.rs_replicas(new) - int(du.status(new).get("availableReplicas") or 0)
        max_down = du.total_spec(everyone) - min_available - new_unavailable
        if max_down <= 0:
            return False
        # Unhealthy old replicas go first: they would otherwise block the rollout.
        olds = _by_age(olds)
        cleaned = 0
        for i, rs in enumerate(olds):
            if cleaned >= max_down:
                break
            size, available = du.rs_replicas(rs), int(du.status(rs).get("availableReplicas") or 0)
            if size == 0 or size == available:
                continue
            down = min(max_down - cleaned, size - available)
            olds[i] = self._scale_rs(st, rs, size - down)[1]
            cleaned += down
        everyone = [*olds, new]
        available = du.total_status(everyone, "availableReplicas")
        scaled = 0
        if available > min_available:
            budget = available - min_available
            for rs in olds:
                if scaled >= budget:
                    break
                size = du.rs_replicas(rs)
                if size == 0:
                    continue
                down = min(size, budget - scaled)
                self._scale_rs(st, rs, size - down)
                scaled += down
        return cleaned + scaled > 0

    def _cleanup(self, st: _State, olds: list[JSONDict]) -> None:
        """Deletes the oldest unused ReplicaSets beyond revisionHistoryLimit."""
        limit = (st.d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None or int(limit) == du.NO_DEADLINE:
            return
        cleanable = [rs for rs in olds if not is_terminating(rs)]
        extra = len(cleanable) - int(limit)
        if extra <= 0:
            return
        ordered = sorted(
            cleanable,
            key=lambda rs: (du.revision(rs), str(meta(rs).get("creationTimestamp") or ""), meta(rs)["name"]),
        )
        for rs in ordered[:extra]:
            rs_status = du.status(rs)
            if (
                int(rs_status.get("replicas") or 0) != 0
                or du.rs_replicas(rs) != 0
                or int(meta(rs).get("generation") or 0) > int(rs_status.get("observedGeneration") or 0)
            ):
                continue
            self.delete(REPLICASETS, rs)

    def _sync_rollout_status(self, st: _State) -> float | None:
        new, olds = self._new_and_old(st, create=False)
        now = self.cluster.clock.now()
        status = ds.with_progress(st.d, new, olds, now)
        if status != du.status(st.d):
            self._write_status(st, status)
        return ds.recheck_after(st.d, status, now)

    # ----- writes ------------------------------------------------------------------------------

    def _write_status(self, st: _State, status: JSONDict) -> None:
        if status != st.d.get("status"):
            st.stored = self.write_status(DEPLOYMENTS, st.stored, status)

    def _commit(self, st: _State, revision: str, status: JSONDict) -> None:
        """Records the Deployment's revision annotation (a metadata write) and then its status."""
        annotations = dict(meta(st.d).get("annotations") or {})
        if revision and annotations.get(du.REVISION) != revision:
            annotations[du.REVISION] = revision
            body = {**st.d, "metadata": {**meta(st.d), "annotations": annotations}}
            body["spec"] = json_copy(st.d.get("spec") or {})
            st.stored = self.update(DEPLOYMENTS, body)
        self._write_status(st, status)
