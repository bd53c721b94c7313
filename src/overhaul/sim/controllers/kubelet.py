"""Simulated kubelets: one controller plays the kubelet of every node.

For each pod bound to a node it plays the containers in simulated time (podruntime) and posts the
status a kubelet would, writing only when something happens (accepted, started, ready, exited,
restarted). A pod being deleted is stopped after min(grace period, stop time) and its deletion
confirmed. For each node it posts the status of a Node created without one, allocates the pod
CIDR, keeps a control-plane node's static pods, and carries out upgrade requests (nodeagent). A node
that is not Ready has no working kubelet: its pods do not progress until it is back.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from overhaul.sim.clock import rfc3339, rfc3339_micro
from overhaul.sim.cluster import PATCH_MERGE, DeleteOptions, WriteOptions
from overhaul.sim.controllers import nodeagent
from overhaul.sim.controllers.events import record_event
from overhaul.sim.controllers.podips import NodeAddresses, PodCIDRs
from overhaul.sim.controllers.podruntime import (
    STOP_SECONDS,
    PodRun,
    adopt_run,
    annotation_seconds,
    pod_timings,
    render_status,
)
from overhaul.sim.controllers.podutil import (
    NODES,
    PODS,
    JSONDict,
    is_finished,
    is_ready,
    is_terminating,
    meta,
    node_ready,
)
from overhaul.sim.controllers.runtime import AGENT_SHARE, Controller
from overhaul.sim.controlplane import (
    COMPONENTS,
    ApiServers,
    is_control_plane,
    is_mirror_pod,
    node_ip,
    pod_image,
    pod_version,
    static_pod,
    static_pod_name,
)
from overhaul.sim.errors import ApiError
from overhaul.sim.resources import ResourceType
from overhaul.sim.store import StorageKey, Stored, WatchEvent

if TYPE_CHECKING:
    from overhaul.sim.cluster import Cluster

MANAGER = "kubelet"
LIFECYCLE_MANAGER = "kube-controller-manager"
# Timers and the clock meet to the microsecond; a transition this close to now has happened.
EPSILON = 1e-3

PodKey = tuple[str, str]


class KubeletSettings(Protocol):
    pod_start_seconds: float
    pod_ready_seconds: float
    pod_stop_seconds: float
    node_reboot_seconds: float


@dataclass(slots=True)
class _Node:
    ready: bool = False
    host_ip: str = ""
    cidr: str = ""
    addresses: NodeAddresses | None = None


@dataclass(slots=True)
class _Upgrade:
    version: str
    until: float | None  # None: the node never comes back (the fail-upgrade fault)


def _deletion(m: JSONDict) -> tuple[object, ...]:
    return (m.get("deletionTimestamp"), m.get("deletionGracePeriodSeconds"), tuple(m.get("finalizers") or ()))


class KubeletController(Controller):
    name = "kubelet"
    share = AGENT_SHARE
    watches = (PODS, NODES)

    def __init__(self, cluster: Cluster, settings: KubeletSettings) -> None:
        super().__init__(cluster)
        self.settings = settings
        self.apiservers = ApiServers(cluster.version)
        cluster.version_source = self.apiservers.served_version
        pods_rt = cluster.registry.get("", "v1", "pods")
        nodes_rt = cluster.registry.get("", "v1", "nodes")
        assert pods_rt is not None and nodes_rt is not None
        self._pods_rt: ResourceType = pods_rt
        self._nodes_rt: ResourceType = nodes_rt
        self._nodes: dict[str, _Node] = {}
        self._runs: dict[PodKey, PodRun] = {}
        self._stopping: dict[PodKey, float] = {}
        self._upgrades: dict[str, _Upgrade] = {}
        self._static_versions: dict[str, str] = {}
        self._cidrs = PodCIDRs()
        self._registered = itertools.count(1)

    def _now(self) -> float:
        return self.cluster.clock.now().timestamp()

    def _stamp(self) -> str:
        return rfc3339(self.cluster.clock.now())

    # ----- what changes mean ----------------------------------------------------------------

    def initial_items(self) -> Iterable[Hashable]:
        store = self.cluster.store
        for stored in list(store.collection(NODES).items.values()):
            yield from self._node_event("ADDED", stored.obj)
        for stored in list(store.collection(PODS).items.values()):
            yield from self._pod_event("ADDED", stored.obj, None)

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        if key == NODES:
            return self._node_event(event.type, event.stored.obj)
        return self._pod_event(event.type, event.stored.obj, event.old)

    def _pod_items(self, node: str) -> list[Hashable]:
        keys = sorted(self.cluster.store.collection(PODS).by_node.get(node, ()))
        return [("pod", *key.split("/", 1)) for key in keys]

    def _node_event(self, kind: str, obj: JSONDict) -> list[Hashable]:
        name = str(meta(obj).get("name"))
        if kind == "DELETED":
            gone = self._nodes.pop(name, None)
            if gone is not None and gone.cidr:
                self._cidrs.release(gone.cidr)
            self._upgrades.pop(name, None)
            self._static_versions.pop(name, None)
            self.apiservers.forget(name)
            return []
        state = self._nodes.setdefault(name, _Node())
        was_ready = state.ready
        cidr = str((obj.get("spec") or {}).get("podCIDR") or "")
        if cidr and cidr != state.cidr:
            if state.cidr:
                self._cidrs.release(state.cidr)
            self._cidrs.claim(cidr)
            state.cidr, state.addresses = cidr, None
        state.ready = node_ready(obj)
        state.host_ip = node_ip(obj)
        items: list[Hashable] = [("node", name)]
        if state.ready and not was_ready:
            items.extend(self._pod_items(name))
        return items

    def _pod_event(self, kind: str, pod: JSONDict, old: JSONDict | None) -> list[Hashable]:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return []
        m = meta(pod)
        k = (str(m.get("namespace")), str(m.get("name")))
        apiserver = is_mirror_pod(pod) and (m.get("labels") or {}).get("component") == "kube-apiserver"
        if kind == "DELETED":
            self._forget_pod(k, pod, str(node))
            if apiserver:
                self.apiservers.forget(str(node))
            return [("node", node)] if is_mirror_pod(pod) else []
        if apiserver:
            self.apiservers.observe(str(node), pod_version(pod), is_ready(pod))
        unchanged = (
            old is not None and old.get("spec") is pod.get("spec") and _deletion(meta(old)) == _deletion(m)
        )
        if unchanged and not pod["spec"].get("readinessGates"):
            return []  # a status write (ours, mostly): the kubelet owns pod status
        return [("pod", *k)]

    def _forget_pod(self, k: PodKey, pod: JSONDict, node: str) -> None:
        run = self._runs.pop(k, None)
        self._stopping.pop(k, None)
        state = self._nodes.get(node)
        # The sandbox's address, reported or not yet (a pod deleted while its containers were created).
        ip = run.pod_ip if run is not None else (pod.get("status") or {}).get("podIP")
        if state is not None and state.addresses is not None and ip and not pod["spec"].get("hostNetwork"):
            state.addresses.release(str(ip))

    # ----- pods -----------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        if item[0] == "node":
            return self._reconcile_node(str(item[1]))
        return self._reconcile_pod(str(item[1]), str(item[2]))

    def _reconcile_pod(self, namespace: str, name: str) -> float | None:
        k = (namespace, name)
        stored = self.cluster.store.get(PODS, namespace, name)
        if stored is None:
            self._runs.pop(k, None)
            self._stopping.pop(k, None)
            return None
        pod = stored.obj
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        state = self._nodes.get(node)
        if state is None or not state.ready:
            return None  # no kubelet there (pods of vanished nodes are the pod GC's)
        now = self._now() + EPSILON
        if is_terminating(pod):
            return self._terminate(k, pod, now)
        run = self._runs.get(k)
        if run is not None and run.uid != meta(pod).get("uid"):
            run = None
        if run is None:
            if is_finished(pod):
                return None
            run = self._accept(pod, state, now)
            if run is None:
                return None
            self._runs[k] = run
        if run.due is not None and now >= run.due:
            run.due = None  # this is the timer's call
        due = run.advance(now)
        if run.changed:
            self.cluster.write_status(self._pods_rt, stored, render_status(pod, run, now), MANAGER)
            run.changed = False
        if due is None:
            del self._runs[k]  # steady or finished: nothing left to play
            return None
        if run.due == due:
            return None  # a timer is already set for it
        run.due = due
        return max(0.0, due - now)

    def _accept(self, pod: JSONDict, state: _Node, now: float) -> PodRun | None:
        s = self.settings
        timings = pod_timings(pod, s.pod_start_seconds, s.pod_ready_seconds, s.pod_stop_seconds)
        spec, m = pod.get("spec") or {}, meta(pod)
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if spec.get("hostNetwork"):
            ip = state.host_ip
        elif not ip:
            ip = self._addresses(state, str(spec.get("nodeName"))).allocate()
        run = adopt_run(pod, now, timings, state.host_ip, ip)
        if run is not None:
            run.ref = f"{m.get('name')}_{m.get('namespace')}({m.get('uid')})"
            # Readiness gates are set by other writers: Ready is worth recomputing.
            run.changed = run.changed or bool(spec.get("readinessGates"))
        return run

    def _addresses(self, state: _Node, node: str) -> NodeAddresses:
        if state.addresses is None:
            if not state.cidr:
                state.cidr = self._cidrs.allocate()  # the node's reconcile writes it to spec.podCIDR
            in_use = []
            for key in self.cluster.store.collection(PODS).by_node.get(node, ()):
                namespace, _, name = key.partition("/")
                stored = self.cluster.store.get(PODS, namespace, name)
                ip = (stored.obj.get("status") or {}).get("podIP") if stored is not None else None
                if ip:
                    in_use.append(str(ip))
            state.addresses = NodeAddresses(state.cidr, in_use)
        return state.addresses

    def _terminate(self, k: PodKey, pod: JSONDict, now: float) -> float | None:
        """Stops the containers (SIGTERM, then SIGKILL at the end of the grace period) and confirms."""
        grace = float(meta(pod).get("deletionGracePeriodSeconds") or 0)
        stop = (
            0.0
            if is_mirror_pod(pod)
            else annotation_seconds(pod, STOP_SECONDS, self.settings.pod_stop_seconds)
        )
        stop_at = now + min(grace, stop)
        previous = self._stopping.get(k)
        if previous is not None:
            stop_at = min(previous, stop_at)  # a later, shorter grace period can only hasten it
        self._stopping[k] = stop_at
        if now < stop_at:
            return stop_at - now
        self.cluster.finish_pod_deletion(*k)
        return None

    # ----- nodes ----------------------------------------------------------------------------

    def _reconcile_node(self, name: str) -> float | None:
        stored = self.cluster.store.get(NODES, None, name)
        if stored is None:
            return None
        node = stored.obj
        state = self._nodes.get(name)
        if state is None:
            self._node_event("ADDED", node)
            state = self._nodes[name]
        now = self._now()
        upgrade = self._upgrades.get(name)
        if upgrade is not None:
            if upgrade.until is None:
                return None
            if now + EPSILON < upgrade.until:
                return upgrade.until - now
            self._finish_upgrade(stored, upgrade)
            return None
        if not nodeagent.has_ready_condition(node):
            self._register(stored)
            return None
        if not (node.get("spec") or {}).get("podCIDR"):
            self._write_pod_cidr(stored, state)
            return None
        ann = nodeagent.node_annotations(node)
        want = nodeagent.upgrade_wanted(node)
        # A kubelet that is down cannot start an upgrade, but one that was mid-upgrade resumes it.
        if want is not None and (state.ready or ann.get(nodeagent.STATE) == nodeagent.UPGRADING):
            return self._start_upgrade(stored, want, now)
        if not state.ready:
            return None
        if ann.get(nodeagent.REQUEST) and ann.get(nodeagent.STATE) != nodeagent.DONE:
            self._update_node(stored, nodeagent.with_annotation(node, nodeagent.STATE, nodeagent.DONE))
            return None
        if is_control_plane(node):
            self._ensure_static_pods(stored.obj)
        return None

    def _update_node(self, stored: Stored, body: JSONDict) -> Stored:
        return self.cluster.update(
            self._nodes_rt, None, meta(stored.obj)["name"], body, WriteOptions.system(MANAGER)
        )

    def _register(self, stored: Stored) -> None:
        node = stored.obj
        ip = node_ip(node)
        if not ip:
            n = next(self._registered)
            ip = f"10.255.{n // 256 % 256}.{n % 256}"
        status = nodeagent.registered_status(node, self.cluster.version, self._stamp(), ip)
        self.cluster.write_status(self._nodes_rt, stored, status, MANAGER)

    def _write_pod_cidr(self, stored: Stored, state: _Node) -> None:
        if not state.cidr:
            state.cidr = self._cidrs.allocate()
        patch = {"spec": {"podCIDR": state.cidr, "podCIDRs": [state.cidr]}}
        name = meta(stored.obj)["name"]
        self.cluster.patch(
            self._nodes_rt, None, name, PATCH_MERGE, patch, WriteOptions.system(LIFECYCLE_MANAGER)
        )

    # ----- upgrades -------------------------------------------------------------------------

    def _start_upgrade(self, stored: Stored, want: str, now: float) -> float | None:
        node = stored.obj
        name = str(meta(node)["name"])
        ann = nodeagent.node_annotations(node)
        resumed = ann.get(nodeagent.STATE) == nodeagent.UPGRADING
        stamp = self._stamp()
        if not resumed:
            record_event(
                self.cluster,
                node,
                "UpgradeStarted",
                f"Upgrading the kubelet from {nodeagent.kubelet_version(node)} to {want}; the node reboots",
                MANAGER,
                host=name,
            )
        body = nodeagent.with_annotation(node, nodeagent.STATE, nodeagent.UPGRADING)
        body = nodeagent.with_taints(body, nodeagent.down_taints(node, stamp))
        stored = self._update_node(stored, body)
        silent = nodeagent.silent_status(stored.obj, stamp)
        stored = self.cluster.write_status(self._nodes_rt, stored, silent, LIFECYCLE_MANAGER)
        if not resumed:
            message = f"Node {name} status is now: NodeNotReady"
            record_event(self.cluster, stored.obj, "NodeNotReady", message, "node-controller")
        self._pods_gone(name)
        reboot = annotation_seconds(node, nodeagent.REBOOT_SECONDS, self.settings.node_reboot_seconds)
        never = ann.get(nodeagent.FAIL_UPGRADE) == "true"
        self._upgrades[name] = _Upgrade(want, None if never else now + reboot)
        return None if never else reboot

    def _pods_gone(self, node: str) -> None:
        """The reboot ends every pod of the node: the API objects go (controllers recreate them);
        mirror pods stay, NotReady, as the node lifecycle controller marks them."""
        for key in sorted(self.cluster.store.collection(PODS).by_node.get(node, ())):
            namespace, _, name = key.partition("/")
            stored = self.cluster.store.get(PODS, namespace, name)
            if stored is None:
                continue
            self._runs.pop((namespace, name), None)
            if is_mirror_pod(stored.obj):
                self._mark_not_ready(stored)
                continue
            try:
                self.cluster.delete(
                    self._pods_rt, namespace, name, DeleteOptions(grace_period_seconds=0), MANAGER
                )
            except ApiError as err:
                if err.code != 404:
                    raise

    def _mark_not_ready(self, stored: Stored) -> None:
        status = dict(stored.obj.get("status") or {})
        stamp = self._stamp()
        status["conditions"] = [
            {**c, "status": "False", "lastTransitionTime": stamp}
            if c.get("type") == "Ready" and c.get("status") == "True"
            else c
            for c in status.get("conditions") or []
        ]
        self.cluster.write_status(self._pods_rt, stored, status, LIFECYCLE_MANAGER)

    def _finish_upgrade(self, stored: Stored, upgrade: _Upgrade) -> None:
        node = stored.obj
        name = str(meta(node)["name"])
        version = nodeagent.node_annotations(node).get(nodeagent.REQUEST) or upgrade.version
        body = nodeagent.with_annotation(node, nodeagent.STATE, nodeagent.DONE)
        stored = self._update_node(stored, nodeagent.with_taints(body, nodeagent.up_taints(node)))
        del self._upgrades[name]
        back = nodeagent.returned_status(stored.obj, version, self._stamp())
        stored = self.cluster.write_status(self._nodes_rt, stored, back, MANAGER)
        boot = back["nodeInfo"]["bootID"]
        message = f"Node {name} has been rebooted, boot id: {boot}"
        record_event(self.cluster, stored.obj, "Rebooted", message, MANAGER, "Warning", host=name)
        message = f"The kubelet runs {version}"
        record_event(self.cluster, stored.obj, "UpgradeCompleted", message, MANAGER, host=name)
        if is_control_plane(stored.obj):
            # kubeadm upgrades the static pod manifests along with the kubelet.
            self._static_versions[name] = version
            self._ensure_static_pods(stored.obj, recreate=True)

    # ----- static pods ----------------------------------------------------------------------

    def _static_version(self, name: str) -> str:
        version = self._static_versions.get(name)
        if version is None:
            existing = self.cluster.store.get(PODS, "kube-system", static_pod_name("kube-apiserver", name))
            if existing is not None and is_mirror_pod(existing.obj):
                version = pod_version(existing.obj)
            version = version or self.cluster.version
            self._static_versions[name] = version
        return version

    def _ensure_static_pods(self, node: JSONDict, recreate: bool = False) -> None:
        """Mirror pods for the node's manifests: created when missing, replaced when the manifest
        changed (or, after a reboot, restarted)."""
        name = str(meta(node)["name"])
        version = self._static_version(name)
        seen = rfc3339_micro(self.cluster.clock.now())
        for component in COMPONENTS:
            want = static_pod(component, node, version, seen)
            current = self.cluster.store.get(PODS, "kube-system", want["metadata"]["name"])
            if current is not None:
                if is_terminating(current.obj):
                    continue  # confirmed soon; its DELETED event brings us back
                # A mirror pod of the wanted image is kept (also one loaded from a real cluster's
                # snapshot, whose manifest hash is not ours).
                same = is_mirror_pod(current.obj) and pod_image(current.obj) == pod_image(want)
                if same and not recreate:
                    continue
                self.cluster.delete(
                    self._pods_rt,
                    "kube-system",
                    want["metadata"]["name"],
                    DeleteOptions(grace_period_seconds=0),
                    MANAGER,
                )
            self.cluster.create(self._pods_rt, "kube-system", want, WriteOptions.system(MANAGER))
