"""`take_backup`: the one entry point that takes a backup (the `backup` command and, later, `apply`).

It writes one timestamped folder: the etcd snapshot first (the point in time a restore returns to),
then the resource export, then `manifest.json`. Any failure raises BackupFailed and leaves no
folder that looks like a backup (see `overhaul.backup.folder`): a backup is a success or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overhaul import __version__
from overhaul.backup.errors import BackupError, BackupFailed, BadOptions
from overhaul.backup.etcd_snapshot import SNAPSHOT_FILE, SnapshotRecord, take_snapshot
from overhaul.backup.etcdctl import EtcdOptions, EtcdTools
from overhaul.backup.export import ExportOptions, ExportSummary, export_resources
from overhaul.backup.folder import BackupFolder
from overhaul.backup.manifest import FORMAT
from overhaul.backup.ports import ClusterIdentity, ClusterReader, NoProgress, Progress


@dataclass(frozen=True)
class BackupOptions:
    out: Path  # the folder that receives the timestamped backup folder
    resources: ExportOptions | None = field(default_factory=ExportOptions)  # None: no export
    etcd: EtcdOptions | None = None  # None: no snapshot
    resources_skipped: str = "not requested"  # recorded in the manifest when resources is None
    etcd_skipped: str = "no etcd endpoint given"  # recorded in the manifest when etcd is None


@dataclass(frozen=True)
class BackupPorts:
    cluster: ClusterReader | None = None  # needed for the resource export
    progress: Progress = field(default_factory=NoProgress)
    etcd_tools: EtcdTools | None = None  # default: found on PATH (or the paths in EtcdOptions)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    export: ExportSummary | None
    snapshot: SnapshotRecord | None
    notices: tuple[str, ...]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def take_backup(
    options: BackupOptions, ports: BackupPorts, *, clock: Callable[[], dt.datetime] = _utc_now
) -> BackupResult:
    """Takes a backup as `options` say; raises BadOptions before writing anything when they cannot
    work, and BackupFailed (partial output removed) when any part fails."""
    if options.resources is None and options.etcd is None:
        raise BadOptions("nothing to back up: both the resources and the etcd snapshot are turned off")
    if options.resources is not None and ports.cluster is None:
        raise BadOptions("the resource export needs a cluster to read")
    tools: EtcdTools | None = None
    if options.etcd is not None:
        options.etcd.validate()
        tools = ports.etcd_tools or EtcdTools.find(options.etcd.etcdctl, options.etcd.etcdutl)
    started = clock()
    folder = BackupFolder(options.out, started)
    try:
        identity = ports.cluster.identity() if ports.cluster is not None else None
        snapshot = None
        if options.etcd is not None and tools is not None:
            snapshot = _snapshot(options.etcd, tools, folder, ports.progress)
        export = None
        if options.resources is not None and ports.cluster is not None:
            export = export_resources(ports.cluster, folder, options.resources, ports.progress)
        manifest = _manifest(options, identity, snapshot, export, started, clock())
        path, manifest = folder.commit(manifest)
    except BadOptions:  # found out only once the cluster was read (a --namespace that is not there)
        folder.discard()
        raise
    except BackupError as err:
        raise BackupFailed(f"{err}; {folder.discard()}") from err
    except OSError as err:
        where = err.filename or options.out
        raise BackupFailed(
            f"cannot write the backup ({where}): {err.strerror or err}; {folder.discard()}"
        ) from err
    except Exception as err:  # a cluster that went away mid-export, ...: the message is the error's own
        raise BackupFailed(f"{err}; {folder.discard()}") from err
    except BaseException:
        folder.discard()
        raise
    notices: list[str] = list(export.notices) if export is not None else []
    return BackupResult(path, manifest, export, snapshot, tuple(notices))


def _snapshot(
    options: EtcdOptions, tools: EtcdTools, folder: BackupFolder, progress: Progress
) -> SnapshotRecord:
    task = progress.task("etcd snapshot", None)
    dest = folder.prepare(SNAPSHOT_FILE)

    def advance(done: int, total: int) -> None:
        task.update(completed=done, total=max(total, done) or None)

    record = take_snapshot(options, tools, dest, advance)
    folder.record(SNAPSHOT_FILE, private=True)
    task.finish()
    return record


def _manifest(
    options: BackupOptions,
    identity: ClusterIdentity | None,
    snapshot: SnapshotRecord | None,
    export: ExportSummary | None,
    started: dt.datetime,
    finished: dt.datetime,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "complete": True,
        "overhaul": __version__,
        "started": _timestamp(started),
        "finished": _timestamp(finished),
        "cluster": None
        if identity is None
        else {"server": identity.server, "context": identity.context, "version": identity.version},
        "etcd": snapshot.to_json() if snapshot is not None else {"skipped": options.etcd_skipped},
        "resources": export.to_json() if export is not None else {"skipped": options.resources_skipped},
    }
