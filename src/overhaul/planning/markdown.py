"""plan.md: the plan as the document teams circulate before the window (templates/plan.md.j2).

Sections: details (current, target, path, strategy, window, estimate), pre-upgrade tasks, the
control-plane steps, the worker waves with node names, verification, the rollback plan, the
preflight findings and the planner's warnings. Everything in it comes from the Plan; nothing is
decided here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import jinja2

from overhaul.domain.durations import format_duration
from overhaul.domain.findings import Finding, Severity, ordered
from overhaul.domain.plan import Action, Plan, ProviderName, Stage, StageKind, Step, Strategy
from overhaul.domain.version import Version, VersionError
from overhaul.planning.accept import finding_id
from overhaul.planning.estimate import timings_note
from overhaul.planning.planfile import plan_to_dict
from overhaul.planning.windows import describe

CHANGELOG = "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-{minor}.md"
ACTION_TEXT = {
    Action.UPGRADE_CONTROL_PLANE: "upgrade",
    Action.UPGRADE_NODES: "upgrade",
    Action.ADD_NODES: "add",
    Action.CORDON_NODES: "cordon",
    Action.DRAIN_NODES: "drain",
    Action.REMOVE_NODES: "remove",
}


def cell(text: object) -> str:
    """Text for a Markdown table cell: pipes escaped, lines joined."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("overhaul.planning", "templates"),
        autoescape=False,  # Markdown, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["duration"] = lambda s: format_duration(float(s))
    return env


def _plain(version: str) -> str:
    try:
        return str(Version.parse(version))
    except VersionError:
        return version


def _kubelets(plan: Plan) -> str:
    counts = Counter(_plain(n.version) for n in plan.cluster.nodes)
    return ", ".join(f"{v} ({n})" for v, n in sorted(counts.items()))


def _strategy(plan: Plan) -> str:
    spec = plan.spec
    zone = ", each batch within one zone" if spec.batch_by.value == "zone" else ""
    if spec.strategy is Strategy.ROLLING:
        return f"rolling, in place: at most {spec.max_unavailable} of a roll's workers at once{zone}"
    if spec.strategy is Strategy.SURGE:
        return f"surge: {spec.max_surge} new node(s) at a time, added before the old ones drain and go{zone}"
    return (
        f"blue-green: a new pool, the old one cordoned and drained {spec.max_unavailable} at a time{zone}, "
        "then removed"
    )


def _provider(plan: Plan) -> str:
    p = plan.spec.provider
    if p.name is ProviderName.SIM:
        return "sim (the embedded cluster's node agents)"
    if p.name is ProviderName.EXEC:
        return "exec: the commands shown with each step"
    return f"kubeadm over ssh (user {p.ssh_user or 'as in ~/.ssh/config'}, {p.package_manager} packages)"


def _drain(plan: Plan) -> str:
    d = plan.spec.drain
    parts = [
        "skips DaemonSet pods" if d.ignore_daemonsets else "fails on DaemonSet pods",
        "deletes emptyDir data" if d.delete_emptydir_data else "fails on pods with emptyDir data",
        "deletes pods no controller recreates (--force)"
        if d.force
        else "never deletes pods without a controller",
        f"timeout {format_duration(d.timeout_seconds)} per node" if d.timeout_seconds else "no timeout",
    ]
    return ", ".join(parts)


def _gates(plan: Plan) -> str:
    g = plan.spec.gates
    parts = []
    if g.soak_seconds:
        parts.append(f"soak {format_duration(g.soak_seconds)}")
    if g.alerts is not None:
        parts.append(f"no firing alert matching `{g.alerts.alert_regex}` at {g.alerts.prometheus_url}")
    if g.validate:
        parts.append("`overhaul validate` between batches")
    return ", ".join(parts) if parts else "nodes Ready and pods rescheduled (no extra gates)"


def _window(plan: Plan) -> str:
    if not plan.spec.windows:
        return "none: steps run as soon as `overhaul apply` starts"
    return "; ".join(describe(w) for w in plan.spec.windows)


def _estimate(plan: Plan) -> str:
    e = plan.estimate
    steps = len(plan.steps)
    text = f"{format_duration(e.total_seconds)} over {steps} step{'s' if steps != 1 else ''}"
    if e.windows_needed:
        text += (
            f"; needs {e.windows_needed} window opening{'s' if e.windows_needed != 1 else ''} "
            f"(earliest start {e.earliest_start}, finish {e.earliest_finish})"
        )
    return text


def _nodes(step: Step) -> str:
    if step.new_nodes:
        return ", ".join(f"{n.name} (like {n.like})" for n in step.new_nodes)
    if not step.nodes:
        return "(managed control plane)"
    return ", ".join(n.name for n in step.nodes)


def _zones(step: Step) -> str:
    zones = sorted({n.zone for n in step.nodes if n.zone} | {n.zone for n in step.new_nodes if n.zone})
    return ", ".join(zones) or "-"


def _step_row(step: Step) -> dict[str, Any]:
    commands = [c for n in step.nodes for c in n.commands] or list(step.commands)
    return {
        "id": step.id,
        "action": ACTION_TEXT[step.action],
        "nodes": _nodes(step),
        "count": len(step.nodes) or len(step.new_nodes),
        "zones": _zones(step),
        "from": ", ".join(sorted({_plain(n.version) for n in step.nodes})) or "-",
        "to": _plain(step.version),
        "estimate": step.estimate_seconds,
        "notes": list(step.notes),
        "commands": commands,
    }


def _stage(stage: Stage) -> dict[str, Any]:
    return {
        "title": stage.title,
        "id": stage.id,
        "steps": [_step_row(s) for s in stage.steps],
        "estimate": sum(s.estimate_seconds for s in stage.steps),
        "nodes": len({n.name for s in stage.steps for n in s.nodes}),
    }


def _tasks(plan: Plan, plan_file: str) -> list[str]:
    backup = plan.spec.backup
    if backup.enabled:
        what = "an etcd snapshot and every resource" if backup.etcd is not None else "every resource"
        where = backup.directory or "a backups folder next to its state"
        tasks = [
            f"`overhaul apply` takes a backup ({what}) into {where} before its first step and stops if it "
            "fails; verify it afterwards with `overhaul backup --verify <folder>`.",
        ]
    else:
        tasks = [
            "Take a backup and verify it: `overhaul backup --out ./backups` (etcd snapshot and every "
            "resource), then `overhaul backup --verify <folder>` (this plan's apply takes none).",
        ]
    minors = []
    for version in plan.control_plane_path[1:]:
        try:
            parsed = Version.parse(version)
        except VersionError:
            continue
        minor = f"{parsed.major}.{parsed.minor}"
        if minor not in minors and minor != ".".join(_plain(plan.current).split(".")[:2]):
            minors.append(minor)
    for minor in minors:
        tasks.append(
            f"Read the {minor} changelog (urgent upgrade notes, deprecations): "
            f"{CHANGELOG.format(minor=minor)}"
        )
    checks = {f.check for f in plan.findings}
    if "removed-api" in checks:
        tasks.append(
            "Migrate every object and manifest that uses an API version the target no longer serves "
            "(the removed-api findings below), including CI manifests and Helm charts."
        )
    for f in plan.findings:
        if f.severity is Severity.WARNING and "(accepted with --accept" in f.message:
            tasks.append(f"Accepted blocking finding `{finding_id(f)}`: {f.remedy or f.message}")
    if plan.spec.provider.name is ProviderName.KUBEADM:
        tasks.append(
            "Check ssh access (`ssh -o BatchMode=yes` to every node) and that the pkgs.k8s.io package "
            "repository is configured; the plan's commands switch it to each new minor."
        )
    if plan.spec.strategy is not Strategy.ROLLING:
        tasks.append("Check the quota for the new nodes (the plan adds them before it removes the old ones).")
    if plan.spec.windows:
        tasks.append(f"Announce the window ({_window(plan)}) to the teams running workloads on the cluster.")
    tasks.append(
        f"Rehearse: `overhaul apply {plan_file} --dry-run` shows every step without changing the cluster."
    )
    return tasks


def _rollback(plan: Plan) -> list[str]:
    items = [
        "Stop at any point: `overhaul pause` finishes the running step and stops; `overhaul abort` stops "
        "and leaves the nodes of the running step cordoned; `overhaul resume` continues from the journal.",
        "Control plane: Kubernetes does not support downgrading the control plane in place (etcd data may "
        "already be stored at newer versions). Roll back by restoring the backup: "
        "`overhaul restore --from <backup> --etcd-procedure`, with the previous version's binaries.",
    ]
    if plan.spec.strategy is Strategy.ROLLING:
        items.append(
            "Workers upgraded in place: a kubelet older than the control plane is allowed, so a node can "
            "be drained and given its previous version again with the same provider."
        )
    else:
        items.append(
            "Workers: the old nodes stay (cordoned) until the remove step of their wave; uncordon them "
            "and drain the new ones to go back before that."
        )
    return items


def _finding_row(f: Finding) -> dict[str, str]:
    return {
        "severity": f.severity.value,
        "check": f.check,
        "object": str(f.object) or "cluster",
        "message": f.message,
        "remedy": f.remedy,
        "id": finding_id(f),
    }


def render_markdown(plan: Plan, plan_file: str = "plan.yaml", timings: str = "") -> str:
    """plan.md for the plan (`plan_file` is how the document refers to the executable plan;
    `timings` says where the estimate's per-node timings came from, `estimate.timings_note`)."""
    context = {
        "plan": plan,
        "plan_file": plan_file,
        "current": _plain(plan.current),
        "target": _plain(plan.spec.target),
        "plan_file_digest": plan_to_dict(plan)["metadata"]["digest"],
        "gates": _gates(plan),
        "commands": [row for s in plan.stages for row in map(_step_row, s.steps) if row["commands"]],
        "details": [
            ("Cluster", plan.cluster.server or plan.cluster.source),
            (
                "Current",
                f"control plane {_plain(plan.cluster.control_plane_version)}; kubelets {_kubelets(plan)}",
            ),
            ("Target", _plain(plan.spec.target)),
            ("Path", plan.path_summary),
            ("Strategy", _strategy(plan)),
            ("Provider", _provider(plan)),
            ("Drain", _drain(plan)),
            ("Gates after each batch", _gates(plan)),
            ("Window", _window(plan)),
            ("Estimate", _estimate(plan)),
            ("Per-node timings", timings or timings_note(plan.spec.timings)),
        ],
        "tasks": _tasks(plan, plan_file),
        "control_plane": [_stage(s) for s in plan.stages if s.kind is StageKind.CONTROL_PLANE],
        "workers": [_stage(s) for s in plan.stages if s.kind is StageKind.WORKERS],
        "stages": [(s.kind.value, _stage(s)) for s in plan.stages],
        "rollback": _rollback(plan),
        "findings": [_finding_row(f) for f in ordered(plan.findings)],
        "warnings": list(plan.warnings),
        "timings": plan.spec.timings,
    }
    return _environment().get_template("plan.md.j2").render(**context)
