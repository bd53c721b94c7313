"""Helpers for the workload controllers' unit tests: a world in virtual time with only the
controllers under test, and a stand-in for the scheduler and kubelets that binds pods, runs
them, reports them Ready after a delay, and finishes their deletion."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from overhaul.sim.clock import VirtualClock, parse_rfc3339
from overhaul.sim.cluster import DeleteOptions, WriteOptions
from overhaul.sim.controllers.daemonset import DaemonSetController
from overhaul.sim.controllers.deployment import DeploymentController
from overhaul.sim.controllers.endpoints import EndpointsController
from overhaul.sim.controllers.garbage import GarbageCollector
from overhaul.sim.controllers.job import JobController
from overhaul.sim.controllers.podutil import is_ready, is_terminating, target_node
from overhaul.sim.controllers.replicaset import ReplicaSetController
from overhaul.sim.controllers.runtime import Controller
from overhaul.sim.controllers.statefulset import StatefulSetController
from overhaul.sim.resources import ResourceType
from overhaul.sim.selectors import parse_label_selector
from overhaul.sim.store import StorageKey, Stored, WatchEvent
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]
PODS: StorageKey = ("", "pods")
UNDER_TEST = (
    ReplicaSetController,
    DeploymentController,
    StatefulSetController,
    DaemonSetController,
    JobController,
    GarbageCollector,
    EndpointsController,
)
TEST = WriteOptions(manager="test", field_validation="Ignore")


class MiniKubelet(Controller):
    """Binds pending pods (to their pinned node, or `default_node`), starts them, marks them Ready
    `ready_after` seconds later, and removes terminating pods at once. Pods for which `hold(pod)` is
    true are left Pending."""

    name = "test-kubelet"
    watches = (PODS,)

    def __init__(self, cluster: Any, ready_after: float = 1.0) -> None:
        super().__init__(cluster)
        self.ready_after = ready_after
        self.hold: Callable[[JSONDict], bool] = lambda pod: False
        self.default_node = "node-1"
        self._ips = 0
        rt = cluster.registry.get("", "v1", "pods")
        assert rt is not None
        self.rt: ResourceType = rt

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        if event.type == "DELETED":
            return ()
        m = event.stored.obj["metadata"]
        return ((m["namespace"], m["name"]),)

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        ns, name = item
        stored = self.cluster.store.get(PODS, ns, name)
        if stored is None:
            return None
        pod = stored.obj
        if is_terminating(pod):
            self.cluster.finish_pod_deletion(ns, name)
            return None
        if self.hold(pod):
            return None
        status = pod.get("status") or {}
        if not (pod.get("spec") or {}).get("nodeName"):
            bound = copy.deepcopy(pod)
            bound["spec"]["nodeName"] = target_node(pod) or self.default_node
            self.cluster.update(self.rt, ns, name, bound, TEST)
            return 0.0
        if status.get("phase") == "Pending":
            self._ips += 1
            now = self.cluster.now()
            ip = f"10.244.{self._ips // 250}.{self._ips % 250 + 1}"
            self.cluster.write_status(
                self.rt,
                stored,
                {
                    **status,
                    "phase": "Running",
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                    "startTime": now,
                    "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
                },
                "kubelet",
            )
            return self.ready_after
        if status.get("phase") == "Running" and not is_ready(pod) and status.get("startTime"):
            started = parse_rfc3339(str(status["startTime"]))
            remaining = self.ready_after - (self.cluster.clock.now() - started).total_seconds()
            if remaining > 0:
                return remaining
            set_ready(self.cluster, stored)
        return None


def set_ready(cluster: Any, stored: Stored, ready: bool = True) -> Stored:
    rt = cluster.registry.get("", "v1", "pods")
    status = dict(stored.obj.get("status") or {})
    conds = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"]
    conds.append(
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": cluster.now()}
    )
    status["conditions"] = conds
    return cluster.write_status(rt, stored, status, "kubelet")  # type: ignore[no-any-return]


class ControllerWorld(World):
    """A World in virtual time with the workload controllers and the mini kubelet only."""

    def _controllers(self) -> list[Controller]:
        mine = [c for c in super()._controllers() if isinstance(c, UNDER_TEST)]
        self.kubelet = MiniKubelet(self.cluster)
        return [*mine, self.kubelet]


class Env:
    def __init__(self) -> None:
        self.world = ControllerWorld(SimSettings(), clock=VirtualClock())
        self.cluster = self.world.cluster
        self.kubelet = self.world.kubelet

    def rt(self, group: str, plural: str) -> ResourceType:
        for rt in self.cluster.registry:
            if rt.group == group and rt.plural == plural:
                return rt
        raise LookupError(plural)

    def create(self, obj: JSONDict, namespace: str = "default") -> JSONDict:
        group = obj["apiVersion"].rpartition("/")[0]
        rt = self.cluster.registry.by_kind(group, obj["apiVersion"].rpartition("/")[2], obj["kind"])
        assert rt is not None
        return self.cluster.create(rt, namespace if rt.namespaced else None, copy.deepcopy(obj), TEST).obj  # type: ignore[no-any-return]

    def get(self, group: str, plural: str, name: str, namespace: str = "default") -> JSONDict:
        rt = self.rt(group, plural)
        return self.cluster.get(rt, namespace if rt.namespaced else None, name).obj  # type: ignore[no-any-return]

    def find(self, group: str, plural: str, name: str, namespace: str = "default") -> JSONDict | None:
        rt = self.rt(group, plural)
        stored = self.cluster.store.get(rt.key, namespace if rt.namespaced else None, name)
        return stored.obj if stored is not None else None

    def patch(
        self,
        group: str,
        plural: str,
        name: str,
        change: Callable[[JSONDict], None],
        namespace: str = "default",
    ) -> JSONDict:
        rt = self.rt(group, plural)
        obj = copy.deepcopy(self.get(group, plural, name, namespace))
        change(obj)
        return self.cluster.update(rt, namespace if rt.namespaced else None, name, obj, TEST).obj  # type: ignore[no-any-return]

    def delete(
        self, group: str, plural: str, name: str, policy: str | None = None, namespace: str = "default"
    ) -> None:
        rt = self.rt(group, plural)
        self.cluster.delete(
            rt, namespace if rt.namespaced else None, name, DeleteOptions(propagation_policy=policy)
        )

    def list(
        self, group: str, plural: str, selector: str = "", namespace: str | None = "default"
    ) -> list[JSONDict]:
        rt = self.rt(group, plural)
        labels = parse_label_selector(selector) if selector else None
        return [s.obj for s in self.cluster.list(rt, namespace if rt.namespaced else None, labels).items]

    def pods(self, selector: str = "", namespace: str = "default") -> list[JSONDict]:
        return self.list("", "pods", selector, namespace)

    def run(self, seconds: float = 0.0) -> None:
        if seconds:
            self.world.manager.run_for(seconds)
        else:
            self.world.manager.run_until_idle()

    def set_phase(self, pod: JSONDict, phase: str) -> None:
        rt = self.rt("", "pods")
        stored = self.cluster.store.get(rt.key, pod["metadata"]["namespace"], pod["metadata"]["name"])
        assert stored is not None
        status = {**(stored.obj.get("status") or {}), "phase": phase}
        status["conditions"] = [
            {**c, "status": "False"} if c.get("type") == "Ready" else c
            for c in status.get("conditions") or []
        ]
        self.cluster.write_status(rt, stored, status, "kubelet")


def container(image: str = "nginx:1.25") -> JSONDict:
    return {"name": "app", "image": image}


def deployment(name: str, replicas: int = 3, image: str = "nginx:1.25", **spec: Any) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(image)]}},
            **spec,
        },
    }
