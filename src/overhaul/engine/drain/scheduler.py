"""Which evictions to send now: never more than a budget can absorb, spread over nodes and budgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest

from overhaul.domain.cluster import PodView
from overhaul.engine.drain.budgets import BudgetLedger, uses_budget


@dataclass(frozen=True, slots=True)
class Candidate:
    pod: PodView
    node: str
    budgets: tuple[str, ...]  # keys of the budgets that select the pod


@dataclass(frozen=True, slots=True)
class Pick:
    candidate: Candidate
    budget: str | None  # the budget this eviction reserves, None when it costs none


def pick_evictions(candidates: Sequence[Candidate], ledger: BudgetLedger, slots: int) -> list[Pick]:
    """Up to `slots` evictions to send now.

    Pods under exactly one budget go first (they are the drain's critical path), each only while
    its budget has an allowance left, taken round-robin over nodes so every node advances; then
    pods that cost no budget (none selects them, or they are not Running and Ready) go at once.
    A pod under several budgets is sent too: the API server refuses it with a 500 that names the
    problem, and the drain reports it.
    """
    if slots <= 0:
        return []
    budgeted: list[Candidate] = []
    free: list[Candidate] = []
    for candidate in candidates:
        if len(candidate.budgets) == 1 and uses_budget(candidate.pod):
            budgeted.append(candidate)
        else:
            free.append(candidate)
    picks: list[Pick] = []
    taken: dict[str, int] = {}
    for candidate in _round_robin_by_node(budgeted):
        if len(picks) >= slots:
            return picks
        key = candidate.budgets[0]
        if ledger.available(key) - taken.get(key, 0) > 0:
            taken[key] = taken.get(key, 0) + 1
            picks.append(Pick(candidate, key))
    for candidate in _round_robin_by_node(free):
        if len(picks) >= slots:
            break
        picks.append(Pick(candidate, None))
    return picks


def _round_robin_by_node(candidates: Sequence[Candidate]) -> list[Candidate]:
    by_node: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_node.setdefault(candidate.node, []).append(candidate)
    # Nodes with the most waiting first: their chains of evictions are the longest.
    queues = sorted(by_node.values(), key=len, reverse=True)
    return [c for row in zip_longest(*queues) for c in row if c is not None]
