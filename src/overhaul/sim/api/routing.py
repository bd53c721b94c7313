"""Parses API paths the way the apiserver's request-info resolver does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourcePath:
    """A request for a resource: `/apis/apps/v1/namespaces/ns/deployments/web/scale`."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    legacy_watch: bool = False  # the deprecated /watch/ prefix


@dataclass(frozen=True)
class GroupPath:
    """Discovery of a group (`/apis/apps`) or a group version (`/api/v1`, `/apis/apps/v1`)."""

    group: str
    version: str | None


def parse_api_path(path: str) -> ResourcePath | GroupPath | None:
    """The resource or discovery document a path names; None when it names neither."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            return None  # /api itself is handled as a fixed route
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) == 1:
            return None
        if len(parts) == 2:
            return GroupPath(parts[1], None)
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return GroupPath(group, version)
    legacy_watch = False
    if rest[0] == "watch":
        legacy_watch = True
        rest = rest[1:]
        if not rest:
            return None
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        return None
    return ResourcePath(group, version, plural, namespace, name, subresource, legacy_watch)
