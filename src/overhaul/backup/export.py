"""The resource export: every served resource, listed page by page, cleaned, written per namespace.

Layout inside the backup folder (each file a `v1 List`, so `kubectl create -f` takes it too):

    resources/cluster/<plural>[.<group>].json               cluster-scoped objects
    resources/namespaces/<namespace>/<plural>[.<group>].json
    resources/namespaces/<namespace>/secrets.json[.fernet]  mode 0600, encrypted with a key file

Resources are listed concurrently (a few at a time) and decoded with orjson; objects left to their
controllers are dropped as each page arrives, so 150,000 controller-owned pods never sit in memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from overhaul.backup import cleaning
from overhaul.backup.encryption import ENCRYPTED_SUFFIX, encrypt
from overhaul.backup.errors import BadOptions
from overhaul.backup.folder import BackupFolder
from overhaul.backup.ports import JSON, ClusterReader, Progress, ServedApis
from overhaul.backup.selection import is_secrets, resource_key, select_resources
from overhaul.domain.cluster import ServedResource

RESOURCES_DIR = "resources"
CRD_GROUP, CRD_PLURAL = "apiextensions.k8s.io", "customresourcedefinitions"


@dataclass(frozen=True)
class ExportOptions:
    namespaces: tuple[str, ...] = ()  # empty: every namespace, and cluster-scoped resources
    exclude: tuple[str, ...] = ()
    include_secrets: bool = False
    encrypt_key: bytes | None = None
    workers: int = 4

    @property
    def secrets_mode(self) -> str:
        if not self.include_secrets:
            return "excluded"
        return "encrypted" if self.encrypt_key else "included"


@dataclass(frozen=True)
class ExportedType:
    """One resource the export listed, and how many of its objects it kept."""

    resource: ServedResource
    objects: int
    status_kept: bool

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {
            "apiVersion": r.group_version,
            "kind": r.kind,
            "plural": r.name,
            "namespaced": r.namespaced,
            "objects": self.objects,
            "statusKept": self.status_kept,
        }


@dataclass(frozen=True)
class ExportSummary:
    types: tuple[ExportedType, ...]
    skipped: dict[tuple[str, str], int]  # (kind, reason) -> objects left out
    excluded: tuple[str, ...]
    options: ExportOptions
    discovery_failed: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def objects(self) -> int:
        return sum(t.objects for t in self.types)

    def counts(self) -> dict[str, int]:
        """Objects per kind (kinds with none left out)."""
        out: Counter[str] = Counter()
        for t in self.types:
            if t.objects:
                out[t.resource.kind] += t.objects
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.options.namespaces) or None,
            "secrets": self.options.secrets_mode,
            "objects": self.objects,
            "excluded": list(self.excluded),
            "types": [t.to_json() for t in self.types],
            "skipped": [
                {"kind": kind, "reason": reason, "objects": n}
                for (kind, reason), n in sorted(self.skipped.items())
            ],
            "discoveryFailed": [{"groupVersion": gv, "error": why} for gv, why in self.discovery_failed],
        }


def resource_file(resource: ServedResource, namespace: str | None) -> str:
    name = f"{resource_key(resource)}.json"
    if namespace is None:
        return f"{RESOURCES_DIR}/cluster/{name}"
    return f"{RESOURCES_DIR}/namespaces/{namespace}/{name}"


def encode_list(items: list[JSON]) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}, option=orjson.OPT_INDENT_2)


@dataclass
class _Tally:
    objects: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (group, version, plural)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    lists_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Exporter:
    def __init__(
        self, reader: ClusterReader, folder: BackupFolder, options: ExportOptions, progress: Progress
    ) -> None:
        self.reader = reader
        self.folder = folder
        self.options = options
        self.progress = progress
        self.tally = _Tally()
        self.status_data: set[tuple[str, str, str]] = set()

    def run(self) -> ExportSummary:
        task = self.progress.task("resources: discovering the API", None)
        served = self.reader.discover()
        selection = select_resources(
            served.preferred, self.options.exclude, include_secrets=self.options.include_secrets
        )
        notices = [
            f"--exclude-resource {name}: no served resource has that name" for name in selection.unmatched
        ]
        notices += [
            f"API discovery of {gv} failed, its resources are not exported: {why}"
            for gv, why in served.failed
        ]
        self._read_crds(served)
        units = self._units(served, selection.chosen)
        task.update(total=len(units), completed=0, description=self._describe(len(units)))
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            for _ in pool.map(lambda unit: self._export(*unit), units):
                with self.tally.lock:
                    self.tally.lists_done += 1
                task.update(completed=self.tally.lists_done, description=self._describe(len(units)))
        task.finish()
        types = tuple(
            ExportedType(
                r,
                self.tally.objects[(r.group, r.version, r.name)],
                (r.group, r.version, r.name) in self.status_data,
            )
            for r in dict.fromkeys(r for r, _ in units)  # the resources listed, in order
        )
        return ExportSummary(
            types, dict(self.tally.skipped), selection.excluded, self.options, served.failed, tuple(notices)
        )

    def _describe(self, total: int) -> str:
        objects = sum(self.tally.objects.values())
        return f"resources: {self.tally.lists_done}/{total} lists, {objects:,} objects"

    def _read_crds(self, served: ServedApis) -> None:
        """Which custom resources store `status` as data (no status subresource): kept on export."""
        crd = next((r for r in served.preferred if (r.group, r.name) == (CRD_GROUP, CRD_PLURAL)), None)
        if crd is None:
            return
        for page in self.reader.list_pages(crd, None):
            if page.restarted:
                self.status_data.clear()
            for obj in page.items:
                spec = obj.get("spec") or {}
                group, plural = (
                    str(spec.get("group") or ""),
                    str((spec.get("names") or {}).get("plural") or ""),
                )
                for v in spec.get("versions") or []:
                    version = str(v.get("name") or "") if isinstance(v, dict) else ""
                    if version and cleaning.status_is_data(obj, version):
                        self.status_data.add((group, version, plural))

    def _units(
        self, served: ServedApis, chosen: tuple[ServedResource, ...]
    ) -> list[tuple[ServedResource, str | None]]:
        """(resource, namespace) lists to make: all namespaces at once, or one per chosen namespace."""
        namespaces = self.options.namespaces
        if not namespaces:
            return [(r, None) for r in chosen]
        ns_resource = next((r for r in served.preferred if (r.group, r.name) == ("", "namespaces")), None)
        if ns_resource is not None:
            missing = [ns for ns in namespaces if self.reader.get(ns_resource, None, ns) is None]
            if missing:
                raise BadOptions(f"--namespace: no namespace named {', '.join(missing)}")
        units: list[tuple[ServedResource, str | None]] = []
        for r in chosen:
            if r.namespaced:
                units.extend((r, ns) for ns in namespaces)
            elif (r.group, r.name) in (("", "namespaces"), (CRD_GROUP, CRD_PLURAL)):
                units.append((r, None))
        return units

    def _export(self, resource: ServedResource, namespace: str | None) -> None:
        keep_status = (resource.group, resource.version, resource.name) in self.status_data
        # With --namespace, the Namespace objects exported are those namespaces only.
        only = (
            set(self.options.namespaces) if (resource.group, resource.name) == ("", "namespaces") else set()
        )
        by_namespace: dict[str | None, list[JSON]] = {}
        skipped: Counter[tuple[str, str]] = Counter()
        for page in self.reader.list_pages(resource, namespace):
            if page.restarted:
                by_namespace.clear()
                skipped.clear()
            for obj in page.items:
                reason = cleaning.skip_reason(resource.group, resource.kind, obj)
                if reason is not None:
                    skipped[(resource.kind, reason)] += 1
                    continue
                meta = obj.get("metadata") or {}
                if only and meta.get("name") not in only:
                    continue
                cleaned = cleaning.clean(resource.group, resource.kind, obj, keep_status=keep_status)
                item = {"apiVersion": resource.group_version, "kind": resource.kind, **cleaned}
                where = str(meta.get("namespace") or "") if resource.namespaced else ""
                by_namespace.setdefault(where or None, []).append(item)
        count = 0
        for ns, items in sorted(by_namespace.items(), key=lambda kv: kv[0] or ""):
            items.sort(key=lambda o: str((o.get("metadata") or {}).get("name") or ""))
            self._write(resource, ns, items)
            count += len(items)
        with self.tally.lock:
            self.tally.objects[(resource.group, resource.version, resource.name)] += count
            self.tally.skipped.update(skipped)

    def _write(self, resource: ServedResource, namespace: str | None, items: list[JSON]) -> None:
        rel = resource_file(resource, namespace)
        data = encode_list(items)
        if is_secrets(resource):
            key = self.options.encrypt_key
            if key is not None:
                self.folder.write(
                    rel + ENCRYPTED_SUFFIX,
                    encrypt(key, data),
                    private=True,
                    objects=len(items),
                    encrypted=True,
                )
            else:
                self.folder.write(rel, data, private=True, objects=len(items))
            return
        self.folder.write(rel, data, objects=len(items))


def export_resources(
    reader: ClusterReader, folder: BackupFolder, options: ExportOptions, progress: Progress
) -> ExportSummary:
    """Exports the cluster's resources into `folder` (see the module's docstring)."""
    return _Exporter(reader, folder, options, progress).run()
