"""Kubernetes type schemas, read from the JSON schemas the `kubernetes-validate` package ships.

One `_definitions.json` per minor (1.25 and later, `.0` patches only) holds every API type with
its `x-kubernetes-group-version-kind` and strategic-merge patch metadata
(`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`). The embedded cluster uses them
for OpenAPI documents, strict field validation and strategic merge patches.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import orjson

JSONDict = dict[str, Any]

SCHEMA_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
_DIR_RE = re.compile(r"^v(\d+)\.(\d+)\.0-local$")
_REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def available_minors() -> list[tuple[int, int]]:
    """The (major, minor) pairs whose schemas are shipped, oldest first."""
    found = []
    for entry in SCHEMA_ROOT.iterdir():
        m = _DIR_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), int(m.group(2))))
    return sorted(found)


def nearest_minor(major: int, minor: int) -> tuple[int, int]:
    """The shipped minor closest to the one asked for (clamped to the shipped range)."""
    minors = available_minors()
    if not minors:
        raise RuntimeError(f"no schemas found under {SCHEMA_ROOT}")
    wanted = (major, minor)
    older = [m for m in minors if m <= wanted]
    return older[-1] if older else minors[0]


def ref_name(ref: str) -> str:
    """The definition name a `$ref` points at."""
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    raise ValueError(f"unsupported $ref {ref!r}")


@dataclass
class SchemaSet:
    """Every definition of one Kubernetes minor, indexed by name and by group/version/kind."""

    minor: tuple[int, int]
    definitions: dict[str, JSONDict]
    by_gvk: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, schema in self.definitions.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                self.by_gvk.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), name)

    def definition_for(self, group: str, version: str, kind: str) -> str | None:
        """The definition name of a kind (e.g. `io.k8s.api.apps.v1.Deployment`), if known."""
        return self.by_gvk.get((group, version, kind))

    def resolve(self, schema: JSONDict) -> JSONDict:
        """Follows `$ref` (possibly nested in `allOf` of one element) to the definition."""
        seen = 0
        while True:
            if "$ref" in schema:
                schema = self.definitions[ref_name(schema["$ref"])]
            elif "allOf" in schema and len(schema["allOf"]) == 1:
                schema = schema["allOf"][0]
            else:
                return schema
            seen += 1
            if seen > 32:
                raise ValueError("$ref cycle")

    def property_schema(self, schema: JSONDict, name: str) -> JSONDict | None:
        """The schema of property `name` of an object schema (unresolved, so patch metadata stays)."""
        props = self.resolve(schema).get("properties") or {}
        sub = props.get(name)
        return sub if isinstance(sub, dict) else None

    def items_schema(self, schema: JSONDict) -> JSONDict | None:
        """The schema of the items of an array schema."""
        items = self.resolve(schema).get("items")
        return items if isinstance(items, dict) else None

    def additional_schema(self, schema: JSONDict) -> JSONDict | None:
        """The schema of the values of a map (`additionalProperties`), if it is a map."""
        extra = self.resolve(schema).get("additionalProperties")
        return extra if isinstance(extra, dict) else None


def schema_types(schema: JSONDict) -> set[str]:
    """The JSON types a schema admits (`type` may be a string or a list)."""
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


@functools.cache
def load_schemas(major: int, minor: int) -> SchemaSet:
    """The schema set of the shipped minor nearest to `major.minor` (cached; ~1.5 MB to parse)."""
    got = nearest_minor(major, minor)
    path = SCHEMA_ROOT / f"v{got[0]}.{got[1]}.0-local" / "_definitions.json"
    data = orjson.loads(path.read_bytes())
    return SchemaSet(minor=got, definitions=data["$defs"])
