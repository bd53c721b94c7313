"""Pure decisions of apply's gates: which firing Prometheus alerts hold the next step, and what
versions validation expects after a step.

The alerts cross the port (`engine.apply.ports.AlertSource`) as Prometheus' JSON (`/api/v1/alerts`,
each `{"labels": {"alertname": ...}, "state": "firing"|"pending"|"inactive", ...}`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from overhaul.domain.plan import Action, Plan, StageKind, Step
from overhaul.validate.checks import Expectation


def firing_names(alerts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The names of the alerts that fire (pending ones do not: they have not held for their `for:`)."""
    names = {
        str((alert.get("labels") or {}).get("alertname") or "")
        for alert in alerts
        if alert.get("state") == "firing"
    }
    return sorted(name for name in names if name)


def blocking_alerts(alerts: Iterable[Mapping[str, Any]], regex: str) -> list[str]:
    """The firing alerts whose name matches `regex`, anchored at both ends as Prometheus' `=~` is."""
    pattern = re.compile(regex)
    return [name for name in firing_names(alerts) if pattern.fullmatch(name)]


def expected_versions(plan: Plan, finished: Collection[str], current: Step) -> Expectation:
    """What validation expects after `current`, given the steps finished before it: every node the
    plan has brought to a version so far at least that version (nodes it removed not at all), and
    kube-apiserver at least the version of the last control-plane hop whose steps are all done."""
    done = {*finished, current.id}
    nodes: dict[str, str] = {}
    apiserver = ""
    for stage in plan.stages:
        for step in stage.steps:
            if step.id not in done:
                continue
            if step.action in (Action.UPGRADE_CONTROL_PLANE, Action.UPGRADE_NODES):
                nodes.update((node.name, step.version) for node in step.nodes)
            elif step.action is Action.ADD_NODES:
                nodes.update((new.name, step.version) for new in step.new_nodes)
            elif step.action is Action.REMOVE_NODES:
                for node in step.nodes:
                    nodes.pop(node.name, None)
        if stage.kind is StageKind.CONTROL_PLANE and stage.steps and all(s.id in done for s in stage.steps):
            apiserver = stage.to_version
    return Expectation(nodes=nodes, apiserver=apiserver)
