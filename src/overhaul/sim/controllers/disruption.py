"""The disruption controller: keeps every PodDisruptionBudget's status current."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

from overhaul.sim import disruption
from overhaul.sim.controllers.events import record_event
from overhaul.sim.controllers.podutil import controller_ref
from overhaul.sim.controllers.runtime import Controller
from overhaul.sim.selectors import LabelSelector
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
PDBS: StorageKey = ("policy", "poddisruptionbudgets")
PODS: StorageKey = ("", "pods")
SCALED: tuple[StorageKey, ...] = (("apps", "replicasets"), ("apps", "deployments"), ("apps", "statefulsets"))
MANAGER = "kube-controller-manager"
# A pod change that can only add healthy pods (a pod created, or becoming Ready) is synced at most
# once per this many simulated seconds per PDB: 150,000 pods starting would otherwise cost one PDB
# sync each. Changes that can take a healthy pod away (deletion, termination, unreadiness, labels)
# are synced at once, so a budget never allows more than it should. The window grows while much work
# is queued (Controller.coalesce): allowing a disruption later is always safe.
GAIN_BATCH = 0.5


class DisruptionController(Controller):
    name = "disruption"
    watches = (PDBS, PODS, *SCALED)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        # namespace → PDB name → selector, and which pods each PDB selects (kept from events, with
        # their latest version), so that a pod change touches only its own PDBs and a sync reads
        # only the selected pods, without a store lookup each.
        self._selectors: dict[str, dict[str, LabelSelector]] = {}
        self._selector_src: dict[tuple[str, str], Any] = {}
        self._members: dict[tuple[str, str], dict[str, JSONDict]] = {}
        self._pdbs_of_pod: dict[tuple[str, str], set[str]] = {}
        self._by_labels: dict[str, dict[frozenset[tuple[str, str]], tuple[str, ...]]] = {}
        self._last_sync: dict[tuple[str, str], float] = {}
        self._gain_due: dict[tuple[str, str], float] = {}

    def _selecting(self, ns: str, labels: dict[str, str]) -> tuple[str, ...]:
        """The PDBs whose selector matches these labels (cached: a workload's pods share labels)."""
        cache = self._by_labels.setdefault(ns, {})
        key = frozenset(labels.items())
        found = cache.get(key)
        if found is None:
            found = tuple(n for n, sel in self._selectors.get(ns, {}).items() if sel.matches(labels))
            cache[key] = found
        return found

    def initial_items(self) -> Iterable[Hashable]:
        for stored in self.cluster.store.collection(PDBS).items.values():
            self._remember(stored.obj)
            meta = stored.obj["metadata"]
            yield (meta["namespace"], meta["name"])

    def _remember(self, pdb: JSONDict) -> None:
        meta = pdb["metadata"]
        ns, name = meta["namespace"], meta["name"]
        source = (pdb.get("spec") or {}).get("selector")
        if (ns, name) in self._members and self._selector_src.get((ns, name), self) is source:
            return  # a status write (most PDB events): the selector is the very same object
        selector = disruption.pdb_selector(pdb)
        self._selector_src[(ns, name)] = source
        in_ns = self._selectors.setdefault(ns, {})
        if in_ns.get(name) == selector and (ns, name) in self._members:
            return
        in_ns[name] = selector
        self._by_labels.pop(ns, None)
        self._forget_members(ns, name)
        members = {s.obj["metadata"]["name"]: s.obj for s in self.cluster.store.list(PODS, ns, selector)[0]}
        self._members[(ns, name)] = members
        for pod in members:
            self._pdbs_of_pod.setdefault((ns, pod), set()).add(name)

    def _forget_members(self, ns: str, name: str) -> None:
        for pod in self._members.pop((ns, name), {}):
            owners = self._pdbs_of_pod.get((ns, pod))
            if owners is not None:
                owners.discard(name)
                if not owners:
                    del self._pdbs_of_pod[(ns, pod)]

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        obj = event.stored.obj
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if key == PDBS:
            if event.type == "DELETED":
                self._selectors.get(ns, {}).pop(meta["name"], None)
                self._selector_src.pop((ns, meta["name"]), None)
                self._by_labels.pop(ns, None)
                self._forget_members(ns, meta["name"])
                return ()
            self._remember(obj)
            return ((ns, meta["name"]),)
        selectors = self._selectors.get(ns)
        if not selectors:
            return ()
        if key != PODS:
            # A controller's scale counts in the budgets of its namespace (getExpectedScale): only a
            # new or removed controller, or a changed scale or owner, moves it. Status writes, most
            # of a workload's changes, do not.
            old = event.old
            if (
                event.type == "MODIFIED"
                and old is not None
                and (old.get("spec") or {}).get("replicas") == (obj.get("spec") or {}).get("replicas")
                and old["metadata"].get("ownerReferences") == meta.get("ownerReferences")
            ):
                return ()
            return [(ns, name) for name in selectors]
        name = meta["name"]
        old = event.old
        if (
            event.type == "MODIFIED"
            and old is not None
            and old["metadata"].get("labels") == meta.get("labels")
        ):
            # Most pod changes (bindings, kubelet status writes) keep the pod's labels: its PDBs stay.
            pdbs: Iterable[str] = self._pdbs_of_pod.get((ns, name), ())
            if not pdbs:
                return ()
            for pdb in pdbs:
                self._members[(ns, pdb)][name] = obj
            if _same_for_budgets(old, obj):
                return ()  # nothing a budget counts changed (a binding, a restart count...)
        else:
            pdbs = self._track_pod(ns, meta, event)
            if not pdbs:
                return ()
        if _only_gains(event):
            # A PDB whose batched sync is already set for later needs no look before then.
            now = self.cluster.clock.now().timestamp()
            due = self._gain_due
            return [("gain", ns, pdb) for pdb in pdbs if due.get((ns, pdb), now) <= now]
        return [(ns, pdb) for pdb in pdbs]

    def _track_pod(self, ns: str, meta: JSONDict, event: WatchEvent) -> set[str]:
        """Updates which PDBs select the pod; returns the PDBs to sync (before and after)."""
        pod = meta["name"]
        before = set(self._pdbs_of_pod.get((ns, pod), ()))
        old_labels = ((event.old or {}).get("metadata") or {}).get("labels")
        labels = meta.get("labels") or {}
        if event.type == "DELETED":
            after: set[str] = set()
        elif event.type == "MODIFIED" and old_labels == labels:
            after = before
        else:
            after = set(self._selecting(ns, labels))
        for name in before - after:
            self._members.get((ns, name), {}).pop(pod, None)
        for name in after:
            self._members.setdefault((ns, name), {})[pod] = event.stored.obj
        if after != before:
            if after:
                self._pdbs_of_pod[(ns, pod)] = set(after)
            else:
                self._pdbs_of_pod.pop((ns, pod), None)
        return before | after

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        if len(item) == 3:
            key = (item[1], item[2])
            now_ts = self.cluster.clock.now().timestamp()
            due = self._gain_due.get(key)
            if due is None:
                window = self.coalesce(GAIN_BATCH)
                due = self._last_sync.get(key, float("-inf")) + window
                if window > GAIN_BATCH:
                    # Under load, the first gain of a burst waits for the rest of it too.
                    due = max(due, now_ts + window)
                if due > now_ts:
                    self._gain_due[key] = due
                    return due - now_ts
            elif now_ts < due:
                return None  # a look is already set for then
            self._gain_due.pop(key, None)
            item = key
        ns, name = item
        self._last_sync[(ns, name)] = self.cluster.clock.now().timestamp()
        rt = self.cluster.registry.get("policy", "v1", "poddisruptionbudgets")
        stored = self.cluster.store.get(PDBS, ns, name)
        if rt is None or stored is None:
            self._last_sync.pop((ns, name), None)
            self._gain_due.pop((ns, name), None)
            return None
        pdb = stored.obj
        now = self.cluster.clock.now()
        now_text = self.cluster.now()
        members = self._members.get((ns, name), {})
        pods = [members[pod_name] for pod_name in sorted(members)]
        status = dict(pdb.get("status") or {})
        generation = int(pdb["metadata"].get("generation", 1))
        try:
            scale_of, unmanaged = self._scales(pods) if disruption.needs_scale(pdb) else ({}, [])
            expected, desired = disruption.desired_and_expected(pdb, pods, scale_of, unmanaged)
        except LookupError as err:
            # failSafe: no disruptions when the budget cannot be computed.
            record_event(
                self.cluster,
                pdb,
                "CalculateExpectedPodCountFailed",
                f"Failed to calculate the number of expected pods: {err}",
                "controllermanager",
                "Warning",
            )
            status["disruptionsAllowed"] = 0
            status["conditions"] = disruption.set_condition(
                status.get("conditions") or [],
                "DisruptionAllowed",
                "False",
                "SyncFailed",
                str(err),
                int(status.get("observedGeneration", 0)),
                now_text,
            )
            self.cluster.write_status(rt, stored, status, MANAGER)
            return 30.0
        budget = disruption.compute_budget(pdb, pods, expected, desired, now)
        new_status: JSONDict = {
            "currentHealthy": budget.current_healthy,
            "desiredHealthy": budget.desired_healthy,
            "disruptionsAllowed": budget.disruptions_allowed,
            "expectedPods": budget.expected_pods,
            "observedGeneration": generation,
        }
        if budget.disrupted_pods:
            new_status["disruptedPods"] = budget.disrupted_pods
        new_status["conditions"] = disruption.allowed_condition(
            budget.disruptions_allowed, generation, now_text, status.get("conditions") or []
        )
        if _same(status, new_status):
            return _recheck(budget, now)
        self.cluster.write_status(rt, stored, new_status, MANAGER)
        return _recheck(budget, now)

    def _scales(self, pods: list[JSONDict]) -> tuple[dict[str, int], list[str]]:
        """Controller uid → scale for the pods' controllers (getExpectedScale)."""
        scale_of: dict[str, int] = {}
        unmanaged: list[str] = []
        seen_refs: set[str] = set()  # a pod's controller (a ReplicaSet) may count as its owner's scale
        store = self.cluster.store
        for pod in pods:
            meta = pod["metadata"]
            ref = controller_ref(pod)
            if ref is None:
                unmanaged.append(meta["name"])
                continue
            if ref.get("uid") in seen_refs:
                continue
            seen_refs.add(str(ref.get("uid")))
            uid, scale = self._controller_scale(ref, meta["namespace"], store)
            scale_of[uid] = scale
        return scale_of, unmanaged

    def _controller_scale(self, ref: JSONDict, ns: str, store: Any) -> tuple[str, int]:
        kind = ref.get("kind")
        if kind == "ReplicaSet":
            rs = store.get(("apps", "replicasets"), ns, ref.get("name"))
            if rs is not None and rs.obj["metadata"].get("uid") == ref.get("uid"):
                owner = controller_ref(rs.obj)
                if owner is not None and owner.get("kind") == "Deployment":
                    dep = store.get(("apps", "deployments"), ns, owner.get("name"))
                    if dep is not None and dep.obj["metadata"].get("uid") == owner.get("uid"):
                        return str(owner["uid"]), int((dep.obj.get("spec") or {}).get("replicas", 1))
                    raise LookupError(f'found no controllers for pod "{ref.get("name")}"')
                return str(ref["uid"]), int((rs.obj.get("spec") or {}).get("replicas", 1))
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        for rt in self.cluster.registry:
            if rt.kind == kind and rt.group == group and "scale" in rt.subresources:
                found = store.get(rt.key, ns if rt.namespaced else None, ref.get("name"))
                if found is not None and found.obj["metadata"].get("uid") == ref.get("uid"):
                    return str(ref["uid"]), int((found.obj.get("spec") or {}).get("replicas", 1))
        raise LookupError(f'found no controllers for pod "{ref.get("name")}"')


def _same(old: JSONDict, new: JSONDict) -> bool:
    keys = ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods", "observedGeneration")
    if any(old.get(k) != new.get(k) for k in keys):
        return False
    if (old.get("disruptedPods") or {}) != (new.get("disruptedPods") or {}):
        return False
    return [(c.get("type"), c.get("status"), c.get("reason")) for c in old.get("conditions") or []] == [
        (c.get("type"), c.get("status"), c.get("reason")) for c in new.get("conditions") or []
    ]


def _recheck(budget: disruption.Budget, now: datetime) -> float | None:
    if budget.recheck_at is None:
        return None
    # Just past the expiry, so that the entry has expired when it is looked at again.
    return max(0.0, (budget.recheck_at - now).total_seconds()) + 0.001


def _same_for_budgets(old: JSONDict, new: JSONDict) -> bool:
    """Whether a pod change (its labels kept) leaves every budget as it was: the same readiness,
    deletion and controller (the controller's scale counts in expectedPods)."""
    old_meta, new_meta = old["metadata"], new["metadata"]
    return (
        old_meta.get("deletionTimestamp") == new_meta.get("deletionTimestamp")
        and old_meta.get("ownerReferences") == new_meta.get("ownerReferences")
        and disruption.is_pod_ready(old) == disruption.is_pod_ready(new)
    )


def _only_gains(event: WatchEvent) -> bool:
    """Whether a pod change can only add to a budget's healthy pods: a new pod, or one that became
    (or stayed) Ready without being relabelled or starting to terminate."""
    if event.type == "ADDED":
        return True
    old, new = event.old, event.stored.obj
    if event.type != "MODIFIED" or old is None:
        return False
    old_meta, new_meta = old["metadata"], new["metadata"]
    if new_meta.get("deletionTimestamp") or old_meta.get("labels") != new_meta.get("labels"):
        return False
    return disruption.is_pod_ready(new) or not disruption.is_pod_ready(old)
