"""The garbage collector (pkg/controller/garbagecollector): deletes objects whose owners are all
gone, and carries out the two deletion policies the apiserver records as finalizers:
`foregroundDeletion` (the owner stays until its blocking dependents are gone) and `orphan` (the
dependents lose their reference to the owner, then the owner goes).

It keeps the ownership graph in memory, fed by every watched resource: uid → where the object
is, owner uid → dependent uids. Work items are `("dependent", uid)` (are its owners still
there?) and `("owner", uid)` (an owner being deleted with one of the two finalizers).
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterable
from typing import Any

from overhaul.sim.cluster import DeleteOptions, WriteOptions
from overhaul.sim.controllers.podutil import is_terminating, meta
from overhaul.sim.controllers.runtime import Controller
from overhaul.sim.errors import ApiError
from overhaul.sim.resources import ResourceType
from overhaul.sim.store import StorageKey, Stored, WatchEvent

JSONDict = dict[str, Any]
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
MANAGER = "kube-controller-manager"
IGNORED: frozenset[StorageKey] = frozenset({("", "events")})
_UNKNOWN = object()  # an owner of a kind this cluster does not serve: it cannot be judged gone

Where = tuple[StorageKey, str | None, str]


def _finalizers(obj: JSONDict) -> list[str]:
    return list(meta(obj).get("finalizers") or [])


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self.watches = tuple(sorted({rt.key for rt in cluster.registry if rt.key not in IGNORED}))
        self.where: dict[str, Where] = {}
        self.owners_of: dict[str, tuple[str, ...]] = {}
        self.dependents: dict[str, set[str]] = {}
        self.deleting: set[str] = set()  # owners waiting on the garbage collector
        self.opts = WriteOptions.system(MANAGER)
        self._kinds: dict[tuple[str, str], ResourceType | None] = {}
        self._kinds_generation = -1

    # ----- the graph -----------------------------------------------------------------------------

    def initial_items(self) -> Iterable[Hashable]:
        items: list[Hashable] = []
        for key in self.watches:
            for stored in list(self.cluster.store.collection(key).items.values()):
                items.extend(self.enqueue_for(key, WatchEvent(stored.rv, "ADDED", stored)))
        return items

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        obj = event.stored.obj
        m = obj["metadata"]
        uid = str(m.get("uid") or "")
        if not uid:
            return ()
        items: list[Hashable] = []
        if event.type == "DELETED":
            self.where.pop(uid, None)
            self.deleting.discard(uid)
            for owner in self._set_owners(uid, ()):
                if owner in self.deleting:
                    items.append(("owner", owner))
            items.extend(("dependent", dep) for dep in self.dependents.pop(uid, ()))
            return items
        old = event.old
        if event.type == "MODIFIED" and old is not None and not m.get("deletionTimestamp"):
            o_meta = old["metadata"]
            if (
                o_meta.get("ownerReferences") is m.get("ownerReferences")
                and not o_meta.get("deletionTimestamp")
                and uid in self.where
            ):
                # A change that kept the very owner references (a status write): only an owner
                # that is missing or going makes it worth a look, as any change would.
                owners = self.owners_of.get(uid, ())
                if any(owner not in self.where or owner in self.deleting for owner in owners):
                    return [("dependent", uid)]
                return ()
        self.where[uid] = (key, m.get("namespace"), str(m["name"]))
        refs = tuple(str(r.get("uid")) for r in m.get("ownerReferences") or [] if r.get("uid"))
        for owner in self._set_owners(uid, refs):
            if owner in self.deleting:
                items.append(("owner", owner))  # a blocking dependent let go of it
        if any(owner not in self.where or owner in self.deleting for owner in refs):
            items.append(("dependent", uid))
        if m.get("deletionTimestamp") and (
            ORPHAN in (m.get("finalizers") or []) or FOREGROUND in (m.get("finalizers") or [])
        ):
            self.deleting.add(uid)
            items.append(("owner", uid))
        return items

    def _set_owners(self, uid: str, owners: tuple[str, ...]) -> set[str]:
        """Records `uid`'s owners; returns the owners it no longer has."""
        before = self.owners_of.get(uid, ())
        if before == owners:
            return set()
        for owner in before:
            deps = self.dependents.get(owner)
            if deps is not None:
                deps.discard(uid)
                if not deps:
                    del self.dependents[owner]
        for owner in owners:
            self.dependents.setdefault(owner, set()).add(uid)
        if owners:
            self.owners_of[uid] = owners
        else:
            self.owners_of.pop(uid, None)
        return set(before) - set(owners)

    def _stored(self, uid: str) -> Stored | None:
        where = self.where.get(uid)
        if where is None:
            return None
        stored = self.cluster.store.get(*where)
        if stored is None or meta(stored.obj).get("uid") != uid:
            return None
        return stored

    def _owner_type(self, ref: JSONDict) -> ResourceType | None:
        if self._kinds_generation != self.cluster.registry_generation:
            self._kinds.clear()
            self._kinds_generation = self.cluster.registry_generation
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        key = (group, str(ref.get("kind") or ""))
        if key not in self._kinds:
            self._kinds[key] = next(
                (rt for rt in self.cluster.registry if rt.group == key[0] and rt.kind == key[1]), None
            )
        return self._kinds[key]

    def _owner(self, ref: JSONDict, namespace: str | None) -> Any:
        """The owner a reference names as stored now, None if it is gone, or _UNKNOWN."""
        rt = self._owner_type(ref)
        if rt is None:
            return _UNKNOWN
        stored = self.cluster.store.get(rt.key, namespace if rt.namespaced else None, str(ref.get("name")))
        if stored is None or meta(stored.obj).get("uid") != ref.get("uid"):
            return None
        return stored

    # ----- work ----------------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        kind, uid = item
        stored = self._stored(uid)
        if stored is None:
            return None
        if kind == "owner":
            self._finish_owner(stored)
        else:
            self._attempt(stored)
        return None

    def _attempt(self, stored: Stored) -> None:
        """attemptToDeleteItem: delete a dependent whose owners are all gone or deleting in the foreground."""
        obj = stored.obj
        m = meta(obj)
        if is_terminating(obj):
            return
        refs = list(m.get("ownerReferences") or [])
        if not refs:
            return
        solid, gone, waiting = [], [], []
        for ref in refs:
            owner = self._owner(ref, m.get("namespace"))
            if owner is _UNKNOWN:
                solid.append(ref)
            elif owner is None:
                gone.append(ref)
            elif is_terminating(owner.obj) and FOREGROUND in _finalizers(owner.obj):
                waiting.append(ref)
            else:
                solid.append(ref)
        if solid:
            if gone or waiting:
                drop = {r.get("uid") for r in [*gone, *waiting]}
                self._write(stored, lambda o: _set_refs(o, [r for r in refs if r.get("uid") not in drop]))
            return
        if waiting and self.dependents.get(str(m["uid"])):
            policy = "Foreground"  # its own dependents must go first, for its owner's sake
        elif ORPHAN in _finalizers(obj):
            policy = "Orphan"
        elif FOREGROUND in _finalizers(obj):
            policy = "Foreground"
        else:
            policy = "Background"
        self._delete(stored, policy)

    def _finish_owner(self, stored: Stored) -> None:
        obj = stored.obj
        uid = str(meta(obj)["uid"])
        if not is_terminating(obj):
            self.deleting.discard(uid)
            return
        finalizers = _finalizers(obj)
        if ORPHAN in finalizers:
            for dep in list(self.dependents.get(uid, ())):
                dep_stored = self._stored(dep)
                if dep_stored is not None:
                    refs = list(meta(dep_stored.obj).get("ownerReferences") or [])
                    kept = [r for r in refs if r.get("uid") != uid]
                    self._write(dep_stored, lambda o, kept=kept: _set_refs(o, kept))
            self._drop_finalizer(stored, ORPHAN)
            return
        if FOREGROUND not in finalizers:
            self.deleting.discard(uid)
            return
        blocking = []
        for dep in list(self.dependents.get(uid, ())):
            dep_stored = self._stored(dep)
            if dep_stored is None:
                continue
            for ref in meta(dep_stored.obj).get("ownerReferences") or []:
                if ref.get("uid") == uid and ref.get("blockOwnerDeletion"):
                    blocking.append(dep_stored)
        if not blocking:
            self._drop_finalizer(stored, FOREGROUND)
            return
        for dep_stored in blocking:
            self._attempt(dep_stored)

    # ----- writes ----------------------------------------------------------------------------------

    def _rt(self, stored: Stored) -> ResourceType | None:
        where = self.where.get(str(meta(stored.obj)["uid"]))
        if where is None:
            return None
        types = self.cluster.registry.for_storage_key(where[0])
        return types[0] if types else None

    def _write(self, stored: Stored, change: Any) -> None:
        rt = self._rt(stored)
        if rt is None:
            return
        obj = copy.deepcopy(stored.obj)
        change(obj)
        m = obj["metadata"]
        try:
            self.cluster.update(rt, m.get("namespace"), m["name"], obj, self.opts)
        except ApiError as err:
            if err.code != 404:
                raise

    def _drop_finalizer(self, stored: Stored, finalizer: str) -> None:
        def change(obj: JSONDict) -> None:
            rest = [f for f in _finalizers(obj) if f != finalizer]
            if rest:
                obj["metadata"]["finalizers"] = rest
            else:
                obj["metadata"].pop("finalizers", None)

        self._write(stored, change)

    def _delete(self, stored: Stored, policy: str) -> None:
        rt = self._rt(stored)
        if rt is None:
            return
        m = meta(stored.obj)
        options = DeleteOptions(propagation_policy=policy, precondition_uid=str(m["uid"]))
        try:
            self.cluster.delete(rt, m.get("namespace"), m["name"], options, MANAGER)
        except ApiError as err:
            if err.code not in (404, 409):
                raise


def _set_refs(obj: JSONDict, refs: list[JSONDict]) -> None:
    if refs:
        obj["metadata"]["ownerReferences"] = refs
    else:
        obj["metadata"].pop("ownerReferences", None)
