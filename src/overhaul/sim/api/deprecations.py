"""Deprecated API versions the embedded cluster serves, and what the apiserver does about a request
to one: a `Warning: 299 - "..."` header and the `apiserver_requested_deprecated_apis` gauge.

Built-in resources carry their deprecation in k8s.io/api (`APILifecycleDeprecated`, `...Removed`,
`...Replacement`); the apiserver warns from the minor it was deprecated in
(k8s.io/apiserver/pkg/endpoints/deprecation). Of the resources the sim serves, v1 Endpoints is the
one deprecated (in 1.33, KEP-4974, no removal planned: use discovery.k8s.io/v1 EndpointSlice).
Custom resources are deprecated by their CRD's version (`deprecated`, `deprecationWarning`); the
apiextensions-apiserver then warns with that text or its default and counts the request with no
removal release.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Deprecation:
    """What the apiserver says about requests to one deprecated resource version."""

    warning: str  # the Warning header's text
    removed_release: str  # the metric's label: "1.25", or "" when no removal is planned


@dataclass(frozen=True)
class BuiltinDeprecation:
    group: str
    version: str
    kind: str
    plural: str
    deprecated_in: tuple[int, int]
    removed_in: tuple[int, int] | None
    replacement: str | None  # "discovery.k8s.io/v1 EndpointSlice"

    def at(self, major: int, minor: int) -> Deprecation | None:
        """The deprecation an apiserver of that version announces (None before `deprecated_in`)."""
        if (major, minor) < self.deprecated_in:
            return None
        group_version = f"{self.group}/{self.version}" if self.group else self.version
        text = (
            f"{group_version} {self.kind} is deprecated in v{self.deprecated_in[0]}.{self.deprecated_in[1]}+"
        )
        if self.removed_in is not None:
            text += f", unavailable in v{self.removed_in[0]}.{self.removed_in[1]}+"
        if self.replacement:
            text += f"; use {self.replacement}"
        removed = f"{self.removed_in[0]}.{self.removed_in[1]}" if self.removed_in else ""
        return Deprecation(text, removed)


BUILTIN: dict[tuple[str, str, str], BuiltinDeprecation] = {
    ("", "v1", "endpoints"): BuiltinDeprecation(
        "", "v1", "Endpoints", "endpoints", (1, 33), None, "discovery.k8s.io/v1 EndpointSlice"
    ),
}


def major_minor(git_version: str) -> tuple[int, int]:
    """(1, 34) from `v1.34.2`; (0, 0) when it does not parse (the apiserver then warns always)."""
    parts = git_version.lstrip("v").split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or "x")
    except (IndexError, ValueError):
        return 0, 0


@functools.lru_cache(maxsize=256)  # asked on every request; the answers never change
def builtin(group: str, version: str, plural: str, git_version: str) -> Deprecation | None:
    entry = BUILTIN.get((group, version, plural))
    if entry is None:
        return None
    major, minor = major_minor(git_version)
    if (major, minor) == (0, 0):
        return entry.at(*entry.deprecated_in)
    return entry.at(major, minor)


def _version_key(name: str) -> tuple[int, int, int]:
    """Kube-aware version order (v2 > v1 > v1beta2 > v1beta1 > v1alpha1), larger is newer."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", name)
    if not m:
        return (-1, 0, 0)
    level = {"alpha": 0, "beta": 1, None: 2}[m.group(2)]
    return (level, int(m.group(1)), int(m.group(3) or 0))


def custom(crd: JSONDict, version: str) -> Deprecation | None:
    """The deprecation of a custom resource version, from its CRD (None when not deprecated)."""
    spec = crd.get("spec") or {}
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    entry = next((v for v in versions if v.get("name") == version), None)
    if entry is None or entry.get("deprecated") is not True:
        return None
    warning = entry.get("deprecationWarning")
    if isinstance(warning, str):
        return Deprecation(warning, "")
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    text = f"{group}/{version} {kind} is deprecated"
    # apiextensions-apiserver's defaultDeprecationWarning: the newest served, non-deprecated version
    # that is newer than this one.
    newer = [
        str(v.get("name"))
        for v in versions
        if v.get("served", True)
        and not v.get("deprecated")
        and _version_key(str(v.get("name"))) > _version_key(version)
    ]
    if newer:
        text += f"; use {group}/{max(newer, key=_version_key)} {kind}"
    return Deprecation(text, "")


def warning_header(text: str) -> str:
    """A Warning header value as the apiserver writes it (RFC 7234: code 299, agent "-")."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
