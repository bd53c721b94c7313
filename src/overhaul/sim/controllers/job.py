"""The Job controller (pkg/controller/job): runs pods to `completions` with `parallelism` at a time,
retries failures with exponential back-off up to `backoffLimit`, honours suspend, the active
deadline, Indexed completion and ttlSecondsAfterFinished.

Finished pods are counted exactly once through the `batch.kubernetes.io/job-tracking` finalizer,
as the real controller does: a pod's uid goes to status.uncountedTerminatedPods, its finalizer
is removed, then it moves into `succeeded` or `failed`.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

from overhaul.sim.clock import parse_rfc3339, rfc3339
from overhaul.sim.cluster import DeleteOptions
from overhaul.sim.controllers.events import record_event
from overhaul.sim.controllers.podutil import (
    controller_ref,
    deletion_order,
    is_active,
    is_ready,
    is_terminating,
    meta,
    pod_from_template,
    pod_phase,
)
from overhaul.sim.controllers.workload import BURST, MANAGER, PODS, WorkloadController
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey, Stored, WatchEvent

JSONDict = dict[str, Any]
JOBS: StorageKey = ("batch", "jobs")
TRACKING = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
COMPONENT = "job-controller"
BACKOFF_BASE, BACKOFF_MAX = 10.0, 600.0
TERMINAL = ("Complete", "Failed")


def _has_tracking(pod: JSONDict) -> bool:
    return TRACKING in (meta(pod).get("finalizers") or [])


def _uid(pod: JSONDict) -> str:
    return str(meta(pod)["uid"])


def _index(pod: JSONDict) -> int | None:
    value = (meta(pod).get("annotations") or {}).get(INDEX_KEY)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _condition(job: JSONDict, kind: str) -> JSONDict | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and c.get("status") == "True":
            return dict(c)
    return None


def format_indexes(indexes: set[int]) -> str:
    """Sorted indexes as ranges: {0, 1, 2, 5} → "0-2,5" (status.completedIndexes)."""
    out: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


class JobController(WorkloadController):
    name = "job"
    own_key = JOBS
    own_kind = "Job"
    watches = (JOBS, PODS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        # Job uid → (failures since the last success, when the last one finished): the back-off.
        self._backoff: dict[str, tuple[int, datetime]] = {}

    def foreign_matters(self, meta: JSONDict) -> bool:
        return bool(meta.get("finalizers"))

    def child_changed(self, event: WatchEvent) -> list[Hashable]:
        items = super().child_changed(event)
        pod = event.stored.obj
        if event.type != "DELETED" and _has_tracking(pod) and self._job_of(pod) is None:
            # A tracked pod whose Job is gone or let it go: only its finalizer keeps it.
            items.append(("pod", str(meta(pod)["namespace"]), str(meta(pod)["name"])))
        return items

    def _job_of(self, pod: JSONDict) -> Stored | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != self.own_kind:
            return None
        job = self.get(JOBS, str(meta(pod)["namespace"]), str(ref.get("name")))
        if job is None or meta(job.obj).get("uid") != ref.get("uid") or is_terminating(job.obj):
            return None
        return job

    # ----- sync ----------------------------------------------------------------------------------

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        if len(item) == 3:
            _kind, ns, name = item
            stored = self.get(PODS, ns, name)
            if stored is not None and _has_tracking(stored.obj) and self._job_of(stored.obj) is None:
                self._drop_tracking(stored.obj)
            return None
        ns, name = item
        stored = self.get(JOBS, ns, name)
        if stored is None:
            return None
        job = stored.obj
        uid = _uid(job)
        if is_terminating(job):
            for pod in list(self.children.owned(uid).values()):
                self._drop_tracking(pod)
            return None
        finished = _condition(job, "Complete") or _condition(job, "Failed")
        if finished is not None:
            for pod in list(self.children.owned(uid).values()):
                self._drop_tracking(pod)
            return self.again(item, self._expire(stored, finished))
        self.claim(job, self.selectors.get(ns, {}).get(name))
        return self.again(item, _Sync(self, stored).run())

    def _expire(self, stored: Stored, finished: JSONDict) -> float | None:
        """ttlSecondsAfterFinished: the finished Job (and its pods) are deleted once it has passed."""
        ttl = (stored.obj.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return None
        since = parse_rfc3339(str(finished.get("lastTransitionTime") or self.cluster.now()))
        remaining = (since + timedelta(seconds=int(ttl)) - self.cluster.clock.now()).total_seconds()
        if remaining > 0:
            return remaining
        m = meta(stored.obj)
        options = DeleteOptions(propagation_policy="Foreground", precondition_uid=str(m["uid"]))
        try:
            self.cluster.delete(self.rt(JOBS), m["namespace"], m["name"], options, MANAGER)
        except ApiError as err:
            if err.code not in (404, 409):
                raise
        return None

    def _drop_tracking(self, pod: JSONDict) -> bool:
        """Removes the tracking finalizer; True if the pod no longer carries it."""
        current = self.get(PODS, str(meta(pod)["namespace"]), str(meta(pod)["name"]))
        if current is None or _uid(current.obj) != _uid(pod) or not _has_tracking(current.obj):
            return True
        pod = current.obj
        m = meta(pod)
        finalizers = [f for f in m.get("finalizers") or [] if f != TRACKING]
        body = {
            **pod,
            "metadata": {**m, "finalizers": finalizers},
            "spec": copy.deepcopy(pod.get("spec") or {}),
        }
        if not finalizers:
            del body["metadata"]["finalizers"]
        try:
            self.update(PODS, body)
        except ApiError as err:
            if err.code == 404:
                return True
            if err.code == 409:
                return False
            raise
        return True

    def backoff_remaining(self, uid: str) -> float:
        failures, last = self._backoff.get(uid, (0, self.cluster.clock.now()))
        if failures == 0:
            return 0.0
        delay = min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)
        return max(0.0, (last + timedelta(seconds=delay) - self.cluster.clock.now()).total_seconds())

    def record_finished(self, uid: str, succeeded: list[JSONDict], failed: list[JSONDict]) -> None:
        failures, last = self._backoff.get(uid, (0, self.cluster.clock.now()))
        if succeeded:
            failures = 0
        for pod in failed:
            failures += 1
            last = max(last, _finished_at(pod, self.cluster.clock.now()))
        self._backoff[uid] = (failures, last)


def _finished_at(pod: JSONDict, default: datetime) -> datetime:
    times = []
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        finished = ((c.get("state") or {}).get("terminated") or {}).get("finishedAt")
        if finished:
            times.append(parse_rfc3339(str(finished)))
    return max(times) if times else default


class _Sync:
    """One syncJob: counts, decides, creates or deletes pods, then tracks finished pods."""

    def __init__(self, ctl: JobController, stored: Stored) -> None:
        self.ctl = ctl
        self.stored = stored
        self.job = stored.obj
        self.uid = _uid(self.job)
        self.spec = self.job.get("spec") or {}
        self.status = copy.deepcopy(self.job.get("status") or {})
        self.pods = list(ctl.children.owned(self.uid).values())
        self.now = ctl.cluster.clock.now()
        self.indexed = self.spec.get("completionMode") == "Indexed"
        self.completions: int | None = self.spec.get("completions")
        self.again: float | None = None

    def _failed(self, pod: JSONDict) -> bool:
        """Failed, or deleted before it could succeed (the default podReplacementPolicy's view)."""
        if pod_phase(pod) == "Failed":
            return True
        replace_failed_only = self.spec.get("podReplacementPolicy") == "Failed" or self.spec.get(
            "podFailurePolicy"
        )
        return not replace_failed_only and is_terminating(pod) and pod_phase(pod) != "Succeeded"

    def _later(self, seconds: float) -> None:
        self.again = seconds if self.again is None else min(self.again, seconds)

    def run(self) -> float | None:
        ctl, spec, status = self.ctl, self.spec, self.status
        uncounted = status.get("uncountedTerminatedPods") or {}
        self.unc_succeeded = list(uncounted.get("succeeded") or [])
        self.unc_failed = list(uncounted.get("failed") or [])
        active = [p for p in self.pods if is_active(p)]
        terminating = sum(
            1 for p in self.pods if is_terminating(p) and pod_phase(p) not in ("Succeeded", "Failed")
        )
        tracked = [p for p in self.pods if _has_tracking(p)]
        new_ok = [p for p in tracked if pod_phase(p) == "Succeeded" and _uid(p) not in self.unc_succeeded]
        new_bad = [p for p in tracked if self._failed(p) and _uid(p) not in self.unc_failed]
        succeeded = int(status.get("succeeded") or 0) + len(new_ok) + len(self.unc_succeeded)
        failed = int(status.get("failed") or 0) + len(new_bad) + len(self.unc_failed)
        suspended = bool(spec.get("suspend"))
        if not status.get("startTime") and not suspended:
            status["startTime"] = rfc3339(self.now)
        ctl.record_finished(self.uid, new_ok, new_bad)
        finished = self._finished_condition(failed, suspended)
        if self.indexed:
            done = parse_indexes(status.get("completedIndexes"))
            done |= {i for p in self.pods if pod_phase(p) == "Succeeded" and (i := _index(p)) is not None}
            self.done_indexes = {i for i in done if i < (self.completions or 0)}
            succeeded = len(self.done_indexes)
        ready = sum(1 for p in active if is_ready(p))
        if finished is not None:
            for pod in active:
                ctl.delete(PODS, pod)  # keeps the finalizer: a pod a finished Job stops counts as failed
                terminating += 1
                ready -= is_ready(pod)
            active = []
        else:
            active, terminating, ready = self._manage(active, succeeded, terminating, ready, suspended)
            total = self.completions
            if (succeeded >= total if total is not None else succeeded > 0) and not active:
                finished = (
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )
        status["active"] = len(active)
        status["ready"] = ready
        status["terminating"] = terminating
        self._track(finished, terminating)
        return self.again

    def _finished_condition(self, failed: int, suspended: bool) -> tuple[str, str, str] | None:
        for kind in ("SuccessCriteriaMet", "FailureTarget"):
            cond = _condition(self.job, kind)
            if cond is not None:
                return kind, str(cond.get("reason") or ""), str(cond.get("message") or "")
        if failed > int(self.spec.get("backoffLimit", 6)):
            return "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = self.spec.get("activeDeadlineSeconds")
        start = self.status.get("startTime")
        if deadline is not None and start and not suspended:
            remaining = (
                parse_rfc3339(str(start)) + timedelta(seconds=int(deadline)) - self.now
            ).total_seconds()
            if remaining <= 0:
                return "FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline"
            self._later(remaining)
        return None

    def _manage(
        self, active: list[JSONDict], succeeded: int, terminating: int, ready: int, suspended: bool
    ) -> tuple[list[JSONDict], int, int]:
        ctl = self.ctl
        self._suspend_condition(suspended)
        if suspended:
            want = 0
        elif self.completions is None:
            want = len(active) if succeeded > 0 else int(self.spec.get("parallelism", 1))
        else:
            want = max(0, min(self.completions - succeeded, int(self.spec.get("parallelism", 1))))
        if len(active) > want:
            remove = deletion_order(active)[: len(active) - want]
            for pod in remove:
                # Pods a Job removes on purpose are not failures: the finalizer goes first.
                if ctl._drop_tracking(pod):
                    ctl.delete(PODS, pod)
                    terminating += 1
                    ready -= is_ready(pod)
            gone = {_uid(p) for p in remove}
            return [p for p in active if _uid(p) not in gone], terminating, ready
        missing = want - len(active)
        if missing <= 0:
            return active, terminating, ready
        wait = ctl.backoff_remaining(self.uid)
        if wait > 0:
            self._later(wait)
            return active, terminating, ready
        created = [self._create(index) for index in self._indexes(active, min(missing, BURST))]
        if missing > BURST:
            self._later(0.0)
        return active + created, terminating, ready

    def _indexes(self, active: list[JSONDict], n: int) -> list[int | None]:
        if not self.indexed:
            return [None] * n
        busy = {i for p in active if (i := _index(p)) is not None} | self.done_indexes
        free = [i for i in range(self.completions or 0) if i not in busy]
        return list(free[:n])

    def _create(self, index: int | None) -> JSONDict:
        ns, name = str(meta(self.job)["namespace"]), str(meta(self.job)["name"])
        template = self.spec.get("template") or {}
        extra = {INDEX_KEY: str(index)} if index is not None else None
        generate = f"{name}-{index}-" if index is not None else f"{name}-"
        pod = pod_from_template(template, self.job, ns, generate_name=generate, extra_labels=extra)
        pod["metadata"]["finalizers"] = [*(pod["metadata"].get("finalizers") or []), TRACKING]
        if index is not None:
            pod["metadata"]["annotations"] = {
                **(pod["metadata"].get("annotations") or {}),
                INDEX_KEY: str(index),
            }
            pod["spec"]["hostname"] = f"{name}-{index}"
            env = {
                "name": "JOB_COMPLETION_INDEX",
                "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{INDEX_KEY}']"}},
            }
            for c in pod["spec"].get("containers") or []:
                c["env"] = [*(c.get("env") or []), env]
        return self.ctl.create(PODS, ns, pod).obj

    def _suspend_condition(self, suspended: bool) -> None:
        now = rfc3339(self.now)
        conditions = self.status.setdefault("conditions", [])
        current = next((c for c in conditions if c.get("type") == "Suspended"), None)
        if suspended and (current is None or current.get("status") != "True"):
            new = {
                "type": "Suspended",
                "status": "True",
                "reason": "JobSuspended",
                "message": "Job suspended",
            }
            record_event(self.ctl.cluster, self.job, "Suspended", "Job suspended", COMPONENT)
        elif not suspended and current is not None and current.get("status") == "True":
            new = {"type": "Suspended", "status": "False", "reason": "JobResumed", "message": "Job resumed"}
            record_event(self.ctl.cluster, self.job, "Resumed", "Job resumed", COMPONENT)
            self.status["startTime"] = now  # the active deadline counts from the resumption
        else:
            if not conditions:
                del self.status["conditions"]
            return
        new.update(lastProbeTime=now, lastTransitionTime=now)
        self.status["conditions"] = [c for c in conditions if c.get("type") != "Suspended"] + [new]

    # ----- tracking finished pods ------------------------------------------------------------------

    def _track(self, finished: tuple[str, str, str] | None, terminating: int) -> None:
        """Adds finished pods to uncountedTerminatedPods, removes their finalizers, then counts them."""
        ctl, status = self.ctl, self.status
        failure = finished is not None and finished[0] == "FailureTarget"
        release = []
        for pod in self.pods:
            if not _has_tracking(pod):
                continue
            bad = self._failed(pod)
            if finished is None and pod_phase(pod) != "Succeeded" and not bad:
                continue
            release.append(pod)
            uid = _uid(pod)
            if pod_phase(pod) == "Succeeded" and uid not in self.unc_failed:
                if not self.indexed and uid not in self.unc_succeeded:
                    self.unc_succeeded.append(uid)
            elif (bad or failure) and uid not in self.unc_failed:
                self.unc_failed.append(uid)
        if self.indexed:
            status["completedIndexes"] = format_indexes(self.done_indexes)
            status["succeeded"] = len(self.done_indexes)
        if finished is not None and _condition(self.job, finished[0]) is None:
            self._add_condition(*finished)
        status["uncountedTerminatedPods"] = self._uncounted()
        self._flush()
        released = {_uid(p) for p in release if ctl._drop_tracking(p)}
        kept_s = [u for u in self.unc_succeeded if u not in released]
        kept_f = [u for u in self.unc_failed if u not in released]
        status["succeeded"] = int(status.get("succeeded") or 0) + (
            0 if self.indexed else len(self.unc_succeeded) - len(kept_s)
        )
        status["failed"] = int(status.get("failed") or 0) + len(self.unc_failed) - len(kept_f)
        self.unc_succeeded, self.unc_failed = kept_s, kept_f
        status["uncountedTerminatedPods"] = self._uncounted()
        if finished is not None and not kept_s and not kept_f and terminating == 0:
            final = "Complete" if finished[0] == "SuccessCriteriaMet" else "Failed"
            self._add_condition(final, finished[1], finished[2])
            if final == "Complete":
                status["completionTime"] = rfc3339(self.now)
                record_event(ctl.cluster, self.job, "Completed", "Job completed", COMPONENT)
            else:
                record_event(ctl.cluster, self.job, finished[1], finished[2], COMPONENT, "Warning")
        self._flush()

    def _uncounted(self) -> JSONDict:
        out: JSONDict = {}
        if self.unc_succeeded:
            out["succeeded"] = list(self.unc_succeeded)
        if self.unc_failed:
            out["failed"] = list(self.unc_failed)
        return out

    def _add_condition(self, kind: str, reason: str, message: str) -> None:
        now = rfc3339(self.now)
        conditions = [c for c in self.status.get("conditions") or [] if c.get("type") != kind]
        conditions.append(
            {
                "type": kind,
                "status": "True",
                "lastProbeTime": now,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }
        )
        self.status["conditions"] = conditions

    def _flush(self) -> None:
        status = {k: v for k, v in self.status.items() if k not in ("succeeded", "failed", "active") or v}
        if status != self.stored.obj.get("status"):
            self.stored = self.ctl.write_status(JOBS, self.stored, status)
