"""The cluster as the preflight checks, the planner and the drain engine read it.

Small frozen values that keep only the fields those decisions need (never whole API objects:
a 150,000-pod cluster must fit comfortably in memory). `ClusterView` aggregates them and
answers the questions asked of it often (pods on a node, a pod's owners, the PDBs covering a
pod) from indexes built on first use. Mappings held by the views (labels, node selectors) are
shared and must be treated as read-only. `overhaul.domain.convert` builds these from API objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from overhaul.domain.labels import Selector, lenient_selector
from overhaul.domain.version import Version, VersionError

CONTROL_PLANE_ROLE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# The label kubeadm (and most installers) put on control-plane static pods: component=kube-apiserver, ...
COMPONENT_LABEL = "component"
CONTROL_PLANE_NAMESPACE = "kube-system"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")

# (key, operator, values), as in a NodeSelectorRequirement.
NodeSelectorRequirement = tuple[str, str, tuple[str, ...]]
# (matchExpressions, matchFields) of one NodeSelectorTerm; a node must satisfy both.
NodeSelectorTerm = tuple[tuple[NodeSelectorRequirement, ...], tuple[NodeSelectorRequirement, ...]]


def _parse_version(text: str) -> Version | None:
    try:
        return Version.parse(text)
    except VersionError:
        return None


def image_tag(image: str) -> str:
    """The tag of a container image reference: `registry.k8s.io/kube-apiserver:v1.34.2` → `v1.34.2`
    (a registry port is not a tag; a digest is dropped; "" when there is no tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.partition(":")[2]


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """The controlling owner of an object (`ownerReferences[]` with `controller: true`)."""

    kind: str
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # "" tolerates every effect
    toleration_seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        """`Toleration.ToleratesTaint` of k8s.io/api/core/v1."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator in ("Equal", "") and self.value == taint.value


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class Resources:
    """Amounts of the resources the scheduler packs by."""

    cpu_milli: int = 0
    memory_bytes: int = 0
    ephemeral_bytes: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_milli + other.cpu_milli,
            self.memory_bytes + other.memory_bytes,
            self.ephemeral_bytes + other.ephemeral_bytes,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_milli - other.cpu_milli,
            self.memory_bytes - other.memory_bytes,
            self.ephemeral_bytes - other.ephemeral_bytes,
        )

    def max(self, other: Resources) -> Resources:
        """Resource by resource, the larger amount."""
        return Resources(
            max(self.cpu_milli, other.cpu_milli),
            max(self.memory_bytes, other.memory_bytes),
            max(self.ephemeral_bytes, other.ephemeral_bytes),
        )

    def fits_in(self, other: Resources) -> bool:
        return (
            self.cpu_milli <= other.cpu_milli
            and self.memory_bytes <= other.memory_bytes
            and self.ephemeral_bytes <= other.ephemeral_bytes
        )


NO_RESOURCES = Resources()


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    uid: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    conditions: tuple[Condition, ...]
    kubelet_version: str
    kube_proxy_version: str
    container_runtime: str
    allocatable: Resources
    allocatable_pods: int
    capacity: Resources
    internal_ip: str = ""
    created: datetime | None = None
    deletion_timestamp: datetime | None = None

    def condition(self, type_: str) -> Condition | None:
        for cond in self.conditions:
            if cond.type == type_:
                return cond
        return None

    @property
    def ready(self) -> bool:
        """The Ready condition is True (a node without one is not ready)."""
        cond = self.condition("Ready")
        return cond is not None and cond.status == "True"

    @property
    def control_plane(self) -> bool:
        return any(label in self.labels for label in CONTROL_PLANE_ROLE_LABELS)

    @property
    def roles(self) -> tuple[str, ...]:
        """The `node-role.kubernetes.io/<role>` labels, as `kubectl get nodes` shows them."""
        prefix = "node-role.kubernetes.io/"
        return tuple(sorted(k[len(prefix) :] for k in self.labels if k.startswith(prefix)))

    @property
    def zone(self) -> str | None:
        return next((self.labels[k] for k in ZONE_LABELS if k in self.labels), None)

    @property
    def region(self) -> str | None:
        return next((self.labels[k] for k in REGION_LABELS if k in self.labels), None)

    @property
    def kubelet(self) -> Version | None:
        return _parse_version(self.kubelet_version)

    @property
    def kube_proxy(self) -> Version | None:
        return _parse_version(self.kube_proxy_version) if self.kube_proxy_version else None


@dataclass(frozen=True, slots=True)
class PodView:
    namespace: str
    name: str
    uid: str
    node_name: str  # "" while unscheduled
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    ready: bool
    labels: Mapping[str, str]
    owner: OwnerRef | None
    requests: Resources  # as the scheduler counts them: containers, init containers, overhead
    tolerations: tuple[Toleration, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    required_node_affinity: tuple[NodeSelectorTerm, ...] = ()  # any one term must match
    has_empty_dir: bool = False
    mirror: bool = False
    restart_count: int = 0
    waiting_reason: str | None = None  # e.g. CrashLoopBackOff, ImagePullBackOff
    start_time: datetime | None = None
    deletion_timestamp: datetime | None = None
    created: datetime | None = None  # metadata.creationTimestamp
    priority: int = 0
    priority_class: str = ""
    termination_grace_seconds: int | None = None
    images: tuple[str, ...] = ()  # spec.containers[].image, in order (init containers left out)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def daemonset(self) -> bool:
        """Controlled by a DaemonSet (kubectl drain's `--ignore-daemonsets` filter)."""
        return self.owner is not None and self.owner.kind == "DaemonSet"

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @property
    def terminating(self) -> bool:
        return self.deletion_timestamp is not None


@dataclass(frozen=True, slots=True)
class ControlPlaneComponent:
    """A control-plane static pod as its mirror pod shows it (kube-system, `component=<name>`), e.g.
    kube-apiserver on one control-plane node. `version` comes from the image tag; None when the tag
    is not a Kubernetes version (etcd's `3.6.5-0`, a digest-only image)."""

    component: str  # etcd | kube-apiserver | kube-controller-manager | kube-scheduler | ...
    node_name: str
    pod: PodView
    image: str

    @property
    def version(self) -> Version | None:
        tag = image_tag(self.image)
        return _parse_version(tag) if tag else None


def _component_image(component: str, pod: PodView) -> str:
    """The image of the component's own container: the one named for it, else the first."""
    for image in pod.images:
        if image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[0] == component:
            return image  # e.g. registry.k8s.io/kube-apiserver:v1.34.2 for kube-apiserver
    return pod.images[0] if pod.images else ""


@dataclass(frozen=True, slots=True)
class WorkloadView:
    """A Deployment, ReplicaSet, StatefulSet, DaemonSet or Job.

    `replicas` is what is wanted: `spec.replicas` (Deployment, ReplicaSet, StatefulSet),
    `status.desiredNumberScheduled` (DaemonSet) or `spec.parallelism` (Job). The counts read
    the corresponding status fields; a Job's are `active` and `status.ready`.
    """

    kind: str
    namespace: str
    name: str
    uid: str
    replicas: int
    ready_replicas: int
    available_replicas: int
    updated_replicas: int
    selector: Mapping[str, object] | None
    owner: OwnerRef | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    generation: int = 0
    observed_generation: int = 0
    strategy: str | None = None  # RollingUpdate | Recreate | OnDelete
    max_unavailable: int | str | None = None
    max_surge: int | str | None = None
    partition: int | None = None  # StatefulSet rolling update partition
    completions: int | None = None  # Job
    succeeded: int = 0  # Job
    failed: int = 0  # Job

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def up_to_date(self) -> bool:
        """The controller has seen the latest spec."""
        return self.observed_generation >= self.generation


@dataclass(frozen=True, slots=True)
class PdbView:
    namespace: str
    name: str
    uid: str
    selector: Mapping[str, object] | None
    min_available: int | str | None
    max_unavailable: int | str | None
    unhealthy_pod_eviction_policy: str | None  # IfHealthyBudget (the default when None) | AlwaysAllow
    current_healthy: int
    desired_healthy: int
    disruptions_allowed: int
    expected_pods: int
    observed_generation: int
    generation: int
    # Pods the API server evicted under this budget whose deletion the controller has not seen yet.
    disrupted_pods: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def status_current(self) -> bool:
        """The disruption controller has processed the latest spec (else evictions get 429)."""
        return self.observed_generation >= self.generation


@dataclass(frozen=True, slots=True)
class NamespaceView:
    name: str
    uid: str
    labels: Mapping[str, str]
    phase: str  # Active | Terminating
    deletion_timestamp: datetime | None = None

    @property
    def terminating(self) -> bool:
        return self.phase == "Terminating" or self.deletion_timestamp is not None


@dataclass(frozen=True, slots=True)
class CrdNames:
    kind: str
    plural: str
    singular: str = ""
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrdVersion:
    name: str
    served: bool
    storage: bool
    deprecated: bool = False
    deprecation_warning: str | None = None


@dataclass(frozen=True, slots=True)
class CrdView:
    name: str
    group: str
    scope: str  # Namespaced | Cluster
    names: CrdNames
    versions: tuple[CrdVersion, ...]
    stored_versions: tuple[str, ...] = ()  # status.storedVersions: versions objects may be stored at

    @property
    def storage_version(self) -> str | None:
        return next((v.name for v in self.versions if v.storage), None)

    @property
    def served_versions(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.versions if v.served)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An object by apiVersion, kind, namespace and name (also what a Finding names)."""

    api_version: str = ""
    kind: str = ""
    namespace: str = ""  # "" for cluster-scoped objects
    name: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}".strip()


class ManagedFieldsEntry(NamedTuple):
    manager: str
    operation: str  # Apply | Update
    api_version: str
    time: str | None


@dataclass(frozen=True, slots=True)
class ObjectApiUsage:
    """The API versions an object was written with, for the removed-API check.

    `ref.api_version` is the version the object was listed at; `last_applied_api_version` comes
    from the kubectl.kubernetes.io/last-applied-configuration annotation (what `kubectl apply`
    last sent), and `managed_fields` from metadata.managedFields (which version each writer used).
    """

    ref: ObjectRef
    last_applied_api_version: str | None
    managed_fields: tuple[ManagedFieldsEntry, ...]

    @property
    def api_versions(self) -> frozenset[str]:
        """Every apiVersion the object is known to have been written with."""
        seen = {entry.api_version for entry in self.managed_fields if entry.api_version}
        if self.last_applied_api_version:
            seen.add(self.last_applied_api_version)
        return frozenset(seen)


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """`/version` of the API server."""

    major: str
    minor: str
    git_version: str
    platform: str = ""
    build_date: str = ""
    go_version: str = ""

    @property
    def version(self) -> Version | None:
        return _parse_version(self.git_version)


@dataclass(frozen=True, slots=True)
class ServedResource:
    """A resource the API server serves (from discovery), e.g. apps/v1 deployments."""

    group: str
    version: str
    name: str  # plural, e.g. "deployments"
    kind: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def listable(self) -> bool:
        return "list" in self.verbs


@dataclass(frozen=True)
class ClusterView:
    """Everything the checks, the planner and the drain engine know of a cluster at one moment."""

    server: ServerVersion
    nodes: tuple[NodeView, ...] = ()
    pods: tuple[PodView, ...] = ()
    workloads: tuple[WorkloadView, ...] = ()
    pdbs: tuple[PdbView, ...] = ()
    namespaces: tuple[NamespaceView, ...] = ()
    crds: tuple[CrdView, ...] = ()
    api_usage: tuple[ObjectApiUsage, ...] = ()
    api_resources: tuple[ServedResource, ...] = ()  # empty when discovery was not read
    observed_at: datetime | None = None
    notes: tuple[str, ...] = ()  # what could not be read, and why (a group-version down, a 403)

    # ----- nodes

    @cached_property
    def _nodes_by_name(self) -> dict[str, NodeView]:
        return {n.name: n for n in self.nodes}

    def node(self, name: str) -> NodeView | None:
        return self._nodes_by_name.get(name)

    def kubelet_versions(self) -> dict[str, int]:
        """How many nodes run each kubelet version (e.g. {"v1.34.2": 12})."""
        return dict(Counter(n.kubelet_version for n in self.nodes))

    # ----- pods

    @cached_property
    def _pods_by_node(self) -> dict[str, tuple[PodView, ...]]:
        grouped: dict[str, list[PodView]] = {}
        for pod in self.pods:
            grouped.setdefault(pod.node_name, []).append(pod)
        return {k: tuple(v) for k, v in grouped.items()}

    @cached_property
    def _pods_by_namespace(self) -> dict[str, tuple[PodView, ...]]:
        grouped: dict[str, list[PodView]] = {}
        for pod in self.pods:
            grouped.setdefault(pod.namespace, []).append(pod)
        return {k: tuple(v) for k, v in grouped.items()}

    @cached_property
    def _pods_by_key(self) -> dict[tuple[str, str], PodView]:
        return {(p.namespace, p.name): p for p in self.pods}

    def pods_on(self, node: str) -> tuple[PodView, ...]:
        """The pods bound to `node` ("" gives the unscheduled ones)."""
        return self._pods_by_node.get(node, ())

    def pods_in(self, namespace: str) -> tuple[PodView, ...]:
        return self._pods_by_namespace.get(namespace, ())

    def pod(self, namespace: str, name: str) -> PodView | None:
        return self._pods_by_key.get((namespace, name))

    @cached_property
    def control_plane_components(self) -> tuple[ControlPlaneComponent, ...]:
        """The control-plane static pods (mirror pods in kube-system with a `component` label), by
        node then component. Empty on managed clusters, whose control plane is not visible."""
        found = [
            ControlPlaneComponent(
                pod.labels[COMPONENT_LABEL],
                pod.node_name,
                pod,
                _component_image(pod.labels[COMPONENT_LABEL], pod),
            )
            for pod in self.pods_in(CONTROL_PLANE_NAMESPACE)
            if pod.mirror and pod.labels.get(COMPONENT_LABEL)
        ]
        return tuple(sorted(found, key=lambda c: (c.node_name, c.component, c.pod.name)))

    def pods_selected(self, namespace: str, selector: Mapping[str, object] | None) -> tuple[PodView, ...]:
        """The pods of `namespace` that a metav1.LabelSelector selects (nil selects none)."""
        compiled = lenient_selector(selector)
        if compiled.nothing:
            return ()
        return tuple(p for p in self.pods_in(namespace) if compiled.matches(p.labels))

    # ----- workloads and owners

    @cached_property
    def _workloads_by_uid(self) -> dict[str, WorkloadView]:
        return {w.uid: w for w in self.workloads if w.uid}

    @cached_property
    def _workloads_by_key(self) -> dict[tuple[str, str, str], WorkloadView]:
        return {(w.kind, w.namespace, w.name): w for w in self.workloads}

    def workload(self, kind: str, namespace: str, name: str) -> WorkloadView | None:
        return self._workloads_by_key.get((kind, namespace, name))

    def owner_of(self, namespace: str, owner: OwnerRef | None) -> WorkloadView | None:
        """The workload an owner reference points at, if the view has it (matched by uid)."""
        if owner is None:
            return None
        found = self._workloads_by_uid.get(owner.uid) if owner.uid else None
        if found is None:
            found = self._workloads_by_key.get((owner.kind, namespace, owner.name))
            if found is not None and owner.uid and found.uid and found.uid != owner.uid:
                return None  # same name, another object: the owner is gone
        return found

    def owner_chain(self, item: PodView | WorkloadView) -> tuple[WorkloadView, ...]:
        """The controllers above a pod or workload, nearest first (pod → ReplicaSet → Deployment).

        Stops at an owner the view does not hold (a CronJob, an operator's custom resource, or
        an owner that is gone); `item.owner` tells what that first missing owner was.
        """
        chain: list[WorkloadView] = []
        seen: set[str] = set()
        owner = item.owner
        while owner is not None:
            found = self.owner_of(item.namespace, owner)
            if found is None or found.uid in seen:
                break
            seen.add(found.uid)
            chain.append(found)
            owner = found.owner
        return tuple(chain)

    def top_controller(self, item: PodView | WorkloadView) -> WorkloadView | None:
        """The outermost known controller (a pod's Deployment rather than its ReplicaSet)."""
        chain = self.owner_chain(item)
        return chain[-1] if chain else None

    def pods_of(self, workload: WorkloadView) -> tuple[PodView, ...]:
        """The pods a workload controls, directly or through its ReplicaSets."""
        return tuple(
            p
            for p in self.pods_in(workload.namespace)
            if any(owner.uid == workload.uid for owner in self.owner_chain(p))
        )

    # ----- disruption budgets

    @cached_property
    def _pdbs_by_namespace(self) -> dict[str, tuple[tuple[PdbView, Selector], ...]]:
        grouped: dict[str, list[tuple[PdbView, Selector]]] = {}
        for pdb in self.pdbs:
            grouped.setdefault(pdb.namespace, []).append((pdb, lenient_selector(pdb.selector)))
        return {k: tuple(v) for k, v in grouped.items()}

    def pdbs_in(self, namespace: str) -> tuple[PdbView, ...]:
        return tuple(pdb for pdb, _ in self._pdbs_by_namespace.get(namespace, ()))

    def pdbs_for(self, pod: PodView) -> tuple[PdbView, ...]:
        """The PDBs whose selector selects the pod (the eviction API refuses when more than one)."""
        return tuple(
            pdb for pdb, sel in self._pdbs_by_namespace.get(pod.namespace, ()) if sel.matches(pod.labels)
        )

    def pods_for(self, pdb: PdbView) -> tuple[PodView, ...]:
        return self.pods_selected(pdb.namespace, pdb.selector)

    # ----- namespaces, CRDs, APIs

    def namespace(self, name: str) -> NamespaceView | None:
        return next((ns for ns in self.namespaces if ns.name == name), None)

    def crd(self, name: str) -> CrdView | None:
        return next((crd for crd in self.crds if crd.name == name), None)

    @cached_property
    def served_group_versions(self) -> frozenset[str]:
        """The group-versions discovery listed (e.g. "apps/v1", "v1")."""
        return frozenset(r.group_version for r in self.api_resources)
