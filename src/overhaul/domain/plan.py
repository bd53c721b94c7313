"""An upgrade plan as plain typed values: what `overhaul plan` decides and `overhaul apply` executes.

A plan is self-contained: the cluster it was made for (server, every node with its UID and version,
so that apply can refuse a cluster that changed), what was asked (strategy, batching, provider,
drain options, gates, windows, timings), and the stages in order, each a list of steps with stable
ids. Apply runs the steps in order and decides nothing the plan already says. The file form (YAML,
`apiVersion: overhaul.io/v1alpha1`, `kind: UpgradePlan`) is `overhaul.planning.planfile`'s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum

from overhaul.domain.findings import Finding

API_VERSION = "overhaul.io/v1alpha1"
KIND = "UpgradePlan"


class Strategy(StrEnum):
    ROLLING = "rolling"  # drain and upgrade nodes in place, batch by batch
    SURGE = "surge"  # per batch: add new nodes at the target, drain the old ones, remove them
    BLUE_GREEN = "blue-green"  # a whole new pool, then the old one cordoned, drained in batches, removed


class BatchBy(StrEnum):
    ZONE = "zone"  # a batch never spans two zones
    NONE = "none"


class Role(StrEnum):
    CONTROL_PLANE = "control-plane"
    WORKER = "worker"


class Action(StrEnum):
    """What a step does. Per node, in order:

    - upgrade-control-plane: cordon, drain, run the provider's control-plane upgrade, wait Ready,
      uncordon (a step without nodes: a managed control plane, the provider's command alone);
    - upgrade-nodes: the same with the provider's node upgrade, every node of the batch at once;
    - add-nodes: create `new_nodes` (each like an existing node, at `version`), wait Ready;
    - cordon-nodes: cordon;
    - drain-nodes: cordon and drain, nodes stay cordoned;
    - remove-nodes: delete the (drained) nodes.
    """

    UPGRADE_CONTROL_PLANE = "upgrade-control-plane"
    UPGRADE_NODES = "upgrade-nodes"
    ADD_NODES = "add-nodes"
    CORDON_NODES = "cordon-nodes"
    DRAIN_NODES = "drain-nodes"
    REMOVE_NODES = "remove-nodes"

    @property
    def drains(self) -> bool:
        return self in (Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES, Action.DRAIN_NODES)

    @property
    def upgrades(self) -> bool:
        return self in (Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES)


class StageKind(StrEnum):
    CONTROL_PLANE = "control-plane"  # one control-plane hop: its nodes one at a time
    WORKERS = "workers"  # worker kubelets to one version, in waves


class ProviderName(StrEnum):
    SIM = "sim"  # the embedded cluster's node-upgrade protocol (annotation); can create nodes
    EXEC = "exec"  # the user's command templates
    KUBEADM = "kubeadm"  # kubeadm and the distribution's packages, over ssh

    @property
    def creates_nodes(self) -> bool:
        """Whether the provider can add nodes (surge and blue-green need it)."""
        return self is ProviderName.SIM


_AMOUNT = re.compile(r"^(\d+)(%?)$")


class AmountError(ValueError):
    """Text that is not a count or a percentage."""


@dataclass(frozen=True)
class Amount:
    """A count or a percentage, as kubectl takes `maxUnavailable`/`maxSurge` (`2`, `25%`)."""

    value: int
    percent: bool = False

    @classmethod
    def parse(cls, text: str) -> Amount:
        match = _AMOUNT.match(text.strip())
        if match is None:
            raise AmountError(f"{text!r} is not a count or a percentage (use e.g. 2 or 25%)")
        value, percent = int(match.group(1)), bool(match.group(2))
        if percent and value > 100:
            raise AmountError(f"{text!r}: a percentage above 100%")
        return cls(value, percent)

    def of(self, total: int, *, round_up: bool) -> int:
        """The count against `total` nodes (percentages rounded down for unavailability, up for surge,
        as Deployments do), at least 1 so that a plan always progresses."""
        if not self.percent:
            return max(1, self.value)
        exact = self.value * total / 100
        return max(1, math.ceil(exact) if round_up else math.floor(exact))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


@dataclass(frozen=True)
class Window:
    """A maintenance window: on `days` (0 Monday .. 6 Sunday, the day it opens), from `start` to `end`
    (minutes after midnight; `end` <= `start` closes the next day) in `time_zone` (IANA name)."""

    days: tuple[int, ...]
    start: int
    end: int
    time_zone: str
    text: str  # as the user wrote it

    @property
    def minutes(self) -> int:
        """How long it stays open."""
        return self.end - self.start if self.end > self.start else self.end + 24 * 60 - self.start


@dataclass(frozen=True)
class DrainSpec:
    """How a step drains its nodes (kubectl drain's flags)."""

    ignore_daemonsets: bool = True
    delete_emptydir_data: bool = True
    force: bool = False  # delete pods that no controller recreates
    timeout_seconds: int = 900  # per node; 0 waits forever
    grace_period_seconds: int = -1  # -1: each pod's own terminationGracePeriodSeconds


@dataclass(frozen=True)
class AlertGate:
    prometheus_url: str
    alert_regex: str  # alerts whose name matches; none of them may be firing


@dataclass(frozen=True)
class Gates:
    """What must hold after a step before the next starts."""

    soak_seconds: int = 0  # wait this long, nodes Ready and pods healthy
    alerts: AlertGate | None = None
    validate: bool = False  # run `overhaul validate` (versions, Ready nodes, a test pod)

    @property
    def empty(self) -> bool:
        return self.soak_seconds == 0 and self.alerts is None and not self.validate


@dataclass(frozen=True)
class Timings:
    """Seconds per node for each phase, for the estimate (defaults; later measured from journals)."""

    drain: int = 120
    upgrade: int = 180
    ready: int = 60
    add_node: int = 180
    remove_node: int = 30
    validate: int = 30


@dataclass(frozen=True)
class ProviderSpec:
    """Who upgrades the nodes, and how."""

    name: ProviderName
    control_plane_command: str = ""  # exec: template with {node} {version} {zone} {role}
    node_command: str = ""  # exec
    ssh_user: str = ""  # kubeadm
    package_manager: str = ""  # kubeadm: apt | yum


@dataclass(frozen=True)
class ClusterNode:
    """A node as the plan found it; apply refuses to run when the cluster's nodes differ."""

    name: str
    uid: str
    version: str  # kubelet version, e.g. v1.34.2
    role: Role
    zone: str = ""
    control_plane_version: str = ""  # control-plane nodes: their kube-apiserver's version


@dataclass(frozen=True)
class ClusterIdentity:
    server: str  # the API server URL ("" when planned from a snapshot)
    context: str  # the kubeconfig context asked for ("" for the default)
    source: str  # live | snapshot:<path>
    control_plane_version: str  # the oldest kube-apiserver, e.g. v1.34.2
    nodes: tuple[ClusterNode, ...]

    def node(self, name: str) -> ClusterNode | None:
        return next((n for n in self.nodes if n.name == name), None)


@dataclass(frozen=True)
class PlanNode:
    """A node a step acts on. `uid` is "" for a node an earlier step of the plan creates; `cordoned`
    says it was cordoned before the plan (apply leaves it cordoned); `commands` are the provider's,
    rendered, run in order on the machine running apply."""

    name: str
    uid: str
    version: str  # before the step
    role: Role
    zone: str = ""
    address: str = ""  # InternalIP, for ssh
    cordoned: bool = False
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewNode:
    """A node an add-nodes step creates: `like` an existing node (labels, taints, size, zone)."""

    name: str
    like: str
    zone: str = ""


@dataclass(frozen=True)
class Step:
    id: str  # stable: the same inputs give the same ids
    action: Action
    version: str  # the version the step brings its nodes to (add-nodes: the new nodes' version)
    nodes: tuple[PlanNode, ...] = ()
    new_nodes: tuple[NewNode, ...] = ()
    commands: tuple[str, ...] = ()  # a step without nodes (a managed control plane): the provider's
    drain: DrainSpec | None = None  # set on steps that drain
    gates: Gates = field(default_factory=Gates)  # checked after the step
    estimate_seconds: int = 0
    notes: tuple[str, ...] = ()

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)


@dataclass(frozen=True)
class Stage:
    id: str
    kind: StageKind
    title: str
    from_version: str  # control plane: its version before; workers: "" (the nodes' own versions)
    to_version: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class EtcdEndpoint:
    """The etcd member apply snapshots before acting, and the files to authenticate to it."""

    endpoint: str  # https://10.0.0.1:2379
    cacert: str = ""
    cert: str = ""
    key: str = ""


@dataclass(frozen=True)
class BackupSpec:
    """The backup apply takes before its first step: every API resource always, an etcd snapshot
    when an endpoint is given, into `directory` ("" for a `backups` folder next to the state)."""

    enabled: bool = True
    etcd: EtcdEndpoint | None = None
    directory: str = ""


@dataclass(frozen=True)
class PlanSpec:
    """What was asked."""

    target: str  # the resolved target, v1.36.0
    strategy: Strategy
    max_unavailable: Amount
    max_surge: Amount
    batch_by: BatchBy
    provider: ProviderSpec
    drain: DrainSpec
    gates: Gates
    windows: tuple[Window, ...]
    timings: Timings
    rules: str = "generic"  # the managed provider's node-version rules (generic, eks, gke, aks)
    accepted: tuple[str, ...] = ()  # findings accepted with --accept
    backup: BackupSpec = field(default_factory=BackupSpec)  # taken by apply before its first step


@dataclass(frozen=True)
class Estimate:
    total_seconds: int
    windows_needed: int = 0  # 0 without windows
    earliest_start: str = ""  # ISO 8601, when windows are given: the first opening after planning
    earliest_finish: str = ""


@dataclass(frozen=True)
class Plan:
    name: str
    created: str  # ISO 8601 UTC
    generator: str  # overhaul <version>
    cluster: ClusterIdentity
    spec: PlanSpec
    control_plane_path: tuple[str, ...]  # the control plane's versions, the current one first
    path_summary: str
    stages: tuple[Stage, ...]
    estimate: Estimate
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, in execution order."""
        return tuple(step for stage in self.stages for step in stage.steps)

    @property
    def current(self) -> str:
        return self.control_plane_path[0] if self.control_plane_path else self.cluster.control_plane_version
