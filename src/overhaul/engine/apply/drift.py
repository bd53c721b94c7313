"""Does the cluster still match the plan? Apply refuses to act on a cluster that changed.

A node added, gone or replaced (same name, another UID) since the plan was made, or a kubelet at a
version the plan did not record, means the plan no longer describes the cluster: its batches, its
budget arithmetic and its version path may be wrong. The one change that is expected is the plan's
own: a node at the version of a step of this plan that the journal says was started, a node a
started remove-nodes step deleted, and the nodes the plan adds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from overhaul.domain.plan import Action, Plan
from overhaul.engine.apply.facts import NodeFacts, same_version


@dataclass(frozen=True)
class Drift:
    node: str
    change: str  # added | gone | replaced | version
    message: str


def cluster_drift(plan: Plan, nodes: Sequence[NodeFacts], journaled_steps: Iterable[str]) -> list[Drift]:
    """The differences between the cluster the plan was made for and `nodes`, except those the
    plan's own steps recorded in the journal (`journaled_steps`: ids of steps started at least once)
    explain."""
    started = set(journaled_steps)
    # node name -> versions this plan may have brought it to already
    explained: dict[str, list[str]] = {}
    for step in plan.steps:
        if step.id in started and step.action.upgrades:
            for node in step.nodes:
                explained.setdefault(node.name, []).append(step.version)
    created = {n.name for step in plan.steps for n in step.new_nodes}
    # nodes a started remove-nodes step may have deleted already
    removed = {
        n.name for s in plan.steps if s.id in started and s.action is Action.REMOVE_NODES for n in s.nodes
    }
    live: Mapping[str, NodeFacts] = {n.name: n for n in nodes}
    drifts: list[Drift] = []
    for expected in plan.cluster.nodes:
        found = live.get(expected.name)
        if found is None:
            if expected.name in removed:
                continue
            drifts.append(
                Drift(expected.name, "gone", f"- node {expected.name} (uid {expected.uid}) is gone")
            )
            continue
        if expected.uid and found.uid != expected.uid:
            drifts.append(
                Drift(
                    expected.name,
                    "replaced",
                    f"~ node {expected.name} was replaced: uid {expected.uid} in the plan, {found.uid} now",
                )
            )
            continue
        if same_version(found.kubelet, expected.version):
            continue
        if any(same_version(found.kubelet, v) for v in explained.get(expected.name, ())):
            continue
        drifts.append(
            Drift(
                expected.name,
                "version",
                f"~ node {expected.name} runs kubelet {found.kubelet}, the plan expected {expected.version}",
            )
        )
    known = {n.name for n in plan.cluster.nodes}
    for name in sorted(live):
        if name not in known and name not in created:
            drifts.append(Drift(name, "added", f"+ node {name} (uid {live[name].uid}) is not in the plan"))
    return drifts
