"""`backup --verify DIR`: is this backup still what was written? Every checksum recomputed, the etcd
snapshot re-checked (integrity hash, `snapshot status` against the manifest's record)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overhaul.backup.checksums import sha256_file
from overhaul.backup.errors import EtcdError
from overhaul.backup.etcd_snapshot import recheck
from overhaul.backup.etcdctl import EtcdTools
from overhaul.backup.folder import MANIFEST
from overhaul.backup.manifest import Manifest, read_manifest
from overhaul.backup.ports import NoProgress, Progress


@dataclass(frozen=True)
class VerifyReport:
    folder: Path
    files_checked: int
    bytes_checked: int
    problems: tuple[str, ...]
    snapshot_checked: bool

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "backup": str(self.folder),
            "intact": self.intact,
            "filesChecked": self.files_checked,
            "bytesChecked": self.bytes_checked,
            "snapshotChecked": self.snapshot_checked,
            "problems": list(self.problems),
        }


def check_files(manifest: Manifest, progress: Progress, only: str = "") -> tuple[list[str], int]:
    """Problems with the files the manifest lists (those under `only`, when given), and bytes read."""
    records = {k: v for k, v in manifest.files.items() if k.startswith(only)}
    task = progress.task("checksums", sum(r.bytes for r in records.values()) or None)
    problems: list[str] = []
    done = 0
    for rel, record in records.items():
        path = manifest.folder.joinpath(*rel.split("/"))
        try:
            digest, size = sha256_file(path)
        except FileNotFoundError:
            problems.append(f"{rel}: missing")
            continue
        except OSError as err:
            problems.append(f"{rel}: unreadable ({err.strerror or err})")
            continue
        done += size
        task.update(completed=done)
        if size != record.bytes:
            problems.append(f"{rel}: {size} bytes, the manifest recorded {record.bytes}")
        elif digest != record.sha256:
            problems.append(f"{rel}: sha256 differs from the manifest's (the file changed or is damaged)")
    task.finish()
    return problems, done


def verify_backup(
    folder: Path, *, tools: EtcdTools | None = None, progress: Progress | None = None
) -> VerifyReport:
    """Checks the backup in `folder`; raises BadBackup when it is not a (complete) backup at all."""
    manifest = read_manifest(folder)
    problems, read = check_files(manifest, progress or NoProgress())
    listed = set(manifest.files) | {MANIFEST}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in the manifest")
    snapshot_checked = False
    record = manifest.etcd
    if record is not None:
        rel = str(record["file"])
        if rel in manifest.files and (folder / rel).is_file():
            try:
                etcd_tools = tools or EtcdTools.find()
            except EtcdError as err:
                problems.append(f"{rel}: cannot re-check the snapshot: {err}")
            else:
                problems += [f"{rel}: {p}" for p in recheck(folder / rel, record, etcd_tools)]
                snapshot_checked = True
        elif rel not in manifest.files:
            problems.append(f"{rel}: the manifest records a snapshot but lists no such file")
    return VerifyReport(folder, len(manifest.files), read, tuple(problems), snapshot_checked)
