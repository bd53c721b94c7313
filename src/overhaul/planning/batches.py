"""PDB-aware batches: which nodes are drained together.

A batch grows greedily, node by node in the given order, while:

- it stays within the cap (`--max-unavailable`, or `--max-surge` when each node gets a new one first);
- with `--batch-by zone`, it stays inside one zone;
- for every PodDisruptionBudget, the pods it protects on the batch's nodes do not exceed what it allows
  to be disrupted at once with every pod healthy (`budgets.allowance`), so no drain of the batch waits
  on another's;
- the pods the batch evicts (those with a controller) fit on the nodes that stay schedulable, by the
  scheduler's filters and requests (`capacity.ClusterModel`).

A node that breaks a rule even alone still gets a batch of its own (the Eviction API then paces its
pods as the budget refills; pods with no room stay Pending): the batch records why, for the plan's
notes. Each committed batch updates the model, so the next one sees where the pods went.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from overhaul.domain.cluster import NodeView, PodView
from overhaul.planning.capacity import ClusterModel


@dataclass
class Batch:
    nodes: list[str] = field(default_factory=list)
    zone: str | None = None
    unplaced: list[PodView] = field(default_factory=list)  # found no room (a node that went alone)
    over_budget: dict[str, int] = field(default_factory=dict)  # PDB -> its pods beyond the allowance
    replacements: dict[str, NodeView] = field(default_factory=dict)  # old node -> its new node (surge)
    bare: list[PodView] = field(default_factory=list)  # pods no controller recreates: the drain deletes them
    moved: int = 0  # pods the batch evicts and places elsewhere
    evicted: dict[str, list[PodView]] = field(default_factory=dict)  # node -> the pods its drain evicts
    placed: dict[str, list[PodView]] = field(default_factory=dict)  # node -> the evicted pods it receives


class _Forming:
    """One batch being formed: tentative placements are in the model and undone on a refusal."""

    def __init__(
        self,
        model: ClusterModel,
        allowances: Mapping[str, int],
        pdbs_of: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.model = model
        self.allowances = allowances
        self.pdbs_of = pdbs_of
        self.batch = Batch()
        self.counts: dict[str, int] = {}
        self.tentative: dict[str, list[PodView]] = {}  # target node -> pods placed there by this batch

    def _own(self, name: str) -> list[PodView]:
        here = {p.key for p in self.tentative.get(name, ())}
        return [p for p in self.model.moving_pods(name) if p.key not in here]

    def try_add(self, name: str, replacement: NodeView | None) -> bool:
        alone = not self.batch.nodes
        if self.batch.over_budget or self.batch.unplaced:
            return False  # a node over a budget or out of room even alone goes alone
        own = self._own(name)
        delta: dict[str, int] = {}
        for pod in own:
            for key in self.pdbs_of.get(pod.key, ()):
                delta[key] = delta.get(key, 0) + 1
        over = {}
        for key, n in delta.items():
            total, allowed = self.counts.get(key, 0) + n, self.allowances.get(key, 0)
            if total > allowed:
                over[key] = total - allowed
        if over and not alone:
            return False
        if replacement is not None:
            self.model.add_node(replacement, like=name)
        excluded = {*self.batch.nodes, name}
        displaced = self.tentative.pop(name, [])
        for pod in displaced:
            self.model.take(pod, name)
        placed: list[tuple[PodView, str]] = []
        unplaced: list[PodView] = []
        for pod in [*(p for p in own if p.owner is not None), *displaced]:
            target = self.model.find(pod, excluded)
            if target is None:
                unplaced.append(pod)
                if not alone:
                    break
            else:
                self.model.put(pod, target)
                placed.append((pod, target))
        if unplaced and not alone:
            for pod, target in placed:
                self.model.take(pod, target)
            for pod in displaced:
                self.model.put(pod, name)
            self.tentative[name] = displaced
            if replacement is not None:
                self.model.remove_node(replacement.name)
            return False
        for pod, target in placed:
            self.tentative.setdefault(target, []).append(pod)
        for key, n in delta.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.batch.nodes.append(name)
        self.batch.evicted[name] = own
        self.batch.unplaced.extend(unplaced)
        self.batch.bare.extend(p for p in own if p.owner is None)
        self.batch.moved += len(placed)
        if over:
            self.batch.over_budget = over
        if replacement is not None:
            self.batch.replacements[name] = replacement
        if self.batch.zone is None:
            self.batch.zone = self.model.view(name).zone
        return True


def form_batch(
    model: ClusterModel,
    pending: list[str],
    cap: int,
    allowances: Mapping[str, int],
    pdbs_of: Mapping[str, tuple[str, ...]],
    *,
    by_zone: bool = False,
    replacement: Callable[[str], NodeView] | None = None,
) -> Batch:
    """The next batch from `pending` (in order; the chosen names are removed from it). The model
    holds the batch's placements afterwards; `commit` finishes it."""
    forming = _Forming(model, allowances, pdbs_of)
    for name in list(pending):
        if len(forming.batch.nodes) >= cap:
            break
        if by_zone and forming.batch.nodes and model.view(name).zone != forming.batch.zone:
            continue
        if forming.try_add(name, replacement(name) if replacement is not None else None):
            pending.remove(name)
    forming.batch.placed = {target: list(pods) for target, pods in forming.tentative.items() if pods}
    return forming.batch


def commit(model: ClusterModel, batch: Batch, *, version: str, in_place: bool) -> None:
    """The batch has drained: its nodes keep only the pods that stay. In place, they come back
    upgraded and schedulable; otherwise they stay cordoned until removed."""
    for name in batch.nodes:
        model.empty(name)
        if in_place:
            model.set_version(name, version)
            model.mark_fresh(name)
        else:
            model.set_out(name)


def form_batches(
    model: ClusterModel,
    nodes: list[str],
    cap: int,
    allowances: Mapping[str, int],
    pdbs_of: Mapping[str, tuple[str, ...]],
    *,
    version: str,
    in_place: bool,
    by_zone: bool = False,
    replacement: Callable[[str], NodeView] | None = None,
) -> list[Batch]:
    """Every batch for `nodes`, each committed to the model before the next is formed."""
    pending = list(nodes)
    batches: list[Batch] = []
    while pending:
        batch = form_batch(model, pending, cap, allowances, pdbs_of, by_zone=by_zone, replacement=replacement)
        commit(model, batch, version=version, in_place=in_place)
        batches.append(batch)
    return batches
