"""The embedded cluster's API fault decisions: how often, which paths, which verbs get a 409."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from overhaul.sim.faults import (
    FaultConfigError,
    Faults,
    FaultSettings,
    conflict_allowed,
    fault_error,
    is_fault_target,
    parse_codes,
    parse_seconds,
)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def draws(faults: Faults, method: str, name: str | None, n: int) -> Counter[int | None]:
    return Counter(
        err.code if (err := faults.error(method, "apps", "deployments", name)) else None for _ in range(n)
    )


# ----- rates --------------------------------------------------------------------------------------


def test_no_faults_by_default() -> None:
    faults = Faults()
    assert not faults.active
    assert draws(faults, "PUT", "web", 1000) == Counter({None: 1000})
    assert faults.latency() == 0 and faults.watch_lifetime() is None
    assert faults.injected == dict.fromkeys(faults.injected, 0)


def test_rate_one_fails_every_request() -> None:
    faults = Faults(FaultSettings(rate=1.0, seed=1))
    assert None not in draws(faults, "GET", "web", 500)


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_rate_is_the_fraction_of_failed_requests(rate: float) -> None:
    faults = Faults(FaultSettings(rate=rate, seed=7))
    n = 20_000
    failed = n - draws(faults, "PATCH", "web", n)[None]
    assert abs(failed / n - rate) < 0.01


def test_codes_are_drawn_evenly_among_those_that_fit() -> None:
    faults = Faults(FaultSettings(rate=1.0, seed=3))
    writes = draws(faults, "PUT", "web", 9000)
    assert set(writes) == {429, 500, 409}
    assert all(2700 < count < 3300 for count in writes.values())
    reads = draws(faults, "GET", None, 6000)
    assert set(reads) == {429, 500}, "a read never gets a 409, and still fails at the full rate"
    assert all(2700 < count < 3300 for count in reads.values())


def test_only_the_configured_codes() -> None:
    faults = Faults(FaultSettings(rate=1.0, codes=(500,), seed=3))
    assert set(draws(faults, "DELETE", "web", 200)) == {500}


# ----- which verbs get a 409 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "allowed"),
    [
        ("PUT", "web", True),  # update (also of a subresource: status, scale)
        ("PATCH", "web", True),
        ("DELETE", "web", True),
        ("POST", None, False),  # create
        ("POST", "web", False),  # eviction, binding
        ("GET", "web", False),
        ("GET", None, False),  # list, watch
        ("DELETE", None, False),  # deletecollection names no object
    ],
)
def test_conflicts_only_for_writes_to_a_named_object(method: str, name: str | None, allowed: bool) -> None:
    assert conflict_allowed(method, name) is allowed
    faults = Faults(FaultSettings(rate=1.0, codes=(409,), seed=5))
    got = draws(faults, method, name, 200)
    assert got == (Counter({409: 200}) if allowed else Counter({None: 200}))


@given(
    method=st.sampled_from(METHODS),
    name=st.one_of(st.none(), st.just("web")),
    seed=st.integers(0, 2**31),
    codes=st.lists(st.sampled_from([429, 500, 409]), min_size=1, unique=True),
)
def test_an_injected_error_is_always_one_of_the_codes_and_fits_the_verb(
    method: str, name: str | None, seed: int, codes: list[int]
) -> None:
    faults = Faults(FaultSettings(rate=0.5, codes=tuple(codes), seed=seed))
    for _ in range(20):
        err = faults.error(method, "", "pods", name)
        if err is not None:
            assert err.code in codes
            assert err.code != 409 or conflict_allowed(method, name)


# ----- which paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pods",
        "/api/v1/namespaces/default/pods/web-1",
        "/api/v1/namespaces/default/pods/web-1/eviction",
        "/api/v1/nodes/worker-1/status",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
        "/apis/policy/v1/poddisruptionbudgets",
        "/api/v1/watch/namespaces/default/pods",
    ],
)
def test_the_resource_api_is_a_target(path: str) -> None:
    assert is_fault_target(path)


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/livez",
        "/readyz/etcd",
        "/version",
        "/metrics",
        "/api",
        "/apis",
        "/api/v1",
        "/apis/apps",
        "/apis/apps/v1",
        "/openapi/v3",
        "/openapi/v3/api/v1",
        "/debug/overhaul/faults",
        "/debug/overhaul/violations",
    ],
)
def test_discovery_health_metrics_and_debug_are_never_targets(path: str) -> None:
    assert not is_fault_target(path)


# ----- the Status bodies --------------------------------------------------------------------------


def test_429_is_too_many_requests_with_retry_after() -> None:
    err = fault_error(429, "", "pods", "web-1")
    assert err.headers == {"Retry-After": "1"}
    body = err.status()
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == 429
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "the server has received too many requests and has asked us to try again later"
    assert body["details"]["retryAfterSeconds"] == 1


def test_500_is_an_internal_error_from_etcd() -> None:
    body = fault_error(500, "apps", "deployments", "web").status()
    assert body["code"] == 500 and body["reason"] == "InternalError"
    assert body["message"] == (
        'an error on the server ("etcdserver: leader changed") has prevented the request from succeeding'
    )
    assert body["details"]["group"] == "apps" and body["details"]["kind"] == "deployments"


def test_409_is_a_stale_object_conflict() -> None:
    body = fault_error(409, "apps", "deployments", "web").status()
    assert body["code"] == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert (
        fault_error(409, "", "pods", "web-1")
        .status()["message"]
        .startswith('Operation cannot be fulfilled on pods "web-1": ')
    )


# ----- seeds, watches, latency, counters ----------------------------------------------------------


def test_a_seed_reproduces_the_decisions() -> None:
    def run(seed: int) -> list[object]:
        faults = Faults(FaultSettings(rate=0.3, watch_drop_seconds=30, seed=seed))
        return [
            (e.code if (e := faults.error("PUT", "", "pods", "p")) else None, faults.watch_lifetime())
            for _ in range(200)
        ]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_an_unseeded_run_reports_its_seed_so_it_can_be_reproduced() -> None:
    faults = Faults(FaultSettings(rate=0.3))
    again = Faults(FaultSettings(rate=0.3, seed=faults.seed))
    assert [faults.error("PUT", "", "pods", "p") is None for _ in range(100)] == [
        again.error("PUT", "", "pods", "p") is None for _ in range(100)
    ]


def test_watches_are_cut_within_the_limit() -> None:
    faults = Faults(FaultSettings(watch_drop_seconds=30, seed=1))
    lifetimes = [faults.watch_lifetime() for _ in range(1000)]
    assert all(t is not None and 0 <= t <= 30 for t in lifetimes)
    assert max(t for t in lifetimes if t is not None) > 25


def test_counters_and_prometheus() -> None:
    registry = CollectorRegistry()
    faults = Faults(FaultSettings(rate=1.0, codes=(500,), latency=0.05, seed=1), registry)
    assert faults.active
    assert faults.latency() == 0.05
    for _ in range(3):
        faults.error("GET", "", "pods", None)
    faults.watch_dropped()
    assert faults.state()["injected"] == {"429": 0, "500": 3, "409": 0, "latency": 1, "watch_drop": 1}
    text = generate_latest(registry).decode()
    assert 'overhaul_sim_injected_faults_total{kind="500"} 3.0' in text
    assert 'overhaul_sim_injected_faults_total{kind="watch_drop"} 1.0' in text
    assert 'overhaul_sim_injected_faults_total{kind="409"} 0.0' in text


# ----- settings -----------------------------------------------------------------------------------


def test_update_changes_only_the_knobs_named() -> None:
    faults = Faults(FaultSettings(rate=0.1, seed=9))
    faults.update({"latency": "50ms", "watchDropSeconds": "2s", "codes": [429, 409]})
    state = faults.state()
    assert state["rate"] == 0.1 and state["seed"] == 9
    assert state["latency"] == 0.05 and state["watchDropSeconds"] == 2.0 and state["codes"] == [429, 409]
    faults.update({"rate": 0, "latency": 0, "watchDropSeconds": 0})
    assert not faults.active


def test_update_with_a_seed_restarts_the_generator() -> None:
    faults = Faults(FaultSettings(rate=0.5, seed=1))
    first = [faults.error("PUT", "", "pods", "p") is None for _ in range(50)]
    faults.update({"seed": 1})
    assert [faults.error("PUT", "", "pods", "p") is None for _ in range(50)] == first


@pytest.mark.parametrize(
    "body",
    [
        {"rate": 1.5},
        {"rate": -0.1},
        {"rate": "0.05"},
        {"rate": True},
        {"codes": [404]},
        {"codes": []},
        {"codes": 429},
        {"latency": -1},
        {"latency": "fast"},
        {"watchDropSeconds": "5x"},
        {"seed": "x"},
        {"faultRate": 0.05},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(body: dict[str, object]) -> None:
    faults = Faults(FaultSettings(rate=0.1, seed=2))
    before = faults.state()
    with pytest.raises(FaultConfigError):
        faults.update(body)
    assert faults.state() == before


def test_parsing() -> None:
    assert parse_codes("429, 500,409") == (429, 500, 409)
    assert parse_codes("500,500") == (500,)
    with pytest.raises(FaultConfigError):
        parse_codes("503")
    assert parse_seconds(0.05, "x") == 0.05
    assert parse_seconds("0.05", "x") == 0.05
    assert parse_seconds("50ms", "x") == pytest.approx(0.05)
    assert parse_seconds("2m", "x") == 120.0
