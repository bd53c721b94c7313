"""What the workload controllers share: watching their own kind and their children, controller
references (adoption and release, as controller.PodControllerRefManager does), and writes.

Work items are `(namespace, name)` of the controller's own objects.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from overhaul.sim.cluster import DeleteOptions, WriteOptions
from overhaul.sim.controllers.ownerindex import OwnerIndex
from overhaul.sim.controllers.podutil import (
    controller_ref,
    is_terminating,
    meta,
    set_controller_ref,
    without_owner,
)
from overhaul.sim.controllers.runtime import Controller
from overhaul.sim.errors import ApiError
from overhaul.sim.resources import ResourceType
from overhaul.sim.selectors import LabelSelector, SelectorError, label_selector_from_dict
from overhaul.sim.store import StorageKey, Stored, WatchEvent

JSONDict = dict[str, Any]
MANAGER = "kube-controller-manager"
PODS: StorageKey = ("", "pods")
BURST = 500  # creations or deletions per reconcile (the real controllers' burstReplicas)

Item = tuple[str, str]


def selector_of(obj: JSONDict) -> LabelSelector | None:
    """The object's spec.selector, or None when it is missing or invalid (select nothing)."""
    sel = (obj.get("spec") or {}).get("selector")
    if sel is None:
        return None
    try:
        return label_selector_from_dict(sel)
    except SelectorError:
        return None


def status_write(old: JSONDict, new: JSONDict) -> bool:
    """Whether a change touched only the status (and the bookkeeping every write changes)."""
    if any(old.get(k) != new.get(k) for k in new.keys() | old.keys() if k not in ("metadata", "status")):
        return False
    o_meta, n_meta = meta(old), meta(new)
    skip = ("resourceVersion", "managedFields")
    return all(o_meta.get(k) == n_meta.get(k) for k in n_meta.keys() | o_meta.keys() if k not in skip)


class WorkloadController(Controller):
    """A controller of `own_key` objects (kind `own_kind`) that control `child_key` objects."""

    own_key: StorageKey = ("", "")
    own_kind = ""
    child_key: StorageKey = PODS

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self.children = OwnerIndex(self.own_kind, self.tally)
        self.selectors: dict[str, dict[str, LabelSelector | None]] = {}
        self._selector_src: dict[tuple[str, str], Any] = {}
        self._due: dict[Hashable, float] = {}
        self._scanned_epoch: dict[str, int] = {}
        self._rts: dict[StorageKey, ResourceType] = {}
        self.opts = WriteOptions.system(MANAGER)

    # ----- hooks -----------------------------------------------------------------------------

    def tally(self, child: JSONDict) -> int:
        """Flags counted per owner by `self.children` (none by default)."""
        return 0

    def own_changed(self, event: WatchEvent) -> Iterable[Item]:
        obj = event.stored.obj
        m = obj["metadata"]
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        if event.type == "DELETED":
            self.selectors.get(ns, {}).pop(name, None)
            self._selector_src.pop((ns, name), None)
            self._scanned_epoch.pop(str(m.get("uid")), None)
        else:
            # Status writes are most events: compile the selector only when it changed.
            source = (obj.get("spec") or {}).get("selector")
            if (ns, name) not in self._selector_src or self._selector_src[(ns, name)] != source:
                self._selector_src[(ns, name)] = source
                self.selectors.setdefault(ns, {})[name] = selector_of(obj)
            if event.old is not None and status_write(event.old, obj):
                return ()  # the sync that wrote this status acted on what it saw; nothing else changed
        return ((ns, name),)

    def other_changed(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        return ()

    # ----- the runtime's hooks -----------------------------------------------------------------

    def initial_items(self) -> Iterable[Hashable]:
        # What an informer's initial list gives: every watched object, the controller's own last.
        for key in [k for k in self.watches if k != self.own_key] + [self.own_key]:
            for stored in list(self.cluster.store.collection(key).items.values()):
                self.enqueue_for(key, WatchEvent(stored.rv, "ADDED", stored))
        for stored in self.cluster.store.collection(self.own_key).items.values():
            m = stored.obj["metadata"]
            yield (str(m.get("namespace") or ""), str(m["name"]))

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        if key == self.own_key:
            return self.own_changed(event)
        if key == self.child_key:
            old = event.old
            if old is not None and event.type == "MODIFIED":
                # Every pod change reaches every workload controller: one that kept the very owner
                # references of another kind of controller is none of this one's business.
                m = event.stored.obj["metadata"]
                refs = m.get("ownerReferences")
                if refs and refs is old["metadata"].get("ownerReferences"):
                    ref = controller_ref(event.stored.obj)
                    if ref is not None and ref.get("kind") != self.own_kind and not self.foreign_matters(m):
                        return ()
            return self.child_changed(event)
        return self.other_changed(key, event)

    def foreign_matters(self, meta: JSONDict) -> bool:
        """Whether a child of another kind of controller still needs a look (a Job's finalizer)."""
        return False

    def child_changed(self, event: WatchEvent) -> list[Hashable]:
        obj = event.stored.obj
        ref = controller_ref(obj)
        old_ref = controller_ref(event.old) if event.old is not None else None
        foreign = ref is not None and ref.get("kind") != self.own_kind
        unchanged = event.type != "MODIFIED" or (
            old_ref is not None and old_ref.get("uid") == (ref or {}).get("uid")
        )
        if foreign and unchanged:
            return []  # another kind of controller's child, and it was before: not ours to look at
        _old_uid, new_uid = self.children.observe(event, ref)
        m = obj["metadata"]
        ns = str(m.get("namespace") or "")
        items: list[Hashable] = []
        for version_ref in (ref, old_ref):
            if version_ref is not None and version_ref.get("kind") == self.own_kind:
                item = (ns, str(version_ref.get("name")))
                if item not in items:
                    items.append(item)
        if new_uid is None and event.type != "DELETED" and not is_terminating(obj):
            labels = m.get("labels") or {}
            for name, sel in self.selectors.get(ns, {}).items():
                if sel is not None and sel.matches(labels) and (ns, name) not in items:
                    items.append((ns, name))
        return items

    # ----- helpers -----------------------------------------------------------------------------

    def again(self, item: Hashable, seconds: float | None) -> float | None:
        """`seconds` as reconcile's answer, unless an earlier look at `item` is already due: every
        reconcile of a rollout in progress would otherwise add one more timer for the same moment."""
        if seconds is None:
            return None
        now = self.cluster.clock.now().timestamp()
        due = now + seconds
        pending = self._due.get(item)
        if pending is not None and now < pending <= due + 0.001:
            return None
        self._due[item] = due
        return seconds

    def rt(self, key: StorageKey) -> ResourceType:
        found = self._rts.get(key)
        if found is None:
            types = self.cluster.registry.for_storage_key(key)
            if not types:
                raise LookupError(f"no resource type for {key}")
            found = types[0]
            self._rts[key] = found
        return found

    def get(self, key: StorageKey, namespace: str, name: str) -> Stored | None:
        return self.cluster.store.get(key, namespace or None, name)

    def claim(self, owner: JSONDict, selector: LabelSelector | None) -> None:
        """Adopts matching orphans and releases children that stopped matching (ClaimPods)."""
        m = meta(owner)
        uid, ns = str(m["uid"]), str(m.get("namespace") or "")
        child_rt = self.rt(self.child_key)
        for name in self.children.take_suspects(uid):
            child = self.children.owned(uid).get(name)
            if child is not None and (selector is None or not selector.matches(meta(child).get("labels"))):
                if is_terminating(owner):
                    continue
                self._write_child(child_rt, without_owner(child, uid))
        if is_terminating(owner) or selector is None or selector.empty:
            return
        epoch = self.children.orphan_epoch(ns)
        if self._scanned_epoch.get(uid) == epoch:
            return
        self._scanned_epoch[uid] = epoch
        for orphan in list(self.children.orphans(ns).values()):
            if is_terminating(orphan) or not selector.matches(meta(orphan).get("labels")):
                continue
            if self.may_adopt(owner, orphan):
                self._write_child(child_rt, set_controller_ref(orphan, owner))

    def may_adopt(self, owner: JSONDict, orphan: JSONDict) -> bool:
        """Extra adoption rules of a kind (a StatefulSet adopts only pods named after it)."""
        return True

    def _write_child(self, rt: ResourceType, obj: JSONDict) -> None:
        m = obj["metadata"]
        try:
            self.cluster.update(rt, m.get("namespace"), m["name"], obj, self.opts)
        except ApiError as err:
            if err.code not in (404, 409):
                raise

    def update(self, key: StorageKey, obj: JSONDict) -> Stored:
        """Writes `obj` (a fresh dict carrying the resourceVersion it was read at: 409 if stale)."""
        m = obj["metadata"]
        return self.cluster.update(self.rt(key), m.get("namespace"), m["name"], obj, self.opts)

    def create(self, key: StorageKey, namespace: str, obj: JSONDict) -> Stored:
        return self.cluster.create(self.rt(key), namespace or None, obj, self.opts)

    def delete(self, key: StorageKey, obj: JSONDict) -> None:
        """Deletes `obj` if it is still the same object (uid precondition); gone already is fine."""
        m = obj["metadata"]
        options = DeleteOptions(precondition_uid=str(m.get("uid") or "") or None)
        try:
            self.cluster.delete(self.rt(key), m.get("namespace"), m["name"], options, MANAGER)
        except ApiError as err:
            if err.code not in (404, 409):
                raise

    def write_status(self, key: StorageKey, stored: Stored, status: JSONDict) -> Stored:
        return self.cluster.write_status(self.rt(key), stored, status, MANAGER)
