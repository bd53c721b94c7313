"""Cluster snapshots: the state `overhaul snapshot` saves, for offline checks and rehearsals.

A snapshot is one JSON document, gzip-compressed unless the file name ends in `.json`:

    {"apiVersion": "v1", "kind": "List", "metadata": {},
     "overhaulSnapshot": 1,                      # the format version
     "takenAt": "2026-05-01T10:00:00Z",
     "server": {...},                            # /version, as the server returned it
     "apiResources": [{"group", "version", "name", "kind", "namespaced", "verbs"}, ...],
     "items": [...],                             # the objects, as the API returned them
     "apiUsage": [{"apiVersion", "kind", "namespace", "name",
                   "lastApplied", "managedFields": [[manager, operation, apiVersion, time]]}]}

`items` holds the namespaces, nodes, pods, Deployments, ReplicaSets, StatefulSets, DaemonSets,
Jobs, PodDisruptionBudgets and CustomResourceDefinitions, each with its apiVersion and kind set,
pods without their managedFields (large, and never needed: see `overhaul.kube.view`). Secrets are
never included. `apiUsage` is what the removed-API check reads, for every object of every
resource scanned (the view's own and the others), so that it works offline too.

Because it is a `kind: List`, `overhaul sim up --scenario FILE` (and `kubectl create -f`) can
load a snapshot. It is written with one item per line, which lets `load_snapshot_view` read a
150,000-pod snapshot item by item instead of decoding it whole; any JSON document of that
shape (one line or many) is read too.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from overhaul.domain.cluster import ClusterView, ObjectApiUsage
from overhaul.domain.convert import (
    ViewBuilder,
    api_usage,
    parse_time,
    resource_from_json,
    resource_to_json,
    server_version,
    usage_from_json,
    usage_to_json,
)
from overhaul.kube.client import DEFAULT_PAGE_SIZE, ApiClient
from overhaul.kube.errors import KubeError
from overhaul.kube.reflector import object_key
from overhaul.kube.view import read_pages, scan_usage, usage_resources, view_resources

FORMAT_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
_ITEMS_OPEN = b'"items":['
_USAGE_OPEN = b'],"apiUsage":['


class SnapshotError(KubeError):
    """A snapshot file that cannot be read (missing, not gzip/JSON, not a snapshot)."""


@dataclass
class SnapshotSummary:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects written
    api_usage: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(self.counts.values())


def _compressed(path: Path) -> bool:
    return path.suffix != ".json"


@contextmanager
def _atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """A binary stream that becomes `path` only once fully written (gzip unless `.json`)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    raw = os.fdopen(fd, "wb")
    try:
        if _compressed(path):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=3, mtime=0) as out:
                yield out  # type: ignore[misc]
        else:
            yield raw
        raw.close()
        os.replace(tmp, path)
    except BaseException:
        raw.close()
        Path(tmp).unlink(missing_ok=True)
        raise


def write_snapshot(
    client: ApiClient, path: str | os.PathLike[str], *, page_size: int = DEFAULT_PAGE_SIZE
) -> SnapshotSummary:
    """Saves the cluster's state to `path` (see the module doc for the format)."""
    target = Path(path)
    summary = SnapshotSummary(target)
    version = client.version()
    discovery = client.discover()
    served, missing = view_resources(discovery)
    summary.notes.extend(missing)
    summary.notes.extend(f"{gv}: discovery failed: {why}" for gv, why in discovery.failed)
    header: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {},
        "overhaulSnapshot": FORMAT_VERSION,
        "takenAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "server": version,
        "apiResources": [resource_to_json(r) for r in discovery.resources],
    }
    usages: list[ObjectApiUsage] = []
    with _atomic_writer(target) as out:
        head = orjson.dumps(header)
        out.write(head[:-1] + b"," + _ITEMS_OPEN + b"\n")
        first = True
        for res in served:
            written: set[str] = set()
            restarted = False
            count = 0
            for page in read_pages(client, res, page_size):
                restarted = restarted or page.restarted
                for item in page.items:
                    key = object_key(item)
                    if restarted and key in written:
                        continue  # a list started over: each object once
                    written.add(key)
                    item.setdefault("apiVersion", res.group_version)
                    item.setdefault("kind", res.kind)
                    meta = item.get("metadata")
                    if res.kind == "Pod" and isinstance(meta, dict):
                        meta.pop("managedFields", None)
                    elif res.group:
                        usage = api_usage(item, res.group_version, res.kind)
                        if usage is not None:
                            usages.append(usage)
                    out.write((b"" if first else b",\n") + orjson.dumps(item))
                    first = False
                    count += 1
            summary.counts[res.kind] = count
        for resource in usage_resources(discovery):
            found, note = scan_usage(client, resource, page_size)
            usages.extend(found)
            if note:
                summary.notes.append(note)
        out.write(b"\n" + _USAGE_OPEN + b"\n")
        out.write(b",\n".join(orjson.dumps(usage_to_json(u)) for u in usages))
        out.write(b"\n]}\n")
    summary.api_usage = len(usages)
    return summary


# ----------------------------------------------------------------------------------------- reading


def _open_read(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it starts with the gzip magic bytes."""
    try:
        raw = path.open("rb")
    except OSError as err:
        raise SnapshotError(f"snapshot {path}: {err.strerror or err}") from err
    if raw.read(2) != GZIP_MAGIC:
        raw.seek(0)
        return raw
    raw.close()
    return gzip.open(path, "rb")  # type: ignore[return-value]


@dataclass
class SnapshotContents:
    """A snapshot being read: its header, its items (an iterator, read once), and its apiUsage
    entries (known once the items are consumed; None when the document has none)."""

    header: dict[str, Any]
    items: Iterator[dict[str, Any]]
    api_usage: list[Any] | None = None


def read_snapshot(path: str | os.PathLike[str]) -> SnapshotContents:
    """Opens a snapshot. Items stream when the file has the one-item-per-line layout that
    `write_snapshot` produces; other documents (a `kubectl get -o json` List) are decoded whole."""
    source = Path(path)
    stream = _open_read(source)
    try:
        first = stream.readline()
        if first.rstrip().endswith(_ITEMS_OPEN):
            header = _loads(source, first.rstrip()[: -len(_ITEMS_OPEN)] + b'"items":[]}')
            if not isinstance(header, dict):
                raise SnapshotError(f"snapshot {source}: not a snapshot (a JSON List of objects)")
            header.pop("items", None)
            contents = SnapshotContents(header, iter(()))
            contents.items = _stream_items(source, stream, contents)
            return contents
        doc = _loads(source, first + stream.read())
    except BaseException:
        stream.close()
        raise
    stream.close()
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise SnapshotError(f"snapshot {source}: not a snapshot (a JSON List of objects)")
    objects = doc.pop("items")
    usage = doc.pop("apiUsage", None)
    return SnapshotContents(doc, iter(objects), usage if isinstance(usage, list) else None)


def _stream_items(source: Path, stream: IO[bytes], contents: SnapshotContents) -> Iterator[dict[str, Any]]:
    """The item lines, decoded one by one; sets `contents.api_usage` from the tail at the end."""
    try:
        for line in stream:
            text = line.rstrip()
            if text.startswith(b"]"):
                doc = _loads(source, b"{" + (text + stream.read())[len(b"],") :])
                usage = doc.get("apiUsage") if isinstance(doc, dict) else None
                contents.api_usage = usage if isinstance(usage, list) else None
                return
            if text:
                item = _loads(source, text[:-1] if text.endswith(b",") else text)
                if isinstance(item, dict):
                    yield item
        raise SnapshotError(f"snapshot {source}: truncated (the list of items does not end)")
    finally:
        stream.close()


def _loads(source: Path, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise SnapshotError(f"snapshot {source}: not valid JSON ({err})") from err


def load_snapshot_view(path: str | os.PathLike[str]) -> ClusterView:
    """The ClusterView of a snapshot, through the same converters as a live cluster's."""
    source = Path(path)
    builder = ViewBuilder()
    derived: list[ObjectApiUsage] = []
    try:
        contents = read_snapshot(source)
        for item in contents.items:
            builder.add(item)
            if "/" in str(item.get("apiVersion") or ""):  # not the core group (see kube.view)
                usage = api_usage(item)
                if usage is not None:
                    derived.append(usage)
    except (OSError, EOFError, zlib.error) as err:  # unreadable, or gzip data cut short or corrupt
        raise SnapshotError(f"snapshot {source}: {err}") from err
    header = contents.header
    server = header.get("server")
    if not isinstance(server, dict):
        raise SnapshotError(f"snapshot {source}: no server version (not written by `overhaul snapshot`?)")
    if contents.api_usage is not None:
        builder.api_usage.extend(usage_from_json(e) for e in contents.api_usage if isinstance(e, dict))
    else:
        builder.api_usage.extend(derived)
    resources = [resource_from_json(r) for r in header.get("apiResources") or [] if isinstance(r, dict)]
    return builder.build(server_version(server), resources, parse_time(header.get("takenAt")))
