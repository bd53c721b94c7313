"""Drains nodes: cordon, pick the pods (kubectl's filters), evict them within every budget, wait.

One thread decides; watches (a pod list-then-watch per node being drained, one of the budgets)
and eviction requests (a bounded pool) run beside it and post what happens to a queue. Every
decision is made on that thread from the queue's messages, so the state needs no locks.

Safety rules this module keeps:
- it never sends an eviction its budget ledger says the budget cannot absorb;
- it deletes past a budget only when told (`--disable-eviction`, `--on-blocked
  disable-eviction-after=D`), and says so loudly;
- a node this run cordoned is left cordoned only when it is drained (or `leave_cordoned`):
  failure, timeout and Ctrl-C uncordon it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from overhaul.domain.cluster import PodView
from overhaul.domain.convert import pdb_view, pod_view
from overhaul.domain.durations import format_duration
from overhaul.domain.eviction import EvictionOutcome, EvictionResult
from overhaul.engine.drain.budgets import BudgetLedger
from overhaul.engine.drain.events import (
    BudgetBypassed,
    DrainEvent,
    Listener,
    NodeCordoned,
    NodeDrained,
    NodeFailed,
    NodeStarted,
    NodeUncordoned,
    NodeUncordonFailed,
    NodeWarning,
    PodBlocked,
    PodEvicting,
    PodGone,
)
from overhaul.engine.drain.filters import Verdict, decide_all, error_lines, warning_lines
from overhaul.engine.drain.options import BlockedPolicy, DrainOptions
from overhaul.engine.drain.ports import JSON, DrainCluster, ObjectWatch
from overhaul.engine.drain.scheduler import Candidate, pick_evictions
from overhaul.engine.drain.summary import BlockedPod, DrainResult, NodeResult, NodeStatus, SkippedPod

_TICK = 0.2  # the longest the loop sleeps without a message (timers: retries, deadline, reports)
_BLOCKED_REPORT_EVERY = 10.0
_BLOCKED_FIRST_REPORT = 2.0
_SYNC_TIMEOUT = 120.0


class DrainInputError(ValueError):
    """Bad input (an unknown node, an invalid selector): nothing was changed."""


class _PodState(Enum):
    WAITING = "waiting"  # to be evicted
    SENDING = "sending"  # a request is out
    EVICTED = "evicted"  # accepted; waiting for it to go
    GONE = "gone"
    FAILED = "failed"


@dataclass
class _Pod:
    view: PodView
    node: str
    budgets: tuple[str, ...]
    state: _PodState = _PodState.WAITING
    next_try: float = 0.0
    transient_failures: int = 0
    reserved: str | None = None
    blocked_since: float | None = None
    blocked_budget: str = ""
    blocked_message: str = ""
    blocked_reported: float = 0.0
    deleted: bool = False  # removed with DELETE rather than evicted
    error: str = ""

    @property
    def key(self) -> str:
        return self.view.key


class _NodeState(Enum):
    QUEUED = "queued"
    DRAINING = "draining"
    DRAINED = "drained"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass
class _Node:
    name: str
    cordoned_by_us: bool = False
    already_cordoned: bool = False  # unschedulable before this run: never uncordoned by it
    state: _NodeState = _NodeState.QUEUED
    started: float = 0.0
    finished: float = 0.0
    pods: dict[str, _Pod] = field(default_factory=dict)  # by uid
    skipped: list[SkippedPod] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    watch: ObjectWatch | None = None

    @property
    def active(self) -> bool:
        return self.state is _NodeState.DRAINING


@dataclass(frozen=True, slots=True)
class _PodMessage:
    node: str
    type: str
    object: JSON


@dataclass(frozen=True, slots=True)
class _BudgetMessage:
    type: str
    object: JSON


@dataclass(frozen=True, slots=True)
class _ResultMessage:
    node: str
    uid: str
    result: EvictionResult


_Message = _PodMessage | _BudgetMessage | _ResultMessage


class Drainer:
    """Drains a set of nodes through a `DrainCluster`; `run` returns a `DrainResult`."""

    def __init__(
        self,
        cluster: DrainCluster,
        options: DrainOptions,
        listener: Listener | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cluster = cluster
        self.options = options
        self._listener = listener
        self._monotonic = monotonic
        self._wall = wall
        self._queue: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._ledger = BudgetLedger()
        self._budget_watch: ObjectWatch | None = None
        self._nodes: dict[str, _Node] = {}
        self._daemonsets: dict[tuple[str, str], bool | str] = {}
        self._in_flight = 0
        self._bypassed: list[str] = []
        self._pool: ThreadPoolExecutor | None = None
        self._known: dict[str, JSON] = {}  # nodes as resolve_nodes read them

    # ----- input

    def resolve_nodes(self, names: Sequence[str], selector: str = "") -> list[str]:
        """The nodes to drain: those named (each must exist) and those the selector picks."""
        chosen: list[str] = []
        for name in dict.fromkeys(names):
            found = self.cluster.node(name)
            if found is not None:
                self._known[name] = found
        missing = [n for n in names if n not in self._known]
        if missing:
            raise DrainInputError(
                f"node{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)} (nothing was changed)"
            )
        chosen.extend(dict.fromkeys(names))
        if selector:
            try:
                selected = self.cluster.nodes(selector)
            except ValueError as err:
                raise DrainInputError(f"invalid --selector {selector!r}: {err}") from err
            for node in selected:
                name = str((node.get("metadata") or {}).get("name") or "")
                if name and name not in chosen:
                    chosen.append(name)
                    self._known[name] = node
            if not selected and not names:
                raise DrainInputError(f"no nodes match --selector {selector!r} (nothing was changed)")
        if not chosen:
            raise DrainInputError("name at least one node, or give --selector")
        return chosen

    # ----- the run

    def run(self, names: Sequence[str]) -> DrainResult:
        started = self._monotonic()
        self._nodes = {name: _Node(name) for name in names}
        if self.options.dry_run:
            return self._dry_run(started)
        interrupted = False
        try:
            self._pool = ThreadPoolExecutor(
                max_workers=max(1, self.options.max_in_flight), thread_name_prefix="evict"
            )
            self._cordon_all()
            if not self.options.disable_eviction:
                self._budget_watch = self.cluster.watch_budgets(
                    lambda kind, obj: self._queue.put(_BudgetMessage(kind, obj))
                )
                self._await_sync(self._budget_watch, "PodDisruptionBudgets")
                for obj in self._budget_watch.items():
                    self._ledger.observe(pdb_view(obj))
            self._loop()
        except KeyboardInterrupt:
            interrupted = True
        except Exception as err:  # an API failure mid-way: every unfinished node fails with it
            for node in self._nodes.values():
                if node.state in (_NodeState.QUEUED, _NodeState.DRAINING):
                    self._fail(node, str(err) or type(err).__name__)
        finally:
            if interrupted:
                for node in self._nodes.values():
                    if node.state in (_NodeState.QUEUED, _NodeState.DRAINING):
                        node.state = _NodeState.INTERRUPTED
                        node.finished = self._monotonic()
            self._shutdown()
            self._restore_schedulable()
        return self._result(started, interrupted)

    def _await_sync(self, watch: ObjectWatch, what: str) -> None:
        if not watch.wait_synced(_SYNC_TIMEOUT):
            reason = watch.error
            raise RuntimeError(f"could not list {what}: {reason or 'timed out'}")

    def _cordon_all(self) -> None:
        for node in self._nodes.values():
            obj = self._known.get(node.name) or self.cluster.node(node.name)
            if obj is None:
                raise RuntimeError(f"node {node.name} is gone")
            already = bool((obj.get("spec") or {}).get("unschedulable"))
            node.already_cordoned = already
            if not already:
                node.cordoned_by_us = True  # before the request: an interrupt mid-request still uncordons
                self.cluster.set_unschedulable(node.name, True)
            self._emit(NodeCordoned(node.name, already))

    def _loop(self) -> None:
        deadline = self._monotonic() + self.options.timeout if self.options.timeout > 0 else None
        parallel = self.options.parallel or len(self._nodes)
        while True:
            self._start_nodes(parallel)
            if not any(n.state in (_NodeState.QUEUED, _NodeState.DRAINING) for n in self._nodes.values()):
                return
            self._handle_messages()
            now = self._monotonic()
            self._check_watches()
            self._finish_deleted_long_ago()
            self._apply_blocked_policy(now)
            self._schedule(now)
            self._complete_nodes()
            if deadline is not None and now >= deadline:
                self._time_out()
                return
            self._report_blocked(now)

    # ----- nodes

    def _start_nodes(self, parallel: int) -> None:
        active = sum(1 for n in self._nodes.values() if n.active)
        starting: list[_Node] = []
        for node in self._nodes.values():
            if active + len(starting) >= parallel:
                break
            if node.state is _NodeState.QUEUED:
                node.state = _NodeState.DRAINING
                node.started = self._monotonic()
                name = node.name
                node.watch = self.cluster.watch_pods(
                    name,
                    self.options.pod_selector,
                    self._pod_sink(name),
                )
                starting.append(node)
        for node in starting:
            assert node.watch is not None
            self._await_sync(node.watch, f"the pods of node {node.name}")
            self._plan_node(node, [pod_view(obj) for obj in node.watch.items()])

    def _pod_sink(self, node: str) -> Callable[[str, JSON], None]:
        def sink(kind: str, obj: JSON) -> None:
            self._queue.put(_PodMessage(node, kind, obj))

        return sink

    def _plan_node(self, node: _Node, pods: list[PodView]) -> None:
        decisions = decide_all(pods, self.options, self._daemonset_exists, self._wall())
        node.warnings.extend(warning_lines(decisions))
        for line in node.warnings:
            self._emit(NodeWarning(node.name, line))
        errors = error_lines(decisions)
        node.skipped.extend(
            SkippedPod(d.pod.key, d.skip_reason or d.error) for d in decisions if not d.delete
        )
        if errors:  # as kubectl: a node with a pod it may not delete is not touched at all
            node.errors.extend(errors)
            self._fail(node, "; ".join(errors))
            return
        for decision in decisions:
            if decision.verdict is Verdict.DELETE:
                pod = decision.pod
                node.pods[pod.uid] = _Pod(pod, node.name, tuple(self._ledger.matching(pod)))
        self._emit(NodeStarted(node.name, len(node.pods), len(node.skipped)))

    def _daemonset_exists(self, namespace: str, name: str) -> bool | str:
        key = (namespace, name)
        known = self._daemonsets.get(key)
        if known is not None:
            return known
        found = self.cluster.daemonset_exists(namespace, name)
        if isinstance(found, bool):  # an error is asked again for the next pod, not remembered
            self._daemonsets[key] = found
        return found

    def _complete_nodes(self) -> None:
        for node in self._nodes.values():
            if not node.active:
                continue
            states = [p.state for p in node.pods.values()]
            if any(s in (_PodState.WAITING, _PodState.SENDING, _PodState.EVICTED) for s in states):
                continue
            failed = [p for p in node.pods.values() if p.state is _PodState.FAILED]
            if failed:
                node.errors.extend(p.error for p in failed)
                self._fail(node, "; ".join(p.error for p in failed))
            else:
                node.state = _NodeState.DRAINED
                node.finished = self._monotonic()
                self._stop_watch(node)
                self._emit(NodeDrained(node.name, node.finished - node.started))

    def _fail(self, node: _Node, reason: str) -> None:
        node.state = _NodeState.FAILED
        node.finished = self._monotonic()
        if reason and reason not in node.errors:
            node.errors.append(reason)
        self._stop_watch(node)
        self._emit(NodeFailed(node.name, reason))

    def _stop_watch(self, node: _Node) -> None:
        if node.watch is not None:
            node.watch.stop(timeout=1.0)
            node.watch = None

    def _check_watches(self) -> None:
        if self._budget_watch is not None and self._budget_watch.stopped:
            raise RuntimeError(f"lost the watch of PodDisruptionBudgets: {self._budget_watch.error}")
        for node in self._nodes.values():
            if node.active and node.watch is not None and node.watch.stopped:
                self._fail(node, f"lost the watch of the node's pods: {node.watch.error}")

    def _time_out(self) -> None:
        limit = format_duration(self.options.timeout)
        for node in self._nodes.values():
            if node.state not in (_NodeState.QUEUED, _NodeState.DRAINING):
                continue
            blocked = [
                p for p in node.pods.values() if p.state is _PodState.WAITING and p.blocked_since is not None
            ]
            detail = "; ".join(f"{p.key}: {p.blocked_message}" for p in blocked[:5])
            remaining = sum(1 for p in node.pods.values() if p.state is not _PodState.GONE)
            reason = f"global timeout reached: {limit} ({remaining} pod(s) not evicted"
            reason += f"; blocked: {detail})" if detail else ")"
            self._fail(node, reason)

    # ----- messages from watches and requests

    def _handle_messages(self) -> None:
        try:
            message = self._queue.get(timeout=_TICK)
        except queue.Empty:
            return
        while True:
            self._handle(message)
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                return

    def _handle(self, message: _Message) -> None:
        if isinstance(message, _ResultMessage):
            self._in_flight -= 1
            self._on_result(message)
        elif isinstance(message, _BudgetMessage):
            view = pdb_view(dict(message.object))
            if message.type == "DELETED":
                self._ledger.forget(view.key)
            else:
                self._ledger.observe(view)
            self._refresh_budgets(view.key)
        else:
            self._on_pod_event(message)

    def _refresh_budgets(self, key: str) -> None:
        """A budget changed: its pods may be evicted now, and which budgets select a pod may change."""
        for node in self._nodes.values():
            for pod in node.pods.values():
                if pod.state is _PodState.WAITING:
                    budgets = tuple(self._ledger.matching(pod.view))
                    if key in budgets or key in pod.budgets:
                        pod.next_try = 0.0
                    pod.budgets = budgets

    def _on_pod_event(self, message: _PodMessage) -> None:
        node = self._nodes.get(message.node)
        if node is None or not node.active:
            return
        obj = dict(message.object)
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        tracked = node.pods.get(uid)
        if tracked is not None:
            if message.type == "DELETED":
                self._gone(tracked)
            elif tracked.state is not _PodState.GONE:
                tracked.view = pod_view(obj)
            return
        # Another pod with a tracked pod's name: the tracked one is gone (its UID changed).
        name, namespace = meta.get("name"), meta.get("namespace")
        for pod in node.pods.values():
            if pod.view.name == name and pod.view.namespace == namespace and pod.state is not _PodState.GONE:
                self._gone(pod)

    def _gone(self, pod: _Pod) -> None:
        if pod.state is _PodState.GONE:
            return
        pod.state = _PodState.GONE
        pod.blocked_since = None
        self._ledger.pod_gone(pod.budgets, pod.view.name)
        self._emit(PodGone(pod.node, pod.key, pod.deleted))

    def _on_result(self, message: _ResultMessage) -> None:
        node = self._nodes[message.node]
        pod = node.pods.get(message.uid)
        if pod is None:
            return
        result = message.result
        outcome = result.outcome
        now = self._monotonic()
        if pod.state is not _PodState.SENDING:
            return  # gone meanwhile (the watch was faster than the response)
        if outcome is not EvictionOutcome.EVICTED and pod.reserved is not None:
            self._ledger.release(pod.reserved, pod.view.name, refused=outcome is EvictionOutcome.BLOCKED)
            pod.reserved = None
        pod.state = _PodState.WAITING
        if outcome is EvictionOutcome.EVICTED:
            pod.state = _PodState.EVICTED
            pod.blocked_since = None
        elif outcome is EvictionOutcome.GONE:
            self._gone(pod)
        elif outcome is EvictionOutcome.BLOCKED:
            self._mark_blocked(pod, now, self._blocking_budget(pod), result.message)
            pod.next_try = now + self.options.retry_seconds
        elif outcome is EvictionOutcome.THROTTLED:
            pod.next_try = now + (result.retry_after if result.retry_after is not None else 1.0)
        elif outcome is EvictionOutcome.NAMESPACE_TERMINATING:
            if pod.view.deletion_timestamp is not None:
                pod.state = _PodState.EVICTED
            else:
                pod.next_try = now + self.options.retry_seconds
        elif outcome is EvictionOutcome.TRANSIENT:
            pod.transient_failures += 1
            if pod.transient_failures > self.options.transient_retries:
                self._pod_failed(pod, f"error when evicting pod {pod.key}: {result.message}")
            else:
                pod.next_try = now + min(0.25 * 2**pod.transient_failures, 5.0)
        elif outcome is EvictionOutcome.MULTIPLE_BUDGETS:
            names = ", ".join(pod.budgets) if len(pod.budgets) > 1 else "several budgets"
            self._pod_failed(
                pod,
                f"cannot evict pod {pod.key}: it is selected by more than one PodDisruptionBudget ({names});"
                " the eviction API refuses such pods; make the budgets select disjoint pods",
            )
        else:
            verb = "deleting" if pod.deleted else "evicting"
            self._pod_failed(pod, f"error when {verb} pod {pod.key}: {result.message}")

    def _pod_failed(self, pod: _Pod, error: str) -> None:
        pod.state = _PodState.FAILED
        pod.error = error

    def _blocking_budget(self, pod: _Pod) -> str:
        return pod.budgets[0] if len(pod.budgets) == 1 else ""

    def _mark_blocked(self, pod: _Pod, now: float, budget: str, message: str) -> None:
        first = pod.blocked_since is None
        if first:
            pod.blocked_since = now
        pod.blocked_budget = budget
        pod.blocked_message = message
        if first:  # reported once it lasts: a budget waiting for this drain's own eviction is routine
            pod.blocked_reported = now - _BLOCKED_REPORT_EVERY + _BLOCKED_FIRST_REPORT

    # ----- sending

    def _schedule(self, now: float) -> None:
        slots = self.options.max_in_flight - self._in_flight
        candidates: list[Candidate] = []
        waiting: dict[str, _Pod] = {}
        for node in self._nodes.values():
            if not node.active:
                continue
            for pod in node.pods.values():
                if pod.state is _PodState.WAITING and pod.next_try <= now:
                    waiting[pod.view.uid] = pod
                    candidates.append(Candidate(pod.view, pod.node, pod.budgets))
        if not candidates:
            return
        if self.options.disable_eviction:
            for candidate in candidates[: max(0, slots)]:
                self._send(waiting[candidate.pod.uid], None, delete=True)
            return
        picks = pick_evictions(candidates, self._ledger, slots)
        picked = {p.candidate.pod.uid for p in picks}
        for pick in picks:
            self._send(waiting[pick.candidate.pod.uid], pick.budget, delete=False)
        if slots <= 0:
            return
        for uid, pod in waiting.items():  # not sent for want of budget: blocked
            if uid not in picked and len(pod.budgets) == 1:
                key = pod.budgets[0]
                self._mark_blocked(pod, now, key, self._budget_message(key))

    def _budget_message(self, key: str) -> str:
        view = self._ledger.view(key)
        if view is None:
            return f"PodDisruptionBudget {key} allows no disruption now"
        if not view.status_current:
            return f"PodDisruptionBudget {key} is being updated by the disruption controller"
        pending = self._ledger.reservations(key)
        text = (
            f"PodDisruptionBudget {key} allows {view.disruptions_allowed} disruption(s)"
            f" (needs {view.desired_healthy} healthy, has {view.current_healthy} of {view.expected_pods})"
        )
        return text + (f"; {pending} eviction(s) of this drain not yet counted" if pending else "")

    def _send(self, pod: _Pod, budget: str | None, *, delete: bool) -> None:
        assert self._pool is not None
        pod.state = _PodState.SENDING
        pod.reserved = budget
        if budget is not None:
            self._ledger.reserve(budget, pod.view.name)
        pod.deleted = pod.deleted or delete
        self._in_flight += 1
        self._emit(PodEvicting(pod.node, pod.key))
        view, grace = pod.view, self.options.grace_seconds
        call = self.cluster.delete_pod if delete else self.cluster.evict
        future = self._pool.submit(call, view.namespace, view.name, view.uid, grace)
        node, uid = pod.node, view.uid

        def done(f: Future[EvictionResult]) -> None:
            self._queue.put(_ResultMessage(node, uid, _result_of(f)))

        future.add_done_callback(done)

    # ----- blocked pods

    def _apply_blocked_policy(self, now: float) -> None:
        policy = self.options.on_blocked
        if policy.policy is BlockedPolicy.WAIT:
            return
        for node in self._nodes.values():
            if not node.active:
                continue
            for pod in node.pods.values():
                if pod.state is not _PodState.WAITING or pod.blocked_since is None:
                    continue
                if policy.policy is BlockedPolicy.FAIL:
                    if self._never_allows(pod.blocked_budget):
                        self._pod_failed(
                            pod,
                            f"pod {pod.key} is blocked by PodDisruptionBudget {pod.blocked_budget}, which"
                            f" will not allow a disruption while all its pods are healthy"
                            f" ({pod.blocked_message})",
                        )
                elif now - pod.blocked_since >= policy.after_seconds:
                    seconds = now - pod.blocked_since
                    self._bypassed.append(pod.key)
                    self._emit(BudgetBypassed(pod.node, pod.key, pod.blocked_budget, seconds))
                    self._send(pod, None, delete=True)

    def _never_allows(self, key: str) -> bool:
        """Blocked for good: nothing allowed, every pod healthy, and nothing of ours to settle."""
        view = self._ledger.view(key) if key else None
        if view is None or not view.status_current:
            return False
        return (
            view.disruptions_allowed <= 0
            and view.current_healthy >= view.expected_pods
            and self._ledger.reservations(key) == 0
        )

    def _report_blocked(self, now: float) -> None:
        for node in self._nodes.values():
            if not node.active:
                continue
            for pod in node.pods.values():
                if (
                    pod.state is _PodState.WAITING
                    and pod.blocked_since is not None
                    and now - pod.blocked_reported >= _BLOCKED_REPORT_EVERY
                ):
                    pod.blocked_reported = now
                    self._emit(
                        PodBlocked(
                            pod.node,
                            pod.key,
                            pod.blocked_budget,
                            pod.blocked_message,
                            now - pod.blocked_since,
                        )
                    )

    def _finish_deleted_long_ago(self) -> None:
        """kubectl's --skip-wait-for-delete-timeout applies to the wait as well."""
        limit = self.options.skip_wait_for_delete_timeout
        if limit <= 0:
            return
        now = self._wall()
        for node in self._nodes.values():
            for pod in node.pods.values():
                stamp = pod.view.deletion_timestamp
                if (
                    pod.state is _PodState.EVICTED
                    and stamp is not None
                    and (now - stamp).total_seconds() > limit
                ):
                    self._gone(pod)

    # ----- the end

    def _shutdown(self) -> None:
        for node in self._nodes.values():
            self._stop_watch(node)
        if self._budget_watch is not None:
            self._budget_watch.stop(timeout=1.0)
            self._budget_watch = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _restore_schedulable(self) -> None:
        """Uncordons what this run cordoned and did not drain, unless told to leave it."""
        if self.options.leave_cordoned:
            return
        for node in self._nodes.values():
            if node.cordoned_by_us and node.state is not _NodeState.DRAINED:
                try:
                    self.cluster.set_unschedulable(node.name, False)
                except Exception as err:
                    reason = f"could not uncordon node {node.name}: {err}"
                    node.errors.append(reason)
                    self._emit(NodeUncordonFailed(node.name, reason))
                    continue
                node.cordoned_by_us = False
                self._emit(NodeUncordoned(node.name, node.state.value))

    def _result(self, started: float, interrupted: bool) -> DrainResult:
        now = self._monotonic()
        nodes = []
        for node in self._nodes.values():
            status = {
                _NodeState.DRAINED: NodeStatus.DRAINED,
                _NodeState.INTERRUPTED: NodeStatus.INTERRUPTED,
            }.get(node.state, NodeStatus.FAILED)
            end = node.finished or now
            nodes.append(
                NodeResult(
                    name=node.name,
                    status=status,
                    seconds=(end - node.started) if node.started else 0.0,
                    evicted=tuple(
                        p.key for p in node.pods.values() if p.state is _PodState.GONE and not p.deleted
                    ),
                    deleted=tuple(
                        p.key for p in node.pods.values() if p.state is _PodState.GONE and p.deleted
                    ),
                    skipped=tuple(node.skipped),
                    blocked=tuple(
                        BlockedPod(p.key, p.blocked_budget, now - p.blocked_since, p.blocked_message)
                        for p in node.pods.values()
                        if p.blocked_since is not None and p.state is not _PodState.GONE
                    ),
                    warnings=tuple(node.warnings),
                    errors=tuple(node.errors),
                    cordoned=node.state is _NodeState.DRAINED or node.cordoned_by_us or node.already_cordoned,
                )
            )
        return DrainResult(
            tuple(nodes), now - started, interrupted=interrupted, bypassed=tuple(self._bypassed)
        )

    def _dry_run(self, started: float) -> DrainResult:
        results = []
        for node in self._nodes.values():
            self._emit(NodeCordoned(node.name, False))
            watch = self.cluster.watch_pods(node.name, self.options.pod_selector, lambda kind, obj: None)
            try:
                self._await_sync(watch, f"the pods of node {node.name}")
                pods = [pod_view(obj) for obj in watch.items()]
            finally:
                watch.stop(timeout=1.0)
            decisions = decide_all(pods, self.options, self._daemonset_exists, self._wall())
            warnings, errors = warning_lines(decisions), error_lines(decisions)
            for line in warnings:
                self._emit(NodeWarning(node.name, line))
            evict = [d.pod.key for d in decisions if d.delete]
            if errors:
                self._emit(NodeFailed(node.name, "; ".join(errors)))
            else:
                for key in evict:
                    self._emit(PodEvicting(node.name, key, dry_run=True))
                self._emit(NodeDrained(node.name, 0.0))
            results.append(
                NodeResult(
                    name=node.name,
                    status=NodeStatus.FAILED if errors else NodeStatus.DRY_RUN,
                    seconds=0.0,
                    evicted=tuple(evict) if not errors else (),
                    skipped=tuple(
                        SkippedPod(d.pod.key, d.skip_reason or d.error) for d in decisions if not d.delete
                    ),
                    warnings=tuple(warnings),
                    errors=tuple(errors),
                    cordoned=False,
                )
            )
        return DrainResult(tuple(results), self._monotonic() - started, dry_run=True)

    def _emit(self, event: DrainEvent) -> None:
        if self._listener is not None:
            self._listener(event)


def _result_of(future: Future[EvictionResult]) -> EvictionResult:
    try:
        return future.result()
    except Exception as err:  # the adapter maps API answers; anything else is a transient failure
        return EvictionResult(EvictionOutcome.TRANSIENT, str(err) or type(err).__name__)
