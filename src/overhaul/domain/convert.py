"""API objects (decoded JSON dicts) to the small values of `overhaul.domain.cluster`.

Pure functions of one object each, used alike for live lists, snapshots and manifests. They
read defensively: a missing or malformed field becomes its zero value rather than an error, as
a view of a real cluster must not fail on one odd object. `ViewBuilder` collects converted
items and shares identical small values (label sets, tolerations, requests) between them,
which keeps 150,000 pods of a few hundred workloads small in memory.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import orjson

from overhaul.domain.cluster import (
    LAST_APPLIED_ANNOTATION,
    MIRROR_POD_ANNOTATION,
    NO_RESOURCES,
    ClusterView,
    Condition,
    CrdNames,
    CrdVersion,
    CrdView,
    ManagedFieldsEntry,
    NamespaceView,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeView,
    ObjectApiUsage,
    ObjectRef,
    OwnerRef,
    PdbView,
    PodView,
    Resources,
    ServedResource,
    ServerVersion,
    Taint,
    Toleration,
    WorkloadView,
)
from overhaul.domain.quantity import int_or_zero, milli_or_zero

JSON = dict[str, Any]
T = TypeVar("T", bound=Hashable)

# The kinds a ClusterView holds, by the resource they are listed from (group, version, plural).
VIEW_RESOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("", "v1", "namespaces", "Namespace"),
    ("", "v1", "nodes", "Node"),
    ("", "v1", "pods", "Pod"),
    ("apps", "v1", "deployments", "Deployment"),
    ("apps", "v1", "replicasets", "ReplicaSet"),
    ("apps", "v1", "statefulsets", "StatefulSet"),
    ("apps", "v1", "daemonsets", "DaemonSet"),
    ("batch", "v1", "jobs", "Job"),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition"),
)


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int_or_str(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int | str) else None


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp of the API ("2026-01-02T03:04:05Z"); None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def controller_of(meta: JSON) -> OwnerRef | None:
    """The owner reference marked `controller: true`, if any."""
    for ref in _list(meta.get("ownerReferences")):
        if isinstance(ref, dict) and ref.get("controller") is True:
            return OwnerRef(_str(ref.get("kind")), _str(ref.get("name")), _str(ref.get("uid")))
    return None


class Interner:
    """Hands out one shared instance per distinct value (the equivalent of `sys.intern`)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    def get(self, value: T) -> T:
        found = self._values.get(value)
        if found is None:
            self._values[value] = value
            return value
        return found  # type: ignore[no-any-return]

    def labels(self, value: Any) -> dict[str, str]:
        """A shared dict for a label set (pods of one template share theirs)."""
        labels = _str_map(value)
        key = ("labels", *labels.items())
        found = self._values.get(key)
        if found is None:
            self._values[key] = labels
            return labels
        return found  # type: ignore[no-any-return]

    def text(self, value: Any) -> str:
        return self.get(_str(value))

    def lookup(self, key: Hashable) -> Any:
        return self._values.get(key)

    def store(self, key: Hashable, value: Any) -> Any:
        self._values[key] = value
        return value


_DEFAULT_INTERNER = Interner()


# --------------------------------------------------------------------------------------------- nodes


def node_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER) -> NodeView:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    info = _dict(status.get("nodeInfo"))
    allocatable, capacity = _dict(status.get("allocatable")), _dict(status.get("capacity"))
    taints = tuple(
        Taint(_str(t.get("key")), _str(t.get("value")), _str(t.get("effect")))
        for t in _list(spec.get("taints"))
        if isinstance(t, dict)
    )
    conditions = tuple(
        Condition(_str(c.get("type")), _str(c.get("status")), _str(c.get("reason")), _str(c.get("message")))
        for c in _list(status.get("conditions"))
        if isinstance(c, dict)
    )
    internal_ip = next(
        (
            _str(a.get("address"))
            for a in _list(status.get("addresses"))
            if isinstance(a, dict) and a.get("type") == "InternalIP"
        ),
        "",
    )
    return NodeView(
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        labels=_str_map(meta.get("labels")),
        taints=taints,
        unschedulable=spec.get("unschedulable") is True,
        conditions=conditions,
        kubelet_version=interner.text(info.get("kubeletVersion")),
        kube_proxy_version=interner.text(info.get("kubeProxyVersion")),
        container_runtime=interner.text(info.get("containerRuntimeVersion")),
        allocatable=_resources(allocatable),
        allocatable_pods=int_or_zero(allocatable.get("pods")),
        capacity=_resources(capacity),
        internal_ip=internal_ip,
        created=parse_time(meta.get("creationTimestamp")),
        deletion_timestamp=parse_time(meta.get("deletionTimestamp")),
    )


def _resources(amounts: JSON) -> Resources:
    return Resources(*_amounts(amounts)) if amounts else NO_RESOURCES


# ---------------------------------------------------------------------------------------------- pods


def pod_requests(spec: JSON) -> Resources:
    """The pod's requests as the scheduler counts them (k8s.io/component-helpers resource.PodRequests).

    The sum of the containers; each init container runs alone (with the sidecars started before
    it), so the pod needs at least the largest of those; sidecars (init containers with
    `restartPolicy: Always`) keep running and add to the sum; then the RuntimeClass overhead.
    Pod-level `spec.resources.requests` (PodLevelResources), when set, stand for cpu and memory.
    """
    cpu = memory = ephemeral = 0
    for container in _list(spec.get("containers")):
        c_cpu, c_memory, c_ephemeral = _container_requests(container)
        cpu += c_cpu
        memory += c_memory
        ephemeral += c_ephemeral
    inits = spec.get("initContainers")
    if inits:
        side_cpu = side_memory = side_ephemeral = 0
        peak_cpu = peak_memory = peak_ephemeral = 0
        for container in _list(inits):
            c_cpu, c_memory, c_ephemeral = _container_requests(container)
            if isinstance(container, dict) and container.get("restartPolicy") == "Always":
                cpu, memory, ephemeral = cpu + c_cpu, memory + c_memory, ephemeral + c_ephemeral
                side_cpu, side_memory, side_ephemeral = (
                    side_cpu + c_cpu,
                    side_memory + c_memory,
                    side_ephemeral + c_ephemeral,
                )
                c_cpu, c_memory, c_ephemeral = side_cpu, side_memory, side_ephemeral
            else:
                c_cpu, c_memory, c_ephemeral = (
                    c_cpu + side_cpu,
                    c_memory + side_memory,
                    c_ephemeral + side_ephemeral,
                )
            peak_cpu, peak_memory, peak_ephemeral = (
                max(peak_cpu, c_cpu),
                max(peak_memory, c_memory),
                max(peak_ephemeral, c_ephemeral),
            )
        cpu, memory, ephemeral = max(cpu, peak_cpu), max(memory, peak_memory), max(ephemeral, peak_ephemeral)
    pod_level = spec.get("resources")
    if pod_level:
        requests = _dict(_dict(pod_level).get("requests"))
        if "cpu" in requests:
            cpu = milli_or_zero(requests["cpu"])
        if "memory" in requests:
            memory = int_or_zero(requests["memory"])
    overhead = spec.get("overhead")
    if overhead:
        o_cpu, o_memory, o_ephemeral = _amounts(_dict(overhead))
        cpu, memory, ephemeral = cpu + o_cpu, memory + o_memory, ephemeral + o_ephemeral
    return Resources(cpu, memory, ephemeral)


def _amounts(amounts: JSON) -> tuple[int, int, int]:
    return (
        milli_or_zero(amounts.get("cpu")),
        int_or_zero(amounts.get("memory")),
        int_or_zero(amounts.get("ephemeral-storage")),
    )


def _container_requests(container: Any) -> tuple[int, int, int]:
    if not isinstance(container, dict):
        return (0, 0, 0)
    resources = container.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    return _amounts(requests) if isinstance(requests, dict) and requests else (0, 0, 0)


def _toleration(t: JSON) -> Toleration:
    return Toleration(
        _str(t.get("key")),
        _str(t.get("operator")) or "Equal",
        _str(t.get("value")),
        _str(t.get("effect")),
        _opt_int(t.get("tolerationSeconds")),
    )


def _tolerations(value: Any, interner: Interner | None = None) -> tuple[Toleration, ...]:
    raw = [t for t in _list(value) if isinstance(t, dict)]
    if not raw:
        return ()
    if interner is None:
        return tuple(_toleration(t) for t in raw)
    # Keyed by the raw fields, so the Toleration objects are built once per distinct list.
    key = ("tolerations", *(tuple(t.get(f) for f in _TOLERATION_FIELDS) for t in raw))
    try:
        found = interner.lookup(key)
    except TypeError:  # an unhashable value in a malformed toleration
        return tuple(_toleration(t) for t in raw)
    if found is None:
        found = interner.store(key, tuple(_toleration(t) for t in raw))
    return found  # type: ignore[no-any-return]


_TOLERATION_FIELDS = ("key", "operator", "value", "effect", "tolerationSeconds")


def _requirements(value: Any) -> tuple[NodeSelectorRequirement, ...]:
    return tuple(
        (_str(r.get("key")), _str(r.get("operator")), tuple(_str(v) for v in _list(r.get("values"))))
        for r in _list(value)
        if isinstance(r, dict)
    )


def required_node_affinity(spec: JSON) -> tuple[NodeSelectorTerm, ...]:
    """`affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`."""
    node_affinity = _dict(_dict(spec.get("affinity")).get("nodeAffinity"))
    required = _dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    return tuple(
        (_requirements(term.get("matchExpressions")), _requirements(term.get("matchFields")))
        for term in _list(required.get("nodeSelectorTerms"))
        if isinstance(term, dict)
    )


def _container_state(status: JSON) -> tuple[int, str | None]:
    """(restarts of all containers, the first waiting reason, init containers first)."""
    restarts = 0
    waiting: str | None = None
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in _list(status.get(key)):
            if not isinstance(cs, dict):
                continue
            restarts += _int(cs.get("restartCount"))
            if waiting is None:
                reason = _dict(_dict(cs.get("state")).get("waiting")).get("reason")
                if isinstance(reason, str) and reason:
                    waiting = reason
    return restarts, waiting


def pod_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER) -> PodView:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    ready = any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in _list(status.get("conditions"))
    )
    restarts, waiting = _container_state(status)
    annotations = _dict(meta.get("annotations"))
    owner = controller_of(meta)
    grace = spec.get("terminationGracePeriodSeconds")
    return PodView(
        namespace=interner.text(meta.get("namespace")),
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        node_name=interner.text(spec.get("nodeName")),
        phase=interner.text(status.get("phase")) or "Pending",
        ready=ready,
        labels=interner.labels(meta.get("labels")),
        owner=interner.get(owner) if owner is not None else None,
        requests=interner.get(pod_requests(spec)),
        tolerations=_tolerations(spec.get("tolerations"), interner),
        node_selector=interner.labels(spec.get("nodeSelector")),
        required_node_affinity=interner.get(required_node_affinity(spec)),
        has_empty_dir=any(isinstance(v, dict) and "emptyDir" in v for v in _list(spec.get("volumes"))),
        mirror=MIRROR_POD_ANNOTATION in annotations,
        restart_count=restarts,
        waiting_reason=waiting,
        start_time=parse_time(status.get("startTime")),
        deletion_timestamp=parse_time(meta.get("deletionTimestamp")),
        created=parse_time(meta.get("creationTimestamp")),
        priority=_int(spec.get("priority")),
        priority_class=interner.text(spec.get("priorityClassName")),
        termination_grace_seconds=_opt_int(grace),
        images=_images(spec, interner),
    )


def _images(spec: JSON, interner: Interner) -> tuple[str, ...]:
    """spec.containers[].image; pods of one template share the tuple (keyed apart from the label sets
    the interner also holds)."""
    images = tuple(_str(c.get("image")) for c in _list(spec.get("containers")) if isinstance(c, dict))
    key = ("images", *images)
    found = interner.lookup(key)
    return found if isinstance(found, tuple) else interner.store(key, images)


# ----------------------------------------------------------------------------------------- workloads


def workload_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER, kind: str | None = None) -> WorkloadView:
    """A Deployment, ReplicaSet, StatefulSet, DaemonSet or Job (`kind` when the item does not say)."""
    kind = kind or _str(obj.get("kind"))
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    selector = spec.get("selector")
    strategy = _dict(spec.get("strategy") if kind == "Deployment" else spec.get("updateStrategy"))
    rolling = _dict(strategy.get("rollingUpdate"))
    common: dict[str, Any] = {
        "kind": kind,
        "namespace": interner.text(meta.get("namespace")),
        "name": _str(meta.get("name")),
        "uid": _str(meta.get("uid")),
        "selector": selector if isinstance(selector, dict) else None,
        "owner": controller_of(meta),
        "labels": interner.labels(meta.get("labels")),
        "generation": _int(meta.get("generation")),
        "observed_generation": _int(status.get("observedGeneration")),
    }
    if kind == "DaemonSet":
        return WorkloadView(
            replicas=_int(status.get("desiredNumberScheduled")),
            ready_replicas=_int(status.get("numberReady")),
            available_replicas=_int(status.get("numberAvailable")),
            updated_replicas=_int(status.get("updatedNumberScheduled")),
            strategy=_str(strategy.get("type")) or "RollingUpdate",
            max_unavailable=_int_or_str(rolling.get("maxUnavailable")),
            max_surge=_int_or_str(rolling.get("maxSurge")),
            **common,
        )
    if kind == "Job":
        return WorkloadView(
            replicas=_int(spec.get("parallelism"), 1),
            ready_replicas=_int(status.get("ready")),
            available_replicas=_int(status.get("active")),
            updated_replicas=0,
            completions=_opt_int(spec.get("completions")),
            succeeded=_int(status.get("succeeded")),
            failed=_int(status.get("failed")),
            **common,
        )
    return WorkloadView(
        replicas=_int(spec.get("replicas"), 1),
        ready_replicas=_int(status.get("readyReplicas")),
        available_replicas=_int(status.get("availableReplicas")),
        updated_replicas=_int(status.get("updatedReplicas")),
        strategy=(_str(strategy.get("type")) or "RollingUpdate") if kind != "ReplicaSet" else None,
        max_unavailable=_int_or_str(rolling.get("maxUnavailable")),
        max_surge=_int_or_str(rolling.get("maxSurge")),
        partition=_opt_int(rolling.get("partition")) if kind == "StatefulSet" else None,
        **common,
    )


# ---------------------------------------------------------------------------- PDBs, namespaces, CRDs


def pdb_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER) -> PdbView:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    selector = spec.get("selector")
    return PdbView(
        namespace=interner.text(meta.get("namespace")),
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        selector=selector if isinstance(selector, dict) else None,
        min_available=_int_or_str(spec.get("minAvailable")),
        max_unavailable=_int_or_str(spec.get("maxUnavailable")),
        unhealthy_pod_eviction_policy=_str(spec.get("unhealthyPodEvictionPolicy")) or None,
        current_healthy=_int(status.get("currentHealthy")),
        desired_healthy=_int(status.get("desiredHealthy")),
        disruptions_allowed=_int(status.get("disruptionsAllowed")),
        expected_pods=_int(status.get("expectedPods")),
        observed_generation=_int(status.get("observedGeneration")),
        generation=_int(meta.get("generation")),
        disrupted_pods=frozenset(_dict(status.get("disruptedPods"))),
    )


def namespace_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER) -> NamespaceView:
    meta, status = _dict(obj.get("metadata")), _dict(obj.get("status"))
    return NamespaceView(
        name=interner.text(meta.get("name")),
        uid=_str(meta.get("uid")),
        labels=_str_map(meta.get("labels")),
        phase=_str(status.get("phase")) or "Active",
        deletion_timestamp=parse_time(meta.get("deletionTimestamp")),
    )


def crd_view(obj: JSON, interner: Interner = _DEFAULT_INTERNER) -> CrdView:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    names = _dict(spec.get("names"))
    versions = tuple(
        CrdVersion(
            name=_str(v.get("name")),
            served=v.get("served") is True,
            storage=v.get("storage") is True,
            deprecated=v.get("deprecated") is True,
            deprecation_warning=_str(v.get("deprecationWarning")) or None,
        )
        for v in _list(spec.get("versions"))
        if isinstance(v, dict)
    )
    return CrdView(
        name=_str(meta.get("name")),
        group=_str(spec.get("group")),
        scope=_str(spec.get("scope")) or "Namespaced",
        names=CrdNames(
            kind=_str(names.get("kind")),
            plural=_str(names.get("plural")),
            singular=_str(names.get("singular")),
            list_kind=_str(names.get("listKind")),
            short_names=tuple(_str(s) for s in _list(names.get("shortNames"))),
            categories=tuple(_str(c) for c in _list(names.get("categories"))),
        ),
        versions=versions,
        stored_versions=tuple(_str(s) for s in _list(status.get("storedVersions"))),
    )


# --------------------------------------------------------------------------------- version, discovery


def server_version(obj: JSON) -> ServerVersion:
    """The `/version` document."""
    return ServerVersion(
        major=_str(obj.get("major")),
        minor=_str(obj.get("minor")),
        git_version=_str(obj.get("gitVersion")),
        platform=_str(obj.get("platform")),
        build_date=_str(obj.get("buildDate")),
        go_version=_str(obj.get("goVersion")),
    )


def served_resources(group_version: str, resource_list: JSON) -> tuple[ServedResource, ...]:
    """The resources of one APIResourceList (discovery of a group-version); subresources left out."""
    group, _, version = group_version.rpartition("/")
    return tuple(
        ServedResource(
            group=group,
            version=version,
            name=_str(r.get("name")),
            kind=_str(r.get("kind")),
            namespaced=r.get("namespaced") is True,
            verbs=frozenset(_str(v) for v in _list(r.get("verbs"))),
        )
        for r in _list(resource_list.get("resources"))
        if isinstance(r, dict) and "/" not in _str(r.get("name"))
    )


# ---------------------------------------------------------------------------------------- API usage


def last_applied_api_version(annotations: JSON) -> str | None:
    """The apiVersion inside kubectl's last-applied-configuration annotation, if there is one."""
    raw = annotations.get(LAST_APPLIED_ANNOTATION)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        applied = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    version = applied.get("apiVersion") if isinstance(applied, dict) else None
    return version if isinstance(version, str) and version else None


def api_usage(obj: JSON, api_version: str | None = None, kind: str | None = None) -> ObjectApiUsage | None:
    """What an object records of the API versions it was written with; None if it records nothing.

    `api_version` and `kind` say where the object was listed (items of a list, and
    PartialObjectMetadata, may not carry their own).
    """
    meta = _dict(obj.get("metadata"))
    annotations = _dict(meta.get("annotations"))
    applied = last_applied_api_version(annotations) if annotations else None
    managed = tuple(
        ManagedFieldsEntry(
            _str(m.get("manager")),
            _str(m.get("operation")),
            _str(m.get("apiVersion")),
            _str(m.get("time")) or None,
        )
        for m in _list(meta.get("managedFields"))
        if isinstance(m, dict)
    )
    if applied is None and not managed:
        return None
    ref = ObjectRef(
        api_version or _str(obj.get("apiVersion")),
        kind or _str(obj.get("kind")),
        _str(meta.get("namespace")),
        _str(meta.get("name")),
    )
    return ObjectApiUsage(ref, applied, managed)


# --------------------------------------------------------------------------------------- the builder

_CONVERTERS = {
    "Namespace": "namespaces",
    "Node": "nodes",
    "Pod": "pods",
    "Deployment": "workloads",
    "ReplicaSet": "workloads",
    "StatefulSet": "workloads",
    "DaemonSet": "workloads",
    "Job": "workloads",
    "PodDisruptionBudget": "pdbs",
    "CustomResourceDefinition": "crds",
}


class ViewBuilder:
    """Collects converted objects into a ClusterView; objects of other kinds are ignored."""

    def __init__(self, interner: Interner | None = None) -> None:
        self.interner = interner if interner is not None else Interner()
        self.nodes: list[NodeView] = []
        self.pods: list[PodView] = []
        self.workloads: list[WorkloadView] = []
        self.pdbs: list[PdbView] = []
        self.namespaces: list[NamespaceView] = []
        self.crds: list[CrdView] = []
        self.api_usage: list[ObjectApiUsage] = []

    def add(self, obj: JSON, kind: str | None = None) -> bool:
        """Converts one object (its `kind`, or the list's, says which view); False if not a view kind."""
        kind = kind or _str(obj.get("kind"))
        target = _CONVERTERS.get(kind)
        if target is None:
            return False
        interner = self.interner
        if target == "pods":
            self.pods.append(pod_view(obj, interner))
        elif target == "workloads":
            self.workloads.append(workload_view(obj, interner, kind))
        elif target == "nodes":
            self.nodes.append(node_view(obj, interner))
        elif target == "pdbs":
            self.pdbs.append(pdb_view(obj, interner))
        elif target == "namespaces":
            self.namespaces.append(namespace_view(obj, interner))
        else:
            self.crds.append(crd_view(obj, interner))
        return True

    def add_all(self, objs: Iterable[JSON], kind: str | None = None) -> None:
        for obj in objs:
            self.add(obj, kind)

    def clear(self, kind: str) -> None:
        """Forgets what was collected for `kind` (a list that restarts from scratch)."""
        target = _CONVERTERS.get(kind)
        if target == "workloads":
            self.workloads = [w for w in self.workloads if w.kind != kind]
        elif target is not None:
            getattr(self, target).clear()

    def build(
        self,
        server: ServerVersion,
        api_resources: Iterable[ServedResource] = (),
        observed_at: datetime | None = None,
        notes: Iterable[str] = (),
    ) -> ClusterView:
        return ClusterView(
            server=server,
            nodes=tuple(sorted(self.nodes, key=lambda n: n.name)),
            pods=tuple(self.pods),
            workloads=tuple(self.workloads),
            pdbs=tuple(self.pdbs),
            namespaces=tuple(sorted(self.namespaces, key=lambda n: n.name)),
            crds=tuple(sorted(self.crds, key=lambda c: c.name)),
            api_usage=tuple(self.api_usage),
            api_resources=tuple(api_resources),
            observed_at=observed_at,
            notes=tuple(notes),
        )

    def merge(self, other: ViewBuilder) -> None:
        """Takes over what `other` collected (builders filled in parallel, one per resource)."""
        self.nodes.extend(other.nodes)
        self.pods.extend(other.pods)
        self.workloads.extend(other.workloads)
        self.pdbs.extend(other.pdbs)
        self.namespaces.extend(other.namespaces)
        self.crds.extend(other.crds)
        self.api_usage.extend(other.api_usage)


def usage_to_json(usage: ObjectApiUsage) -> JSON:
    """The snapshot form of an ObjectApiUsage (read back by `usage_from_json`)."""
    ref = usage.ref
    out: JSON = {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name}
    if ref.namespace:
        out["namespace"] = ref.namespace
    if usage.last_applied_api_version:
        out["lastApplied"] = usage.last_applied_api_version
    if usage.managed_fields:
        out["managedFields"] = [list(entry) for entry in usage.managed_fields]
    return out


def usage_from_json(obj: JSON) -> ObjectApiUsage:
    ref = ObjectRef(
        _str(obj.get("apiVersion")), _str(obj.get("kind")), _str(obj.get("namespace")), _str(obj.get("name"))
    )
    managed = tuple(
        ManagedFieldsEntry(_str(e[0]), _str(e[1]), _str(e[2]), e[3] if isinstance(e[3], str) else None)
        for e in _list(obj.get("managedFields"))
        if isinstance(e, list) and len(e) == 4
    )
    return ObjectApiUsage(ref, _str(obj.get("lastApplied")) or None, managed)


def resource_to_json(resource: ServedResource) -> JSON:
    return {
        "group": resource.group,
        "version": resource.version,
        "name": resource.name,
        "kind": resource.kind,
        "namespaced": resource.namespaced,
        "verbs": sorted(resource.verbs),
    }


def resource_from_json(obj: JSON) -> ServedResource:
    return ServedResource(
        group=_str(obj.get("group")),
        version=_str(obj.get("version")),
        name=_str(obj.get("name")),
        kind=_str(obj.get("kind")),
        namespaced=obj.get("namespaced") is True,
        verbs=frozenset(_str(v) for v in _list(obj.get("verbs"))),
    )
