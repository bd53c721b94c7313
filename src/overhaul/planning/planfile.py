"""plan.yaml: the plan as a versioned document, written and read back with validation.

```
apiVersion: overhaul.io/v1alpha1
kind: UpgradePlan
metadata: {name, created, generator, digest}
cluster:  {server, context, source, controlPlaneVersion,
           nodes: [{name, uid, version, role, zone, controlPlaneVersion}]}
spec:     {target, strategy, maxUnavailable, maxSurge, batchBy, rules, accepted,
           provider: {name, controlPlaneCommand, nodeCommand, sshUser, packageManager},
           drain: {ignoreDaemonSets, deleteEmptyDirData, force, timeoutSeconds, gracePeriodSeconds},
           gates: {soakSeconds, alerts: {prometheusUrl, alertRegex} | null, validate},
           windows: ["Sat,Sun 01:00-05:00 Europe/Berlin", ...],
           timings: {drain, upgrade, ready, addNode, removeNode, validate},
           backup: {enabled, etcd: {endpoint, cacert, cert, key} | null, directory}}
path:     {controlPlane: [v1.34.2, v1.35.4, v1.36.0], summary}
stages:   [{id, kind, title, fromVersion, toVersion,
            steps: [{id, action, version, estimateSeconds, notes, commands,
                     nodes: [{name, uid, version, role, zone, address, cordoned, commands}],
                     newNodes: [{name, like, zone}], drain: {...} | null, gates: {...}}]}]
estimate: {totalSeconds, windowsNeeded, earliestStart, earliestFinish}
findings: [{check, severity, object: {apiVersion, kind, namespace, name}, source, message, remedy}]
warnings: [...]
```

Every field is always written. `metadata.digest` is the sha256 of the rest (canonical JSON), so
a plan changed by hand after review is refused; the loader also refuses unknown or missing fields
and wrong types (naming the field and its line), and plans that break the invariants
(`invariants.check_plan`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson
import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from overhaul.domain.cluster import ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.plan import (
    API_VERSION,
    KIND,
    Action,
    AlertGate,
    Amount,
    AmountError,
    BackupSpec,
    BatchBy,
    ClusterIdentity,
    ClusterNode,
    DrainSpec,
    Estimate,
    EtcdEndpoint,
    Gates,
    NewNode,
    Plan,
    PlanNode,
    PlanSpec,
    ProviderName,
    ProviderSpec,
    Role,
    Stage,
    StageKind,
    Step,
    Strategy,
    Timings,
)
from overhaul.domain.version import Version, VersionError
from overhaul.planning.invariants import check_plan
from overhaul.planning.windows import WindowError, parse_window

JSON = dict[str, Any]
FieldPath = tuple[str | int, ...]
E = TypeVar("E", bound=StrEnum)


class PlanFileError(ValueError):
    """A plan file that cannot be used; the message is one line, `file:line: field: why`."""


# ----- writing


def _drain(d: DrainSpec) -> JSON:
    return {
        "ignoreDaemonSets": d.ignore_daemonsets,
        "deleteEmptyDirData": d.delete_emptydir_data,
        "force": d.force,
        "timeoutSeconds": d.timeout_seconds,
        "gracePeriodSeconds": d.grace_period_seconds,
    }


def _gates(g: Gates) -> JSON:
    alerts = (
        {"prometheusUrl": g.alerts.prometheus_url, "alertRegex": g.alerts.alert_regex} if g.alerts else None
    )
    return {"soakSeconds": g.soak_seconds, "alerts": alerts, "validate": g.validate}


def _backup(b: BackupSpec) -> JSON:
    etcd = (
        {"endpoint": b.etcd.endpoint, "cacert": b.etcd.cacert, "cert": b.etcd.cert, "key": b.etcd.key}
        if b.etcd is not None
        else None
    )
    return {"enabled": b.enabled, "etcd": etcd, "directory": b.directory}


def _step(s: Step) -> JSON:
    return {
        "id": s.id,
        "action": s.action.value,
        "version": s.version,
        "estimateSeconds": s.estimate_seconds,
        "nodes": [
            {
                "name": n.name,
                "uid": n.uid,
                "version": n.version,
                "role": n.role.value,
                "zone": n.zone,
                "address": n.address,
                "cordoned": n.cordoned,
                "commands": list(n.commands),
            }
            for n in s.nodes
        ],
        "newNodes": [{"name": n.name, "like": n.like, "zone": n.zone} for n in s.new_nodes],
        "commands": list(s.commands),
        "drain": _drain(s.drain) if s.drain is not None else None,
        "gates": _gates(s.gates),
        "notes": list(s.notes),
    }


def plan_to_dict(plan: Plan) -> JSON:
    """The document, digest included."""
    spec = plan.spec
    t = spec.timings
    body: JSON = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": plan.name, "created": plan.created, "generator": plan.generator, "digest": ""},
        "cluster": {
            "server": plan.cluster.server,
            "context": plan.cluster.context,
            "source": plan.cluster.source,
            "controlPlaneVersion": plan.cluster.control_plane_version,
            "nodes": [
                {
                    "name": n.name,
                    "uid": n.uid,
                    "version": n.version,
                    "role": n.role.value,
                    "zone": n.zone,
                    "controlPlaneVersion": n.control_plane_version,
                }
                for n in plan.cluster.nodes
            ],
        },
        "spec": {
            "target": spec.target,
            "strategy": spec.strategy.value,
            "maxUnavailable": str(spec.max_unavailable),
            "maxSurge": str(spec.max_surge),
            "batchBy": spec.batch_by.value,
            "rules": spec.rules,
            "accepted": list(spec.accepted),
            "provider": {
                "name": spec.provider.name.value,
                "controlPlaneCommand": spec.provider.control_plane_command,
                "nodeCommand": spec.provider.node_command,
                "sshUser": spec.provider.ssh_user,
                "packageManager": spec.provider.package_manager,
            },
            "drain": _drain(spec.drain),
            "gates": _gates(spec.gates),
            "windows": [w.text for w in spec.windows],
            "timings": {
                "drain": t.drain,
                "upgrade": t.upgrade,
                "ready": t.ready,
                "addNode": t.add_node,
                "removeNode": t.remove_node,
                "validate": t.validate,
            },
            "backup": _backup(spec.backup),
        },
        "path": {"controlPlane": list(plan.control_plane_path), "summary": plan.path_summary},
        "stages": [
            {
                "id": st.id,
                "kind": st.kind.value,
                "title": st.title,
                "fromVersion": st.from_version,
                "toVersion": st.to_version,
                "steps": [_step(s) for s in st.steps],
            }
            for st in plan.stages
        ],
        "estimate": {
            "totalSeconds": plan.estimate.total_seconds,
            "windowsNeeded": plan.estimate.windows_needed,
            "earliestStart": plan.estimate.earliest_start,
            "earliestFinish": plan.estimate.earliest_finish,
        },
        "findings": [f.to_json() for f in plan.findings],
        "warnings": list(plan.warnings),
    }
    body["metadata"]["digest"] = digest(body)
    return body


def digest(document: Mapping[str, Any]) -> str:
    """sha256 of the document without its digest, as canonical JSON."""
    meta = dict(document.get("metadata") or {})
    meta.pop("digest", None)
    rest = {**document, "metadata": meta}
    return "sha256:" + hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same nodes, faster
_BASE_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BASE_DUMPER):  # type: ignore[valid-type,misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dumps_plan(plan: Plan) -> str:
    header = (
        f"# Upgrade plan written by {plan.generator}; run it with `overhaul apply`. Do not edit: the\n"
        "# digest below covers every field and apply refuses a changed plan (make a new one instead).\n"
    )
    text = yaml.dump(
        plan_to_dict(plan),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + text


# ----- reading


def _plain(node: Node, path: FieldPath, lines: dict[FieldPath, int], constructor: SafeConstructor) -> Any:
    """The node's value as yaml.safe_load builds it, recording each field's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise PlanFileError(
                    f"line {key_node.start_mark.line + 1}: {_dotted(path)}: a key that is not a string"
                )
            if key in result:
                raise PlanFileError(
                    f"line {key_node.start_mark.line + 1}: {_dotted((*path, key))}: given twice"
                )
            result[key] = _plain(value_node, (*path, key), lines, constructor)
        return result
    if isinstance(node, SequenceNode):
        return [_plain(item, (*path, i), lines, constructor) for i, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    return constructor.construct_object(node, deep=True)


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


class _Reader:
    def __init__(self, source: str, lines: dict[FieldPath, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: FieldPath, message: str) -> NoReturn:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        raise PlanFileError(f"{where}: {_dotted(path)}: {message}")

    def mapping(self, value: Any, path: FieldPath, keys: Sequence[str]) -> JSON:
        if not isinstance(value, dict):
            self.fail(path, "expected a mapping")
        for key in value:
            if key not in keys:
                self.fail((*path, key), f"unknown field (expected {', '.join(keys)})")
        for key in keys:
            if key not in value:
                self.fail(path, f"missing field {key!r}")
        return value

    def string(self, obj: JSON, key: str, path: FieldPath, *, required: bool = False) -> str:
        value = obj[key]
        if not isinstance(value, str):
            self.fail((*path, key), f"expected a string, got {_kind(value)}")
        if required and not value:
            self.fail((*path, key), "must not be empty")
        return value

    def integer(self, obj: JSON, key: str, path: FieldPath, *, minimum: int | None = 0) -> int:
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail((*path, key), f"expected an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            self.fail((*path, key), f"must be at least {minimum}")
        return value

    def boolean(self, obj: JSON, key: str, path: FieldPath) -> bool:
        value = obj[key]
        if not isinstance(value, bool):
            self.fail((*path, key), f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, obj: JSON, key: str, path: FieldPath) -> tuple[str, ...]:
        return tuple(
            item
            if isinstance(item, str)
            else self.fail((*path, key, i), f"expected a string, got {_kind(item)}")
            for i, item in self.items(obj, key, path)
        )

    def items(self, obj: JSON, key: str, path: FieldPath) -> list[tuple[int, Any]]:
        value = obj[key]
        if not isinstance(value, list):
            self.fail((*path, key), f"expected a list, got {_kind(value)}")
        return list(enumerate(value))

    def choice(self, obj: JSON, key: str, path: FieldPath, enum: type[E]) -> E:
        text = self.string(obj, key, path)
        try:
            return enum(text)
        except ValueError:
            choices = ", ".join(e.value for e in enum)
            self.fail((*path, key), f"{text!r} is not one of {choices}")

    def version(self, obj: JSON, key: str, path: FieldPath, *, required: bool = True) -> str:
        text = self.string(obj, key, path, required=required)
        if text:
            try:
                Version.parse(text)
            except VersionError as err:
                self.fail((*path, key), str(err))
        return text


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


_DRAIN = ("ignoreDaemonSets", "deleteEmptyDirData", "force", "timeoutSeconds", "gracePeriodSeconds")
_GATES = ("soakSeconds", "alerts", "validate")


def _read_drain(r: _Reader, value: Any, path: FieldPath) -> DrainSpec:
    d = r.mapping(value, path, _DRAIN)
    return DrainSpec(
        ignore_daemonsets=r.boolean(d, "ignoreDaemonSets", path),
        delete_emptydir_data=r.boolean(d, "deleteEmptyDirData", path),
        force=r.boolean(d, "force", path),
        timeout_seconds=r.integer(d, "timeoutSeconds", path),
        grace_period_seconds=r.integer(d, "gracePeriodSeconds", path, minimum=-1),
    )


def _read_gates(r: _Reader, value: Any, path: FieldPath) -> Gates:
    g = r.mapping(value, path, _GATES)
    alerts = None
    if g["alerts"] is not None:
        a = r.mapping(g["alerts"], (*path, "alerts"), ("prometheusUrl", "alertRegex"))
        alerts = AlertGate(
            r.string(a, "prometheusUrl", (*path, "alerts"), required=True),
            r.string(a, "alertRegex", (*path, "alerts"), required=True),
        )
    return Gates(
        soak_seconds=r.integer(g, "soakSeconds", path), alerts=alerts, validate=r.boolean(g, "validate", path)
    )


def _read_amount(r: _Reader, obj: JSON, key: str, path: FieldPath) -> Amount:
    text = r.string(obj, key, path, required=True)
    try:
        return Amount.parse(text)
    except AmountError as err:
        r.fail((*path, key), str(err))


def _read_spec(r: _Reader, value: Any) -> PlanSpec:
    path: FieldPath = ("spec",)
    keys = ("target", "strategy", "maxUnavailable", "maxSurge", "batchBy", "rules", "accepted", "provider")
    s = r.mapping(value, path, (*keys, "drain", "gates", "windows", "timings", "backup"))
    pp = (*path, "provider")
    p = r.mapping(
        s["provider"], pp, ("name", "controlPlaneCommand", "nodeCommand", "sshUser", "packageManager")
    )
    provider = ProviderSpec(
        name=r.choice(p, "name", pp, ProviderName),
        control_plane_command=r.string(p, "controlPlaneCommand", pp),
        node_command=r.string(p, "nodeCommand", pp),
        ssh_user=r.string(p, "sshUser", pp),
        package_manager=r.string(p, "packageManager", pp),
    )
    windows = []
    for i, text in enumerate(r.strings(s, "windows", path)):
        try:
            windows.append(parse_window(text))
        except WindowError as err:
            r.fail((*path, "windows", i), str(err))
    tp = (*path, "timings")
    t = r.mapping(s["timings"], tp, ("drain", "upgrade", "ready", "addNode", "removeNode", "validate"))
    return PlanSpec(
        target=r.version(s, "target", path),
        strategy=r.choice(s, "strategy", path, Strategy),
        max_unavailable=_read_amount(r, s, "maxUnavailable", path),
        max_surge=_read_amount(r, s, "maxSurge", path),
        batch_by=r.choice(s, "batchBy", path, BatchBy),
        provider=provider,
        drain=_read_drain(r, s["drain"], (*path, "drain")),
        gates=_read_gates(r, s["gates"], (*path, "gates")),
        windows=tuple(windows),
        timings=Timings(
            drain=r.integer(t, "drain", tp),
            upgrade=r.integer(t, "upgrade", tp),
            ready=r.integer(t, "ready", tp),
            add_node=r.integer(t, "addNode", tp),
            remove_node=r.integer(t, "removeNode", tp),
            validate=r.integer(t, "validate", tp),
        ),
        rules=r.string(s, "rules", path, required=True),
        accepted=r.strings(s, "accepted", path),
        backup=_read_backup(r, s["backup"], (*path, "backup")),
    )


def _read_backup(r: _Reader, value: Any, path: FieldPath) -> BackupSpec:
    b = r.mapping(value, path, ("enabled", "etcd", "directory"))
    etcd = None
    if b["etcd"] is not None:
        ep = (*path, "etcd")
        e = r.mapping(b["etcd"], ep, ("endpoint", "cacert", "cert", "key"))
        etcd = EtcdEndpoint(
            r.string(e, "endpoint", ep, required=True),
            r.string(e, "cacert", ep),
            r.string(e, "cert", ep),
            r.string(e, "key", ep),
        )
        if bool(etcd.cert) != bool(etcd.key):
            r.fail(ep, "cert and key go together")
    return BackupSpec(
        enabled=r.boolean(b, "enabled", path), etcd=etcd, directory=r.string(b, "directory", path)
    )


def _read_cluster(r: _Reader, value: Any) -> ClusterIdentity:
    path: FieldPath = ("cluster",)
    c = r.mapping(value, path, ("server", "context", "source", "controlPlaneVersion", "nodes"))
    nodes = []
    for i, raw in r.items(c, "nodes", path):
        np = (*path, "nodes", i)
        n = r.mapping(raw, np, ("name", "uid", "version", "role", "zone", "controlPlaneVersion"))
        nodes.append(
            ClusterNode(
                name=r.string(n, "name", np, required=True),
                uid=r.string(n, "uid", np),
                version=r.string(n, "version", np),
                role=r.choice(n, "role", np, Role),
                zone=r.string(n, "zone", np),
                control_plane_version=r.version(n, "controlPlaneVersion", np, required=False),
            )
        )
    names = [n.name for n in nodes]
    for i, name in enumerate(names):
        if name in names[:i]:
            r.fail((*path, "nodes", i, "name"), f"node {name!r} is listed twice")
    return ClusterIdentity(
        server=r.string(c, "server", path),
        context=r.string(c, "context", path),
        source=r.string(c, "source", path, required=True),
        control_plane_version=r.version(c, "controlPlaneVersion", path),
        nodes=tuple(nodes),
    )


_STEP = (
    "id",
    "action",
    "version",
    "estimateSeconds",
    "nodes",
    "newNodes",
    "commands",
    "drain",
    "gates",
    "notes",
)


def _read_step(r: _Reader, value: Any, path: FieldPath) -> Step:
    s = r.mapping(value, path, _STEP)
    nodes = []
    for i, raw in r.items(s, "nodes", path):
        np = (*path, "nodes", i)
        n = r.mapping(raw, np, ("name", "uid", "version", "role", "zone", "address", "cordoned", "commands"))
        nodes.append(
            PlanNode(
                name=r.string(n, "name", np, required=True),
                uid=r.string(n, "uid", np),
                version=r.string(n, "version", np),
                role=r.choice(n, "role", np, Role),
                zone=r.string(n, "zone", np),
                address=r.string(n, "address", np),
                cordoned=r.boolean(n, "cordoned", np),
                commands=r.strings(n, "commands", np),
            )
        )
    new_nodes = []
    for i, raw in r.items(s, "newNodes", path):
        np = (*path, "newNodes", i)
        n = r.mapping(raw, np, ("name", "like", "zone"))
        new_nodes.append(
            NewNode(
                r.string(n, "name", np, required=True),
                r.string(n, "like", np, required=True),
                r.string(n, "zone", np),
            )
        )
    action = r.choice(s, "action", path, Action)
    drain = None if s["drain"] is None else _read_drain(r, s["drain"], (*path, "drain"))
    if action.drains and drain is None:
        r.fail((*path, "drain"), f"a {action.value} step needs its drain options")
    if not action.drains and drain is not None:
        r.fail((*path, "drain"), f"a {action.value} step does not drain")
    step = Step(
        id=r.string(s, "id", path, required=True),
        action=action,
        version=r.version(s, "version", path),
        nodes=tuple(nodes),
        new_nodes=tuple(new_nodes),
        commands=r.strings(s, "commands", path),
        drain=drain,
        gates=_read_gates(r, s["gates"], (*path, "gates")),
        estimate_seconds=r.integer(s, "estimateSeconds", path),
        notes=r.strings(s, "notes", path),
    )
    if action is Action.ADD_NODES and (not new_nodes or nodes):
        r.fail(
            (*path, "newNodes"), "an add-nodes step lists the nodes it creates in newNodes, and only those"
        )
    if action is not Action.ADD_NODES and new_nodes:
        r.fail((*path, "newNodes"), f"a {action.value} step creates no nodes")
    if action is not Action.UPGRADE_CONTROL_PLANE and not nodes and action is not Action.ADD_NODES:
        r.fail((*path, "nodes"), f"a {action.value} step needs at least one node")
    if action is Action.UPGRADE_CONTROL_PLANE and len(nodes) > 1:
        r.fail((*path, "nodes"), "the control plane is upgraded one node at a time")
    return step


def _read_stages(r: _Reader, doc: JSON) -> tuple[Stage, ...]:
    stages = []
    for i, raw in r.items(doc, "stages", ()):
        path: FieldPath = ("stages", i)
        st = r.mapping(raw, path, ("id", "kind", "title", "fromVersion", "toVersion", "steps"))
        steps = tuple(_read_step(r, v, (*path, "steps", j)) for j, v in r.items(st, "steps", path))
        stages.append(
            Stage(
                id=r.string(st, "id", path, required=True),
                kind=r.choice(st, "kind", path, StageKind),
                title=r.string(st, "title", path),
                from_version=r.version(st, "fromVersion", path, required=False),
                to_version=r.version(st, "toVersion", path),
                steps=steps,
            )
        )
    return tuple(stages)


def _read_findings(r: _Reader, doc: JSON) -> tuple[Finding, ...]:
    found = []
    for i, raw in r.items(doc, "findings", ()):
        path: FieldPath = ("findings", i)
        f = r.mapping(raw, path, ("check", "severity", "object", "source", "message", "remedy"))
        op = (*path, "object")
        o = r.mapping(f["object"], op, ("apiVersion", "kind", "namespace", "name"))
        found.append(
            Finding(
                check=r.string(f, "check", path, required=True),
                severity=r.choice(f, "severity", path, Severity),
                message=r.string(f, "message", path),
                remedy=r.string(f, "remedy", path),
                object=ObjectRef(
                    r.string(o, "apiVersion", op),
                    r.string(o, "kind", op),
                    r.string(o, "namespace", op),
                    r.string(o, "name", op),
                ),
                source=r.string(f, "source", path),
            )
        )
    return tuple(found)


def _step_paths(plan: Plan) -> dict[str, FieldPath]:
    return {
        step.id: ("stages", i, "steps", j)
        for i, stage in enumerate(plan.stages)
        for j, step in enumerate(stage.steps)
    }


def _check_references(r: _Reader, plan: Plan) -> None:
    """Ids are unique; nodes are the cluster's (same UID) or created by an earlier step."""
    seen: set[str] = set()
    created: set[str] = set()
    for i, stage in enumerate(plan.stages):
        if stage.id in seen:
            r.fail(("stages", i, "id"), f"{stage.id!r} is used twice")
        seen.add(stage.id)
        for j, step in enumerate(stage.steps):
            path: FieldPath = ("stages", i, "steps", j)
            if step.id in seen:
                r.fail((*path, "id"), f"{step.id!r} is used twice")
            seen.add(step.id)
            for k, node in enumerate(step.nodes):
                known = plan.cluster.node(node.name)
                if known is None and node.name not in created:
                    r.fail(
                        (*path, "nodes", k, "name"),
                        f"node {node.name!r} is neither in cluster.nodes nor added earlier",
                    )
                if known is not None and node.uid != known.uid:
                    r.fail(
                        (*path, "nodes", k, "uid"),
                        f"{node.uid!r} is not the uid of {node.name} in cluster.nodes",
                    )
            created.update(n.name for n in step.new_nodes)


def loads_plan(text: str, source: str = "plan.yaml", *, verify_digest: bool = True) -> Plan:
    """A plan from its YAML text; raises PlanFileError (one line, naming the file, line and field)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise PlanFileError(f"{where}: not valid YAML: {problem}") from None
    if root is None:
        raise PlanFileError(f"{source}: empty file, not a plan")
    lines: dict[FieldPath, int] = {}
    try:
        doc = _plain(root, (), lines, SafeConstructor())
    except PlanFileError as err:
        raise PlanFileError(f"{source}:{str(err).removeprefix('line ')}") from None
    except ConstructorError as err:
        raise PlanFileError(f"{source}: {err.problem}") from None
    r = _Reader(source, lines)
    top = (
        "apiVersion",
        "kind",
        "metadata",
        "cluster",
        "spec",
        "path",
        "stages",
        "estimate",
        "findings",
        "warnings",
    )
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        r.fail(("kind",), f"not an overhaul plan (expected kind: {KIND})")
    if doc.get("apiVersion") != API_VERSION:
        r.fail(
            ("apiVersion",), f"{doc.get('apiVersion')!r} is not supported (this overhaul reads {API_VERSION})"
        )
    r.mapping(doc, (), top)
    meta = r.mapping(doc["metadata"], ("metadata",), ("name", "created", "generator", "digest"))
    pathdoc = r.mapping(doc["path"], ("path",), ("controlPlane", "summary"))
    control_plane = r.strings(pathdoc, "controlPlane", ("path",))
    for i, text_version in enumerate(control_plane):
        try:
            Version.parse(text_version)
        except VersionError as err:
            r.fail(("path", "controlPlane", i), str(err))
    est = r.mapping(
        doc["estimate"], ("estimate",), ("totalSeconds", "windowsNeeded", "earliestStart", "earliestFinish")
    )
    plan = Plan(
        name=r.string(meta, "name", ("metadata",), required=True),
        created=r.string(meta, "created", ("metadata",)),
        generator=r.string(meta, "generator", ("metadata",)),
        cluster=_read_cluster(r, doc["cluster"]),
        spec=_read_spec(r, doc["spec"]),
        control_plane_path=control_plane,
        path_summary=r.string(pathdoc, "summary", ("path",)),
        stages=_read_stages(r, doc),
        estimate=Estimate(
            total_seconds=r.integer(est, "totalSeconds", ("estimate",)),
            windows_needed=r.integer(est, "windowsNeeded", ("estimate",)),
            earliest_start=r.string(est, "earliestStart", ("estimate",)),
            earliest_finish=r.string(est, "earliestFinish", ("estimate",)),
        ),
        findings=_read_findings(r, doc),
        warnings=r.strings(doc, "warnings", ()),
    )
    _check_references(r, plan)
    paths = _step_paths(plan)
    for problem in check_plan(plan):
        r.fail(paths.get(problem.step, ("stages",)), problem.message)
    if verify_digest:
        written = r.string(meta, "digest", ("metadata",))
        if written != digest(doc):
            r.fail(
                ("metadata", "digest"),
                "does not match the plan's content: it was changed after `overhaul plan` wrote it "
                "(make a new plan rather than editing one)",
            )
    return plan


def load_plan(path: str | Path, *, verify_digest: bool = True) -> Plan:
    """A plan file; raises PlanFileError (unreadable, malformed, changed or unsound)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PlanFileError(f"{file}: cannot read it: {getattr(err, 'strerror', None) or err}") from None
    return loads_plan(text, str(file), verify_digest=verify_digest)
