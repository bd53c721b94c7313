"""`overhaul backup` and `overhaul restore`: the safety net before an upgrade.

Exit codes: 0 done (a backup taken and verified, a backup intact, every object restored); 1 it could
not be done (etcd or the cluster unreachable, a write failed, a snapshot failed verification, a
backup damaged, an object that failed to restore); 2 bad usage or input (options that do not go
together, a key file that holds no key, a backup whose apiVersions the cluster no longer serves),
nothing changed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from overhaul.cli.consoles import stdout_console
from overhaul.cli.context import connect, context_option, kube_errors, kubeconfig_option
from overhaul.cli.errors import EXIT_FAILED, EXIT_USAGE, fail
from overhaul.cli.etcd_options import (
    etcd_cacert_option,
    etcd_cert_option,
    etcd_endpoint_option,
    etcd_key_option,
)
from overhaul.domain.durations import DurationError, parse_duration

if TYPE_CHECKING:
    from overhaul.backup.ports import ProgressTask
    from overhaul.backup.restore import RestoreReport
    from overhaul.backup.take import BackupOptions, BackupResult
    from overhaul.backup.verify import VerifyReport

OUTPUTS = ("table", "json")


def _note(text: str) -> None:
    print(f"overhaul: {text}", file=sys.stderr)


class _RichTask:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def update(
        self, *, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None:
        self._progress.update(self._task, completed=completed, total=total, description=description)

    def finish(self) -> None:
        task = self._progress.tasks[self._task]
        if task.total is None:
            self._progress.update(self._task, total=max(task.completed, 1), completed=max(task.completed, 1))
        else:
            self._progress.update(self._task, completed=task.total)


class _RichProgress:
    """Progress bars on stderr (JSON and tables go to stdout), drawn from the first task on: a
    command that fails before any leaves no empty display behind its error."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self.started = False

    def task(self, description: str, total: float | None = None) -> ProgressTask:
        if not self.started:
            self._progress.start()
            self.started = True
        return _RichTask(self._progress, self._progress.add_task(description, total=total))

    def stop(self) -> None:
        if self.started:
            self._progress.stop()


@contextmanager
def _progress_bars() -> Iterator[_RichProgress]:
    bars = _RichProgress(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),  # kept when done: in a CI log, a record of what was copied
        )
    )
    try:
        yield bars
    finally:
        bars.stop()


def _output(value: str) -> str:
    if value not in OUTPUTS:
        fail(f"-o {value}: use one of {', '.join(OUTPUTS)}", EXIT_USAGE)
    return value


@contextmanager
def _backup_errors() -> Iterator[None]:
    """The backup package's errors as one line and the output contract's exit codes."""
    from overhaul.backup.errors import BackupError, BadOptions

    try:
        yield
    except BadOptions as err:
        fail(str(err), EXIT_USAGE)
    except BackupError as err:
        fail(str(err), EXIT_FAILED)


def _duration(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as err:
        fail(f"{flag}: {err}", EXIT_USAGE)


# ------------------------------------------------------------------------------------------- backup


def backup(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None,
        "--out",
        metavar="DIR",
        help="Write the backup into a new timestamped folder in DIR.",
        file_okay=False,
    ),
    verify: Path | None = typer.Option(
        None,
        "--verify",
        metavar="DIR",
        help="Check a backup folder instead: every checksum and the etcd snapshot.",
        file_okay=False,
    ),
    etcd_endpoint: str | None = etcd_endpoint_option("The etcd member to snapshot"),
    etcd_cacert: Path | None = etcd_cacert_option(),
    etcd_cert: Path | None = etcd_cert_option(),
    etcd_key: Path | None = etcd_key_option(),
    etcd_timeout: str = typer.Option(
        "10s",
        "--etcd-timeout",
        metavar="DURATION",
        help="How long etcd may take to answer (not the snapshot).",
    ),
    etcdctl: str | None = typer.Option(
        None, "--etcdctl", metavar="PATH", help="The etcdctl binary (default: found on PATH)."
    ),
    no_etcd: bool = typer.Option(False, "--no-etcd", help="Take no etcd snapshot."),
    no_resources: bool = typer.Option(False, "--no-resources", help="Export no resources."),
    namespace: list[str] = typer.Option(
        [],
        "--namespace",
        "-n",
        metavar="NS",
        help="Export only these namespaces. Repeatable.",
        show_default=False,
    ),
    exclude_resource: list[str] = typer.Option(
        [],
        "--exclude-resource",
        metavar="RESOURCE",
        help="Leave out a resource: pods, deployments.apps, Deployment... Repeatable.",
        show_default=False,
    ),
    include_secrets: bool = typer.Option(
        False, "--include-secrets", help="Export Secrets too (files of mode 0600)."
    ),
    encrypt_key_file: Path | None = typer.Option(
        None,
        "--encrypt-key-file",
        metavar="FILE",
        help="Encrypt the exported Secrets with this Fernet key.",
        dir_okay=False,
    ),
    output: str = typer.Option("table", "-o", "--output", metavar="FORMAT", help="table or json."),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Back up the cluster: a verified etcd snapshot and an export of every API resource.

    Writes DIR/overhaul-backup-<time>/ with etcd/snapshot.db, resources/ and manifest.json (what was
    taken, when, from which cluster, and the sha256 of every file). A failed backup leaves nothing
    behind that looks like one. `--verify DIR` checks an existing backup.
    """
    fmt = _output(output)
    if verify is not None:
        if out is not None:
            fail("--verify and --out do not go together", EXIT_USAGE)
        _verify(verify, fmt)
        return
    if out is None:
        fail("give --out DIR (where to write the backup) or --verify DIR", EXIT_USAGE)
    options = _backup_options(
        out,
        etcd_endpoint=etcd_endpoint,
        etcd_files=(etcd_cacert, etcd_cert, etcd_key),
        etcd_timeout=_duration("--etcd-timeout", etcd_timeout),
        etcdctl=etcdctl,
        no_etcd=no_etcd,
        no_resources=no_resources,
        namespaces=tuple(namespace),
        exclude=tuple(exclude_resource),
        include_secrets=include_secrets,
        encrypt_key_file=encrypt_key_file,
    )
    from overhaul.backup.take import BackupPorts, take_backup

    with _backup_errors(), kube_errors():
        client = connect(ctx, kubeconfig, context) if options.resources is not None else None
        try:
            from overhaul.cli.backup_cluster import KubeBackupCluster

            cluster = KubeBackupCluster(client) if client is not None else None
            with _progress_bars() as bars:
                result = take_backup(options, BackupPorts(cluster=cluster, progress=bars))
        finally:
            if client is not None:
                client.close()
    for notice in result.notices:
        _note(f"notice: {notice}")
    _print_backup(result, fmt)


def _backup_options(
    out: Path,
    *,
    etcd_endpoint: str | None,
    etcd_files: tuple[Path | None, Path | None, Path | None],
    etcd_timeout: float,
    etcdctl: str | None,
    no_etcd: bool,
    no_resources: bool,
    namespaces: tuple[str, ...],
    exclude: tuple[str, ...],
    include_secrets: bool,
    encrypt_key_file: Path | None,
) -> BackupOptions:
    from overhaul.backup.encryption import load_key
    from overhaul.backup.etcdctl import EtcdOptions
    from overhaul.backup.export import ExportOptions
    from overhaul.backup.take import BackupOptions

    cacert, cert, key = etcd_files
    if no_etcd and no_resources:
        fail("--no-etcd and --no-resources leave nothing to back up", EXIT_USAGE)
    if (etcd_endpoint is None or no_etcd) and any(f is not None for f in etcd_files):
        fail("--etcd-cacert, --etcd-cert and --etcd-key need --etcd-endpoint (and no --no-etcd)", EXIT_USAGE)
    if no_resources and (namespaces or exclude or include_secrets or encrypt_key_file):
        fail("--namespace, --exclude-resource and the Secrets options need the resource export", EXIT_USAGE)
    if encrypt_key_file is not None and not include_secrets:
        fail("--encrypt-key-file encrypts the exported Secrets: add --include-secrets", EXIT_USAGE)
    encrypt_key = None
    if encrypt_key_file is not None:
        with _backup_errors():
            encrypt_key = load_key(encrypt_key_file)
    elif include_secrets:
        _note(
            "notice: Secrets are written unencrypted (files of mode 0600); --encrypt-key-file encrypts them"
        )
    etcd = None
    etcd_skipped = "not requested (--no-etcd)"
    if not no_etcd:
        if etcd_endpoint is None:
            etcd_skipped = "no --etcd-endpoint given"
            _note("notice: no --etcd-endpoint: the etcd snapshot is skipped, only resources are exported")
        else:
            etcd = EtcdOptions(etcd_endpoint, cacert, cert, key, timeout=etcd_timeout, etcdctl=etcdctl)
            with _backup_errors():
                etcd.validate()
    resources = None
    if not no_resources:
        resources = ExportOptions(namespaces, exclude, include_secrets, encrypt_key)
    return BackupOptions(
        out, resources, etcd, resources_skipped="not requested (--no-resources)", etcd_skipped=etcd_skipped
    )


def _print_backup(result: BackupResult, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(
            orjson.dumps({"backup": str(result.path), "manifest": result.manifest}).decode() + "\n"
        )
        return
    console = stdout_console()
    snapshot = result.snapshot
    if snapshot is not None:
        s = snapshot.status
        console.print(
            f"etcd snapshot: verified; etcd {escape(snapshot.etcd_version)}, revision {s.revision}, "
            f"{s.total_keys:,} keys, {s.total_size:,} bytes "
            f"(member {escape(snapshot.member_name or snapshot.member_id)})"
        )
    else:
        console.print(f"etcd snapshot: skipped ({escape(str(result.manifest['etcd'].get('skipped')))})")
    export = result.export
    if export is not None:
        table = Table(title=f"resources: {export.objects:,} objects", title_justify="left")
        table.add_column("kind")
        table.add_column("objects", justify="right")
        for kind, n in export.counts().items():
            table.add_row(escape(kind), f"{n:,}")
        console.print(table)
        skipped = ", ".join(
            f"{n:,} {kind} ({reason})" for (kind, reason), n in sorted(export.skipped.items())
        )
        if skipped:
            console.print(f"left to their makers: {escape(skipped)}")
        console.print(f"secrets: {export.options.secrets_mode}")
    else:
        console.print(f"resources: skipped ({escape(str(result.manifest['resources'].get('skipped')))})")
    console.print(f"backup: {escape(str(result.path))}")


def _verify(folder: Path, fmt: str) -> None:
    from overhaul.backup.verify import verify_backup

    with _backup_errors(), _progress_bars() as bars:
        report = verify_backup(folder, progress=bars)
    _print_verify(report, fmt)
    if not report.intact:
        raise typer.Exit(EXIT_FAILED)


def _print_verify(report: VerifyReport, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(orjson.dumps(report.to_json()).decode() + "\n")
        return
    console = stdout_console()
    what = f"{report.files_checked} files, {report.bytes_checked:,} bytes" + (
        ", etcd snapshot re-checked" if report.snapshot_checked else ""
    )
    if report.intact:
        console.print(f"intact: {escape(str(report.folder))} ({what})")
        return
    console.print(f"DAMAGED: {escape(str(report.folder))} ({what})")
    for problem in report.problems:
        console.print(f"  - {escape(problem)}")


# ------------------------------------------------------------------------------------------ restore


def _known_replacement(api_version: str, kind: str) -> str | None:
    """The removed-API table's replacement for this apiVersion/kind."""
    from overhaul.domain.apis import ApiVersionError
    from overhaul.knowledge import apis

    try:
        found = apis.replacement(api_version, kind)
    except ApiVersionError:
        return None
    return found.api_version if found is not None else None


def restore(
    ctx: typer.Context,
    source: Path = typer.Option(
        ..., "--from", metavar="DIR", help="The backup folder to restore.", file_okay=False
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be done; change nothing."),
    namespace: list[str] = typer.Option(
        [],
        "--namespace",
        "-n",
        metavar="NS",
        help="Restore only these namespaces. Repeatable.",
        show_default=False,
    ),
    existing: str = typer.Option(
        "skip", "--existing", metavar="skip|update", help="What to do with objects that exist already."
    ),
    key_file: Path | None = typer.Option(
        None,
        "--key-file",
        metavar="FILE",
        help="The Fernet key the Secrets were encrypted with.",
        dir_okay=False,
    ),
    etcd_procedure: bool = typer.Option(
        False,
        "--etcd-procedure",
        help="Print the etcd restore procedure for this backup's snapshot (run nothing).",
    ),
    etcd_data_dir: str = typer.Option(
        "/var/lib/etcd",
        "--etcd-data-dir",
        metavar="DIR",
        help="etcd's data directory on the control-plane hosts.",
    ),
    output: str = typer.Option("table", "-o", "--output", metavar="FORMAT", help="table or json."),
    kubeconfig: Path | None = kubeconfig_option(),
    context: str | None = context_option(),
) -> None:
    """Restore a backup's resources: CRDs first (waiting until Established), then namespaces, storage,
    Secrets and ConfigMaps, service accounts, RBAC, workloads and the rest.

    Refuses, before changing anything, when the cluster no longer serves an apiVersion the backup
    uses. etcd is restored on the control-plane hosts: `--etcd-procedure` prints the commands.
    """
    from overhaul.backup.manifest import read_manifest

    fmt = _output(output)
    if etcd_procedure:
        from overhaul.backup.procedure import etcd_procedure as procedure

        with _backup_errors():
            text = procedure(read_manifest(source), etcd_data_dir)
        sys.stdout.write(text)
        return
    if existing not in ("skip", "update"):
        fail(f"--existing {existing}: use skip or update", EXIT_USAGE)
    from overhaul.backup.encryption import load_key
    from overhaul.backup.errors import BadBackup
    from overhaul.backup.restore import RestoreOptions, RestoreRefused, restore_backup
    from overhaul.cli.backup_cluster import KubeBackupCluster

    with _backup_errors():
        key = load_key(key_file) if key_file is not None else None
        try:
            read_manifest(source)
        except BadBackup as err:
            fail(str(err), EXIT_USAGE)
    options = RestoreOptions(tuple(namespace), "update" if existing == "update" else "skip", dry_run, key)
    with _backup_errors(), kube_errors(), connect(ctx, kubeconfig, context) as client:
        try:
            with _progress_bars() as bars:
                report = restore_backup(
                    source, options, KubeBackupCluster(client), progress=bars, replacements=_known_replacement
                )
        except RestoreRefused as err:
            for unserved in err.unserved:
                _note(unserved.describe())
            fail(str(err), EXIT_USAGE)
        except BadBackup as err:
            fail(str(err), EXIT_USAGE)
    for note in report.notes:
        _note(f"note: {note}")
    _print_restore(report, fmt)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _print_restore(report: RestoreReport, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(orjson.dumps(report.to_json()).decode() + "\n")
        return
    from overhaul.backup.restore import Outcome

    console = stdout_console()
    verb = {Outcome.CREATED: "would create", Outcome.UPDATED: "would update"} if report.dry_run else {}
    table = Table(
        title="restore" + (" (dry run: nothing changed)" if report.dry_run else ""), title_justify="left"
    )
    table.add_column("kind")
    for outcome in Outcome:
        table.add_column(verb.get(outcome, outcome.value), justify="right")
    for kind, counts in report.by_kind():
        table.add_row(escape(kind), *(str(counts[o]) if counts[o] else "" for o in Outcome))
    console.print(table)
    for failure in report.failed:
        where = f"{failure.namespace}/{failure.name}" if failure.namespace else failure.name
        console.print(f"failed: {escape(failure.kind)} {escape(where)}: {escape(failure.reason)}")
