"""The drain's pure decisions: kubectl's filters, the budget ledger, the eviction scheduler, options."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.domain.cluster import OwnerRef, PdbView, PodView, Resources
from overhaul.domain.durations import DurationError, format_duration, parse_duration
from overhaul.domain.eviction import EvictionOutcome
from overhaul.engine.drain.budgets import BudgetLedger, uses_budget
from overhaul.engine.drain.filters import (
    DAEMONSET_FATAL,
    DAEMONSET_WARNING,
    LOCAL_STORAGE_FATAL,
    LOCAL_STORAGE_WARNING,
    UNMANAGED_FATAL,
    UNMANAGED_WARNING,
    Verdict,
    decide,
    error_lines,
    warning_lines,
)
from overhaul.engine.drain.options import BlockedPolicy, DrainOptions, parse_on_blocked
from overhaul.engine.drain.scheduler import Candidate, pick_evictions
from overhaul.kube.drain import eviction_result
from overhaul.kube.errors import api_error

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def pod(
    name: str = "p",
    *,
    owner: str | None = "ReplicaSet",
    phase: str = "Running",
    ready: bool = True,
    empty_dir: bool = False,
    mirror: bool = False,
    deleted_ago: float | None = None,
    labels: dict[str, str] | None = None,
    ns: str = "ns",
) -> PodView:
    return PodView(
        namespace=ns,
        name=name,
        uid=f"uid-{name}",
        node_name="n1",
        phase=phase,
        ready=ready,
        labels=labels if labels is not None else {"app": "a"},
        owner=OwnerRef(owner, "ctrl", "uid-ctrl") if owner else None,
        requests=Resources(),
        has_empty_dir=empty_dir,
        mirror=mirror,
        deletion_timestamp=NOW - timedelta(seconds=deleted_ago) if deleted_ago is not None else None,
    )


def budget(
    name: str = "b", allowed: int = 1, *, disrupted: frozenset[str] = frozenset(), app: str = "a"
) -> PdbView:
    return PdbView(
        namespace="ns",
        name=name,
        uid=f"uid-{name}",
        selector={"matchLabels": {"app": app}},
        min_available=None,
        max_unavailable=1,
        unhealthy_pod_eviction_policy=None,
        current_healthy=3,
        desired_healthy=2,
        disruptions_allowed=allowed,
        expected_pods=3,
        observed_generation=1,
        generation=1,
        disrupted_pods=disrupted,
    )


def exists(_: str, __: str) -> bool | str:
    return True


def missing(_: str, __: str) -> bool | str:
    return False


# ----- filters ------------------------------------------------------------------------------------


def test_controlled_pod_is_deleted_without_warnings() -> None:
    decision = decide(pod(), DrainOptions(), exists, NOW)
    assert decision.verdict is Verdict.DELETE and decision.warnings == ()


def test_daemonset_pod_needs_ignore_daemonsets() -> None:
    ds = pod(owner="DaemonSet")
    assert decide(ds, DrainOptions(), exists, NOW).error == DAEMONSET_FATAL
    skipped = decide(ds, DrainOptions(ignore_daemonsets=True), exists, NOW)
    assert skipped.verdict is Verdict.SKIP and skipped.warnings == (DAEMONSET_WARNING,)


def test_orphaned_daemonset_pod_needs_force_and_finished_one_goes() -> None:
    ds = pod(owner="DaemonSet")
    refused = decide(ds, DrainOptions(ignore_daemonsets=True), missing, NOW)
    assert refused.verdict is Verdict.ERROR and refused.error == 'daemonsets.apps "ctrl" not found'
    forced = decide(ds, DrainOptions(force=True), missing, NOW)
    assert forced.verdict is Verdict.DELETE and forced.warnings == ('daemonsets.apps "ctrl" not found',)
    assert decide(pod(owner="DaemonSet", phase="Succeeded"), DrainOptions(), exists, NOW).delete


def test_mirror_pod_is_skipped_silently() -> None:
    decision = decide(pod(owner="Node", mirror=True), DrainOptions(), exists, NOW)
    assert (
        decision.verdict is Verdict.SKIP and decision.warnings == () and decision.skip_reason == "mirror pod"
    )


def test_emptydir_needs_delete_emptydir_data_unless_finished() -> None:
    local = pod(empty_dir=True)
    assert decide(local, DrainOptions(), exists, NOW).error == LOCAL_STORAGE_FATAL
    allowed = decide(local, DrainOptions(delete_emptydir_data=True), exists, NOW)
    assert allowed.delete and allowed.warnings == (LOCAL_STORAGE_WARNING,)
    assert decide(pod(empty_dir=True, phase="Failed"), DrainOptions(), exists, NOW).delete


def test_bare_pod_needs_force_unless_finished() -> None:
    bare = pod(owner=None)
    assert decide(bare, DrainOptions(), exists, NOW).error == UNMANAGED_FATAL
    forced = decide(bare, DrainOptions(force=True), exists, NOW)
    assert forced.delete and forced.warnings == (UNMANAGED_WARNING,)
    assert decide(pod(owner=None, phase="Succeeded"), DrainOptions(), exists, NOW).delete


def test_every_warning_is_kept_not_just_the_last() -> None:
    both = decide(
        pod(owner=None, empty_dir=True), DrainOptions(force=True, delete_emptydir_data=True), exists, NOW
    )
    assert both.warnings == (LOCAL_STORAGE_WARNING, UNMANAGED_WARNING)


def test_first_filter_that_refuses_wins() -> None:
    # A DaemonSet pod with emptyDir: the DaemonSet rule speaks first, as in kubectl.
    decision = decide(pod(owner="DaemonSet", empty_dir=True), DrainOptions(), exists, NOW)
    assert decision.error == DAEMONSET_FATAL


def test_skip_wait_for_delete_timeout_skips_long_deleted_pods_first() -> None:
    old = pod(owner=None, deleted_ago=30)
    assert decide(old, DrainOptions(skip_wait_for_delete_timeout=10), exists, NOW).verdict is Verdict.SKIP
    assert decide(old, DrainOptions(skip_wait_for_delete_timeout=60), exists, NOW).error == UNMANAGED_FATAL
    assert decide(old, DrainOptions(), exists, NOW).error == UNMANAGED_FATAL


def test_messages_group_pods_as_kubectl_prints_them() -> None:
    decisions = [
        decide(pod("a", owner=None), DrainOptions(), exists, NOW),
        decide(pod("b", owner=None), DrainOptions(), exists, NOW),
        decide(pod("c", owner="DaemonSet"), DrainOptions(), exists, NOW),
        decide(pod("d", owner="DaemonSet"), DrainOptions(ignore_daemonsets=True), exists, NOW),
    ]
    assert error_lines(decisions) == [
        f"{UNMANAGED_FATAL}: ns/a, ns/b",
        f"cannot delete {DAEMONSET_FATAL}: ns/c",
    ]
    assert warning_lines(decisions) == [f"{DAEMONSET_WARNING}: ns/d"]


# ----- the budget ledger --------------------------------------------------------------------------


def test_reservation_counts_until_the_status_lists_the_pod() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget(allowed=2))
    ledger.reserve("ns/b", "p1")
    assert ledger.available("ns/b") == 1
    ledger.observe(budget(allowed=2))  # a status from before the eviction: still reserved
    assert ledger.available("ns/b") == 1
    ledger.observe(budget(allowed=1, disrupted=frozenset({"p1"})))  # the eviction is in the status
    assert ledger.available("ns/b") == 1 and ledger.reservations("ns/b") == 0


def test_reservation_of_a_gone_pod_settles_at_the_next_status() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget(allowed=1))
    ledger.reserve("ns/b", "p1")
    ledger.pod_gone(["ns/b"], "p1")
    assert ledger.available("ns/b") == 0
    ledger.observe(budget(allowed=0))
    assert ledger.reservations("ns/b") == 0


def test_refusal_closes_the_budget_until_a_new_status() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget(allowed=1))
    ledger.reserve("ns/b", "p1")
    ledger.release("ns/b", "p1", refused=True)
    assert ledger.available("ns/b") == 0
    ledger.observe(budget(allowed=1))
    assert ledger.available("ns/b") == 1


def test_stale_status_allows_nothing() -> None:
    ledger = BudgetLedger()
    view = budget(allowed=3)
    ledger.observe(
        PdbView(**{**{f: getattr(view, f) for f in view.__dataclass_fields__}, "generation": 2})  # type: ignore[arg-type]
    )
    assert ledger.available("ns/b") == 0


def test_matching_is_by_namespace_and_selector() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget("x", app="a"))
    ledger.observe(budget("y", app="b"))
    assert ledger.matching(pod(labels={"app": "a"})) == ["ns/x"]
    assert ledger.matching(pod(labels={"app": "a"}, ns="other")) == []
    ledger.forget("ns/x")
    assert ledger.matching(pod(labels={"app": "a"})) == []


def test_only_running_ready_pods_cost_a_disruption() -> None:
    assert uses_budget(pod())
    assert not uses_budget(pod(ready=False))
    assert not uses_budget(pod(phase="Pending"))
    assert not uses_budget(pod(deleted_ago=1))


# ----- the scheduler ------------------------------------------------------------------------------


def test_picks_within_each_budget_and_free_pods_at_once() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget("x", allowed=1, app="x"))
    ledger.observe(budget("y", allowed=2, app="y"))
    candidates = [
        Candidate(pod("x1", labels={"app": "x"}), "n1", ("ns/x",)),
        Candidate(pod("x2", labels={"app": "x"}), "n2", ("ns/x",)),
        Candidate(pod("y1", labels={"app": "y"}), "n1", ("ns/y",)),
        Candidate(pod("y2", labels={"app": "y"}), "n2", ("ns/y",)),
        Candidate(pod("y3", labels={"app": "y"}), "n3", ("ns/y",)),
        Candidate(pod("free", labels={}), "n1", ()),
    ]
    picks = pick_evictions(candidates, ledger, slots=10)
    by_budget: dict[str | None, int] = {}
    for p in picks:
        by_budget[p.budget] = by_budget.get(p.budget, 0) + 1
    assert by_budget == {"ns/x": 1, "ns/y": 2, None: 1}


def test_several_budgets_or_unready_pods_are_sent_without_a_reservation() -> None:
    ledger = BudgetLedger()
    ledger.observe(budget("x", allowed=0))
    candidates = [
        Candidate(pod("two"), "n1", ("ns/x", "ns/z")),
        Candidate(pod("sick", ready=False), "n1", ("ns/x",)),
        Candidate(pod("healthy"), "n1", ("ns/x",)),
    ]
    picks = pick_evictions(candidates, ledger, slots=10)
    assert sorted(p.candidate.pod.name for p in picks) == ["sick", "two"]
    assert all(p.budget is None for p in picks)


def test_slots_cap_what_is_sent() -> None:
    ledger = BudgetLedger()
    candidates = [Candidate(pod(f"p{i}", labels={}), f"n{i % 3}", ()) for i in range(10)]
    assert len(pick_evictions(candidates, ledger, slots=4)) == 4
    assert pick_evictions(candidates, ledger, slots=0) == []


def test_round_robin_over_nodes() -> None:
    ledger = BudgetLedger()
    candidates = [Candidate(pod(f"a{i}", labels={}), "a", ()) for i in range(4)]
    candidates += [Candidate(pod(f"b{i}", labels={}), "b", ()) for i in range(2)]
    picks = pick_evictions(candidates, ledger, slots=4)
    assert [p.candidate.node for p in picks] == ["a", "b", "a", "b"]


@settings(max_examples=200, deadline=None)
@given(
    allowances=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=4),
    pods_spec=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=3), st.booleans()
        ),
        max_size=30,
    ),
    reserved=st.lists(st.integers(min_value=0, max_value=3), max_size=6),
    slots=st.integers(min_value=0, max_value=40),
)
def test_never_more_than_a_budget_can_absorb(
    allowances: list[int], pods_spec: list[tuple[int, int, bool]], reserved: list[int], slots: int
) -> None:
    """Whatever the budgets, reservations and pods, the evictions picked for a budget never exceed
    its allowance minus this drain's evictions not yet in its status, nor the slots; and every pod
    that costs no budget is picked when there are slots for it."""
    ledger = BudgetLedger()
    for i, allowed in enumerate(allowances):
        ledger.observe(budget(f"b{i}", allowed=allowed, app=f"app{i}"))
    for n, index in enumerate(reserved):
        if index < len(allowances):
            ledger.reserve(f"ns/b{index}", f"earlier-{n}")
    candidates = []
    for n, (which, node, is_ready) in enumerate(pods_spec):
        protected = which < len(allowances)
        labels = {"app": f"app{which}"} if protected else {}
        view = pod(f"p{n}", labels=labels, ready=is_ready)
        candidates.append(Candidate(view, f"n{node}", tuple(ledger.matching(view))))
    picks = pick_evictions(candidates, ledger, slots)
    assert len(picks) <= slots
    assert len({p.candidate.pod.uid for p in picks}) == len(picks)
    for i in range(len(allowances)):
        key = f"ns/b{i}"
        assert sum(1 for p in picks if p.budget == key) <= ledger.available(key)
    for p in picks:
        if p.budget is None:
            assert not (len(p.candidate.budgets) == 1 and uses_budget(p.candidate.pod))
    free = [c for c in candidates if not (len(c.budgets) == 1 and uses_budget(c.pod))]
    budgeted_picks = sum(1 for p in picks if p.budget is not None)
    assert sum(1 for p in picks if p.budget is None) == min(len(free), max(0, slots - budgeted_picks))


# ----- options and the API's answers --------------------------------------------------------------


def test_on_blocked_policies() -> None:
    assert parse_on_blocked("wait").policy is BlockedPolicy.WAIT
    assert parse_on_blocked("fail").policy is BlockedPolicy.FAIL
    after = parse_on_blocked("disable-eviction-after=5m")
    assert after.policy is BlockedPolicy.DISABLE_EVICTION_AFTER and after.after_seconds == 300
    for bad in ("later", "disable-eviction-after=soon", "disable-eviction-after"):
        with pytest.raises(ValueError):
            parse_on_blocked(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("30", 30), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 m", "-5s", "5x", "m5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_duration_format() -> None:
    assert [format_duration(s) for s in (2.5, 45, 185, 3720)] == ["2.5s", "45s", "3m05s", "1h02m"]


def _status(code: int, message: str, *causes: tuple[str, str]) -> dict[str, object]:
    return {
        "kind": "Status",
        "code": code,
        "message": message,
        "details": {"causes": [{"reason": r, "message": m} for r, m in causes]},
    }


@pytest.mark.parametrize(
    ("code", "body", "outcome"),
    [
        (404, _status(404, 'pods "p" not found'), EvictionOutcome.GONE),
        (
            429,
            _status(
                429,
                "Cannot evict pod as it would violate the pod's disruption budget.",
                ("DisruptionBudget", "The disruption budget b needs 2 healthy pods and has 2 currently"),
            ),
            EvictionOutcome.BLOCKED,
        ),
        (429, _status(429, "too many requests"), EvictionOutcome.THROTTLED),
        (
            500,
            _status(
                500,
                "This pod has more than one PodDisruptionBudget,"
                " which the eviction subresource does not support.",
            ),
            EvictionOutcome.MULTIPLE_BUDGETS,
        ),
        (
            403,
            _status(403, "forbidden", ("NamespaceTerminating", "ns is terminating")),
            EvictionOutcome.NAMESPACE_TERMINATING,
        ),
        (403, _status(403, "RBAC says no"), EvictionOutcome.FAILED),
        (500, _status(500, "etcdserver: leader changed"), EvictionOutcome.TRANSIENT),
        (503, _status(503, "unavailable"), EvictionOutcome.TRANSIENT),
        (422, _status(422, "invalid"), EvictionOutcome.FAILED),
    ],
)
def test_eviction_answers(code: int, body: dict[str, object], outcome: EvictionOutcome) -> None:
    result = eviction_result(api_error(code, body))
    assert result.outcome is outcome
    assert str(body["message"]) in result.message
