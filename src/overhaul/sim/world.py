"""The whole simulated cluster: API semantics plus the control loops that bring it to life."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overhaul.sim.clock import Clock
from overhaul.sim.cluster import Cluster
from overhaul.sim.controllers.daemonset import DaemonSetController
from overhaul.sim.controllers.deployment import DeploymentController
from overhaul.sim.controllers.disruption import DisruptionController
from overhaul.sim.controllers.endpoints import EndpointsController
from overhaul.sim.controllers.garbage import GarbageCollector
from overhaul.sim.controllers.job import JobController
from overhaul.sim.controllers.kubelet import KubeletController
from overhaul.sim.controllers.replicaset import ReplicaSetController
from overhaul.sim.controllers.runtime import Controller, ControllerManager
from overhaul.sim.controllers.scheduler import SchedulerController
from overhaul.sim.controllers.statefulset import StatefulSetController
from overhaul.sim.invariants import PdbMonitor
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
PODS: StorageKey = ("", "pods")


@dataclass
class SimSettings:
    """Knobs of the simulation (timings in simulated seconds)."""

    version: str = "v1.34.2"
    speed: float = 1.0
    pod_start_seconds: float = 1.0  # Pending → ContainerCreating → Running
    pod_ready_seconds: float = 1.0  # Running → Ready
    pod_stop_seconds: float = 1.0  # a container's stop time, capped by the grace period
    node_reboot_seconds: float = 30.0  # a node upgrade's NotReady time
    extra: dict[str, float] = field(default_factory=dict)


class World:
    """A `Cluster` and its `ControllerManager`, with every controller registered."""

    def __init__(self, settings: SimSettings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or SimSettings()
        self.cluster = Cluster(version=self.settings.version, clock=clock or Clock(self.settings.speed))
        self.monitor = PdbMonitor(self.cluster.store, self.cluster.clock)
        self.cluster.store.listeners.append(self.monitor.on_event)
        # Pods by phase, kept from events: a benchmark polls the stats every second, and counting
        # 150,000 pods each time cost a fifth of the server's time while they started.
        self._phases: dict[str, int] = {}
        for stored in self.cluster.store.collection(PODS).items.values():
            self._count_phase(stored.obj, 1)
        self.cluster.store.listeners.append(self._on_event)
        self.manager = ControllerManager(self.cluster)
        for controller in self._controllers():
            self.manager.add(controller)

    def _controllers(self) -> list[Controller]:
        return [
            DisruptionController(self.cluster),
            # Workloads: ReplicaSets before Deployments, so that pods follow a scale-down before the
            # next Deployment sync looks (the order in which one simulation step runs them).
            ReplicaSetController(self.cluster),
            DeploymentController(self.cluster),
            StatefulSetController(self.cluster),
            DaemonSetController(self.cluster),
            JobController(self.cluster),
            GarbageCollector(self.cluster),
            EndpointsController(self.cluster),
            SchedulerController(self.cluster),
            KubeletController(self.cluster, self.settings),
        ]

    def _count_phase(self, pod: JSONDict, sign: int) -> None:
        phase = str((pod.get("status") or {}).get("phase") or "Unknown")
        count = self._phases.get(phase, 0) + sign
        if count:
            self._phases[phase] = count
        else:
            del self._phases[phase]

    def _on_event(self, key: StorageKey, event: WatchEvent) -> None:
        if key != PODS:
            return
        if event.type == "ADDED":
            self._count_phase(event.stored.obj, 1)
        elif event.type == "DELETED":
            self._count_phase(event.stored.obj, -1)  # its final state
        elif event.old is not None:
            old_status, new_status = event.old.get("status") or {}, event.stored.obj.get("status") or {}
            if old_status is not new_status and old_status.get("phase") != new_status.get("phase"):
                self._count_phase(event.old, -1)
                self._count_phase(event.stored.obj, 1)

    def stats(self) -> dict[str, object]:
        """Counts for benchmarks and debugging: pods by phase, nodes, queued controller work."""
        return {
            "pods": dict(self._phases),
            "nodes": len(self.cluster.store.collection(("", "nodes")).items),
            "pending_work": self.manager.pending(),
            "resourceVersion": self.cluster.store.rv,
        }
