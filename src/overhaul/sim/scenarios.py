"""Scenarios: the objects the embedded cluster starts with (built-in, or from a file)."""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from overhaul.sim import builtin_scenarios
from overhaul.sim.cluster import Cluster
from overhaul.sim.errors import ApiError
from overhaul.sim.nodes import make_node, node_ip

JSONDict = dict[str, Any]


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message names the file and, when known, the line."""


@dataclass(frozen=True)
class ScenarioOptions:
    version: str = "v1.34.2"
    nodes: int = 0
    pods_per_node: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    build: Callable[[ScenarioOptions, str], Iterable[JSONDict]]


def _control_plane(opts: ScenarioOptions, now: str) -> Iterator[JSONDict]:
    yield make_node("control-plane-1", opts.version, now, node_ip(0), control_plane=True, zone="zone-a")


def _workers(opts: ScenarioOptions, now: str) -> Iterator[JSONDict]:
    """`--nodes N --pods-per-node M`: N workers across three zones, each with M running pods."""
    zones = ("zone-a", "zone-b", "zone-c")
    for i in range(opts.nodes):
        name = f"worker-{i + 1}"
        yield make_node(name, opts.version, now, node_ip(i + 1), zone=zones[i % 3])
        for j in range(opts.pods_per_node):
            yield _running_pod(f"load-{i // 200}", f"{name}-pod-{j + 1}", name, now, i * 1000 + j)


def _running_pod(namespace: str, name: str, node: str, now: str, index: int) -> JSONDict:
    ip = f"10.244.{index // 256 % 256}.{index % 256}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": "load", "shard": str(index % 10)},
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
        "status": {
            "phase": "Running",
            "qosClass": "Burstable",
            "hostIP": "",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now}
                for t in (
                    "PodReadyToStartContainers",
                    "Initialized",
                    "Ready",
                    "ContainersReady",
                    "PodScheduled",
                )
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "image": "registry.k8s.io/pause:3.10",
                    "imageID": "",
                    "containerID": "",
                    "state": {"running": {"startedAt": now}},
                }
            ],
        },
    }


def _empty(opts: ScenarioOptions, now: str) -> Iterator[JSONDict]:
    yield from _control_plane(opts, now)
    yield from _workers(opts, now)


def _demo(opts: ScenarioOptions, now: str) -> Iterator[JSONDict]:
    return builtin_scenarios.demo(opts.version, now)


def _large(opts: ScenarioOptions, now: str) -> Iterator[JSONDict]:
    return builtin_scenarios.large(opts.version, now, opts.nodes or 100, opts.pods_per_node or 30)


BUILTIN: dict[str, Scenario] = {
    "empty": Scenario(
        "empty",
        "one tainted control-plane node and no workers (add --nodes N --pods-per-node M for load)",
        _empty,
    ),
    "demo": Scenario(
        "demo",
        "3 control-plane nodes and 9 workers in 3 zones; a dozen Deployments with PDBs, a StatefulSet, "
        "DaemonSets, a Job, a bare pod, emptyDir pods, objects applied with since-removed API versions",
        _demo,
    ),
    "large": Scenario(
        "large",
        "--nodes N (default 100) workers with --pods-per-node M (default 30) pods each: Deployments, "
        "StatefulSets, DaemonSets and PDBs",
        _large,
    ),
}


def parse_objects(path: Path) -> list[JSONDict]:
    """The Kubernetes objects in a YAML (multi-document) or JSON file; `List` kinds are unpacked.

    The file may be gzip-compressed (told by its magic bytes), as `overhaul snapshot` writes it;
    a snapshot is a `kind: List` document, so its items load like any other List's.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ScenarioError(f"{path}: {err.strerror or err}") from err
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ScenarioError(f"{path}: corrupt gzip data: {err}") from err
    try:
        text = data.decode()
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text") from err
    docs: list[Any] | None = None
    if text.lstrip()[:1] in ("{", "["):
        # JSON (a snapshot of 150,000 pods) decodes far faster with orjson than as YAML.
        with contextlib.suppress(orjson.JSONDecodeError):
            docs = [orjson.loads(data)]
    try:
        if docs is None:
            docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError(f"{path}{where}: malformed YAML: {problem}") from err
    objects: list[JSONDict] = []
    for index, doc in enumerate(docs, 1):
        if doc is None:
            continue
        for obj in doc if isinstance(doc, list) else [doc]:
            if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
                raise ScenarioError(
                    f"{path}: document {index} is not a Kubernetes object (apiVersion and kind)"
                )
            if obj["kind"].endswith("List") and isinstance(obj.get("items"), list):
                objects.extend(i for i in obj["items"] if isinstance(i, dict))
            else:
                objects.append(obj)
    return objects


def load_scenario(cluster: Cluster, scenario: str, opts: ScenarioOptions) -> int:
    """Loads a built-in scenario by name or a file of objects; returns how many objects were loaded."""
    now = cluster.now()
    builtin = BUILTIN.get(scenario)
    if builtin is not None:
        objects: Iterable[JSONDict] = builtin.build(opts, now)
        source = scenario
    else:
        path = Path(scenario)
        if not path.exists():
            known = ", ".join(sorted(BUILTIN))
            raise ScenarioError(f"unknown scenario {scenario!r}: not a built-in one ({known}) nor a file")
        given = parse_objects(path)
        # A file without nodes still gets the control plane it needs to be a cluster.
        has_nodes = any(o.get("kind") == "Node" for o in given)
        base = [] if has_nodes else list(_control_plane(opts, now))
        objects = sorted(base + list(_workers(opts, now)) + given, key=_load_rank)
        source = str(path)
    count = 0
    for obj in objects:
        try:
            cluster.load(obj)
        except ApiError as err:
            name = (obj.get("metadata") or {}).get("name", "?")
            raise ScenarioError(f"{source}: {obj.get('kind')} {name!r}: {err.message}") from err
        count += 1
    return count


def _load_rank(obj: JSONDict) -> int:
    """CRDs, namespaces and nodes first, so that what depends on them loads."""
    kind = obj.get("kind")
    return {"CustomResourceDefinition": 0, "Namespace": 1, "Node": 2}.get(str(kind), 3)
