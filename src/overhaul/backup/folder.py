"""The backup folder being written: every file checksummed, nothing visible until it is complete.

Files go into a hidden `.overhaul-backup-<time>.partial` folder beside the final one; `commit()` writes
`manifest.json` last and renames the folder into place, so a folder named `overhaul-backup-<time>`
always holds a complete backup. `discard()` removes a failed one; if even that fails, it leaves an
`INCOMPLETE` marker so the folder is never mistaken for a backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from overhaul.backup.checksums import sha256_file
from overhaul.backup.errors import BackupFailed

MANIFEST = "manifest.json"
INCOMPLETE_MARKER = "INCOMPLETE"
PREFIX = "overhaul-backup-"
PRIVATE = 0o600  # Secrets and the etcd snapshot (which holds every Secret of the cluster)
PUBLIC = 0o644


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    bytes: int
    objects: int | None = None
    encrypted: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "bytes": self.bytes}
        if self.objects is not None:
            out["objects"] = self.objects
        if self.encrypted:
            out["encrypted"] = True
        return out


def folder_name(started: datetime) -> str:
    return PREFIX + started.strftime("%Y%m%dT%H%M%SZ")


def safe_relative(rel: str) -> PurePosixPath:
    """A relative path inside the backup; anything that could leave it is refused."""
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise ValueError(f"not a path inside a backup: {rel!r}")
    return path


class BackupFolder:
    """A backup being written. Thread-safe: the export writes from several threads."""

    def __init__(self, out: Path, started: datetime) -> None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BackupFailed(f"cannot write the backup to {out}: {err.strerror or err}") from err
        name = folder_name(started)
        final = out / name
        n = 1
        while final.exists() or (out / f".{final.name}.partial").exists():
            n += 1
            final = out / f"{name}-{n}"
        self.final = final
        self.path = out / f".{final.name}.partial"
        self._files: dict[str, FileRecord] = {}
        self._lock = threading.Lock()
        try:
            self.path.mkdir(mode=0o700)
        except OSError as err:
            raise BackupFailed(f"cannot write the backup to {out}: {err.strerror or err}") from err

    @property
    def files(self) -> dict[str, FileRecord]:
        with self._lock:
            return dict(sorted(self._files.items()))

    def prepare(self, rel: str) -> Path:
        """The absolute path for a file another program writes (its parent folder created)."""
        target = self.path.joinpath(*safe_relative(rel).parts)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return target

    def write(
        self,
        rel: str,
        data: bytes,
        *,
        private: bool = False,
        objects: int | None = None,
        encrypted: bool = False,
    ) -> FileRecord:
        """Writes a new file and records its checksum."""
        target = self.prepare(rel)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE if private else PUBLIC)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        record = FileRecord(hashlib.sha256(data).hexdigest(), len(data), objects, encrypted)
        with self._lock:
            self._files[rel] = record
        return record

    def record(self, rel: str, *, private: bool = False) -> FileRecord:
        """Checksums a file another program wrote (the etcd snapshot) and sets its mode."""
        target = self.path.joinpath(*safe_relative(rel).parts)
        os.chmod(target, PRIVATE if private else PUBLIC)
        digest, size = sha256_file(target)
        record = FileRecord(digest, size)
        with self._lock:
            self._files[rel] = record
        return record

    def commit(self, manifest: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        """Writes manifest.json (with every file's checksum) and moves the folder into place;
        returns where it is and the manifest as written."""
        manifest = {**manifest, "files": {k: v.to_json() for k, v in self.files.items()}}
        self.write(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
        os.rename(self.path, self.final)
        with contextlib.suppress(OSError):
            fd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return self.final, manifest

    def discard(self) -> str:
        """Removes the partial folder; says what became of it."""
        shutil.rmtree(self.path, ignore_errors=True)
        if not self.path.exists():
            return "the partial backup was removed"
        try:
            (self.path / INCOMPLETE_MARKER).write_text("this backup failed and is incomplete\n")
        except OSError:
            return f"the partial backup could not be removed: {self.path} is incomplete, delete it"
        return f"the partial backup could not be removed; {self.path} is marked incomplete"
