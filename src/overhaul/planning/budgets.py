"""What each PodDisruptionBudget lets a batch disrupt at once, with every pod healthy.

The disruption controller allows `currentHealthy - desiredHealthy` disruptions. With every pod
healthy (apply waits for that between batches) and `expected` the pods the PDB's workloads want:

- `maxUnavailable` M: desiredHealthy = expected - M scaled against expected (rounded up), so M;
- `minAvailable` N: desiredHealthy = N (a percentage scaled against expected, rounded up), so
  expected - N.

A batch whose nodes hold more pods of a PDB than that would have its drains wait on each other, so
the planner never puts them together (a single node still goes alone: the Eviction API then takes
its pods out one at a time, as the budget refills).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from overhaul.domain.cluster import ClusterView, PdbView, PodView
from overhaul.domain.labels import Selector, lenient_selector


def scaled(value: int | str, total: int) -> int | None:
    """An IntOrString against `total`, rounded up as the disruption controller does
    (`GetScaledValueFromIntOrPercent(..., roundUp=true)`); None when malformed."""
    if isinstance(value, int):
        return value
    text = value.strip()
    try:
        if text.endswith("%"):
            return math.ceil(int(text[:-1]) * total / 100)
        return int(text)
    except ValueError:
        return None


def live(pod: PodView) -> bool:
    return not (pod.finished or pod.terminating)


def expected_pods(cluster: ClusterView, pods: tuple[PodView, ...] | list[PodView]) -> int:
    """The pods the PDB's controllers want (their replicas), plus the pods without a known one."""
    replicas: dict[str, int] = {}
    bare = 0
    for pod in pods:
        controller = cluster.top_controller(pod)
        if controller is None:
            bare += 1
        else:
            replicas[controller.uid or controller.key] = max(controller.replicas, 0)
    return max(sum(replicas.values()) + bare, len(pods))


def allowance(pdb: PdbView, expected: int) -> int:
    """Disruptions the PDB allows with all `expected` pods healthy (0 when it allows none or is
    malformed)."""
    if pdb.max_unavailable is not None:
        allowed = scaled(pdb.max_unavailable, expected)
        return max(0, allowed) if allowed is not None else 0
    if pdb.min_available is not None:
        needed = scaled(pdb.min_available, expected)
        return max(0, expected - needed) if needed is not None else 0
    return expected  # neither set: the API server refuses such a PDB; nothing to keep


class _NamespaceBudgets:
    """A namespace's PDB selectors, indexed by one `key=value` each must see (an `In` term), so a
    label set is matched only against the PDBs that can select it."""

    def __init__(self) -> None:
        self.by_label: dict[tuple[str, str], list[tuple[str, Selector]]] = {}
        self.always: list[tuple[str, Selector]] = []

    def add(self, key: str, selector: Selector) -> None:
        if selector.nothing:
            return
        term = next((r for r in selector.requirements if r.operator == "In"), None)
        if term is None:
            self.always.append((key, selector))
            return
        for value in term.values:
            self.by_label.setdefault((term.key, value), []).append((key, selector))

    def matching(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        candidates = list(self.always)
        for pair in labels.items():
            candidates.extend(self.by_label.get(pair, ()))
        return tuple(sorted({key for key, selector in candidates if selector.matches(labels)}))


def pdb_keys_by_pod(cluster: ClusterView) -> dict[str, tuple[str, ...]]:
    """Per pod key, the PDBs that select it. Matched once per distinct label set (a Deployment's pods
    share theirs), and only against the PDBs an indexed term allows."""
    by_namespace: dict[str, _NamespaceBudgets] = {}
    for pdb in cluster.pdbs:
        by_namespace.setdefault(pdb.namespace, _NamespaceBudgets()).add(
            pdb.key, lenient_selector(pdb.selector)
        )
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, ...]] = {}
    found: dict[str, tuple[str, ...]] = {}
    for pod in cluster.pods:
        budgets = by_namespace.get(pod.namespace)
        if budgets is None:
            continue
        key = (pod.namespace, tuple(sorted(pod.labels.items())))
        matched = cache.get(key)
        if matched is None:
            matched = budgets.matching(pod.labels)
            cache[key] = matched
        if matched:
            found[pod.key] = matched
    return found


def allowances(cluster: ClusterView, pdbs_of: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, int]:
    """Per PDB (`namespace/name`), the disruptions a batch may cause at once."""
    matched = pdbs_of if pdbs_of is not None else pdb_keys_by_pod(cluster)
    selected: dict[str, list[PodView]] = {pdb.key: [] for pdb in cluster.pdbs}
    for pod in cluster.pods:
        if live(pod):
            for key in matched.get(pod.key, ()):
                selected[key].append(pod)
    return {pdb.key: allowance(pdb, expected_pods(cluster, selected[pdb.key])) for pdb in cluster.pdbs}
