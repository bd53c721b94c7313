"""Apply's alert gate and its window fit: the pure decisions, the Prometheus reader over httpx's
in-process transport, and the engine against a fake alert source (a fake of the port).

End to end with a real HTTP server: tests/integration/test_apply_gates.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from overhaul.domain.plan import AlertGate, Gates
from overhaul.engine.apply.engine import Applier, ApplyResult, Outcome
from overhaul.engine.apply.events import ApplyEvent, Notice
from overhaul.engine.apply.gates import blocking_alerts, firing_names
from overhaul.engine.journal import DirectoryJournalStore, Journal
from overhaul.kube.prometheus import PrometheusAlerts, PrometheusError
from overhaul.planning.windows import parse_window, start_for
from tests.unit.test_apply_engine import FAST, FakeCluster, FakeUpgrader, journal_of, three_step_plan


def alert(name: str, state: str = "firing") -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": "critical"}, "state": state}


def test_only_firing_alerts_whose_whole_name_matches_block() -> None:
    alerts = [alert("KubeNodeNotReady"), alert("Watchdog"), alert("KubeNodeUnreachable", "pending"), {}]
    assert firing_names(alerts) == ["KubeNodeNotReady", "Watchdog"]
    assert blocking_alerts(alerts, "KubeNode.*") == ["KubeNodeNotReady"]
    assert blocking_alerts(alerts, "Node") == []  # anchored, as Prometheus' =~
    assert blocking_alerts(alerts, ".*") == ["KubeNodeNotReady", "Watchdog"]


def test_the_reader_parses_prometheus_answers_and_names_what_is_wrong() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/prom/api/v1/alerts"
        return httpx.Response(200, json={"status": "success", "data": {"alerts": [alert("X")]}})

    reader = PrometheusAlerts(transport=httpx.MockTransport(answer))
    assert reader.alerts("http://prom.example/prom/") == [alert("X")]
    reader.close()
    for response, message in (
        (httpx.Response(503, text="down"), "HTTP 503"),
        (httpx.Response(200, text="<html>"), "did not answer JSON"),
        (httpx.Response(200, json={"status": "error"}), "did not answer with alerts"),
    ):
        bad = PrometheusAlerts(transport=httpx.MockTransport(lambda _r, r=response: r))
        with pytest.raises(PrometheusError, match=message):
            bad.alerts("http://prom.example")
        bad.close()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    down = PrometheusAlerts(transport=httpx.MockTransport(refuse))
    with pytest.raises(PrometheusError, match="unreachable"):
        down.alerts("http://prom.example")
    down.close()


class FakeAlerts:
    """Answers from a script of answers (a list of alerts, or an exception), the last one repeated."""

    def __init__(self, answers: Sequence[list[dict[str, Any]] | Exception]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def alerts(self, prometheus_url: str) -> Sequence[Mapping[str, Any]]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


GATE = AlertGate("http://prom.example", "KubeNode.*")


def gated_plan() -> Any:
    plan = three_step_plan()
    gates = Gates(alerts=GATE)
    stages = tuple(
        replace(stage, steps=tuple(replace(step, gates=gates) for step in stage.steps))
        for stage in plan.stages
    )
    return replace(plan, stages=stages, spec=replace(plan.spec, gates=gates))


def run_gated(
    tmp_path: Path,
    plan: Any,
    cluster: FakeCluster,
    upgrader: FakeUpgrader,
    source: FakeAlerts,
    **options: Any,
) -> tuple[ApplyResult, list[ApplyEvent]]:
    events: list[ApplyEvent] = []
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        applier = Applier(
            plan,
            cluster,
            upgrader,
            journal,
            options=replace(FAST, alert_interval=0.01, **options),
            listener=events.append,
            alerts=source,
        )
        return applier.run(), events


def test_a_firing_alert_holds_the_next_step_until_it_stops(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    source = FakeAlerts([[alert("KubeNodeNotReady"), alert("Watchdog")]] * 3 + [[alert("Watchdog")]])
    result, events = run_gated(tmp_path, gated_plan(), cluster, upgrader, source)
    assert result.outcome is Outcome.SUCCEEDED and len(upgrader.calls) == 3
    held = [e.message for e in events if isinstance(e, Notice) and e.level == "warning"]
    assert held and "alerts firing: KubeNodeNotReady" in held[0] and "before step cp/cp-1" in held[0]
    # checked before each step and after each step
    assert source.calls >= 3 + 4


def test_alerts_that_keep_firing_fail_the_step_with_their_names(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    source = FakeAlerts([[], [alert("KubeNodeNotReady")]])  # clear before cp-1, fires after it
    result, _ = run_gated(tmp_path, gated_plan(), cluster, upgrader, source, alert_timeout=0.2)
    assert result.outcome is Outcome.FAILED and result.failed_step == "cp/cp-1"
    assert "alert gate: after" in result.message and "KubeNodeNotReady" in result.message
    assert [name for name, _ in upgrader.calls] == ["cp-1"]
    assert journal_of(tmp_path).failed() == ("cp/cp-1",)


def test_an_unreachable_prometheus_blocks_fail_safe(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    source = FakeAlerts([PrometheusError("Prometheus at http://prom.example is unreachable: refused")])
    result, _ = run_gated(tmp_path, gated_plan(), cluster, upgrader, source, alert_timeout=0.1)
    assert result.outcome is Outcome.FAILED and result.failed_step == "cp/cp-1"
    assert "cannot read alerts" in result.message and "unreachable" in result.message
    assert upgrader.calls == []


# ----- windows: a step starts only if its estimate ends before the window closes

MONDAY_1_TO_2 = (parse_window("Mon 01:00-02:00 UTC"),)
MONDAY = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_start_for_waits_for_an_opening_long_enough() -> None:
    at = MONDAY + dt.timedelta(hours=1, minutes=50)
    assert start_for(MONDAY_1_TO_2, at, 300) == at  # ends at 01:55
    assert start_for(MONDAY_1_TO_2, at, 900) == MONDAY + dt.timedelta(days=7, hours=1)
    assert start_for(MONDAY_1_TO_2, MONDAY, 60) == MONDAY + dt.timedelta(hours=1)
    # longer than every opening: starts at one and overruns, as the plan's estimate placed it
    assert start_for(MONDAY_1_TO_2, at, 7200) == at
    assert start_for((), at, 10**6) == at


def test_apply_does_not_start_a_step_it_cannot_finish_in_the_window(tmp_path: Path) -> None:
    plan = three_step_plan()
    stages = tuple(
        replace(stage, steps=tuple(replace(step, estimate_seconds=900) for step in stage.steps))
        for stage in plan.stages
    )
    plan = replace(plan, stages=stages, spec=replace(plan.spec, windows=MONDAY_1_TO_2))
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    late = MONDAY + dt.timedelta(hours=1, minutes=50)  # open, but 10 minutes left for a 15-minute step
    events: list[ApplyEvent] = []
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        stopped = Applier(
            plan,
            cluster,
            upgrader,
            journal,
            options=replace(FAST, stop_outside_window=True),
            listener=events.append,
            now=lambda: late,
        ).run()
    assert stopped.outcome is Outcome.OUTSIDE_WINDOW and upgrader.calls == []
    assert "would not end before the maintenance window closes" in stopped.message
    assert (MONDAY + dt.timedelta(days=7, hours=1)).isoformat() in stopped.message
    # waiting instead: the clock moves to the next Monday's opening, then both steps fit
    clock = iter([late, late] + [MONDAY + dt.timedelta(days=7, hours=1)] * 100)
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r2", by="test")
        waited = Applier(
            plan, cluster, upgrader, journal, options=FAST, listener=events.append, now=lambda: next(clock)
        ).run()
    assert waited.outcome is Outcome.SUCCEEDED and len(upgrader.calls) == 3
    assert any(isinstance(e, Notice) and "would not end before" in e.message for e in events)
