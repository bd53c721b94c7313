"""The PDB invariant monitor: records every moment a disruption left a budget short.

It listens to every store change (synchronously, so no moment is missed) and keeps, per PDB,
the set of healthy pods (Ready, not terminating). When a pod leaves that set because it was
deleted or began terminating, and the set is then smaller than the budget's desiredHealthy,
that is a violation. Readiness flaps of running pods are not disruptions and are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overhaul.sim import disruption
from overhaul.sim.clock import Clock, rfc3339
from overhaul.sim.selectors import LabelSelector
from overhaul.sim.store import StorageKey, Store, WatchEvent

JSONDict = dict[str, Any]
PODS: StorageKey = ("", "pods")
PDBS: StorageKey = ("policy", "poddisruptionbudgets")


@dataclass
class _Watched:
    selector: LabelSelector
    desired: int | None
    source: Any = None  # the spec.selector it was compiled from
    healthy: set[str] = field(default_factory=set)


def _healthy(pod: JSONDict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and disruption.is_pod_ready(pod)


class PdbMonitor:
    """Subscribe with `store.listeners.append(monitor.on_event)`; read `violations`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.violations: list[JSONDict] = []
        self._pdbs: dict[str, dict[str, _Watched]] = {}
        # namespace → labels → the PDBs selecting them: pods of one workload share their labels.
        self._selecting: dict[str, dict[frozenset[tuple[str, str]], tuple[str, ...]]] = {}

    def on_event(self, key: StorageKey, event: WatchEvent) -> None:
        if key == PDBS:
            self._pdb_changed(event)
        elif key == PODS:
            self._pod_changed(event)

    def _pdb_changed(self, event: WatchEvent) -> None:
        pdb = event.stored.obj
        meta = pdb["metadata"]
        ns, name = meta["namespace"], meta["name"]
        in_ns = self._pdbs.setdefault(ns, {})
        if event.type == "DELETED":
            in_ns.pop(name, None)
            self._selecting.pop(ns, None)
            return
        desired = (pdb.get("status") or {}).get("desiredHealthy")
        watched = in_ns.get(name)
        source = (pdb.get("spec") or {}).get("selector")
        if watched is not None and watched.source is source:
            # A status write (most PDB events): the selector is the very same object.
            watched.desired = int(desired) if desired is not None else None
            return
        selector = disruption.pdb_selector(pdb)
        if watched is not None:
            watched.source = source
        if watched is None or watched.selector != selector:
            # Only a new or changed selector changes which PDBs select which labels (status writes,
            # most PDB events, do not: forgetting the namespace's cache on each cost a pass over it).
            self._selecting.pop(ns, None)
            watched = _Watched(selector, desired, source)
            for stored in self.store.list(PODS, ns, selector)[0]:
                if _healthy(stored.obj):
                    watched.healthy.add(stored.obj["metadata"]["name"])
            in_ns[name] = watched
        watched.desired = int(desired) if desired is not None else None

    def _pod_changed(self, event: WatchEvent) -> None:
        pod = event.stored.obj
        meta = pod["metadata"]
        watched_in_ns = self._pdbs.get(meta.get("namespace", ""))
        if not watched_in_ns:
            return
        old = event.old
        if (
            old is not None
            and event.type == "MODIFIED"
            and old["metadata"].get("labels") == meta.get("labels")
            and _healthy(old) == _healthy(pod)
        ):
            return  # the same PDBs select it, and it is as healthy as it was: nothing moves
        name = meta["name"]
        ns = meta.get("namespace", "")
        labels = meta.get("labels") or {}
        key = frozenset(labels.items())
        cache = self._selecting.setdefault(ns, {})
        selecting = cache.get(key)
        if selecting is None:
            selecting = tuple(n for n, w in watched_in_ns.items() if w.selector.matches(labels))
            cache[key] = selecting
        healthy = event.type != "DELETED" and _healthy(pod)
        if event.type == "ADDED":
            # A new pod is in no healthy set yet: only the PDBs selecting it may count it.
            if healthy:
                for pdb_name in selecting:
                    watched_in_ns[pdb_name].healthy.add(name)
            return
        for pdb_name, watched in watched_in_ns.items():
            selected = pdb_name in selecting
            if not selected and name not in watched.healthy:
                continue
            now_healthy = healthy and selected
            if now_healthy:
                watched.healthy.add(name)
                continue
            if name not in watched.healthy:
                continue
            watched.healthy.discard(name)
            if event.type == "DELETED":
                cause = "deleted"
            elif meta.get("deletionTimestamp"):
                cause = "terminating"
            else:
                continue  # a readiness flap or a relabel is not a disruption
            if watched.desired is not None and len(watched.healthy) < watched.desired:
                self.violations.append(
                    {
                        "time": rfc3339(self.clock.now()),
                        "namespace": meta.get("namespace", ""),
                        "pdb": pdb_name,
                        "pod": name,
                        "node": (pod.get("spec") or {}).get("nodeName", ""),
                        "cause": cause,
                        "healthy": len(watched.healthy),
                        "desiredHealthy": watched.desired,
                    }
                )
