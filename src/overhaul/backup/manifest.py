"""`manifest.json`: what a backup holds, when and where it was taken, and the sha256 of every file.

{"format": "overhaul.io/backup/v1", "complete": true, "overhaul": "0.1.0",
 "started": "...Z", "finished": "...Z",
 "cluster": {"server": ..., "context": ..., "version": "v1.34.2"} | null,
 "etcd": {...snapshot record...} | {"skipped": "why"},
 "resources": {...export summary...} | {"skipped": "why"},
 "files": {"etcd/snapshot.db": {"sha256": ..., "bytes": ...}, ...}}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from overhaul.backup.errors import BadBackup
from overhaul.backup.folder import INCOMPLETE_MARKER, MANIFEST, FileRecord, safe_relative

FORMAT = "overhaul.io/backup/v1"


@dataclass(frozen=True)
class Manifest:
    folder: Path
    data: dict[str, Any]
    files: dict[str, FileRecord]

    @property
    def etcd(self) -> dict[str, Any] | None:
        """The snapshot's record; None when the backup has no snapshot."""
        part = self.data.get("etcd")
        return part if isinstance(part, dict) and "file" in part else None

    @property
    def resources(self) -> dict[str, Any] | None:
        part = self.data.get("resources")
        return part if isinstance(part, dict) and "types" in part else None

    def skipped(self, part: str) -> str | None:
        value = self.data.get(part)
        return str(value["skipped"]) if isinstance(value, dict) and "skipped" in value else None


def _record(rel: str, raw: Any, where: Path) -> FileRecord:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("sha256"), str)
        or not isinstance(raw.get("bytes"), int)
    ):
        raise BadBackup(f"{where}: the entry for {rel} is malformed")
    try:
        safe_relative(rel)
    except ValueError as err:
        raise BadBackup(f"{where}: {err}") from err
    objects = raw.get("objects")
    return FileRecord(
        raw["sha256"],
        raw["bytes"],
        objects if isinstance(objects, int) else None,
        raw.get("encrypted") is True,
    )


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in `folder`; BadBackup when it is not a complete backup."""
    if not folder.is_dir():
        raise BadBackup(f"{folder}: not a directory")
    if (folder / INCOMPLETE_MARKER).exists() or folder.name.endswith(".partial"):
        raise BadBackup(f"{folder}: an incomplete backup (it failed while being taken)")
    path = folder / MANIFEST
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as err:
        raise BadBackup(f"{folder}: no {MANIFEST} (not a backup written by overhaul, or incomplete)") from err
    except OSError as err:
        raise BadBackup(f"{path}: {err.strerror or err}") from err
    except orjson.JSONDecodeError as err:
        raise BadBackup(f"{path}: not JSON ({err})") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadBackup(f"{path}: not an overhaul backup manifest (format {FORMAT})")
    if data.get("complete") is not True:
        raise BadBackup(f"{folder}: the manifest says the backup is incomplete")
    files = data.get("files")
    if not isinstance(files, dict):
        raise BadBackup(f"{path}: no file list")
    return Manifest(folder, data, {str(k): _record(str(k), v, path) for k, v in files.items()})
