"""The whole simulated cluster: API semantics plus the control loops that bring it to life."""

from __future__ import annotations

from dataclasses import dataclass, field

from overhaul.sim.clock import Clock
from overhaul.sim.cluster import Cluster
from overhaul.sim.controllers.runtime import Controller, ControllerManager


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
        self.manager = ControllerManager(self.cluster)
        for controller in self._controllers():
            self.manager.add(controller)

    def _controllers(self) -> list[Controller]:
        return []
