"""Which API versions stop being served in which Kubernetes minor, and what to use instead.

The table is data/removed_apis.yaml: the official migration guide's entries (kept by hand) plus the
later removals found by comparing the kubernetes-validate schemas (scripts/regenerate_removed_apis.py).
A kind/version that is not in the table is taken to be served.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from overhaul.domain.apis import GroupVersion, GroupVersionKind, Stability
from overhaul.domain.version import Version
from overhaul.knowledge import _data

_FILE = "removed_apis.yaml"


class ApiStatus(StrEnum):
    OK = "ok"
    DEPRECATED = "deprecated"  # still served at the target, removal announced
    REMOVED = "removed"  # not served at the target


@dataclass(frozen=True)
class RemovedApi:
    """One kind in one API version that a Kubernetes minor stopped serving."""

    gvk: GroupVersionKind
    deprecated_in: Version | None  # None: not recorded
    removed_in: Version
    replacement: GroupVersionKind | None  # None: no replacement API (see notes)
    notes: str
    source: str  # key of the file's `source` mapping
    curated: bool  # from the migration guide (True) or generated from the schemas (False)

    @property
    def stability(self) -> Stability:
        return self.gvk.stability


@dataclass(frozen=True)
class ApiVerdict:
    """What happens to objects of one kind/version when the cluster runs `target`."""

    gvk: GroupVersionKind
    target: Version
    status: ApiStatus
    entry: RemovedApi | None
    # removed: the replacement chain followed to a version `target` serves; deprecated: the direct one
    replacement: GroupVersionKind | None

    @property
    def ok(self) -> bool:
        return self.status is ApiStatus.OK


def _minor_or_none(version: Version | None) -> Version | None:
    return None if version is None else _data.minor(version)


def _parse(raw: dict[str, Any], where: str, curated: bool) -> RemovedApi:
    gvk = GroupVersionKind.of(_data.text(raw.get("api_version"), where), _data.text(raw.get("kind"), where))
    replacement_version = _data.optional_text(raw.get("replacement"), f"{where}.replacement")
    return RemovedApi(
        gvk=gvk,
        deprecated_in=_minor_or_none(
            _data.optional_version(raw.get("deprecated_in"), f"{where}.deprecated_in")
        ),
        removed_in=_data.minor(_data.version(raw.get("removed_in"), f"{where}.removed_in")),
        replacement=gvk.with_version(replacement_version) if replacement_version else None,
        notes=_data.optional_text(raw.get("notes"), f"{where}.notes") or "",
        source=_data.text(raw.get("source"), f"{where}.source"),
        curated=curated,
    )


@functools.cache
def _table() -> dict[GroupVersionKind, RemovedApi]:
    document = _data.load(_FILE)
    parsed = [
        _parse(dict(raw), f"{_FILE} {part}[{i}]", curated=part == "curated")
        for part in ("curated", "generated")
        for i, raw in enumerate(_data.entries(document.get(part) or [], f"{_FILE} {part}"))
    ]
    table: dict[GroupVersionKind, RemovedApi] = {}
    for entry in parsed:
        if entry.gvk in table:
            raise _data.KnowledgeDataError(f"{_FILE}: {entry.gvk} is listed twice")
        table[entry.gvk] = entry
    return table


def _gvk(api_version: str | GroupVersionKind, kind: str | None) -> GroupVersionKind:
    if isinstance(api_version, GroupVersionKind):
        return api_version
    if kind is None:
        raise TypeError("kind is required when api_version is a string")
    return GroupVersionKind.of(api_version, kind)


def provenance() -> _data.Provenance:
    return _data.provenance(_FILE)


def removed_apis() -> tuple[RemovedApi, ...]:
    """Every entry, by removal minor then group/version/kind."""
    return tuple(sorted(_table().values(), key=lambda e: (e.removed_in, e.gvk)))


def lookup(api_version: str | GroupVersionKind, kind: str | None = None) -> RemovedApi | None:
    """The entry for `apps/v1beta1`, `Deployment` (or a GroupVersionKind); None when never removed."""
    return _table().get(_gvk(api_version, kind))


def removed_in(api_version: str | GroupVersionKind, kind: str | None = None) -> Version | None:
    entry = lookup(api_version, kind)
    return entry.removed_in if entry else None


def deprecated_in(api_version: str | GroupVersionKind, kind: str | None = None) -> Version | None:
    entry = lookup(api_version, kind)
    return entry.deprecated_in if entry else None


def replacement(api_version: str | GroupVersionKind, kind: str | None = None) -> GroupVersionKind | None:
    """The direct replacement named by the table (it may itself be removed later)."""
    entry = lookup(api_version, kind)
    return entry.replacement if entry else None


def served_replacement(gvk: GroupVersionKind, target: Version | str) -> GroupVersionKind | None:
    """Follow replacements until one that `target` still serves; None when the chain ends."""
    minor = _data.minor(target)
    seen: set[GroupVersionKind] = set()
    current: GroupVersionKind | None = gvk
    while current is not None and current not in seen:
        seen.add(current)
        entry = lookup(current)
        if entry is None or minor < entry.removed_in:
            return None if current == gvk else current
        current = entry.replacement
    return None


def status_at(
    api_version: str | GroupVersionKind, kind: str | None = None, *, target: Version | str
) -> ApiVerdict:
    """Whether `target` serves this kind/version: removed, deprecated (still served) or ok."""
    gvk = _gvk(api_version, kind)
    minor = _data.minor(target)
    entry = lookup(gvk)
    if entry is None:
        return ApiVerdict(gvk, minor, ApiStatus.OK, None, None)
    if minor >= entry.removed_in:
        return ApiVerdict(gvk, minor, ApiStatus.REMOVED, entry, served_replacement(gvk, minor))
    if entry.deprecated_in is not None and minor >= entry.deprecated_in:
        # The direct replacement: the one to move to before the removal (it may arrive after `target`).
        return ApiVerdict(gvk, minor, ApiStatus.DEPRECATED, entry, entry.replacement)
    return ApiVerdict(gvk, minor, ApiStatus.OK, entry, None)


def removed_between(current: Version | str, target: Version | str) -> tuple[RemovedApi, ...]:
    """Entries no longer served on the way from `current` to `target`: current < removed_in <= target."""
    low, high = _data.minor(current), _data.minor(target)
    return tuple(e for e in removed_apis() if low < e.removed_in <= high)


def check(gvks: Iterable[GroupVersionKind], target: Version | str) -> tuple[ApiVerdict, ...]:
    """The verdicts that are not ok for the kinds/versions in use (manifests, Helm releases, objects)."""
    verdicts = {status_at(g, target=target) for g in set(gvks)}
    return tuple(
        sorted((v for v in verdicts if not v.ok), key=lambda v: (v.status != ApiStatus.REMOVED, v.gvk))
    )


def served_but_removed(
    served_group_versions: Iterable[str | GroupVersion], target: Version | str
) -> tuple[RemovedApi, ...]:
    """Entries whose group/version the cluster serves now (discovery) and `target` no longer serves."""
    served = {g if isinstance(g, GroupVersion) else GroupVersion.parse(g) for g in served_group_versions}
    minor = _data.minor(target)
    return tuple(e for e in removed_apis() if e.gvk.group_version in served and e.removed_in <= minor)
