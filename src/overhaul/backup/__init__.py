"""overhaul.backup: etcd snapshots with verification, resource export, and ordered restore.

The entry points:
- `take_backup(BackupOptions, BackupPorts) -> BackupResult` takes a backup (the `backup` command; the
  `apply` command calls it before acting) and raises BackupFailed, its partial output removed;
- `verify_backup(folder) -> VerifyReport` (`backup --verify`);
- `restore_backup(folder, RestoreOptions, target) -> RestoreReport` (`restore`);
- `etcd_procedure(manifest) -> str` (`restore --etcd-procedure`).

The package reaches clusters only through the ports of `overhaul.backup.ports`, which the CLI
implements over the kube client, and etcd through etcd's own tools (`overhaul.backup.etcdctl`).
"""

from overhaul.backup.errors import BackupError, BackupFailed, BadBackup, BadOptions, EtcdError
from overhaul.backup.etcdctl import EtcdOptions
from overhaul.backup.export import ExportOptions
from overhaul.backup.take import BackupOptions, BackupPorts, BackupResult, take_backup

__all__ = [
    "BackupError",
    "BackupFailed",
    "BackupOptions",
    "BackupPorts",
    "BackupResult",
    "BadBackup",
    "BadOptions",
    "EtcdError",
    "EtcdOptions",
    "ExportOptions",
    "take_backup",
]
