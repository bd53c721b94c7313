"""An etcd snapshot taken from one member, and the checks that make it trustworthy.

A snapshot counts only once it has passed every check, at backup time and again by `--verify`:
- the integrity hash: the member appends the sha256 of the database it streamed (etcd's
  maintenance Snapshot API); `snapshot restore` refuses a file whose hash does not match, so a
  damaged file is caught now rather than during a disaster;
- `snapshot status` reads the file as a bbolt database: its hash, revision, key count and size;
- the revision is at least the one the member reported before the snapshot started, and the file
  is exactly the database plus the 32-byte hash;
- at `--verify`: the file's sha256 and the status are those recorded in the manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overhaul.backup.errors import EtcdError
from overhaul.backup.etcdctl import EtcdOptions, EtcdTools

HASH_SIZE = 32  # sha256, appended by the member
CHUNK = 1 << 20
SNAPSHOT_FILE = "etcd/snapshot.db"


def integrity_hash_ok(path: Path) -> bool | None:
    """Whether the appended sha256 matches the database before it; None when the file has none
    (a copied data file rather than a snapshot: etcd's rule is size % 512 == 32)."""
    size = path.stat().st_size
    if size % 512 != HASH_SIZE:
        return None
    digest = hashlib.sha256()
    remaining = size - HASH_SIZE
    with path.open("rb") as f:
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                return False
            digest.update(chunk)
            remaining -= len(chunk)
        trailer = f.read(HASH_SIZE)
    return digest.digest() == trailer


@dataclass(frozen=True)
class SnapshotStatus:
    hash: int
    revision: int
    total_keys: int
    total_size: int
    storage_version: str | None = None  # from etcdutl (etcd >= 3.5)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> SnapshotStatus:
        try:
            return cls(
                int(raw["hash"]),
                int(raw["revision"]),
                int(raw["totalKey"]),
                int(raw["totalSize"]),
                str(raw["version"]) if raw.get("version") else None,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise EtcdError(f"unexpected snapshot status (missing {err})") from err


def check_file(
    path: Path, tools: EtcdTools, *, revision_at_least: int = 0
) -> tuple[SnapshotStatus, list[str]]:
    """The snapshot's status and what is wrong with it (nothing: an empty list)."""
    problems: list[str] = []
    integrity = integrity_hash_ok(path)
    if integrity is None:
        problems.append("it has no integrity hash (not a snapshot taken through etcd's API?)")
    elif not integrity:
        problems.append("its integrity hash does not match its content (the file is damaged)")
    try:
        status = SnapshotStatus.of(tools.snapshot_status(path))
    except EtcdError as err:
        return SnapshotStatus(0, 0, 0, 0), [*problems, f"snapshot status failed: {err}"]
    if status.revision < revision_at_least:
        problems.append(f"its revision {status.revision} is older than the member's {revision_at_least}")
    if status.total_keys <= 0:
        problems.append("it holds no keys")
    if integrity is not None and path.stat().st_size != status.total_size + HASH_SIZE:
        problems.append(
            f"its size {path.stat().st_size} is not the database's {status.total_size} plus the hash"
        )
    return status, problems


@dataclass(frozen=True)
class SnapshotRecord:
    """What the manifest says of a verified snapshot."""

    endpoint: str
    etcd_version: str
    cluster_id: str
    member_id: str
    member_name: str
    members: tuple[tuple[str, tuple[str, ...]], ...]  # (name, peer URLs) of every member
    revision_before: int
    status: SnapshotStatus
    tool: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": SNAPSHOT_FILE,
            "endpoint": self.endpoint,
            "etcdVersion": self.etcd_version,
            "clusterId": self.cluster_id,
            "memberId": self.member_id,
            "memberName": self.member_name,
            "members": [{"name": n, "peerURLs": list(urls)} for n, urls in self.members],
            "revisionBeforeSnapshot": self.revision_before,
            "hash": self.status.hash,
            "revision": self.status.revision,
            "totalKeys": self.status.total_keys,
            "totalSize": self.status.total_size,
            "storageVersion": self.status.storage_version,
            "integrityHash": "verified",
            "tool": self.tool,
        }


def _hex(value: Any) -> str:
    return f"{int(value):x}" if isinstance(value, int) else str(value or "")


def take_snapshot(
    options: EtcdOptions,
    tools: EtcdTools,
    dest: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> SnapshotRecord:
    """Takes a snapshot of the member at `options.endpoint` into `dest` and verifies it; raises
    EtcdError when the member cannot be reached or the snapshot fails any check."""
    status = tools.endpoint_status(options)
    header = status.get("header") or {}
    db_size = int(status.get("dbSize") or 0)
    members = tools.member_list(options)
    member_id = header.get("member_id")
    name = next((str(m.get("name") or "") for m in members if m.get("ID") == member_id), "")
    tools.snapshot_save(
        options, dest, None if on_progress is None else (lambda done: on_progress(done, db_size))
    )
    checked, problems = check_file(dest, tools, revision_at_least=int(header.get("revision") or 0))
    if problems:
        raise EtcdError(f"the snapshot failed verification: {'; '.join(problems)}")
    if on_progress is not None:
        on_progress(dest.stat().st_size, dest.stat().st_size)
    return SnapshotRecord(
        endpoint=options.endpoint,
        etcd_version=str(status.get("version") or ""),
        cluster_id=_hex(header.get("cluster_id")),
        member_id=_hex(member_id),
        member_name=name,
        members=tuple(
            (str(m.get("name") or ""), tuple(str(u) for u in m.get("peerURLs") or [])) for m in members
        ),
        revision_before=int(header.get("revision") or 0),
        status=checked,
        tool=f"{tools.version()}; {Path(tools.file_tool).name} snapshot status",
    )


def recheck(path: Path, recorded: dict[str, Any], tools: EtcdTools) -> list[str]:
    """`--verify`: the snapshot passes every check and matches what the manifest recorded."""
    status, problems = check_file(path, tools)
    if problems and status.total_size == 0:
        return problems
    expected = {
        "hash": status.hash,
        "revision": status.revision,
        "totalKeys": status.total_keys,
        "totalSize": status.total_size,
    }
    for key, value in expected.items():
        if recorded.get(key) != value:
            problems.append(f"its {key} is {value}, the manifest recorded {recorded.get(key)}")
    return problems
