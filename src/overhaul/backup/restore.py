"""`restore_backup`: recreate a backup's objects in a cluster, in a safe order, reporting each.

Before anything is created: the backup's checksums are checked, and every apiVersion/kind is
checked against what the cluster serves (or the backup's own CRDs will serve); any that is not
refuses the whole restore, listing them with their replacements (`RestoreRefused`).

Then wave by wave (`restore_order`): CRDs, waiting until they are Established; Namespaces; ... ;
objects of one wave are created concurrently. An object that exists is skipped (`existing="skip"`)
or replaced by the backup's (`"update"`). Owner references are pointed at the owners' new uids (or
dropped when the owner is not there: a dangling reference would have the garbage collector delete
the object). Objects controlled by another, Nodes and Events are left out, with the reason.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from overhaul.backup import cleaning
from overhaul.backup.compat import Replacements, Unserved, find_unserved, no_replacements
from overhaul.backup.errors import BackupError, BadOptions, ObjectExists, ObjectRejected
from overhaul.backup.loading import LoadedResources, load_resources
from overhaul.backup.manifest import read_manifest
from overhaul.backup.ports import ClusterWriter, NoProgress, Progress, ProgressTask
from overhaul.backup.restore_order import CRD_RANK, group_of, not_restored, waves
from overhaul.domain.cluster import ServedResource

JSON = dict[str, Any]
Existing = Literal["skip", "update"]
CRD_KEY = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class RestoreOptions:
    namespaces: tuple[str, ...] = ()  # empty: everything
    existing: Existing = "skip"
    dry_run: bool = False
    key: bytes | None = None  # the Fernet key of encrypted Secrets
    workers: int = 8
    establish_timeout: float = 60.0


class RestoreRefused(BackupError):
    """The cluster does not serve some of the backup's apiVersion/kinds; nothing was changed."""

    def __init__(self, unserved: list[Unserved]) -> None:
        kinds = len(unserved)
        objects = sum(len(u.objects) for u in unserved)
        super().__init__(
            f"refusing to restore: {objects} object(s) of {kinds} kind(s) use API versions the cluster "
            "does not serve; nothing was changed"
        )
        self.unserved = tuple(unserved)


@dataclass(frozen=True)
class ObjectResult:
    api_version: str
    kind: str
    namespace: str
    name: str
    outcome: Outcome
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        out = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "outcome": self.outcome.value,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class RestoreReport:
    backup: Path
    dry_run: bool
    results: tuple[ObjectResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[ObjectResult, ...]:
        return tuple(r for r in self.results if r.outcome is Outcome.FAILED)

    def by_kind(self) -> list[tuple[str, dict[Outcome, int]]]:
        """Per kind (in restore order of first appearance), how many objects had each outcome."""
        counts: dict[str, Counter[Outcome]] = {}
        for r in self.results:
            counts.setdefault(r.kind, Counter())[r.outcome] += 1
        return [(kind, {o: c[o] for o in Outcome}) for kind, c in counts.items()]

    def to_json(self) -> dict[str, Any]:
        return {
            "backup": str(self.backup),
            "dryRun": self.dry_run,
            "summary": {o.value: sum(1 for r in self.results if r.outcome is o) for o in Outcome},
            "kinds": [
                {"kind": kind, **{o.value: n for o, n in counts.items()}} for kind, counts in self.by_kind()
            ],
            "objects": [r.to_json() for r in self.results],
            "notes": list(self.notes),
        }


def _meta(obj: JSON) -> JSON:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _result(obj: JSON, outcome: Outcome, reason: str = "") -> ObjectResult:
    meta = _meta(obj)
    return ObjectResult(
        str(obj.get("apiVersion") or ""),
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        outcome,
        reason,
    )


def select_objects(
    loaded: LoadedResources, namespaces: Iterable[str]
) -> tuple[list[JSON], list[ObjectResult]]:
    """The objects to restore (with `namespaces`: theirs, their Namespace objects, and the CRDs of
    their custom resources) and the results of those left out on purpose."""
    wanted = set(namespaces)
    chosen: list[JSON] = []
    left_out: list[ObjectResult] = []
    present = {str(_meta(o).get("namespace") or "") for o in loaded.objects} | {
        str(_meta(o).get("name") or "")
        for o in loaded.objects
        if (o.get("apiVersion"), o.get("kind")) == ("v1", "Namespace")
    }
    missing = sorted(wanted - present)
    if missing:
        raise BadOptions(f"--namespace: the backup holds nothing of {', '.join(missing)}")
    selected = _selector_services(loaded.objects)
    for obj in loaded.objects:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        meta = _meta(obj)
        if wanted:
            ns = str(meta.get("namespace") or "")
            is_namespace = (api_version, kind) == ("v1", "Namespace")
            if not ((ns and ns in wanted) or (is_namespace and meta.get("name") in wanted)):
                continue
        why = _left_out(obj, selected)
        if why is not None:
            left_out.append(_result(obj, Outcome.SKIPPED, why))
            continue
        chosen.append(obj)
    if wanted:
        used = {(group_of(str(o.get("apiVersion") or "")), str(o.get("kind") or "")) for o in chosen}
        for obj in loaded.objects:
            if (obj.get("apiVersion"), obj.get("kind")) != CRD_KEY:
                continue
            spec = obj.get("spec") or {}
            if (str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")) in used:
                chosen.append(obj)
    return chosen, left_out


def _left_out(obj: JSON, selector_services: set[tuple[str, str]]) -> str | None:
    """Why a restore does not create this object (its maker does), or None."""
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    why = not_restored(api_version, kind)
    if why is not None:
        return why
    if cleaning.controller_of(obj) is not None:
        return "left to its controller"
    meta = _meta(obj)
    key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
    if (api_version, kind) == ("v1", "Endpoints") and key in selector_services:
        return "kept by the endpoints controller (its Service has a selector)"
    return None


def _selector_services(objects: Iterable[JSON]) -> set[tuple[str, str]]:
    """(namespace, name) of the Services with a selector: their Endpoints are derived state."""
    return {
        (str(_meta(o).get("namespace") or ""), str(_meta(o).get("name") or ""))
        for o in objects
        if (o.get("apiVersion"), o.get("kind")) == ("v1", "Service") and (o.get("spec") or {}).get("selector")
    }


@dataclass
class _Run:
    target: ClusterWriter
    types: dict[tuple[str, str], ServedResource]
    options: RestoreOptions
    task: ProgressTask
    uids: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resource(self, api_version: str, kind: str) -> ServedResource | None:
        return self.types.get((api_version, kind))

    def remember(self, obj: JSON, live: JSON) -> None:
        meta, uid = _meta(obj), str(_meta(live).get("uid") or "")
        if uid:
            key = (
                group_of(str(obj.get("apiVersion") or "")),
                str(obj.get("kind") or ""),
                str(meta.get("namespace") or ""),
                str(meta.get("name") or ""),
            )
            with self.lock:
                self.uids[key] = uid

    def owner_uid(self, ref: JSON, namespace: str) -> str | None:
        group, kind, name = (
            group_of(str(ref.get("apiVersion") or "")),
            str(ref.get("kind") or ""),
            str(ref.get("name") or ""),
        )
        with self.lock:
            known = self.uids.get((group, kind, namespace, name)) or self.uids.get((group, kind, "", name))
        if known:
            return known
        resource = self.resource(str(ref.get("apiVersion") or ""), kind)
        if resource is None:
            return None
        live = self.target.get(resource, namespace if resource.namespaced else None, name)
        if live is None:
            return None
        return str(_meta(live).get("uid") or "") or None

    def with_owners(self, obj: JSON) -> JSON:
        refs = _meta(obj).get("ownerReferences")
        if not isinstance(refs, list) or not refs:
            return obj
        body = copy.deepcopy(obj)
        meta = _meta(body)
        kept = []
        for ref in refs:
            if not isinstance(ref, dict):
                continue
            uid = self.owner_uid(ref, str(meta.get("namespace") or ""))
            if uid is None:
                where = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
                with self.lock:
                    self.notes.append(
                        f"{obj.get('kind')} {where}: its owner {ref.get('kind')} {ref.get('name')} is not "
                        "in the cluster; the reference was dropped"
                    )
                continue
            kept.append({**ref, "uid": uid})
        if kept:
            meta["ownerReferences"] = kept
        else:
            meta.pop("ownerReferences", None)
        return body

    def restore_one(self, obj: JSON) -> ObjectResult:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        meta = _meta(obj)
        ns = str(meta.get("namespace") or "") or None
        name = str(meta.get("name") or "")
        resource = self.resource(api_version, kind)
        try:
            if resource is None:
                return _result(
                    obj, Outcome.FAILED, "the backup's manifest does not say which resource this is"
                )
            ns = ns if resource.namespaced else None
            if self.options.dry_run:
                return self._dry_run(obj, resource, ns, name)
            body = self.with_owners(obj)
            try:
                live = self.target.create(resource, ns, body)
            except ObjectExists:
                return self._existing(obj, body, resource, ns, name)
            self.remember(obj, live)
            return _result(obj, Outcome.CREATED)
        except ObjectRejected as err:
            return _result(obj, Outcome.FAILED, str(err))
        finally:
            with self.lock:
                self.done += 1
                self.task.update(completed=self.done)

    def _existing(
        self, obj: JSON, body: JSON, resource: ServedResource, ns: str | None, name: str
    ) -> ObjectResult:
        live = self.target.get(resource, ns, name)
        if live is None:  # deleted meanwhile: try once more
            created = self.target.create(resource, ns, body)
            self.remember(obj, created)
            return _result(obj, Outcome.CREATED)
        self.remember(obj, live)
        if self.options.existing == "skip":
            return _result(obj, Outcome.SKIPPED, "exists")
        replacement = copy.deepcopy(body)
        _meta(replacement)["resourceVersion"] = _meta(live).get("resourceVersion")
        self.target.replace(resource, ns, name, replacement)
        return _result(obj, Outcome.UPDATED)

    def _dry_run(self, obj: JSON, resource: ServedResource, ns: str | None, name: str) -> ObjectResult:
        """What restoring the object would do, the server asked where it can judge: a new object
        is sent with `dryRun=All`, so validation and admission refuse it now rather than midway
        through the restore. Objects whose namespace or CRD the restore would create first (the
        server answers 404) cannot be judged yet and count as to be created."""
        live = self.target.get(resource, ns, name)  # None too while its CRD is not yet created
        body = copy.deepcopy(obj)
        _meta(body).pop("ownerReferences", None)  # the owners are not restored in a dry run
        try:
            if live is not None:
                if self.options.existing == "skip":
                    return _result(obj, Outcome.SKIPPED, "exists")
                _meta(body)["resourceVersion"] = _meta(live).get("resourceVersion")
                self.target.replace(resource, ns, name, body, dry_run=True)
                return _result(obj, Outcome.UPDATED, "would be replaced (the server accepted a dry run)")
            self.target.create(resource, ns, body, dry_run=True)
        except ObjectExists:  # created meanwhile
            return _result(obj, Outcome.SKIPPED, "exists (created meanwhile)")
        except ObjectRejected as err:
            if err.code == 404:
                return _result(obj, Outcome.CREATED, "would be created (after its namespace or CRD)")
            return _result(obj, Outcome.FAILED, f"the server would refuse it: {err}")
        return _result(obj, Outcome.CREATED, "would be created (the server accepted a dry run)")

    def wait_established(self, crds: list[JSON], results: list[ObjectResult]) -> list[ObjectResult]:
        """Waits until every restored CRD is Established; those that are not in time fail."""
        crd_resource = self.resource(*CRD_KEY)
        if crd_resource is None or self.options.dry_run:
            return results
        pending = {
            str(_meta(c).get("name") or "")
            for c, r in zip(crds, results, strict=True)
            if r.outcome is not Outcome.FAILED
        }
        deadline = time.monotonic() + self.options.establish_timeout
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                live = self.target.get(crd_resource, None, name)
                conditions = ((live or {}).get("status") or {}).get("conditions") or []
                if any(
                    c.get("type") == "Established" and c.get("status") == "True"
                    for c in conditions
                    if isinstance(c, dict)
                ):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        return [
            _result(c, Outcome.FAILED, f"not Established within {self.options.establish_timeout:.0f}s")
            if str(_meta(c).get("name") or "") in pending
            else r
            for c, r in zip(crds, results, strict=True)
        ]


def restore_backup(
    folder: Path,
    options: RestoreOptions,
    target: ClusterWriter,
    *,
    progress: Progress | None = None,
    replacements: Replacements = no_replacements,
) -> RestoreReport:
    """Restores the backup in `folder` into `target` (see the module's docstring). Raises BadBackup,
    BadOptions or RestoreRefused before changing anything."""
    progress = progress or NoProgress()
    manifest = read_manifest(folder)
    loaded = load_resources(manifest, options.key, progress)
    chosen, left_out = select_objects(loaded, options.namespaces)
    unserved = find_unserved(chosen, target.discover(), replacements)
    if unserved:
        raise RestoreRefused(unserved)
    task = progress.task("restore" + (" (dry run)" if options.dry_run else ""), len(chosen))
    run = _Run(target, loaded.types, options, task)
    results: list[ObjectResult] = []
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for (rank, _), wave in waves(chosen):
            outcomes = list(pool.map(run.restore_one, wave))
            if rank == CRD_RANK:
                outcomes = run.wait_established(wave, outcomes)
            results.extend(outcomes)
    task.finish()
    return RestoreReport(folder, options.dry_run, tuple(results + left_out), tuple(run.notes))
