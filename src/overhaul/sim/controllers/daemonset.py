"""The DaemonSet controller (pkg/controller/daemon): one pod per eligible node, pinned to it by a
`metadata.name` node-affinity term, with the tolerations the real controller adds; RollingUpdate
by maxUnavailable or maxSurge, OnDelete; ControllerRevisions; status.

With 5,000 nodes a pass over every node per pod change would be quadratic, so the controller
keeps, per DaemonSet, the verdict and the status contribution of every node, and a reconcile
looks again only at nodes whose node object or daemon pods changed (a full pass when the
DaemonSet itself changes, and during a rolling update).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from overhaul.sim import defaults
from overhaul.sim.controllers import revisions
from overhaul.sim.controllers.nodefit import Placement
from overhaul.sim.controllers.ownerindex import OwnerIndex
from overhaul.sim.controllers.podutil import (
    NODES,
    PodParts,
    controller_ref,
    is_available,
    is_ready,
    is_terminating,
    meta,
    owner_reference,
    pod_from_template,
    pod_phase,
    ready_since,
    scaled_value,
    target_node,
    template_hash,
)
from overhaul.sim.controllers.workload import BURST, PODS, Item, WorkloadController
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
DAEMONSETS: StorageKey = ("apps", "daemonsets")
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
BACKOFF_START, BACKOFF_MAX = 1.0, 900.0

# Tolerations every daemon pod gets (AddOrUpdateDaemonPodTolerations), and one more for hostNetwork.
DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", "NoSchedule")

# A node's share of the status: desired, current, ready, available, updated, misscheduled, outdated.
DESIRED, CURRENT, READY, AVAILABLE, UPDATED, MISSCHEDULED, OUTDATED = range(7)
ZERO = (0, 0, 0, 0, 0, 0, 0)


def daemon_pod_spec(template_spec: JSONDict) -> JSONDict:
    """The template's pod spec with the daemon tolerations added, then the pod defaults applied (what
    every daemon pod stores, pinned to its node: see `pin_to_node`)."""
    spec: JSONDict = orjson.loads(orjson.dumps(template_spec))
    spec.pop("nodeName", None)
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    for key, effect in wanted:
        toleration = {"key": key, "operator": "Exists", "effect": effect}
        if toleration not in tolerations:
            tolerations.append(toleration)
    spec["tolerations"] = tolerations
    defaults.pod({"spec": spec})
    return spec


def pin_to_node(spec: JSONDict, node: str) -> JSONDict:
    """`spec` with its required node-affinity terms replaced by `metadata.name In [node]` (as the real
    controller does). Only the path to the terms is copied: the rest (containers, tolerations...) is
    shared with `spec`, as a DaemonSet's pods share it (stored objects are never changed in place)."""
    affinity = dict(spec.get("affinity") or {})
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    required = dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    required["nodeSelectorTerms"] = [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    ]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required
    affinity["nodeAffinity"] = node_affinity
    return {**spec, "affinity": affinity}


def _by_age(pods: list[JSONDict]) -> list[JSONDict]:
    """Scheduled first, then oldest (podByCreationTimestampAndPhase)."""
    return sorted(
        pods,
        key=lambda p: (
            not (p.get("spec") or {}).get("nodeName"),
            str(meta(p).get("creationTimestamp") or ""),
            str(meta(p)["name"]),
        ),
    )


@dataclass
class _Daemon:
    """What the controller remembers about one DaemonSet between reconciles."""

    generation: int = -1
    hash: str = ""
    revision: str = ""
    spec: JSONDict = field(default_factory=dict)
    placement: Placement | None = None
    parts: PodParts | None = None  # what this generation's pods share
    fits: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    all_dirty: bool = True
    shares: dict[str, tuple[int, ...]] = field(default_factory=dict)
    totals: list[int] = field(default_factory=lambda: [0] * 7)
    backoff: dict[str, tuple[datetime, float]] = field(default_factory=dict)


class DaemonSetController(WorkloadController):
    name = "daemonset"
    own_key = DAEMONSETS
    own_kind = "DaemonSet"
    watches = (DAEMONSETS, PODS, NODES, revisions.REVISIONS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self.history = OwnerIndex(self.own_kind)
        self.daemons: dict[str, _Daemon] = {}
        self.on_node: dict[str, dict[str, set[str]]] = {}  # daemon uid → node → pod names

    # ----- events ------------------------------------------------------------------------------

    def own_changed(self, event: WatchEvent) -> Iterable[Item]:
        if event.type == "DELETED":
            uid = str(meta(event.stored.obj)["uid"])
            self.daemons.pop(uid, None)
            self.on_node.pop(uid, None)
        return super().own_changed(event)

    def child_changed(self, event: WatchEvent) -> list[Hashable]:
        items = super().child_changed(event)
        pod = event.stored.obj
        name = str(meta(pod)["name"])
        for version, present in ((event.old, False), (pod, event.type != "DELETED")):
            ref = controller_ref(version) if version is not None else None
            if ref is None or ref.get("kind") != self.own_kind:
                continue
            uid, node = str(ref.get("uid")), target_node(version)  # type: ignore[arg-type]
            by_node = self.on_node.setdefault(uid, {})
            names = by_node.setdefault(node, set())
            if present:
                names.add(name)
            else:
                names.discard(name)
                if not names:
                    del by_node[node]
                    if not by_node:
                        del self.on_node[uid]
            state = self.daemons.get(uid)
            if state is not None:  # a new state looks at every node anyway
                state.dirty.add(node)
        return items

    def other_changed(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        if key == revisions.REVISIONS:
            self.history.observe(event)
            return ()
        node = event.stored.obj
        old = event.old
        if old is not None and event.type == "MODIFIED" and not _placement_changed(old, node):
            return ()  # heartbeats and status: nothing a daemon's placement depends on
        name = str(meta(node)["name"])
        for state in self.daemons.values():
            state.dirty.add(name)
        return [(ns, ds) for ns, names in self.selectors.items() for ds in names]

    # ----- sync ----------------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        ns, name = item
        stored = self.get(DAEMONSETS, ns, name)
        if stored is None or is_terminating(stored.obj):
            return None
        ds = stored.obj
        uid = str(meta(ds)["uid"])
        self.claim(ds, self.selectors.get(ns, {}).get(name))
        state = self.daemons.setdefault(uid, _Daemon())
        collisions = int((ds.get("status") or {}).get("collisionCount") or 0)
        generation = int(meta(ds).get("generation") or 0)
        if state.generation != generation:
            template = (ds.get("spec") or {}).get("template") or {}
            data = revisions.patch_data(ds)
            revision, collisions = revisions.ensure(
                self,
                ds,
                list(self.history.owned(uid).values()),
                data,
                lambda c: template_hash(template, c),
                collisions,
            )
            state.generation = generation
            state.revision = str(meta(revision)["name"])
            state.hash = str((meta(revision).get("labels") or {}).get(revisions.HASH_LABEL) or "")
            state.spec = daemon_pod_spec(template.get("spec") or {})
            state.parts = None
            state.placement = Placement.of(state.spec)
            state.all_dirty = True
        again = self._manage(ds, uid, state)
        if state.totals[OUTDATED] > 0 and _strategy(ds) == "RollingUpdate":
            self._rolling_update(ds, uid, state)
        stored = self.get(DAEMONSETS, ns, name)
        if stored is None:
            return None
        status, wake = self._status(stored.obj, uid, state, collisions)
        if status != stored.obj.get("status"):
            self.write_status(DAEMONSETS, stored, status)
        self._truncate(ds, uid, state)
        for candidate in (again, wake):
            if candidate is not None:
                again = candidate if again is None else min(again, candidate)
        return self.again(item, again)

    def _truncate(self, ds: JSONDict, uid: str, state: _Daemon) -> None:
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
        history = list(self.history.owned(uid).values())
        if len(history) <= limit + 1:
            return  # nothing to delete whichever are live: spare the pass over every pod
        owned = self.children.owned(uid).values()
        hashes = {str((meta(p).get("labels") or {}).get(REVISION_LABEL)) for p in owned}
        live = {state.revision} | {f"{meta(ds)['name']}-{h}" for h in hashes}
        revisions.truncate(self, history, live, limit)

    def _pods_on(self, uid: str, node: str) -> list[JSONDict]:
        owned = self.children.owned(uid)
        names = self.on_node.get(uid, {}).get(node, ())
        return _by_age([owned[n] for n in names if n in owned])

    def _manage(self, ds: JSONDict, uid: str, state: _Daemon) -> float | None:
        """Creates and deletes daemon pods on the nodes that changed; returns 0 if work remains."""
        if state.all_dirty:
            nodes = set(self.cluster.store.collection(NODES).items.keys()) | set(self.on_node.get(uid, {}))
            nodes |= set(state.shares)
            state.all_dirty = False
            state.dirty.clear()
        else:
            nodes, state.dirty = state.dirty, set()
        surge = _max_surge(ds, max(1, state.totals[DESIRED])) > 0
        pending = sorted(nodes)
        try:
            return self._manage_nodes(ds, uid, state, pending, surge)
        except Exception:
            # A failed write (a conflict, a name clash) must not lose the nodes not handled yet.
            state.dirty.update(pending)
            raise

    def _manage_nodes(
        self, ds: JSONDict, uid: str, state: _Daemon, pending: list[str], surge: bool
    ) -> float | None:
        """Handles `pending` nodes in order, removing each from the list once it is done."""
        created = 0
        again: float | None = None
        while pending:
            node = pending[0]
            node_obj = self.cluster.store.get(NODES, None, node)
            placement = state.placement
            fit = placement.fits(node_obj.obj) if node_obj is not None and placement else (False, False)
            if fit == (False, False):
                state.fits.pop(node, None)
            else:
                state.fits[node] = fit
            should_run, should_continue = fit
            pods = [p for p in self._pods_on(uid, node) if not (is_terminating(p) and pod_phase(p) in _DONE)]
            if should_run and not pods:
                if created >= BURST:
                    state.dirty.add(node)
                    again = 0.0
                else:
                    self._create(ds, node, state)
                    created += 1
            elif should_continue:
                wait = self._prune(ds, uid, node, pods, state, surge)
                if wait is not None:
                    again = wait if again is None else min(again, wait)
            else:
                for pod in pods:
                    if not is_terminating(pod):
                        self.delete(PODS, pod)
            self._share(ds, uid, node, state)
            pending.pop(0)
        return again

    def _prune(
        self, ds: JSONDict, uid: str, node: str, pods: list[JSONDict], state: _Daemon, surge: bool
    ) -> float | None:
        """Deletes failed, completed and extra pods on a node where the daemon may keep running."""
        running = []
        wait: float | None = None
        now = self.cluster.clock.now()
        for pod in pods:
            if is_terminating(pod):
                continue
            phase = pod_phase(pod)
            if phase == "Failed":
                # Kubelets that keep rejecting a pod must not make the controller hot-loop.
                until, delay = state.backoff.get(node, (now, BACKOFF_START / 2))
                if until > now:
                    wait = (until - now).total_seconds()
                    continue
                delay = min(delay * 2, BACKOFF_MAX)
                state.backoff[node] = (now + timedelta(seconds=delay), delay)
                self.delete(PODS, pod)
            elif phase == "Succeeded":
                self.delete(PODS, pod)
            else:
                running.append(pod)
        if not surge:
            for pod in running[1:]:
                self.delete(PODS, pod)
            return wait
        newest_new = oldest_old = None
        min_ready = _min_ready(ds)
        for pod in running:
            is_new = (meta(pod).get("labels") or {}).get(REVISION_LABEL) == state.hash
            if is_new and newest_new is None:
                newest_new = pod
            elif not is_new and oldest_old is None:
                oldest_old = pod
            else:
                self.delete(PODS, pod)
        if (
            newest_new is not None
            and oldest_old is not None
            and (not is_ready(oldest_old) or is_available(newest_new, min_ready, now))
        ):
            self.delete(PODS, oldest_old)
        return wait

    def _create(self, ds: JSONDict, node: str, state: _Daemon) -> None:
        ns, name = str(meta(ds)["namespace"]), str(meta(ds)["name"])
        template = (ds.get("spec") or {}).get("template") or {}
        if state.parts is None:
            # Shared by the daemon's pods of this generation (stored objects are never changed).
            t_labels = (template.get("metadata") or {}).get("labels") or {}
            labels = {**t_labels, REVISION_LABEL: state.hash, GENERATION_LABEL: str(state.generation)}
            state.parts = PodParts(state.spec, labels, [owner_reference(ds)])
        spec = pin_to_node(state.spec, node)
        pod = pod_from_template(template, ds, ns, generate_name=f"{name}-", spec=spec, shared=state.parts)
        self.create(PODS, ns, pod)

    def _rolling_update(self, ds: JSONDict, uid: str, state: _Daemon) -> None:
        desired = state.totals[DESIRED]
        max_surge = _max_surge(ds, desired)
        max_unavailable = scaled_value(_rolling(ds).get("maxUnavailable", 1), desired, True)
        if desired > 0 and max_unavailable == 0 and max_surge == 0:
            max_unavailable = 1
        now = self.cluster.clock.now()
        min_ready = _min_ready(ds)
        unavailable = available_count = surging = 0
        replace: list[JSONDict] = []
        candidates: list[JSONDict] = []
        new_nodes: list[str] = []
        candidate_nodes: list[str] = []
        # Nodes that should run the daemon but have no pod count as unavailable too.
        wanted = {node for node, fit in state.fits.items() if fit[0]}
        for node in sorted(wanted | set(self.on_node.get(uid, {}))):
            split = self._split(uid, node, state)
            if split is None:
                unavailable += 1
                surging += 1
                continue
            new, old = split
            if max_surge == 0:
                if (new is None) == (old is None):
                    unavailable += 1
                elif new is not None:
                    unavailable += not is_available(new, min_ready, now)
                elif old is not None and not is_available(old, min_ready, now):
                    replace.append(old)
                    unavailable += 1
                elif unavailable < max_unavailable and old is not None:
                    candidates.append(old)
                continue
            shown = old if old is not None else new
            available_count += shown is not None and is_available(shown, min_ready, now)
            if old is None:
                continue
            if new is None:
                if not is_available(old, min_ready, now):
                    new_nodes.append(node)
                else:
                    candidate_nodes.append(node)
            elif not is_available(new, min_ready, now):
                surging += 1
            else:
                replace.append(old)
        if max_surge == 0:
            room = max(0, min(max_unavailable - unavailable, len(candidates)))
            for pod in [*replace, *candidates[:room]]:
                self.delete(PODS, pod)
            return
        for pod in replace:
            self.delete(PODS, pod)
        room = max(0, min(max_surge - surging, len(candidate_nodes)))
        for node in [*new_nodes, *candidate_nodes[:room]]:
            if state.fits.get(node, (False, False))[0]:
                self._create(ds, node, state)

    def _split(self, uid: str, node: str, state: _Daemon) -> tuple[JSONDict | None, JSONDict | None] | None:
        """The node's up-to-date and outdated pods (findUpdatedPodsOnNode); None if two of a kind."""
        new = old = None
        for pod in self._pods_on(uid, node):
            if is_terminating(pod):
                continue
            if (meta(pod).get("labels") or {}).get(REVISION_LABEL) == state.hash:
                if new is not None:
                    return None
                new = pod
            else:
                if old is not None:
                    return None
                old = pod
        return new, old

    # ----- status ------------------------------------------------------------------------------

    def _share(self, ds: JSONDict, uid: str, node: str, state: _Daemon) -> None:
        should_run = state.fits.get(node, (False, False))[0]
        pods = [p for p in self._pods_on(uid, node) if not (is_terminating(p) and pod_phase(p) in _DONE)]
        share = list(ZERO)
        if should_run:
            share[DESIRED] = 1
            if pods:
                share[CURRENT] = 1
                first = pods[0]
                if is_ready(first):
                    share[READY] = 1
                    share[AVAILABLE] = int(is_available(first, _min_ready(ds), self.cluster.clock.now()))
                share[UPDATED] = int((meta(first).get("labels") or {}).get(REVISION_LABEL) == state.hash)
        elif pods:
            share[MISSCHEDULED] = 1
        share[OUTDATED] = int(
            any(
                (meta(p).get("labels") or {}).get(REVISION_LABEL) != state.hash
                for p in pods
                if not is_terminating(p)
            )
        )
        before = state.shares.pop(node, ZERO)
        if any(share):
            state.shares[node] = tuple(share)
        for i, value in enumerate(share):
            state.totals[i] += value - before[i]

    def _status(
        self, ds: JSONDict, uid: str, state: _Daemon, collisions: int
    ) -> tuple[JSONDict, float | None]:
        wake: float | None = None
        min_ready = _min_ready(ds)
        if min_ready > 0:
            # Availability changes with time alone: refresh the nodes whose pod is ready but young.
            now = self.cluster.clock.now()
            for node, share in list(state.shares.items()):
                if share[READY] and not share[AVAILABLE]:
                    self._share(ds, uid, node, state)
                    first = self._pods_on(uid, node)[:1]
                    since = ready_since(first[0]) if first else None
                    if since is not None and not state.shares.get(node, ZERO)[AVAILABLE]:
                        remaining = (since + timedelta(seconds=min_ready) - now).total_seconds()
                        wake = remaining if wake is None else min(wake, remaining)
        t = state.totals
        status: JSONDict = {
            "currentNumberScheduled": t[CURRENT],
            "numberMisscheduled": t[MISSCHEDULED],
            "desiredNumberScheduled": t[DESIRED],
            "numberReady": t[READY],
            "observedGeneration": int(meta(ds).get("generation") or 0),
            "updatedNumberScheduled": t[UPDATED],
            "numberAvailable": t[AVAILABLE],
            "numberUnavailable": t[DESIRED] - t[AVAILABLE],
        }
        if collisions:
            status["collisionCount"] = collisions
        for name in ("observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not status[name]:
                del status[name]
        return status, wake


_DONE = ("Succeeded", "Failed")


def _strategy(ds: JSONDict) -> str:
    return str(((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate")


def _rolling(ds: JSONDict) -> JSONDict:
    return dict(((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})


def _max_surge(ds: JSONDict, desired: int) -> int:
    if _strategy(ds) != "RollingUpdate":
        return 0
    return scaled_value(_rolling(ds).get("maxSurge", 0), desired, True)


def _min_ready(ds: JSONDict) -> int:
    return int((ds.get("spec") or {}).get("minReadySeconds") or 0)


def _placement_changed(old: JSONDict, new: JSONDict) -> bool:
    """Whether a node change can change where daemons run: labels, taints, unschedulable."""
    o_meta, n_meta = old.get("metadata") or {}, new.get("metadata") or {}
    if o_meta.get("labels") != n_meta.get("labels"):
        return True
    o_spec, n_spec = old.get("spec") or {}, new.get("spec") or {}
    return bool(
        o_spec.get("taints") != n_spec.get("taints")
        or o_spec.get("unschedulable") != n_spec.get("unschedulable")
    )
