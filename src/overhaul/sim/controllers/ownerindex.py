"""Objects by the uid of their controller, fed from watch events (the index an informer keeps).

A controller must never list every pod to find its own: at 150,000 pods that is the cost of a
whole scan per reconcile. This index answers "which pods does this ReplicaSet control", "which
orphans might it adopt", and keeps running counts of flags (active, ready...) per owner so a
status can be computed without looking at each pod.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from overhaul.sim.controllers.podutil import controller_ref
from overhaul.sim.store import WatchEvent

JSONDict = dict[str, Any]
Tally = Callable[[JSONDict], int]  # bit flags counted per owner
MAX_FLAGS = 8


def _labels(obj: JSONDict | None) -> Any:
    return ((obj or {}).get("metadata") or {}).get("labels")


class OwnerIndex:
    """Children (same namespace as their owner) by the uid of their controller of `kind`; orphans
    by namespace."""

    def __init__(self, kind: str, tally: Tally | None = None) -> None:
        self._kind = kind  # children of other kinds of controller are none of this index's business
        self._tally = tally
        self._children: dict[str, dict[str, JSONDict]] = {}
        self._owner_of: dict[tuple[str, str], str] = {}
        self._flags: dict[tuple[str, str], int] = {}
        self._counts: dict[str, list[int]] = {}
        self._orphans: dict[str, dict[str, JSONDict]] = {}
        # Bumped when a namespace gains an orphan or an orphan's labels change: adoption scans
        # a namespace's orphans only when this moved since the owner last looked.
        self._orphan_epoch: dict[str, int] = {}
        # Owned children whose labels changed: the only ones that may no longer match the selector.
        self._suspects: dict[str, set[str]] = {}

    # ----- feeding ---------------------------------------------------------------------------

    def observe(self, event: WatchEvent, ref: JSONDict | None = None) -> tuple[str | None, str | None]:
        """Applies a change (`ref`: the object's controller reference, if the caller has it already);
        returns the controller uid before and after it."""
        obj = event.stored.obj
        meta = obj["metadata"]
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        key = (ns, name)
        if event.type == "MODIFIED":
            if ref is None:
                ref = controller_ref(obj)
            same = self.update_owned(key, name, obj, event.old, ref)
            if same is not None:
                return same, same
        old_uid = self._owner_of.pop(key, None)
        if old_uid is not None:
            self._drop_child(old_uid, key)
        else:
            self._drop_orphan(ns, name)
        if event.type == "DELETED":
            return old_uid, None
        if ref is None:
            ref = controller_ref(obj)
        if ref is not None and ref.get("kind") != self._kind:
            return old_uid, None
        new_uid = str(ref["uid"]) if ref and ref.get("uid") else None
        if new_uid is None:
            orphans = self._orphans.setdefault(ns, {})
            if old_uid is not None or event.old is None or _labels(event.old) != _labels(obj):
                self._orphan_epoch[ns] = self._orphan_epoch.get(ns, 0) + 1
            orphans[name] = obj
            return old_uid, None
        self._children.setdefault(new_uid, {})[name] = obj
        self._owner_of[key] = new_uid
        if old_uid == new_uid and event.old is not None and _labels(event.old) != _labels(obj):
            self._suspects.setdefault(new_uid, set()).add(name)
        if self._tally is not None:
            flags = self._tally(obj)
            self._flags[key] = flags
            self._add(new_uid, flags, 1)
        return old_uid, new_uid

    def update_owned(
        self, key: tuple[str, str], name: str, obj: JSONDict, old: JSONDict | None, ref: JSONDict | None
    ) -> str | None:
        """The common change (a status write): a child that stays with its owner is updated in
        place, its counts moved only if its flags did. Returns the owner's uid; None (and nothing
        done) when the child is not known as the owner's."""
        uid = self._owner_of.get(key)
        if uid is None or ref is None or ref.get("uid") != uid or ref.get("kind") != self._kind:
            return None
        children = self._children.get(uid)
        if children is None or name not in children:
            return None
        children[name] = obj
        if old is not None and _labels(old) != _labels(obj):
            self._suspects.setdefault(uid, set()).add(name)
        if self._tally is not None:
            flags = self._tally(obj)
            before = self._flags.get(key, 0)
            if flags != before:
                self._flags[key] = flags
                if before:
                    self._add(uid, before, -1)
                self._add(uid, flags, 1)
        return uid

    def _drop_child(self, uid: str, key: tuple[str, str]) -> None:
        children = self._children.get(uid)
        if children is not None:
            children.pop(key[1], None)
            if not children:
                del self._children[uid]
                self._counts.pop(uid, None)
                self._suspects.pop(uid, None)
        flags = self._flags.pop(key, 0)
        if flags and uid in self._counts:
            self._add(uid, flags, -1)

    def _drop_orphan(self, ns: str, name: str) -> None:
        orphans = self._orphans.get(ns)
        if orphans is not None and orphans.pop(name, None) is not None and not orphans:
            del self._orphans[ns]

    def _add(self, uid: str, flags: int, sign: int) -> None:
        counts = self._counts.setdefault(uid, [0] * MAX_FLAGS)
        bit = 0
        while flags:
            if flags & 1:
                counts[bit] += sign
            flags >>= 1
            bit += 1

    def recount(self, uid: str) -> None:
        """Recomputes an owner's flags (what they depend on, such as the owner's template, changed)."""
        if self._tally is None:
            return
        self._counts.pop(uid, None)
        for name, obj in self._children.get(uid, {}).items():
            ns = str(obj["metadata"].get("namespace") or "")
            flags = self._tally(obj)
            self._flags[(ns, name)] = flags
            self._add(uid, flags, 1)

    # ----- reading ---------------------------------------------------------------------------

    def owned(self, uid: str) -> dict[str, JSONDict]:
        """Name → current object of everything `uid` controls (do not mutate)."""
        return self._children.get(uid, {})

    def count(self, uid: str, flag: int) -> int:
        """How many children of `uid` have `flag` (a single bit)."""
        counts = self._counts.get(uid)
        return counts[flag.bit_length() - 1] if counts else 0

    def orphans(self, namespace: str) -> dict[str, JSONDict]:
        return self._orphans.get(namespace, {})

    def orphan_epoch(self, namespace: str) -> int:
        return self._orphan_epoch.get(namespace, 0)

    def take_suspects(self, uid: str) -> set[str]:
        return self._suspects.pop(uid, set())
