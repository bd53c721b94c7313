"""The drain's view of every PodDisruptionBudget: what each can absorb right now.

The API server is the final judge (it refuses an eviction past a budget with 429), but a drain
that fires evictions blindly wastes requests and, with several nodes at once, starves some
budgets while hammering others. The ledger keeps, per budget, the allowance the disruption
controller last published minus the evictions this drain has sent that the published status
does not show yet, and the scheduler never sends an eviction the ledger cannot absorb.

An eviction accepted under budget P shows in P's status as an entry in `disruptedPods` (the API
server writes it with the decrement, before it deletes the pod). So a reservation for pod X is
settled when a status of P lists X, or, if that status was missed, when X is gone and a newer
status of P has arrived; a refused eviction releases its reservation at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from overhaul.domain.cluster import PdbView, PodView
from overhaul.domain.labels import Selector, lenient_selector


@dataclass
class _Budget:
    view: PdbView
    selector: Selector
    # pod name -> True once the pod is gone (settles at the next status)
    reserved: dict[str, bool] = field(default_factory=dict)
    refused: bool = False  # a 429 since the last status: assume nothing is allowed until the next one


class BudgetLedger:
    """Budgets by `namespace/name`, kept current from watch events (`observe`, `forget`)."""

    def __init__(self) -> None:
        self._budgets: dict[str, _Budget] = {}
        self._by_namespace: dict[str, list[str]] = {}

    # ----- following the cluster

    def observe(self, view: PdbView) -> None:
        """A new status (or spec) of a budget."""
        budget = self._budgets.get(view.key)
        if budget is None:
            self._budgets[view.key] = _Budget(view, lenient_selector(view.selector))
            self._by_namespace.setdefault(view.namespace, []).append(view.key)
            return
        if budget.view.selector != view.selector:
            budget.selector = lenient_selector(view.selector)
        budget.view = view
        budget.refused = False
        # Settled: listed as disrupted (the status counts it), or gone before this status.
        budget.reserved = {
            name: gone
            for name, gone in budget.reserved.items()
            if name not in view.disrupted_pods and not gone
        }

    def forget(self, key: str) -> None:
        budget = self._budgets.pop(key, None)
        if budget is not None:
            self._by_namespace[budget.view.namespace].remove(key)

    # ----- questions

    def matching(self, pod: PodView) -> list[str]:
        """Keys of the budgets whose selector selects the pod (same namespace)."""
        return [
            key
            for key in self._by_namespace.get(pod.namespace, ())
            if self._budgets[key].selector.matches(pod.labels)
        ]

    def view(self, key: str) -> PdbView | None:
        budget = self._budgets.get(key)
        return budget.view if budget is not None else None

    def available(self, key: str) -> int:
        """Evictions the budget can take now, by the last status and the reservations not in it."""
        budget = self._budgets.get(key)
        if budget is None:
            return 0
        if budget.refused or not budget.view.status_current:
            return 0
        return max(0, budget.view.disruptions_allowed - len(budget.reserved))

    def reservations(self, key: str) -> int:
        budget = self._budgets.get(key)
        return len(budget.reserved) if budget is not None else 0

    def keys(self) -> Sequence[str]:
        return tuple(self._budgets)

    # ----- this drain's evictions

    def reserve(self, key: str, pod_name: str) -> None:
        budget = self._budgets.get(key)
        if budget is not None:
            budget.reserved[pod_name] = False

    def release(self, key: str, pod_name: str, refused: bool) -> None:
        """The eviction did not happen; a refusal (429) also means our view was stale."""
        budget = self._budgets.get(key)
        if budget is not None:
            budget.reserved.pop(pod_name, None)
            if refused:
                budget.refused = True

    def pod_gone(self, keys: Iterable[str], pod_name: str) -> None:
        for key in keys:
            budget = self._budgets.get(key)
            if budget is not None and pod_name in budget.reserved:
                budget.reserved[pod_name] = True


def uses_budget(pod: PodView) -> bool:
    """Whether evicting the pod takes one of its budget's disruptions.

    The API server deletes pods that are not running, or already terminating, without looking at
    a budget, and evicts unready pods without decrementing it (when the budget is healthy, or
    always with AlwaysAllow); only a Running, Ready pod costs a disruption.
    """
    return pod.phase == "Running" and pod.ready and pod.deletion_timestamp is None
