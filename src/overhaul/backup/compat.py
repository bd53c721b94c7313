"""Before a restore acts: does the target cluster serve every apiVersion/kind in the backup?

A backup holds objects at the versions its cluster preferred; a newer cluster may have stopped
serving some (policy/v1beta1 PodDisruptionBudget, a CRD version dropped). Velero finds out object by
object, halfway through; here the whole list is known before anything is created. The replacement
named is the first the target serves of: the removed-API table's chain (given by the caller, from
`overhaul.knowledge`), then the same group and kind at another served version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from overhaul.backup.ports import ServedApis
from overhaul.backup.restore_order import group_of

JSON = dict[str, Any]
# (apiVersion, kind) -> the apiVersion that replaced it, or None (the removed-API table's answer).
Replacements = Callable[[str, str], str | None]
CRD_API = ("apiextensions.k8s.io", "CustomResourceDefinition")


def no_replacements(api_version: str, kind: str) -> str | None:
    return None


@dataclass(frozen=True)
class Unserved:
    api_version: str
    kind: str
    objects: tuple[str, ...]  # namespace/name or name
    replacement: str | None  # an apiVersion the target serves the kind under

    def describe(self) -> str:
        instead = f"use {self.replacement} instead" if self.replacement else "no served replacement is known"
        names = ", ".join(self.objects[:5]) + (
            f" and {len(self.objects) - 5} more" if len(self.objects) > 5 else ""
        )
        return f"{self.api_version} {self.kind} is not served by the cluster ({instead}): {names}"


def crd_served(crds: Iterable[JSON]) -> set[tuple[str, str]]:
    """(apiVersion, kind) that these CustomResourceDefinitions serve once created."""
    out: set[tuple[str, str]] = set()
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")
        for v in spec.get("versions") or []:
            if isinstance(v, dict) and v.get("served", True) and v.get("name"):
                out.add((f"{group}/{v['name']}", kind))
    return out


def _label(obj: JSON) -> str:
    meta = obj.get("metadata") or {}
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    return f"{ns}/{name}" if ns else name


def find_unserved(
    objects: Iterable[JSON], served: ServedApis, replacements: Replacements = no_replacements
) -> list[Unserved]:
    """The apiVersion/kinds of `objects` that neither the cluster nor the CRDs among them serve."""
    objects = list(objects)
    crds = [o for o in objects if (group_of(str(o.get("apiVersion") or "")), o.get("kind")) == CRD_API]
    available = {(r.group_version, r.kind) for r in served.resources} | crd_served(crds)
    missing: dict[tuple[str, str], list[str]] = {}
    for obj in objects:
        key = (str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
        if key not in available:
            missing.setdefault(key, []).append(_label(obj))
    out = []
    for (api_version, kind), names in sorted(missing.items()):
        instead = _replacement(api_version, kind, served, available, replacements)
        out.append(Unserved(api_version, kind, tuple(sorted(names)), instead))
    return out


def _replacement(
    api_version: str,
    kind: str,
    served: ServedApis,
    available: set[tuple[str, str]],
    replacements: Replacements,
) -> str | None:
    seen = {api_version}
    current: str | None = replacements(api_version, kind)
    while current is not None and current not in seen:
        if (current, kind) in available:
            return current
        seen.add(current)
        current = replacements(current, kind)
    group = group_of(api_version)
    same_group = list(served.versions_of(group, kind))  # the cluster's preferred version first
    same_group += sorted(av for av, k in available if k == kind and group_of(av) == group)
    return same_group[0] if same_group else None
