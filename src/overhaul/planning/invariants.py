"""What must hold of every plan, checked by replaying it step by step from the cluster it records.

- the control plane never skips a minor and never goes back (each node, hop by hop; a managed
  control plane too), and its kube-apiservers stay within one minor of each other;
- no worker kubelet is ever outside the skew policy against any kube-apiserver (never newer, at
  most three minors older), before or after any step; a control-plane node's kubelet moves with its
  own kube-apiserver (kubeadm's order) and is judged against it;
- every step acts on nodes that exist at that point (cluster nodes, or nodes an earlier step
  added), once per stage; a node is removed only after it was drained;
- at the end every node runs the target (the nodes the plan left out aside: their version is
  unreadable).

`check_plan` is used by the property tests and by the plan loader, so a hand-edited plan that
breaks one of these is refused before apply runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from overhaul.domain.plan import Action, Plan, Role, StageKind, Step
from overhaul.domain.version import Version, VersionError
from overhaul.knowledge import skew

MANAGED = "(control plane)"


@dataclass(frozen=True)
class Problem:
    step: str  # the step id ("" for the plan as a whole)
    message: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}" if self.step else self.message


def _parse(text: str) -> Version | None:
    try:
        return Version.parse(text) if text else None
    except VersionError:
        return None


@dataclass
class _State:
    kubelets: dict[str, Version | None]  # workers present
    apiservers: dict[str, Version | None]  # control-plane nodes (or MANAGED)
    drained: set[str]


def _initial(plan: Plan) -> _State:
    kubelets: dict[str, Version | None] = {}
    apiservers: dict[str, Version | None] = {}
    for node in plan.cluster.nodes:
        if node.role is Role.CONTROL_PLANE:
            apiservers[node.name] = _parse(node.control_plane_version) or _parse(node.version)
        else:
            kubelets[node.name] = _parse(node.version)
    if not apiservers:
        apiservers[MANAGED] = _parse(plan.cluster.control_plane_version)
    return _State(kubelets, apiservers, set())


def _skew_problems(state: _State, step: str) -> list[Problem]:
    servers = [v for v in state.apiservers.values() if v is not None]
    found: list[Problem] = []
    if servers and not skew.apiservers_skew_ok(servers):
        found.append(
            Problem(step, f"kube-apiservers more than one minor apart ({min(servers)}, {max(servers)})")
        )
    for name, kubelet in sorted(state.kubelets.items()):
        if kubelet is not None and servers and not skew.skew_ok(skew.KUBELET, kubelet, servers):
            found.append(
                Problem(
                    step,
                    f"kubelet {kubelet} on {name} is outside the skew policy against kube-apiserver "
                    f"{', '.join(sorted({str(s) for s in servers}))}",
                )
            )
    return found


def check_plan(plan: Plan) -> list[Problem]:
    """Every broken invariant, in step order (empty for a sound plan)."""
    problems: list[Problem] = []
    target = _parse(plan.spec.target)
    if target is None:
        return [Problem("", f"spec.target {plan.spec.target!r} is not a version")]
    state = _initial(plan)
    problems.extend(_skew_problems(state, ""))
    for stage in plan.stages:
        touched: set[str] = set()
        for step in stage.steps:
            version = _parse(step.version)
            if version is None:
                problems.append(Problem(step.id, f"version {step.version!r} is not a version"))
                continue
            if stage.kind is StageKind.CONTROL_PLANE and step.action is not Action.UPGRADE_CONTROL_PLANE:
                problems.append(Problem(step.id, f"a {step.action} step in a control-plane stage"))
            for node in step.nodes:
                if node.name in touched and step.action in (
                    Action.UPGRADE_NODES,
                    Action.UPGRADE_CONTROL_PLANE,
                ):
                    problems.append(
                        Problem(step.id, f"node {node.name} is upgraded twice in stage {stage.id}")
                    )
                touched.add(node.name)
            problems.extend(_apply(state, step.action, version, step))
            problems.extend(_skew_problems(state, step.id))
    for name, kubelet in sorted(state.kubelets.items()):
        if kubelet is not None and kubelet < target:
            problems.append(Problem("", f"node {name} ends at {kubelet}, not the target {target}"))
    for name, server in sorted(state.apiservers.items()):
        if server is not None and server < target:
            problems.append(
                Problem("", f"the control plane on {name} ends at {server}, not the target {target}")
            )
    return problems


def _apply(state: _State, action: Action, version: Version, step: Step) -> list[Problem]:
    found: list[Problem] = []
    if action is Action.UPGRADE_CONTROL_PLANE:
        names = list(step.node_names) or [MANAGED]
        for name in names:
            if name not in state.apiservers:
                found.append(Problem(step.id, f"{name} is not a control-plane node of the plan's cluster"))
                continue
            before = state.apiservers[name]
            if before is not None and not (before <= version and skew.control_plane_step_ok(before, version)):
                found.append(
                    Problem(
                        step.id,
                        f"the control plane on {name} goes from {before} to {version}: "
                        "it may only move forward, one minor at a time",
                    )
                )
            state.apiservers[name] = version
        return found
    if action is Action.ADD_NODES:
        for new in step.new_nodes:
            if new.name in state.kubelets or new.name in state.apiservers:
                found.append(Problem(step.id, f"node {new.name} already exists"))
            if new.like not in state.kubelets:
                found.append(
                    Problem(step.id, f"new node {new.name} is like {new.like}, which is not a worker")
                )
            state.kubelets[new.name] = version
        return found
    for node in step.nodes:
        if node.name not in state.kubelets:
            found.append(Problem(step.id, f"node {node.name} is not a worker at this point of the plan"))
            continue
        if action is Action.UPGRADE_NODES:
            before = state.kubelets[node.name]
            if before is not None and version < before:
                found.append(Problem(step.id, f"node {node.name} would go back from {before} to {version}"))
            state.kubelets[node.name] = version
        elif action is Action.DRAIN_NODES:
            state.drained.add(node.name)
        elif action is Action.REMOVE_NODES:
            if node.name not in state.drained:
                found.append(Problem(step.id, f"node {node.name} is removed without being drained first"))
            state.kubelets.pop(node.name, None)
    return found
