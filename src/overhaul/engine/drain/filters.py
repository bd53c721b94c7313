"""Which pods of a node a drain deletes, skips or refuses: kubectl drain's filters, in its order.

For each pod the filters run in turn and the first one that says "don't delete" decides (as in
kubectl's `GetPodsForDeletion`). Unlike kubectl, every warning is kept, not just the last one.
The messages are kubectl's own, so users and scripts recognise them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from overhaul.domain.cluster import PodView
from overhaul.engine.drain.options import DrainOptions

DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"


class Verdict(Enum):
    DELETE = "delete"
    SKIP = "skip"  # left alone, silently (mirror pods, long-deleted pods) or with a warning
    ERROR = "error"  # the node cannot be drained with these options


@dataclass(frozen=True, slots=True)
class PodDecision:
    pod: PodView
    verdict: Verdict
    warnings: tuple[str, ...] = ()
    error: str = ""
    skip_reason: str = ""

    @property
    def delete(self) -> bool:
        return self.verdict is Verdict.DELETE


# Answers whether the DaemonSet namespace/name exists: True, False (404), or an error message.
DaemonSetLookup = Callable[[str, str], "bool | str"]


def decide(
    pod: PodView, options: DrainOptions, daemonset_exists: DaemonSetLookup, now: datetime
) -> PodDecision:
    """The decision for one pod; `now` (timezone-aware) ages deletion timestamps."""
    warnings: list[str] = []

    # 1. pods deleted long ago (their kubelet is probably gone): skip without a word
    if _deleted_long_ago(pod, options.skip_wait_for_delete_timeout, now):
        return PodDecision(
            pod, Verdict.SKIP, skip_reason="deleted more than --skip-wait-for-delete-timeout ago"
        )

    # 2. DaemonSet pods: the DaemonSet controller would put them straight back
    if pod.daemonset and not pod.finished:
        assert pod.owner is not None
        found = daemonset_exists(pod.namespace, pod.owner.name)
        if found is not True:
            message = found if isinstance(found, str) else f'daemonsets.apps "{pod.owner.name}" not found'
            if found is False and options.force:
                warnings.append(message)  # an orphan: deleted with --force
            else:
                return PodDecision(pod, Verdict.ERROR, error=message)
        elif not options.ignore_daemonsets:
            return PodDecision(pod, Verdict.ERROR, error=DAEMONSET_FATAL)
        else:
            return PodDecision(pod, Verdict.SKIP, warnings=(DAEMONSET_WARNING,), skip_reason="DaemonSet")

    # 3. mirror pods: the kubelet owns them; the API cannot delete them
    if pod.mirror:
        return PodDecision(pod, Verdict.SKIP, skip_reason="mirror pod")

    # 4. emptyDir data dies with the pod
    if pod.has_empty_dir and not pod.finished:
        if not options.delete_emptydir_data:
            return PodDecision(pod, Verdict.ERROR, error=LOCAL_STORAGE_FATAL)
        warnings.append(LOCAL_STORAGE_WARNING)

    # 5. nothing would recreate a pod without a controller
    if pod.owner is None and not pod.finished:
        if not options.force:
            return PodDecision(pod, Verdict.ERROR, error=UNMANAGED_FATAL)
        warnings.append(UNMANAGED_WARNING)

    return PodDecision(pod, Verdict.DELETE, warnings=tuple(warnings))


def _deleted_long_ago(pod: PodView, timeout_seconds: int, now: datetime) -> bool:
    if timeout_seconds <= 0 or pod.deletion_timestamp is None:
        return False
    return int((now - pod.deletion_timestamp).total_seconds()) > timeout_seconds


def decide_all(
    pods: Iterable[PodView], options: DrainOptions, daemonset_exists: DaemonSetLookup, now: datetime
) -> list[PodDecision]:
    return [decide(pod, options, daemonset_exists, now) for pod in pods]


def warning_lines(decisions: Sequence[PodDecision]) -> list[str]:
    """kubectl's warning form: one line per message, naming its pods (`message: ns/a, ns/b`)."""
    return _grouped((w, d.pod.key) for d in decisions for w in d.warnings)


def error_lines(decisions: Sequence[PodDecision]) -> list[str]:
    """kubectl's error form: `cannot delete <message>: ns/a, ns/b`."""
    lines = _grouped((d.error, d.pod.key) for d in decisions if d.verdict is Verdict.ERROR)
    return [line if line.lower().startswith("cannot delete") else f"cannot delete {line}" for line in lines]


def _grouped(pairs: Iterable[tuple[str, str]]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for message, key in pairs:
        groups.setdefault(message or "unexpected error", []).append(key)
    return [f"{message}: {', '.join(keys)}" for message, keys in groups.items()]
