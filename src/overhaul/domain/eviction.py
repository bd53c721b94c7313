"""What the API server answered to a request to evict (or delete) a pod, as the drain engine needs it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EvictionOutcome(Enum):
    EVICTED = "evicted"  # accepted: the pod is being deleted
    GONE = "gone"  # 404 (or another pod now has the name): nothing to evict
    BLOCKED = "blocked"  # 429 from a PodDisruptionBudget: retry later
    THROTTLED = "throttled"  # 429 without a budget cause (API priority and fairness): retry soon
    MULTIPLE_BUDGETS = "multiple-budgets"  # 500: more than one PDB matches; never succeeds
    NAMESPACE_TERMINATING = "namespace-terminating"  # 403: the namespace is being deleted; wait
    TRANSIENT = "transient"  # the server or the network failed; retry a few times
    FAILED = "failed"  # refused for good (RBAC, validation, ...)


@dataclass(frozen=True, slots=True)
class EvictionResult:
    outcome: EvictionOutcome
    message: str = ""
    retry_after: float | None = None  # seconds, when the server said


MULTIPLE_BUDGETS_MESSAGE = "more than one PodDisruptionBudget"
