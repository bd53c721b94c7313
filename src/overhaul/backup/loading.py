"""Reading a backup's exported objects back: checksums first, Secrets decrypted with the key file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from overhaul.backup.encryption import decrypt
from overhaul.backup.errors import BadBackup, BadOptions
from overhaul.backup.export import RESOURCES_DIR
from overhaul.backup.manifest import Manifest
from overhaul.backup.ports import NoProgress, Progress
from overhaul.backup.verify import check_files
from overhaul.domain.cluster import ServedResource

JSON = dict[str, Any]


@dataclass(frozen=True)
class LoadedResources:
    objects: list[JSON]
    # (apiVersion, kind) -> the resource it was exported from (its plural and scope)
    types: dict[tuple[str, str], ServedResource]


def _types(part: dict[str, Any]) -> dict[tuple[str, str], ServedResource]:
    out: dict[tuple[str, str], ServedResource] = {}
    for raw in part.get("types") or []:
        if not isinstance(raw, dict):
            continue
        api_version, kind, plural = (str(raw.get(k) or "") for k in ("apiVersion", "kind", "plural"))
        if not (api_version and kind and plural):
            raise BadBackup("the manifest's resource types are malformed")
        group, _, version = api_version.rpartition("/")
        out[(api_version, kind)] = ServedResource(
            group, version, plural, kind, raw.get("namespaced") is True, frozenset()
        )
    return out


def load_resources(
    manifest: Manifest, key: bytes | None, progress: Progress | None = None
) -> LoadedResources:
    """Every exported object of the backup; BadBackup when a file is damaged, BadOptions when its
    Secrets are encrypted and no key was given."""
    part = manifest.resources
    if part is None:
        why = manifest.skipped("resources") or "it holds no resource export"
        raise BadBackup(f"{manifest.folder}: no resources to restore ({why})")
    problems, _ = check_files(manifest, progress or NoProgress(), only=f"{RESOURCES_DIR}/")
    if problems:
        raise BadBackup(
            f"{manifest.folder} is damaged: {'; '.join(problems[:3])} (see `overhaul backup --verify`)"
        )
    objects: list[JSON] = []
    for rel, record in manifest.files.items():
        if not rel.startswith(f"{RESOURCES_DIR}/"):
            continue
        data = manifest.folder.joinpath(*rel.split("/")).read_bytes()
        if record.encrypted:
            if key is None:
                raise BadOptions("the backup's Secrets are encrypted: give the key with --key-file")
            data = decrypt(key, data, rel)
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            raise BadBackup(f"{rel}: not JSON ({err})") from err
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise BadBackup(f"{rel}: not a List of objects")
        objects.extend(item for item in items if isinstance(item, dict))
    return LoadedResources(objects, _types(part))
