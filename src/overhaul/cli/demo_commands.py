"""`overhaul demo`: the whole lifecycle on the embedded cluster, as a user would run it.

It starts `overhaul sim up --scenario demo` (3 control-plane nodes and 9 workers at v1.34.2) with a
fast clock, then runs the commands themselves, as subprocesses of this interpreter, against it:
preflight (and fixes or accepts what it finds, saying why), backup, plan, apply; then checks the
result (versions everywhere, nodes Ready, workloads back, no PodDisruptionBudget ever short) and
writes the record, report.md, from the plan, the journal and those checks.

Exit codes: 0 the upgrade went through and every check passed; 1 a step or a check failed (the files
written so far are kept); 2 bad usage.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.console import Console

from overhaul.cli.consoles import stderr_console
from overhaul.cli.errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, fail
from overhaul.domain.durations import format_duration
from overhaul.domain.plan import Plan
from overhaul.domain.record import (
    Artifact,
    CheckResult,
    EventRecord,
    NodeInfo,
    Remedy,
    StepRecord,
    UpgradeRecord,
)
from overhaul.domain.version import Version

if TYPE_CHECKING:
    from overhaul.engine.journal import JournalState
    from overhaul.kube.client import ApiClient

TARGET = "1.36"
SCENARIO = "demo"
# Files and folders the demo writes into --out; a new run replaces these and nothing else.
KUBECONFIG = "kubeconfig"
SIM_LOG = "sim.log"
PLAN = "plan.yaml"
PLAN_MD = "plan.md"
STATE = "plan.state"
BACKUP = "backup"
REPORT = "report.md"
APPLY_BACKUPS = "backups"  # where apply puts its own backup when a plan asks for one
MARKER = ".overhaul-demo"
OWN = (KUBECONFIG, SIM_LOG, PLAN, PLAN_MD, STATE, BACKUP, APPLY_BACKUPS, REPORT)
CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
SETTLE_SECONDS = 90.0  # wall time for workloads to come back after the last node
STARTUP_SECONDS = 60.0


# ----------------------------------------------------------------------------- the embedded cluster


class _Cluster:
    """`overhaul sim up --scenario demo --port 0` in the background, its log in OUT/sim.log."""

    def __init__(self, out: Path, speed: float) -> None:
        self.kubeconfig = out / KUBECONFIG
        self.log_path = out / SIM_LOG
        self.speed = speed
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> _Cluster:
        command = [
            *_overhaul_command("sim", "up", "--scenario", SCENARIO, "--port", "0"),
            *("--kubeconfig-out", str(self.kubeconfig), "--speed", f"{self.speed:g}"),
        ]
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline().strip():
            self.stop()
            fail(f"the embedded cluster did not start; see {self.log_path}")
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        from overhaul.kube.client import ApiClient
        from overhaul.kube.errors import KubeError

        deadline = time.monotonic() + STARTUP_SECONDS
        with ApiClient.from_kubeconfig(self.kubeconfig) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    break
                try:
                    if client.health_text("/readyz").strip().endswith("passed"):
                        return
                except KubeError:
                    pass
                time.sleep(0.1)
        self.stop()
        fail(f"the embedded cluster did not become ready; see {self.log_path}")

    def wait(self) -> None:
        """Serve until the user presses Ctrl-C (or the cluster stops by itself)."""
        if self.proc is None:
            return

        # Ctrl-C reaches the cluster too (same process group); a SIGINT or SIGTERM sent to this
        # process alone stops the wait, even if it was started with SIGINT ignored, and `stop()`
        # then stops the cluster.
        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with contextlib.suppress(KeyboardInterrupt):
                self.proc.wait()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self.proc = None

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _overhaul_command(*args: str) -> list[str]:
    """`overhaul ARGS` with this interpreter: the very commands a user runs."""
    return [sys.executable, "-m", "overhaul", *args]


# ----------------------------------------------------------------------------- narration


@dataclass
class _Demo:
    out: Path
    kubeconfig: Path
    console: Console
    started: float = field(default_factory=time.monotonic)
    remedies: list[Remedy] = field(default_factory=list)
    preflight_summary: list[tuple[str, int]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    backup: str = ""
    backup_objects: int = 0

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def title(self, number: int, text: str) -> None:
        elapsed = format_duration(time.monotonic() - self.started)
        self.console.print(f"\n[bold]{number}. {text}[/bold] [dim](at {elapsed})[/dim]")

    def run(self, *args: str, capture: bool = False, ok: Sequence[int] = (EXIT_OK,)) -> str:
        """Runs `overhaul ARGS --kubeconfig K`; its stderr (logs, progress) goes to ours."""
        command = [*_overhaul_command(*args), "--kubeconfig", str(self.kubeconfig)]
        self.say("$ overhaul " + " ".join(_shown(a) for a in (*args, "--kubeconfig", str(self.kubeconfig))))
        done = subprocess.run(command, stdout=subprocess.PIPE if capture else None, text=True, check=False)
        if done.returncode not in ok:
            fail(f"`overhaul {args[0]}` exited {done.returncode}; the demo stops here (files in {self.out})")
        return done.stdout or ""


def _shown(arg: str) -> str:
    """An argument as the narration shows it: paths under the working directory relative to it."""
    path = Path(arg)
    if not path.is_absolute():
        return arg
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return arg


# ----------------------------------------------------------------------------- 1. preflight


def _object_name(obj: dict[str, Any]) -> str:
    namespace, name = obj.get("namespace", ""), obj.get("name", "")
    return f"{namespace}/{name}" if namespace else name


def _finding_id(finding: dict[str, Any]) -> str:
    obj = finding.get("object") or {}
    name = _object_name(obj)
    return f"{finding['check']}:{name}" if obj.get("name") else str(finding["check"])


def _fix_budget(client: ApiClient, finding: dict[str, Any]) -> tuple[str, str]:
    """A budget that never allows a disruption: let one pod go at a time, through the API."""
    obj = finding["object"]
    path = f"/apis/policy/v1/namespaces/{obj['namespace']}/poddisruptionbudgets/{obj['name']}"
    spec = client.get(path).get("spec", {})
    minimum, maximum = spec.get("minAvailable"), spec.get("maxUnavailable")
    if isinstance(minimum, int) and minimum > 1:
        client.patch(path, {"spec": {"minAvailable": minimum - 1}})
        return "fixed", (
            f"lowered minAvailable from {minimum} to {minimum - 1} through the API: it kept every "
            "pod up, so no drain could ever evict one; now one pod at a time may go"
        )
    if maximum in (0, "0%"):
        client.patch(path, {"spec": {"maxUnavailable": 1}})
        return (
            "fixed",
            "set maxUnavailable from 0 to 1 through the API, so drains can evict one pod at a time",
        )
    return "accepted", "accepted: the budget's owner must allow a disruption before its nodes drain"


def _delete_bare_pod(client: ApiClient, finding: dict[str, Any]) -> tuple[str, str]:
    obj = finding["object"]
    client.delete(f"/api/v1/namespaces/{obj['namespace']}/pods/{obj['name']}")
    return "deleted", (
        "deleted: a bare pod (a debugging shell, a scratch build) that no controller recreates; "
        "a drain would have lost it anyway"
    )


def _accept_removed_api(finding: dict[str, Any]) -> tuple[str, str]:
    obj = finding["object"]
    if finding.get("source") == "live":
        return "accepted", (
            f"accepted with --accept removed-api: the object is stored at a current version; only its "
            f"last-applied annotation (what `kubectl apply` last sent) names {obj.get('apiVersion')}, "
            "so its manifest must move to a served version before it is applied again"
        )
    return "accepted", f"accepted with --accept removed-api: {finding.get('remedy') or finding['message']}"


WARNING_NOTES = {
    "end-of-support": "noted: the reason for this upgrade",
    "local-storage": "noted: emptyDir is scratch space; the replacement pods start with it empty",
    "single-replica": "noted: this workload is down while its only pod moves; acceptable for the demo",
    "upgrade-path": "noted: the plan follows this path",
}


def _handle_finding(demo: _Demo, client: ApiClient, finding: dict[str, Any]) -> None:
    check, severity = str(finding["check"]), str(finding["severity"])
    if severity != "blocking":
        action, why = (
            "noted",
            WARNING_NOTES.get(check, f"noted: {finding.get('remedy') or finding['message']}"),
        )
    elif check == "pdb-blocks-drain":
        action, why = _fix_budget(client, finding)
    elif check == "unmanaged-pod":
        action, why = _delete_bare_pod(client, finding)
    elif check == "removed-api":
        action, why = _accept_removed_api(finding)
    else:
        action, why = "accepted", f"accepted for the demo: {finding.get('remedy') or finding['message']}"
    if action == "accepted":
        accept = "removed-api" if check == "removed-api" else _finding_id(finding)
        if accept not in demo.accepted:
            demo.accepted.append(accept)
    demo.remedies.append(Remedy(_finding_id(finding), severity, action, why))
    demo.say(f"  {severity:8} {_finding_id(finding)}: {why}")


def _wait_pods_gone(client: ApiClient, names: set[tuple[str, str]]) -> None:
    deadline = time.monotonic() + 60
    while names and time.monotonic() < deadline:
        pods = client.list_all("/api/v1/pods")[0]
        present = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in pods}
        if not names & present:
            return
        time.sleep(0.2)
    if names:
        fail("the deleted bare pods did not go away within a minute")


def _preflight(demo: _Demo, client: ApiClient) -> None:
    report = orjson.loads(
        demo.run("preflight", "--to", TARGET, "-o", "json", capture=True, ok=(0, EXIT_FINDINGS))
    )
    summary = report["summary"]
    demo.preflight_summary = [(s, int(summary[s])) for s in ("blocking", "warning", "info")]
    demo.say(
        f"preflight for {report['target']} (cluster {report['current']['apiserver']}): "
        f"{summary['blocking']} blocking, {summary['warning']} warning, {summary['info']} info; "
        "handling each:"
    )
    order = {"blocking": 0, "warning": 1, "info": 2}
    findings = sorted(report["findings"], key=lambda f: order.get(f["severity"], 3))
    for finding in findings:
        _handle_finding(demo, client, finding)
    deleted = {
        (f["object"]["namespace"], f["object"]["name"])
        for f in findings
        if f["check"] == "unmanaged-pod" and f["severity"] == "blocking"
    }
    _wait_pods_gone(client, deleted)
    accepts = [a for accept in demo.accepted for a in ("--accept", accept)]
    again = orjson.loads(demo.run("preflight", "--to", TARGET, *accepts, "-o", "json", capture=True))
    counts = again["summary"]
    demo.say(
        f"preflight again: {counts['blocking']} blocking, {counts['warning']} warning, {counts['info']} info"
    )


# ----------------------------------------------------------------------------- 5. validation


def _version_of_image(image: str) -> str:
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""


def _same(a: str, b: Version) -> bool:
    try:
        return Version.parse(a) == b
    except ValueError:
        return False


def _ready(node: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in node.get("status", {}).get("conditions", [])
    )


def validation_checks(
    target: Version,
    version: dict[str, Any],
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    workloads: list[dict[str, Any]],
    violations: list[Any],
) -> list[CheckResult]:
    """The post-upgrade checks, decided on what was read from the cluster."""
    checks = []
    served = str(version.get("gitVersion", ""))
    checks.append(CheckResult("/version", _same(served, target), f"the API server reports {served}"))
    behind = [
        f"{n['metadata']['name']} ({n.get('status', {}).get('nodeInfo', {}).get('kubeletVersion', '?')})"
        for n in nodes
        if not _same(n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""), target)
    ]
    checks.append(
        CheckResult(
            "kubelets",
            not behind and bool(nodes),
            f"all {len(nodes)} nodes run kubelet {target}" if not behind else "behind: " + ", ".join(behind),
        )
    )
    not_ready = [n["metadata"]["name"] for n in nodes if not _ready(n)]
    checks.append(
        CheckResult(
            "nodes Ready",
            not not_ready and bool(nodes),
            f"all {len(nodes)} nodes Ready" if not not_ready else "not Ready: " + ", ".join(not_ready),
        )
    )
    static = [
        (p["metadata"]["name"], c.get("image", ""))
        for p in pods
        if p["metadata"].get("namespace") == "kube-system"
        and p["metadata"]["name"].startswith(CONTROL_PLANE_COMPONENTS)
        for c in p.get("spec", {}).get("containers", [])
    ]
    stale = [f"{name} ({image})" for name, image in static if not _same(_version_of_image(image), target)]
    checks.append(
        CheckResult(
            "control-plane images",
            not stale and bool(static),
            f"{len(static)} static pods run {target} images" if not stale else "stale: " + ", ".join(stale),
        )
    )
    short = []
    for w in workloads:
        wanted = int(w.get("spec", {}).get("replicas", 1))
        ready = int(w.get("status", {}).get("readyReplicas", 0) or 0)
        if ready != wanted:
            meta = w["metadata"]
            short.append(f"{w.get('kind', '')} {meta.get('namespace', '')}/{meta['name']} {ready}/{wanted}")
    checks.append(
        CheckResult(
            "workloads",
            not short,
            f"all {len(workloads)} Deployments and StatefulSets at their replicas, ready"
            if not short
            else "short: " + ", ".join(short),
        )
    )
    checks.append(
        CheckResult(
            "disruption budgets",
            not violations,
            "no PodDisruptionBudget was ever left short (the embedded cluster's invariant monitor)"
            if not violations
            else f"{len(violations)} moments a budget was left short",
        )
    )
    return checks


def _read_checks(client: ApiClient, target: Version) -> list[CheckResult]:
    workloads: list[dict[str, Any]] = []
    for path, kind in (
        ("/apis/apps/v1/deployments", "Deployment"),
        ("/apis/apps/v1/statefulsets", "StatefulSet"),
    ):
        workloads.extend({**w, "kind": kind} for w in client.list_all(path)[0])
    violations = client.get("/debug/overhaul/violations").get("violations", [])
    return validation_checks(
        target,
        client.version(),
        client.list_all("/api/v1/nodes")[0],
        client.list_all("/api/v1/namespaces/kube-system/pods")[0],
        workloads,
        violations,
    )


def _validate(demo: _Demo, client: ApiClient, target: Version) -> list[CheckResult]:
    """The checks, again until they pass or the workloads had time to come back."""
    deadline = time.monotonic() + SETTLE_SECONDS
    checks = _read_checks(client, target)
    while not all(c.ok for c in checks) and time.monotonic() < deadline:
        time.sleep(0.5)
        checks = _read_checks(client, target)
    for check in checks:
        demo.say(f"  {'ok    ' if check.ok else 'FAILED'} {check.name}: {check.detail}")
    return checks


# ----------------------------------------------------------------------------- 6. the record


def record_of(
    plan: Plan,
    journal: JournalState | None,
    *,
    remedies: Sequence[Remedy] = (),
    preflight_summary: Sequence[tuple[str, int]] = (),
    backup: str = "",
    backup_objects: int = 0,
    validation: Sequence[CheckResult] = (),
    artifacts: Sequence[Artifact] = (),
) -> UpgradeRecord:
    """The plan and its journal as plain values for the report."""
    steps = []
    for step in plan.steps:
        status = journal.steps.get(step.id) if journal is not None else None
        steps.append(
            StepRecord(
                id=step.id,
                action=step.action.value,
                version=step.version,
                nodes=step.node_names,
                state=status.state.value if status is not None else "pending",
                attempts=status.attempts if status is not None else 0,
                started_at=status.started_at if status is not None else "",
                ended_at=status.ended_at if status is not None else "",
                reason=status.reason if status is not None else "",
                output=tuple(status.output.splitlines()) if status is not None else (),
            )
        )
    events = tuple(EventRecord(e.at, e.level, e.message, e.step) for e in journal.events) if journal else ()
    return UpgradeRecord(
        plan=plan.name,
        server=plan.cluster.server,
        from_version=plan.cluster.control_plane_version,
        to_version=plan.spec.target,
        path_summary=plan.path_summary,
        outcome=journal.finished.outcome if journal is not None and journal.finished is not None else "",
        outcome_message=journal.finished.message if journal is not None and journal.finished else "",
        runs=len(journal.runs) if journal is not None else 0,
        started_at=journal.runs[0].at if journal is not None and journal.runs else "",
        finished_at=journal.finished.at if journal is not None and journal.finished else "",
        nodes=tuple(NodeInfo(n.name, n.role.value, n.zone, n.version) for n in plan.cluster.nodes),
        steps=tuple(steps),
        events=events,
        preflight_summary=tuple(preflight_summary),
        remedies=tuple(remedies),
        backup=backup,
        backup_objects=backup_objects,
        validation=tuple(validation),
        artifacts=tuple(artifacts),
    )


def _read_journal(state: Path) -> JournalState | None:
    from overhaul.engine.journal import DirectoryJournalStore, JournalError, read_journal

    if not state.is_dir():
        return None
    try:
        with DirectoryJournalStore(state) as store:
            return read_journal(store)
    except JournalError as err:
        fail(f"{state}: {err}")


# ----------------------------------------------------------------------------- the command


def _prepare(out: Path) -> Path:
    """Makes --out; the files of an earlier demo there are replaced, anybody else's are refused."""
    out = out.expanduser().absolute()
    if out.exists() and not out.is_dir():
        fail(f"--out {out}: not a directory", EXIT_USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"--out {out}: cannot create it: {err.strerror}", EXIT_USAGE)
    present = [name for name in OWN if (out / name).exists()]
    if present and not (out / MARKER).exists():
        fail(
            f"--out {out}: it holds {', '.join(present)}, not written by a demo; choose another folder",
            EXIT_USAGE,
        )
    for name in present:  # a previous demo's files: its journal belongs to another plan
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    (out / MARKER).write_text("written by `overhaul demo`: a new demo here replaces its files\n")
    return out


def demo(
    out: Path = typer.Option(
        Path("overhaul-demo"), "--out", metavar="DIR", help="Where the plan, journal, backup and report go."
    ),
    speed: float = typer.Option(
        40.0, "--speed", min=1.0, help="How much faster than the wall clock the embedded cluster runs."
    ),
    keep: bool = typer.Option(
        False,
        "--keep/--no-keep",
        help="Keep the embedded cluster serving at the end, for kubectl, until Ctrl-C (default: stop it).",
    ),
) -> None:
    """Run the whole lifecycle on the embedded cluster: preflight, backup, plan, apply, validation
    and the record (plan.yaml, plan.md, the journal, the backup and report.md in --out)."""
    from overhaul.kube.client import ApiClient
    from overhaul.planning.planfile import PlanFileError, load_plan

    out = _prepare(out)
    console = stderr_console()
    demo_run = _Demo(out, out / KUBECONFIG, console)
    demo_run.say(f"overhaul demo: an upgrade from 1.34 to {TARGET} on the embedded cluster; files in {out}")
    with _Cluster(out, speed) as cluster, ApiClient.from_kubeconfig(cluster.kubeconfig) as client:
        demo_run.say(
            f"the embedded cluster serves {client.server} (scenario {SCENARIO}, clock x{speed:g}); "
            f"its log: {out / SIM_LOG}"
        )
        steps: list[tuple[str, Callable[[], None]]] = [
            ("Preflight: is the cluster ready for 1.36?", lambda: _preflight(demo_run, client)),
            ("Backup: every resource, before anything changes", lambda: _backup(demo_run)),
            ("Plan: 1.34 → 1.36 with the sim provider", lambda: _plan(demo_run)),
            ("Apply: cordon, drain, upgrade, wait Ready, uncordon", lambda: _apply(demo_run)),
        ]
        for number, (title, action) in enumerate(steps, start=1):
            demo_run.title(number, title)
            action()
        demo_run.title(5, "Validation: versions, nodes, workloads, budgets")
        try:
            plan = load_plan(out / PLAN)
        except PlanFileError as err:
            fail(str(err))
        checks = _validate(demo_run, client, Version.parse(plan.spec.target))
        demo_run.title(6, "The record")
        record = record_of(
            plan,
            _read_journal(out / STATE),
            remedies=demo_run.remedies,
            preflight_summary=demo_run.preflight_summary,
            backup=demo_run.backup,
            backup_objects=demo_run.backup_objects,
            validation=checks,
            artifacts=_artifacts(out, demo_run.backup),
        )
        _write_report(out / REPORT, record)
        _finish(demo_run, record, checks, keep, cluster)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_FAILED)


def _backup(demo: _Demo) -> None:
    text = demo.run("backup", "--out", str(demo.out / BACKUP), "--no-etcd", "-o", "json", capture=True)
    result = orjson.loads(text)
    demo.backup = str(result["backup"])
    demo.backup_objects = int(result.get("manifest", {}).get("resources", {}).get("objects", 0))
    demo.say(
        f"backup: {demo.backup_objects} objects in {demo.backup} (no etcd snapshot: the sim has no etcd)"
    )


def _plan(demo: _Demo) -> None:
    accepts = [a for accept in demo.accepted for a in ("--accept", accept)]
    demo.say(
        "workers go up to 3 at a time within a zone (--max-unavailable 3); the backup is taken "
        "already, so apply takes none (--no-backup)"
    )
    demo.run(
        "plan", "--to", TARGET, "--provider", "sim", "--max-unavailable", "3", "--no-backup", *accepts,
        "-o", str(demo.out / PLAN),
    )  # fmt: skip


def _apply(demo: _Demo) -> None:
    demo.run(
        "apply", str(demo.out / PLAN), "--yes", "--state", str(demo.out / STATE),
        "--upgrade-timeout", "5m", "--ready-timeout", "5m", "--health-timeout", "5m",
    )  # fmt: skip


def _artifacts(out: Path, backup: str) -> list[Artifact]:
    files = [
        Artifact("the plan (for apply)", str(out / PLAN)),
        Artifact("the plan (for people)", str(out / PLAN_MD)),
        Artifact("the apply journal", str(out / STATE)),
        Artifact("this record", str(out / REPORT)),
        Artifact("the embedded cluster's kubeconfig", str(out / KUBECONFIG)),
    ]
    if backup:
        files.insert(3, Artifact("the backup", backup))
    return files


def _write_report(path: Path, record: UpgradeRecord) -> None:
    from overhaul.report.markdown import render_report

    try:
        path.write_text(render_report(record), encoding="utf-8")
    except OSError as err:
        fail(f"cannot write {path}: {err.strerror or err}")


def _finish(
    demo: _Demo,
    record: UpgradeRecord,
    checks: list[CheckResult],
    keep: bool,
    cluster: _Cluster,
) -> None:
    from overhaul.report.markdown import headline

    ok = all(c.ok for c in checks)
    took = format_duration(time.monotonic() - demo.started)
    demo.say(f"\n{headline(record)} {'Every check passed' if ok else 'Some checks FAILED'}; took {took}.")
    out = demo.out
    typer.echo(f"plan:     {out / PLAN} and {out / PLAN_MD}")
    typer.echo(f"journal:  {out / STATE}  (overhaul status --state {out / STATE})")
    typer.echo(f"backup:   {demo.backup}")
    typer.echo(f"report:   {out / REPORT}")
    look = f"kubectl --kubeconfig {out / KUBECONFIG} get nodes -o wide"
    if keep:
        typer.echo(f"look around (the cluster serves until Ctrl-C): {look}")
        sys.stdout.flush()
        cluster.wait()
    else:
        typer.echo(f"the embedded cluster has stopped; `overhaul demo --keep` keeps it serving for: {look}")
