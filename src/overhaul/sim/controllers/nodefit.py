"""Whether a DaemonSet's pod belongs on a node (NodeShouldRunDaemonPod), with the scheduler's own
predicates: nodeSelector, required node affinity, taints against tolerations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from overhaul.sim.scheduling import (
    NO_EXECUTE,
    PodFacts,
    matches_node_selector,
    matches_required_affinity,
    node_taints,
    pod_facts,
    untolerated_taint,
)

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Placement:
    """A pod spec's placement rules, read once and checked against many nodes."""

    facts: PodFacts

    @classmethod
    def of(cls, spec: JSONDict) -> Placement:
        return cls(pod_facts({"spec": spec}))

    def fits(self, node: JSONDict) -> tuple[bool, bool]:
        """(should run, may keep running): the second ignores NoSchedule taints, as a running daemon
        is only evicted by NoExecute ones."""
        meta = node.get("metadata") or {}
        labels = meta.get("labels") or {}
        if not matches_node_selector(self.facts.node_selector, labels):
            return False, False
        if not matches_required_affinity(self.facts.affinity_terms, str(meta.get("name") or ""), labels):
            return False, False
        taints = node_taints(node)
        tolerations = self.facts.tolerations
        if untolerated_taint((t for t in taints if t.effect == NO_EXECUTE), tolerations) is not None:
            return False, False
        return untolerated_taint(taints, tolerations) is None, True
