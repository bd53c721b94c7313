"""Server-side printing: the `meta.k8s.io/v1 Table` kube-apiserver returns to `kubectl get`.

Mirrors kubernetes' pkg/printers/internalversion/printers.go (column names, order, types, priorities
and cell formatting), the generic registry's default convertor (Name, Created At) and the CRD
convertor's default Age column. The apiserver always prints "wide" (printerstorage passes
Wide: true), so every row carries every column and kubectl hides priority-1 columns itself.
Where upstream declares a column "string" but emits an integer cell (Deployment Up-to-date,
Secret Data, ...), this does the same: kubectl prints whatever the server sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

JSONDict = dict[str, Any]
Cell = str | int | bool | None

_T = TypeVar("_T")

_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_NONE = "<none>"
_UNKNOWN = "<unknown>"
_UNSET = "<unset>"


# --- time -------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_time(value: Any) -> datetime | None:
    """A metav1.Time / MicroTime, or None for null, empty, unparsable or Go's zero time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return None if moment == _ZERO_TIME else moment


def _human_duration(d: timedelta) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, with Go's truncating integer maths."""
    micros = d // timedelta(microseconds=1)
    seconds = micros // 1_000_000 if micros >= 0 else -((-micros) // 1_000_000)
    # Up to a second in the future counts as now: clocks of different machines drift.
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def human_age(created: str | None, now: datetime) -> str:
    """printers.go translateTimestampSince: HumanDuration since `created`, "<unknown>" when unset."""
    moment = _parse_time(created)
    if moment is None:
        return _UNKNOWN
    return _human_duration(_aware(now) - moment)


def _since(value: Any, now: datetime) -> str:
    return human_age(value if isinstance(value, str) else None, now)


# --- field access -----------------------------------------------------------------------------


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _dicts(value: Any) -> list[JSONDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        return default


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


# --- the printing machinery -------------------------------------------------------------------


class _Ctx:
    """The object a row prints, with a cache for values several of its cells derive from."""

    __slots__ = ("_memo", "now", "obj")

    def __init__(self, obj: JSONDict, now: datetime) -> None:
        self.obj = obj
        self.now = _aware(now)
        self._memo: dict[Callable[[_Ctx], Any], Any] = {}

    def get(self, *path: str) -> Any:
        return _dig(self.obj, *path)

    def derived(self, fn: Callable[[_Ctx], _T]) -> _T:
        if fn not in self._memo:
            self._memo[fn] = fn(self)
        return cast(_T, self._memo[fn])


CellFn = Callable[[_Ctx], Cell]


@dataclass(frozen=True)
class _Col:
    """One column: `doc` is a key of _DOCS (upstream's SwaggerDoc reference or literal text)."""

    name: str
    type: str
    doc: str
    cell: CellFn
    priority: int = 0
    format: str = ""

    def definition(self) -> JSONDict:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": _DOCS[self.doc],
            "priority": self.priority,
        }


@dataclass(frozen=True)
class _Printer:
    columns: tuple[_Col, ...]
    # TableRow.conditions: only pods set any (Completed, for Succeeded and Failed pods).
    conditions: Callable[[_Ctx], list[JSONDict]] | None = None


# Cell-function factories, so most columns are one line of data.


def _text(*path: str, default: str = "") -> CellFn:
    return lambda c: _str(c.get(*path)) or default


def _number(*path: str, default: int = 0) -> CellFn:
    return lambda c: _int(c.get(*path), default)


def _length(*path: str) -> CellFn:
    return lambda c: _size(c.get(*path))


def _age_of(*path: str) -> CellFn:
    return lambda c: _since(c.get(*path), c.now)


def _labels_of(*path: str) -> CellFn:
    return lambda c: _format_labels(c.get(*path))


def _bool_ptr(*path: str) -> CellFn:
    """printBoolPtr: "True"/"False", "<unset>" for nil."""

    def cell(c: _Ctx) -> str:
        value = c.get(*path)
        return _UNSET if value is None else "True" if value is True else "False"

    return cell


def _flag(*path: str) -> CellFn:
    return lambda c: c.get(*path) is True


def _int_or_string(*path: str) -> CellFn:
    """intstr.String(), "N/A" when unset (printPodDisruptionBudget)."""
    return lambda c: "N/A" if c.get(*path) is None else _str(c.get(*path))


def _deleting(c: _Ctx) -> bool:
    return c.get("metadata", "deletionTimestamp") is not None


# --- shared formatting ------------------------------------------------------------------------


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not isinstance(labels, dict) or not labels:
        return _NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _selector_string(selector: Any) -> str | None:
    """metav1.LabelSelectorAsSelector(...).String(); None when the selector is invalid."""
    if not isinstance(selector, dict):
        return ""
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return None
    requirements = [(k, f"{k}={v}") for k, v in match_labels.items()]
    for expr in _dicts(selector.get("matchExpressions")):
        key, op = _str(expr.get("key")), expr.get("operator")
        values = ",".join(sorted(_str(v) for v in expr.get("values") or []))
        if op == "In":
            requirements.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            requirements.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            requirements.append((key, key))
        elif op == "DoesNotExist":
            requirements.append((key, f"!{key}"))
        else:
            return None
    # Selector.Add sorts requirements by key.
    requirements.sort(key=lambda r: r[0])
    return ",".join(text for _, text in requirements)


def _label_selector(*path: str) -> CellFn:
    """metav1.FormatLabelSelector: "<none>" when empty, "<error>" when invalid."""

    def cell(c: _Ctx) -> str:
        text = _selector_string(c.get(*path))
        return "<error>" if text is None else (text or _NONE)

    return cell


def _deployment_selector(c: _Ctx) -> str:
    # printDeployment prints the selector as is: empty stays empty, and an invalid one is "<invalid>".
    text = _selector_string(c.get("spec", "selector"))
    return "<invalid>" if text is None else text


def _container_names(*spec_path: str) -> CellFn:
    return lambda c: ",".join(_str(x.get("name")) for x in _dicts(c.get(*spec_path, "containers")))


def _container_images(*spec_path: str) -> CellFn:
    return lambda c: ",".join(_str(x.get("image")) for x in _dicts(c.get(*spec_path, "containers")))


def _access_modes(modes: Any) -> str:
    """helper.GetAccessModesAsString: a fixed order, duplicates dropped."""
    present = set(modes) if isinstance(modes, list) else set()
    order = (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    )
    return ",".join(short for mode, short in order if mode in present)


def _quantity(value: Any) -> str:
    # Stored quantities are already canonical; an absent one prints as Quantity{}.String().
    return "0" if value is None else _str(value)


# --- Node -------------------------------------------------------------------------------------

_ROLE_PREFIX = "node-role.kubernetes.io/"


def _node_status(c: _Ctx) -> str:
    conditions = {x.get("type"): x for x in _dicts(c.get("status", "conditions"))}
    ready = conditions.get("Ready")
    # Only the Ready condition is reported; a node that never posted one is Unknown.
    status = ["Unknown" if ready is None else "Ready" if ready.get("status") == "True" else "NotReady"]
    if c.get("spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_roles(c: _Ctx) -> str:
    roles: set[str] = set()
    for key, value in (c.get("metadata", "labels") or {}).items():
        if key.startswith(_ROLE_PREFIX):
            if role := key[len(_ROLE_PREFIX) :]:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(_str(value))
    return ",".join(sorted(roles)) or _NONE


def _node_address(kind: str) -> CellFn:
    def cell(c: _Ctx) -> str:
        for address in _dicts(c.get("status", "addresses")):
            if address.get("type") == kind:
                return _str(address.get("address"))
        return _NONE

    return cell


def _node_info(field: str) -> CellFn:
    return _text("status", "nodeInfo", field, default=_UNKNOWN)


# --- Pod --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PodView:
    ready: str
    status: str
    restarts: str


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or current < candidate else current


def _last_termination(container_status: JSONDict) -> datetime | None:
    return _parse_time(_dig(container_status, "lastState", "terminated", "finishedAt"))


def _condition_true(conditions: Any, kind: str) -> bool:
    """The first condition of `kind` is True (isPodInitializedConditionTrue, hasJobCondition)."""
    for condition in _dicts(conditions):
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _terminated_reason(terminated: JSONDict, prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + _str(terminated["reason"])
    if signal := _int(terminated.get("signal")):
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _pod_view(c: _Ctx) -> _PodView:
    """printPod's READY, STATUS and RESTARTS, computed together as upstream does."""
    spec, status = c.get("spec") or {}, c.get("status") or {}
    conditions = status.get("conditions")
    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for condition in _dicts(conditions):
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = _dicts(spec.get("initContainers"))
    # Sidecars (restartable init containers) count towards READY like regular containers.
    sidecar_specs = [x for x in init_specs if x.get("restartPolicy") == "Always"]
    sidecars = {_str(x.get("name")) for x in sidecar_specs}
    total = len(_dicts(spec.get("containers"))) + len(sidecar_specs)
    ready = restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    initializing = False
    for i, container in enumerate(_dicts(status.get("initContainerStatuses"))):
        count, finished = _int(container.get("restartCount")), _last_termination(container)
        restarts += count
        last_restart = _later(last_restart, finished)
        sidecar = _str(container.get("name")) in sidecars
        if sidecar:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        terminated, waiting = _dig(container, "state", "terminated"), _dig(container, "state", "waiting")
        if isinstance(terminated, dict) and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started") is True:
            ready += 1 if container.get("ready") else 0
            continue
        if isinstance(terminated, dict):
            reason = _terminated_reason(terminated, "Init:")
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + _str(waiting["reason"])
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        # Init containers' restarts are history once the pod is initialized; sidecars' are not.
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for container in reversed(_dicts(status.get("containerStatuses"))):
            restarts += _int(container.get("restartCount"))
            last_restart = _later(last_restart, _last_termination(container))
            state = container.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = _str(waiting["reason"])
            elif isinstance(terminated, dict):
                reason = _terminated_reason(terminated, "")
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # A completed container next to a running one doesn't make the pod Completed.
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    if _deleting(c) and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif _deleting(c) and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({_human_duration(c.now - last_restart)} ago)"
    return _PodView(f"{ready}/{total}", reason, restarts_text)


def _pod_ready(c: _Ctx) -> str:
    return c.derived(_pod_view).ready


def _pod_status(c: _Ctx) -> str:
    return c.derived(_pod_view).status


def _pod_restarts(c: _Ctx) -> str:
    return c.derived(_pod_view).restarts


def _pod_ip(c: _Ctx) -> str:
    ips = _dicts(c.get("status", "podIPs"))
    ip = _str(ips[0].get("ip")) if ips else _str(c.get("status", "podIP"))
    return ip or _NONE


def _readiness_gates(c: _Ctx) -> str:
    gates = _dicts(c.get("spec", "readinessGates"))
    if not gates:
        return _NONE
    conditions = _dicts(c.get("status", "conditions"))
    passed = 0
    for gate in gates:
        match = next((x for x in conditions if x.get("type") == gate.get("conditionType")), None)
        passed += 1 if match is not None and match.get("status") == "True" else 0
    return f"{passed}/{len(gates)}"


_POD_FINISHED = {
    "Succeeded": {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    },
    "Failed": {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."},
}


def _pod_conditions(c: _Ctx) -> list[JSONDict]:
    condition = _POD_FINISHED.get(_str(c.get("status", "phase")))
    return [dict(condition)] if condition else []


# --- workloads --------------------------------------------------------------------------------


def _ready_of_desired(c: _Ctx) -> str:
    # spec.replicas defaults to 1 in apps/v1.
    return f"{_int(c.get('status', 'readyReplicas'))}/{_int(c.get('spec', 'replicas'), 1)}"


def _controller(c: _Ctx) -> str:
    """printControllerRevision: "<kind>.<group>/<name>" of the controlling owner, lower-cased."""
    for ref in _dicts(c.get("metadata", "ownerReferences")):
        if ref.get("controller") is True:
            group = _str(ref.get("apiVersion")).rpartition("/")[0]
            kind = _str(ref.get("kind"))
            group_kind = f"{kind}.{group}" if group else kind
            name = _str(ref.get("name"))
            return f"{group_kind.lower()}/{name}" if group_kind else name
    return _NONE


def _job_status(c: _Ctx) -> str:
    conditions = c.get("status", "conditions")
    if _condition_true(conditions, "Complete"):
        return "Complete"
    if _condition_true(conditions, "Failed"):
        return "Failed"
    if _deleting(c):
        return "Terminating"
    if _condition_true(conditions, "Suspended"):
        return "Suspended"
    if _condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_completions(c: _Ctx) -> str:
    succeeded = _int(c.get("status", "succeeded"))
    completions = c.get("spec", "completions")
    if completions is not None:
        return f"{succeeded}/{_int(completions)}"
    parallelism = _int(c.get("spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(c: _Ctx) -> str:
    start = _parse_time(c.get("status", "startTime"))
    if start is None:
        return ""
    end = _parse_time(c.get("status", "completionTime")) or c.now
    return _human_duration(end - start)


def _last_schedule(c: _Ctx) -> str:
    value = c.get("status", "lastScheduleTime")
    return _NONE if value is None else _since(value, c.now)


# --- services and friends ---------------------------------------------------------------------


def _service_type(c: _Ctx) -> str:
    # The apiserver defaults spec.type; an object nobody defaulted is a ClusterIP service too.
    return _str(c.get("spec", "type")) or "ClusterIP"


def _cluster_ip(c: _Ctx) -> str:
    ips = c.get("spec", "clusterIPs")
    if isinstance(ips, list) and ips:
        return _str(ips[0])
    return _str(c.get("spec", "clusterIP")) or _NONE


def _external_ip(c: _Ctx) -> str:
    external = [_str(x) for x in c.get("spec", "externalIPs") or []]
    kind = _service_type(c)
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or _NONE
    if kind == "LoadBalancer":
        ingress = _dicts(c.get("status", "loadBalancer", "ingress"))
        # Never clipped to 16 characters: the server always prints wide.
        balancers = sorted({_str(x.get("ip")) or _str(x.get("hostname")) for x in ingress} - {""})
        if external:
            return ",".join(balancers + external)
        return ",".join(balancers) or "<pending>"
    if kind == "ExternalName":
        return _str(c.get("spec", "externalName"))
    return _UNKNOWN


def _ports(c: _Ctx) -> str:
    pieces = []
    for port in _dicts(c.get("spec", "ports")):
        node_port = _int(port.get("nodePort"))
        via = f":{node_port}" if node_port > 0 else ""
        pieces.append(f"{_int(port.get('port'))}{via}/{_str(port.get('protocol')) or 'TCP'}")
    return ",".join(pieces) or _NONE


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _endpoints(c: _Ctx) -> str:
    """formatEndpoints: the first three addresses (host:port once per port), then "+ N more..."."""
    subsets = _dicts(c.get("subsets"))
    if not subsets:
        return _NONE
    limit, count, more = 3, 0, False
    shown: list[str] = []
    for subset in subsets:
        addresses = [_str(a.get("ip")) for a in _dicts(subset.get("addresses"))]
        ports = [_int(p.get("port")) for p in _dicts(subset.get("ports"))]
        # Headless services may have no ports: then the bare addresses.
        groups = [[_host_port(a, port) for a in addresses] for port in ports] if ports else [addresses]
        for group in groups:
            count += len(group)
            for item in group:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(item)
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _config_map_data(c: _Ctx) -> int:
    return _size(c.get("data")) + _size(c.get("binaryData"))


# --- events -----------------------------------------------------------------------------------


def _event_first(c: _Ctx) -> str:
    first = c.get("firstTimestamp")
    return _since(first if _parse_time(first) else c.get("eventTime"), c.now)


def _event_last(c: _Ctx) -> str:
    series = c.get("series")
    if isinstance(series, dict):
        return _since(series.get("lastObservedTime"), c.now)
    last = c.get("lastTimestamp")
    return _since(last, c.now) if _parse_time(last) else _event_first(c)


def _event_count(c: _Ctx) -> int:
    series = c.get("series")
    if isinstance(series, dict):
        return _int(series.get("count"))
    # Singleton events written through events.k8s.io carry no count.
    return _int(c.get("count")) or 1


def _event_object(c: _Ctx) -> str:
    kind = _str(c.get("involvedObject", "kind")).lower()
    name = _str(c.get("involvedObject", "name"))
    return f"{kind}/{name}" if name else kind


def _event_source(c: _Ctx) -> str:
    component = _str(c.get("source", "component")) or _str(c.get("reportingComponent"))
    instance = _str(c.get("source", "host")) or _str(c.get("reportingInstance"))
    return f"{component}, {instance}" if instance else component


def _event_message(c: _Ctx) -> str:
    return _str(c.get("message")).strip()


# --- storage ----------------------------------------------------------------------------------


def _phase_or_terminating(c: _Ctx) -> str:
    return "Terminating" if _deleting(c) else _str(c.get("status", "phase"))


def _storage_class_of(c: _Ctx) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation still wins over the field."""
    annotations = c.get("metadata", "annotations") or {}
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return _str(annotations["volume.beta.kubernetes.io/storage-class"])
    return _str(c.get("spec", "storageClassName"))


def _if_bound(fn: CellFn) -> CellFn:
    # printPersistentVolumeClaim shows capacity and access modes only once bound to a volume.
    return lambda c: fn(c) if c.get("spec", "volumeName") else ""


def _pvc_capacity(c: _Ctx) -> str:
    return _quantity(c.get("status", "capacity", "storage"))


def _pvc_access_modes(c: _Ctx) -> str:
    return _access_modes(c.get("status", "accessModes"))


def _pv_capacity(c: _Ctx) -> str:
    return _quantity(c.get("spec", "capacity", "storage"))


def _pv_access_modes(c: _Ctx) -> str:
    return _access_modes(c.get("spec", "accessModes"))


def _claim(c: _Ctx) -> str:
    ref = c.get("spec", "claimRef")
    return f"{_str(ref.get('namespace'))}/{_str(ref.get('name'))}" if isinstance(ref, dict) else ""


_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storage_class_name(c: _Ctx) -> str:
    annotations = c.get("metadata", "annotations") or {}
    name = _str(c.get("metadata", "name"))
    is_default = any(annotations.get(key) == "true" for key in _DEFAULT_CLASS_ANNOTATIONS)
    return f"{name} (default)" if is_default else name


# --- rbac and the default convertors ----------------------------------------------------------


def _role_ref(c: _Ctx) -> str:
    return f"{_str(c.get('roleRef', 'kind'))}/{_str(c.get('roleRef', 'name'))}"


def _subjects(kind: str) -> CellFn:
    """rbac.SubjectsStrings: users and groups by name, service accounts as namespace/name."""

    def cell(c: _Ctx) -> str:
        names = []
        for subject in _dicts(c.get("subjects")):
            if subject.get("kind") == kind:
                name = _str(subject.get("name"))
                names.append(f"{_str(subject.get('namespace'))}/{name}" if kind == "ServiceAccount" else name)
        return ", ".join(names)

    return cell


def _created_at(c: _Ctx) -> str:
    # rest.defaultTableConvertor formats the timestamp (Go's zero time when unset) as RFC3339 UTC.
    moment = _parse_time(c.get("metadata", "creationTimestamp")) or _ZERO_TIME
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _crd_age(c: _Ctx) -> Cell:
    # The CRD convertor's "date" cells: HumanDuration, or null when the field is missing.
    created = c.get("metadata", "creationTimestamp")
    return None if created is None else _since(created, c.now)


# --- the column tables ------------------------------------------------------------------------

# Column descriptions: upstream quotes SwaggerDoc texts; the long shared ones verbatim, the rest by
# their first sentence (kubectl never displays descriptions).
_DOCS: dict[str, str] = {
    "name": "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. Name is "
    "primarily intended for creation idempotence and configuration definition. Cannot be updated. More "
    "info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "creationTimestamp": "CreationTimestamp is a timestamp representing the server time when this object "
    "was created. It is not guaranteed to be set in happens-before order across separate operations. "
    "Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the "
    "system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    "crd.age": "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp",
    "containers": "Names of each container in the template.",
    "images": "Images referenced by each container in the template.",
    "ready": "Number of the pod with ready state",
    "node.status": "The status of the node",
    "node.roles": "The roles of the node",
    "node.addresses": "List of addresses reachable to the node.",
    "node.kubeletVersion": "Kubelet Version reported by the node.",
    "node.osImage": "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    "node.kernelVersion": "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    "node.containerRuntimeVersion": "ContainerRuntime Version reported by the node through runtime remote "
    "API (e.g. containerd://1.4.2).",
    "pod.ready": "The aggregate readiness state of this pod for accepting traffic.",
    "pod.status": "The aggregate status of the containers in this pod.",
    "pod.restarts": "The number of times the containers in this pod have been restarted and when the last "
    "container in this pod has restarted.",
    "pod.podIP": "podIP address allocated to the pod.",
    "pod.nodeName": "NodeName indicates in which node this pod is scheduled.",
    "pod.nominatedNodeName": "nominatedNodeName is set only when this pod preempts other pods on the node, "
    "but it cannot be scheduled right away as preemption victims receive their graceful termination "
    "periods.",
    "pod.readinessGates": "If specified, all readiness gates will be evaluated for pod readiness.",
    "pod.nodeSelector": "NodeSelector is a selector which must be true for the pod to fit on a node.",
    "deployment.updatedReplicas": "Total number of non-terminating pods targeted by this deployment that "
    "have the desired template spec.",
    "deployment.availableReplicas": "Total number of available non-terminating pods (ready for at least "
    "minReadySeconds) targeted by this deployment.",
    "deployment.selector": "Label selector for pods.",
    "replicaset.replicas": "Replicas is the number of desired pods.",
    "replicaset.status.replicas": "Replicas is the most recently observed number of non-terminating pods.",
    "replicaset.readyReplicas": "The number of non-terminating pods targeted by this ReplicaSet with a "
    "Ready Condition.",
    "replicaset.selector": "Selector is a label query over pods that should match the replica count.",
    "daemonset.desiredNumberScheduled": "The total number of nodes that should be running the daemon pod "
    "(including nodes correctly running the daemon pod).",
    "daemonset.currentNumberScheduled": "The number of nodes that are running at least 1 daemon pod and are "
    "supposed to run the daemon pod.",
    "daemonset.numberReady": "numberReady is the number of nodes that should be running the daemon pod and "
    "have one or more of the daemon pod running with a Ready Condition.",
    "daemonset.updatedNumberScheduled": "The total number of nodes that are running updated daemon pod",
    "daemonset.numberAvailable": "The number of nodes that should be running the daemon pod and have one or "
    "more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    "daemonset.selector": "A label query over pods that are managed by the daemon set.",
    "controllerrevision.controller": "Controller of the object",
    "controllerrevision.revision": "Revision indicates the revision of the state represented by Data.",
    "job.status": "Status of the job.",
    "job.succeeded": "The number of pods which reached phase Succeeded.",
    "job.duration": "Time required to complete the job.",
    "job.selector": "A label query over pods that should match the pod count.",
    "cronjob.schedule": "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    "cronjob.timeZone": "The time zone name for the given schedule, see "
    "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    "cronjob.suspend": "This flag tells the controller to suspend subsequent executions, it does not apply "
    "to already started executions.",
    "cronjob.active": "A list of pointers to currently running jobs.",
    "cronjob.lastScheduleTime": "Information when was the last time the job was successfully scheduled.",
    "service.type": "type determines how the Service is exposed.",
    "service.clusterIP": "clusterIP is the IP address of the service and is usually assigned randomly.",
    "service.externalIPs": "externalIPs is a list of IP addresses for which nodes in the cluster will also "
    "accept traffic for this service.",
    "service.ports": "The list of ports that are exposed by this service.",
    "service.selector": "Route service traffic to pods with label keys and values matching this selector.",
    "endpoints.subsets": "The set of all endpoints is the union of all subsets.",
    "namespace.status": "The status of the namespace",
    "configmap.data": "Data contains the configuration data.",
    "secret.type": "Used to facilitate programmatic handling of secret data.",
    "secret.data": "Data contains the secret data.",
    "serviceaccount.secrets": "Secrets is a list of the secrets in the same namespace that pods running "
    "using this ServiceAccount are allowed to use.",
    "event.lastTimestamp": "The time at which the most recent occurrence of this event was recorded.",
    "event.type": "Type of this event (Normal, Warning), new types could be added in the future",
    "event.reason": "This should be a short, machine understandable string that gives the reason for the "
    "transition into the object's current status.",
    "event.involvedObject": "The object that this event is about.",
    "event.fieldPath": "If referring to a piece of an object instead of an entire object, this string "
    "should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
    "event.source": "The component reporting this event.",
    "event.message": "A human-readable description of the status of this operation.",
    "event.firstTimestamp": "The time at which the event was first recorded.",
    "event.count": "The number of times this event has occurred.",
    "pvc.phase": "phase represents the current phase of PersistentVolumeClaim.",
    "pvc.volumeName": "volumeName is the binding reference to the PersistentVolume backing this claim.",
    "pvc.capacity": "capacity represents the actual resources of the underlying volume.",
    "pvc.accessModes": "accessModes contains the actual access modes the volume backing the PVC has.",
    "pvc.storageClass": "StorageClass of the pvc",
    "pvc.volumeAttributesClass": "VolumeAttributesClass of the pvc",
    "pvc.volumeMode": "volumeMode defines what type of volume is required by the claim.",
    "pv.capacity": "capacity is the description of the persistent volume's resources and capacity.",
    "pv.accessModes": "accessModes contains all ways the volume can be mounted.",
    "pv.reclaimPolicy": "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
    "released from its claim.",
    "pv.phase": "phase indicates if a volume is available, bound to a claim, or released by a claim.",
    "pv.claimRef": "claimRef is part of a bi-directional binding between PersistentVolume and "
    "PersistentVolumeClaim.",
    "pv.storageClass": "StorageClass of the pv",
    "pv.volumeAttributesClass": "VolumeAttributesClass of the pv",
    "pv.reason": "reason is a brief CamelCase string that describes any failure and is meant for machine "
    "parsing and tidy display in the CLI.",
    "pv.volumeMode": "volumeMode defines if a volume is intended to be used with a formatted filesystem or "
    "to remain in raw block state.",
    "storageclass.provisioner": "provisioner indicates the type of the provisioner.",
    "storageclass.reclaimPolicy": "reclaimPolicy controls the reclaimPolicy for dynamically provisioned "
    "PersistentVolumes of this storage class.",
    "storageclass.volumeBindingMode": "volumeBindingMode indicates how PersistentVolumeClaims should be "
    "provisioned and bound.",
    "storageclass.allowVolumeExpansion": "allowVolumeExpansion shows whether the storage class allow volume "
    "expand.",
    "pdb.minAvailable": "The minimum number of pods that must be available.",
    "pdb.maxUnavailable": "The maximum number of pods that may be unavailable.",
    "pdb.disruptionsAllowed": "Calculated number of pods that may be disrupted at this time.",
    "lease.holderIdentity": "holderIdentity contains the identity of the holder of a current lease.",
    "priorityclass.value": "value represents the integer value of this priority class.",
    "priorityclass.globalDefault": "globalDefault specifies whether this PriorityClass should be considered "
    "as the default priority for pods that do not have any priority class.",
    "priorityclass.preemptionPolicy": "preemptionPolicy is the Policy for preempting pods with lower "
    "priority.",
    "rolebinding.roleRef": "RoleRef can reference a Role in the current namespace or a ClusterRole in the "
    "global namespace.",
    "rolebinding.users": "Users in the roleBinding",
    "rolebinding.groups": "Groups in the roleBinding",
    "rolebinding.serviceAccounts": "ServiceAccounts in the roleBinding",
    "clusterrolebinding.roleRef": "RoleRef can only reference a ClusterRole in the global namespace.",
    "clusterrolebinding.users": "Users in the clusterRoleBinding",
    "clusterrolebinding.groups": "Groups in the clusterRoleBinding",
    "clusterrolebinding.serviceAccounts": "ServiceAccounts in the clusterRoleBinding",
}

NAME = _Col("Name", "string", "name", _text("metadata", "name"), format="name")
AGE = _Col("Age", "string", "creationTimestamp", _age_of("metadata", "creationTimestamp"))
_TEMPLATE = ("spec", "template", "spec")
_JOB_TEMPLATE = ("spec", "jobTemplate", "spec", "template", "spec")


def _containers(*spec_path: str) -> tuple[_Col, _Col]:
    """The wide Containers and Images columns of workload controllers."""
    return (
        _Col("Containers", "string", "containers", _container_names(*spec_path), 1),
        _Col("Images", "string", "images", _container_images(*spec_path), 1),
    )


def _bindings(noun: str) -> _Printer:
    return _Printer(
        (
            NAME,
            _Col("Role", "string", f"{noun}.roleRef", _role_ref),
            AGE,
            _Col("Users", "string", f"{noun}.users", _subjects("User"), 1),
            _Col("Groups", "string", f"{noun}.groups", _subjects("Group"), 1),
            _Col("ServiceAccounts", "string", f"{noun}.serviceAccounts", _subjects("ServiceAccount"), 1),
        )
    )


# Built-ins served by the generic registry's default convertor (`kubectl get crd` shows CREATED AT).
_DEFAULT = _Printer((NAME, _Col("Created At", "date", "creationTimestamp", _created_at)))
# Custom resources: a CRD without additionalPrinterColumns is defaulted to a single Age column.
_CUSTOM = _Printer((NAME, _Col("Age", "date", "crd.age", _crd_age)))

_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "Node"): _Printer(
        (
            NAME,
            _Col("Status", "string", "node.status", _node_status),
            _Col("Roles", "string", "node.roles", _node_roles),
            AGE,
            _Col("Version", "string", "node.kubeletVersion", _text("status", "nodeInfo", "kubeletVersion")),
            _Col("Internal-IP", "string", "node.addresses", _node_address("InternalIP"), 1),
            _Col("External-IP", "string", "node.addresses", _node_address("ExternalIP"), 1),
            _Col("OS-Image", "string", "node.osImage", _node_info("osImage"), 1),
            _Col("Kernel-Version", "string", "node.kernelVersion", _node_info("kernelVersion"), 1),
            _Col(
                "Container-Runtime",
                "string",
                "node.containerRuntimeVersion",
                _node_info("containerRuntimeVersion"),
                1,
            ),
        )
    ),
    ("", "Pod"): _Printer(
        (
            NAME,
            _Col("Ready", "string", "pod.ready", _pod_ready),
            _Col("Status", "string", "pod.status", _pod_status),
            _Col("Restarts", "string", "pod.restarts", _pod_restarts),
            AGE,
            _Col("IP", "string", "pod.podIP", _pod_ip, 1),
            _Col("Node", "string", "pod.nodeName", _text("spec", "nodeName", default=_NONE), 1),
            _Col(
                "Nominated Node",
                "string",
                "pod.nominatedNodeName",
                _text("status", "nominatedNodeName", default=_NONE),
                1,
            ),
            _Col("Readiness Gates", "string", "pod.readinessGates", _readiness_gates, 1),
        ),
        conditions=_pod_conditions,
    ),
    ("", "Namespace"): _Printer(
        (NAME, _Col("Status", "string", "namespace.status", _text("status", "phase")), AGE)
    ),
    ("", "Service"): _Printer(
        (
            NAME,
            _Col("Type", "string", "service.type", _service_type),
            _Col("Cluster-IP", "string", "service.clusterIP", _cluster_ip),
            _Col("External-IP", "string", "service.externalIPs", _external_ip),
            _Col("Port(s)", "string", "service.ports", _ports),
            AGE,
            _Col("Selector", "string", "service.selector", _labels_of("spec", "selector"), 1),
        )
    ),
    ("", "Endpoints"): _Printer((NAME, _Col("Endpoints", "string", "endpoints.subsets", _endpoints), AGE)),
    ("", "ConfigMap"): _Printer((NAME, _Col("Data", "string", "configmap.data", _config_map_data), AGE)),
    ("", "Secret"): _Printer(
        (
            NAME,
            _Col("Type", "string", "secret.type", _text("type")),
            _Col("Data", "string", "secret.data", _length("data")),
            AGE,
        )
    ),
    ("", "ServiceAccount"): _Printer(
        (NAME, _Col("Secrets", "string", "serviceaccount.secrets", _length("secrets")), AGE)
    ),
    ("", "Event"): _Printer(
        (
            _Col("Last Seen", "string", "event.lastTimestamp", _event_last),
            _Col("Type", "string", "event.type", _text("type")),
            _Col("Reason", "string", "event.reason", _text("reason")),
            _Col("Object", "string", "event.involvedObject", _event_object),
            _Col("Subobject", "string", "event.fieldPath", _text("involvedObject", "fieldPath"), 1),
            _Col("Source", "string", "event.source", _event_source, 1),
            _Col("Message", "string", "event.message", _event_message),
            _Col("First Seen", "string", "event.firstTimestamp", _event_first, 1),
            _Col("Count", "string", "event.count", _event_count, 1),
            _Col("Name", "string", "name", _text("metadata", "name"), 1, format="name"),
        )
    ),
    ("", "PersistentVolumeClaim"): _Printer(
        (
            NAME,
            _Col("Status", "string", "pvc.phase", _phase_or_terminating),
            _Col("Volume", "string", "pvc.volumeName", _text("spec", "volumeName")),
            _Col("Capacity", "string", "pvc.capacity", _if_bound(_pvc_capacity)),
            _Col("Access Modes", "string", "pvc.accessModes", _if_bound(_pvc_access_modes)),
            _Col("StorageClass", "string", "pvc.storageClass", _storage_class_of),
            _Col(
                "VolumeAttributesClass",
                "string",
                "pvc.volumeAttributesClass",
                _text("spec", "volumeAttributesClassName", default=_UNSET),
            ),
            AGE,
            _Col("VolumeMode", "string", "pvc.volumeMode", _text("spec", "volumeMode", default=_UNSET), 1),
        )
    ),
    ("", "PersistentVolume"): _Printer(
        (
            NAME,
            _Col("Capacity", "string", "pv.capacity", _pv_capacity),
            _Col("Access Modes", "string", "pv.accessModes", _pv_access_modes),
            _Col(
                "Reclaim Policy", "string", "pv.reclaimPolicy", _text("spec", "persistentVolumeReclaimPolicy")
            ),
            _Col("Status", "string", "pv.phase", _phase_or_terminating),
            _Col("Claim", "string", "pv.claimRef", _claim),
            _Col("StorageClass", "string", "pv.storageClass", _storage_class_of),
            _Col(
                "VolumeAttributesClass",
                "string",
                "pv.volumeAttributesClass",
                _text("spec", "volumeAttributesClassName", default=_UNSET),
            ),
            _Col("Reason", "string", "pv.reason", _text("status", "reason")),
            AGE,
            _Col("VolumeMode", "string", "pv.volumeMode", _text("spec", "volumeMode", default=_UNSET), 1),
        )
    ),
    ("apps", "Deployment"): _Printer(
        (
            NAME,
            _Col("Ready", "string", "ready", _ready_of_desired),
            _Col("Up-to-date", "string", "deployment.updatedReplicas", _number("status", "updatedReplicas")),
            _Col(
                "Available", "string", "deployment.availableReplicas", _number("status", "availableReplicas")
            ),
            AGE,
            *_containers(*_TEMPLATE),
            _Col("Selector", "string", "deployment.selector", _deployment_selector, 1),
        )
    ),
    ("apps", "ReplicaSet"): _Printer(
        (
            NAME,
            _Col("Desired", "integer", "replicaset.replicas", _number("spec", "replicas", default=1)),
            _Col("Current", "integer", "replicaset.status.replicas", _number("status", "replicas")),
            _Col("Ready", "integer", "replicaset.readyReplicas", _number("status", "readyReplicas")),
            AGE,
            *_containers(*_TEMPLATE),
            _Col("Selector", "string", "replicaset.selector", _label_selector("spec", "selector"), 1),
        )
    ),
    ("apps", "StatefulSet"): _Printer(
        (NAME, _Col("Ready", "string", "ready", _ready_of_desired), AGE, *_containers(*_TEMPLATE))
    ),
    ("apps", "DaemonSet"): _Printer(
        (
            NAME,
            _Col(
                "Desired",
                "integer",
                "daemonset.desiredNumberScheduled",
                _number("status", "desiredNumberScheduled"),
            ),
            _Col(
                "Current",
                "integer",
                "daemonset.currentNumberScheduled",
                _number("status", "currentNumberScheduled"),
            ),
            _Col("Ready", "integer", "daemonset.numberReady", _number("status", "numberReady")),
            _Col(
                "Up-to-date",
                "integer",
                "daemonset.updatedNumberScheduled",
                _number("status", "updatedNumberScheduled"),
            ),
            _Col("Available", "integer", "daemonset.numberAvailable", _number("status", "numberAvailable")),
            _Col("Node Selector", "string", "pod.nodeSelector", _labels_of(*_TEMPLATE, "nodeSelector")),
            AGE,
            *_containers(*_TEMPLATE),
            _Col("Selector", "string", "daemonset.selector", _label_selector("spec", "selector"), 1),
        )
    ),
    ("apps", "ControllerRevision"): _Printer(
        (
            NAME,
            _Col("Controller", "string", "controllerrevision.controller", _controller),
            _Col("Revision", "string", "controllerrevision.revision", _number("revision")),
            AGE,
        )
    ),
    ("batch", "Job"): _Printer(
        (
            NAME,
            _Col("Status", "string", "job.status", _job_status),
            _Col("Completions", "string", "job.succeeded", _job_completions),
            _Col("Duration", "string", "job.duration", _job_duration),
            AGE,
            *_containers(*_TEMPLATE),
            _Col("Selector", "string", "job.selector", _label_selector("spec", "selector"), 1),
        )
    ),
    ("batch", "CronJob"): _Printer(
        (
            NAME,
            _Col("Schedule", "string", "cronjob.schedule", _text("spec", "schedule")),
            _Col("Timezone", "string", "cronjob.timeZone", _text("spec", "timeZone", default=_NONE)),
            _Col("Suspend", "boolean", "cronjob.suspend", _bool_ptr("spec", "suspend")),
            _Col("Active", "integer", "cronjob.active", _length("status", "active")),
            _Col("Last Schedule", "string", "cronjob.lastScheduleTime", _last_schedule),
            AGE,
            *_containers(*_JOB_TEMPLATE),
            _Col(
                "Selector",
                "string",
                "job.selector",
                _label_selector("spec", "jobTemplate", "spec", "selector"),
                1,
            ),
        )
    ),
    ("policy", "PodDisruptionBudget"): _Printer(
        (
            NAME,
            _Col("Min Available", "string", "pdb.minAvailable", _int_or_string("spec", "minAvailable")),
            _Col("Max Unavailable", "string", "pdb.maxUnavailable", _int_or_string("spec", "maxUnavailable")),
            _Col(
                "Allowed Disruptions",
                "integer",
                "pdb.disruptionsAllowed",
                _number("status", "disruptionsAllowed"),
            ),
            AGE,
        )
    ),
    ("coordination.k8s.io", "Lease"): _Printer(
        (NAME, _Col("Holder", "string", "lease.holderIdentity", _text("spec", "holderIdentity")), AGE)
    ),
    ("storage.k8s.io", "StorageClass"): _Printer(
        (
            _Col("Name", "string", "name", _storage_class_name, format="name"),
            _Col("Provisioner", "string", "storageclass.provisioner", _text("provisioner")),
            _Col(
                "ReclaimPolicy",
                "string",
                "storageclass.reclaimPolicy",
                _text("reclaimPolicy", default="Delete"),
            ),
            _Col(
                "VolumeBindingMode",
                "string",
                "storageclass.volumeBindingMode",
                _text("volumeBindingMode", default="Immediate"),
            ),
            _Col(
                "AllowVolumeExpansion",
                "string",
                "storageclass.allowVolumeExpansion",
                _flag("allowVolumeExpansion"),
            ),
            AGE,
        )
    ),
    ("scheduling.k8s.io", "PriorityClass"): _Printer(
        (
            NAME,
            _Col("Value", "integer", "priorityclass.value", _number("value")),
            _Col("Global-Default", "boolean", "priorityclass.globalDefault", _flag("globalDefault")),
            AGE,
            _Col("PreemptionPolicy", "string", "priorityclass.preemptionPolicy", _text("preemptionPolicy")),
        )
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): _bindings("rolebinding"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _bindings("clusterrolebinding"),
    ("rbac.authorization.k8s.io", "Role"): _DEFAULT,
    ("rbac.authorization.k8s.io", "ClusterRole"): _DEFAULT,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _DEFAULT,
}


def _printer(group: str, kind: str) -> _Printer:
    # "core" is how people (and some callers) spell the legacy group.
    return _PRINTERS.get(("" if group == "core" else group, kind), _CUSTOM)


# --- public API -------------------------------------------------------------------------------

INCLUDE_OBJECT_MODES = ("None", "Metadata", "Object")


def column_definitions(group: str, kind: str) -> list[JSONDict]:
    """The Table's columnDefinitions for `kind` in `group` ("" for core); priority 1 = `-o wide` only."""
    return [col.definition() for col in _printer(group, kind).columns]


def table_row(
    group: str, kind: str, obj: JSONDict, now: datetime, include_object: str = "Metadata"
) -> JSONDict:
    """One TableRow: its cells, row conditions where upstream sets any, and the object per includeObject.

    include_object is the request's includeObject ("" means the default, Metadata); anything other
    than None, Metadata or Object raises ValueError (the apiserver answers 400).
    """
    printer = _printer(group, kind)
    ctx = _Ctx(obj, now)
    row: JSONDict = {"cells": [col.cell(ctx) for col in printer.columns]}
    if printer.conditions is not None and (conditions := printer.conditions(ctx)):
        row["conditions"] = conditions
    mode = include_object or "Metadata"
    if mode == "Metadata":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {}),
        }
    elif mode == "Object":
        row["object"] = obj
    elif mode != "None":
        raise ValueError(
            f"includeObject must be one of {', '.join(INCLUDE_OBJECT_MODES)}, not {include_object!r}"
        )
    return row


def table(
    group: str,
    kind: str,
    objs: Iterable[JSONDict],
    now: datetime,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
) -> JSONDict:
    """A complete `meta.k8s.io/v1 Table` for a get (one object) or a list (a page of objects)."""
    metadata: JSONDict = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(group, kind),
        "rows": [table_row(group, kind, obj, now, include_object) for obj in objs],
    }
