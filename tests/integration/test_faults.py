"""The embedded cluster's API faults end to end: switched on through `/debug/overhaul/faults`, seen
over real HTTPS as a client sees them, and `overhaul drain` run against a flaky API server.

What must hold: every injected error is a proper `Status` (429 with `Retry-After`, 500, 409 only
on writes), a failed request changed nothing, the endpoints probes and tests use are never
faulted, latency and watch drops happen, and a drain under faults still completes without ever
leaving a PodDisruptionBudget short.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import objects
from tests.support.simproc import SimProcess, client_with_namespace, sim_command
from tests.support.waiting import eventually

JSONDict = dict[str, Any]
WORKERS = [f"worker-{i}" for i in range(1, 7)]
NS = "faults-test"
FAULTS = "/debug/overhaul/faults"
REASONS = {429: "TooManyRequests", 500: "InternalError", 409: "Conflict"}
MERGE = {"Content-Type": "application/merge-patch+json"}
# Seeds of runs that once failed (a faulted node read, cordon, uncordon or DaemonSet lookup, before
# those were retried) and one whose first requests are never faulted.
SEEDS = [32, 44, 51, 4048]
# Seeded 3434 at a rate of 0.05, only the 4th draw of the first 80 injects: draining two nodes,
# that is the cordon of the second, after the reads of both and the cordon of the first.
SEED_FOURTH = 3434


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    args = ["--scenario", "empty", "--nodes", str(len(WORKERS)), "--speed", "5"]
    with SimProcess(tmp_path / "sim", *args) as process:
        yield process


@pytest.fixture
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with client_with_namespace(sim, NS) as client:
        yield client


# ----- helpers --------------------------------------------------------------------------------------


def set_faults(api: httpx.Client, **settings: Any) -> JSONDict:
    response = api.post(FAULTS, json=settings)
    assert response.status_code == 200, response.text
    state: JSONDict = response.json()
    return state


def configmap(name: str) -> JSONDict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": "1"}}


def configmaps(api: httpx.Client) -> dict[str, JSONDict]:
    response = api.get(f"/api/v1/namespaces/{NS}/configmaps")
    assert response.status_code == 200, response.text
    return {c["metadata"]["name"]: c for c in response.json()["items"]}


def check_status(response: httpx.Response, name: str) -> int:
    """The code of an injected error, after checking its body is the apiserver's `Status`."""
    code = response.status_code
    assert code in REASONS, response.text
    body = response.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == REASONS[code]
    if code == 429:
        assert response.headers["Retry-After"] == "1"
        assert body["message"] == (
            "the server has received too many requests and has asked us to try again later"
        )
    elif code == 500:
        assert body["message"] == (
            'an error on the server ("etcdserver: leader changed") has prevented the request from succeeding'
        )
    else:
        assert body["message"] == (
            f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )
    return code


def set_unschedulable(api: httpx.Client, node: str, value: bool) -> None:
    body = b'{"spec":{"unschedulable":true}}' if value else b'{"spec":{"unschedulable":null}}'
    response = api.patch(f"/api/v1/nodes/{node}", content=body, headers=MERGE)
    assert response.status_code == 200, response.text


def ready(pod: JSONDict) -> bool:
    if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def ready_pods(api: httpx.Client, selector: str) -> list[JSONDict]:
    items = api.get(f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": selector}).json()["items"]
    return [p for p in items if ready(p)]


def place(api: httpx.Client, on: Sequence[str], *manifests: JSONDict, selector: str, count: int) -> None:
    """Creates the manifests while only the workers `on` take pods, until `count` pods are Ready."""
    others = [w for w in WORKERS if w not in on]
    for node in others:
        set_unschedulable(api, node, True)
    objects.create_all(api, *manifests)
    eventually(lambda: len(ready_pods(api, selector)) >= count, f"{count} ready pods", timeout=30)
    for node in others:
        set_unschedulable(api, node, False)


# ----- the switch -----------------------------------------------------------------------------------


def test_switch_reads_sets_and_refuses_bad_settings(sim: SimProcess, api: httpx.Client) -> None:
    state = api.get(FAULTS).json()
    assert state["rate"] == 0 and state["latency"] == 0 and state["watchDropSeconds"] == 0
    assert state["codes"] == [429, 500, 409]
    assert set(state["injected"]) == {"429", "500", "409", "latency", "watch_drop"}

    state = set_faults(api, rate=0.3, codes=[500, 409], latency="10ms", watchDropSeconds=5, seed=11)
    assert (state["rate"], state["codes"], state["latency"], state["watchDropSeconds"], state["seed"]) == (
        0.3,
        [500, 409],
        0.01,
        5.0,
        11,
    )
    for bad in ({"rate": 2}, {"codes": [404]}, {"latency": "soon"}, {"fault_rate": 0.1}):
        response = api.post(FAULTS, json=bad)
        assert response.status_code == 400 and response.json()["reason"] == "BadRequest", bad
    assert api.get(FAULTS).json()["rate"] == 0.3, "a refused setting changed nothing"
    with sim.anonymous_client() as anonymous:
        assert anonymous.get(FAULTS).status_code == 401
        assert anonymous.post(FAULTS, json={"rate": 0}).status_code == 401


def test_command_line_sets_the_faults_from_the_start(tmp_path: Path) -> None:
    args = ["--fault-rate", "0.05", "--fault-codes", "429,500", "--fault-latency", "50ms"]
    args += ["--watch-drop-seconds", "30", "--fault-seed", "9"]
    with SimProcess(tmp_path / "sim", *args) as process, process.client() as client:
        state = client.get(FAULTS).json()
    assert (state["rate"], state["codes"], state["latency"], state["watchDropSeconds"], state["seed"]) == (
        0.05,
        [429, 500],
        0.05,
        30.0,
        9,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault-codes", "429,404"], "overhaul: --fault-codes: unsupported fault code '404'"),
        (["--fault-latency", "soon"], "overhaul: --fault-latency: invalid duration 'soon'"),
        (["--watch-drop-seconds", "often"], "overhaul: --watch-drop-seconds: invalid duration 'often'"),
    ],
)
def test_bad_fault_options_are_bad_input(args: list[str], message: str) -> None:
    result = subprocess.run(
        sim_command("sim", "up", "--port", "0", *args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1


def test_probes_discovery_metrics_and_debug_are_never_faulted(sim: SimProcess, api: httpx.Client) -> None:
    set_faults(api, rate=1.0, seed=1)
    for path in [
        "/healthz",
        "/readyz",
        "/livez",
        "/version",
        "/metrics",
        "/api",
        "/apis",
        "/api/v1",
        "/apis/apps/v1",
        "/openapi/v3",
        "/openapi/v3/api/v1",
        "/debug/overhaul/violations",
        FAULTS,
    ]:
        assert api.get(path).status_code == 200, path
    assert api.get("/api/v1/nodes").status_code in (429, 500), "while every resource request fails"


def test_errors_are_status_bodies_and_a_failed_request_changes_nothing(
    sim: SimProcess, api: httpx.Client
) -> None:
    set_faults(api, rate=0.3, seed=2026)
    seen: Counter[tuple[str, int]] = Counter()

    # creates: exactly the ones answered 201 exist afterwards
    created: set[str] = set()
    for i in range(120):
        name = f"cm-{i}"
        response = api.post(f"/api/v1/namespaces/{NS}/configmaps", json=configmap(name))
        if response.status_code == 201:
            created.add(name)
        else:
            seen["create", check_status(response, name)] += 1
    set_faults(api, rate=0)
    before = configmaps(api)
    assert set(before) == created, "a failed create created nothing, a successful one did"

    # patches: exactly the ones answered 200 changed their object
    set_faults(api, rate=0.3)
    patched: set[str] = set()
    for name in sorted(created):
        response = api.patch(
            f"/api/v1/namespaces/{NS}/configmaps/{name}", json={"data": {"v": "2"}}, headers=MERGE
        )
        if response.status_code == 200:
            patched.add(name)
        else:
            seen["patch", check_status(response, name)] += 1
    set_faults(api, rate=0)
    after = configmaps(api)
    for name in created:
        if name in patched:
            assert after[name]["data"] == {"v": "2"}
        else:
            assert after[name] == before[name], f"a failed patch left {name} as it was"

    # deletes: exactly the ones answered 200 are gone
    set_faults(api, rate=0.3)
    deleted: set[str] = set()
    for name in sorted(created):
        response = api.delete(f"/api/v1/namespaces/{NS}/configmaps/{name}")
        if response.status_code == 200:
            deleted.add(name)
        else:
            seen["delete", check_status(response, name)] += 1
    state = set_faults(api, rate=0)
    assert set(configmaps(api)) == created - deleted, "a failed delete deleted nothing"

    assert {code for verb, code in seen if verb == "create"} == {429, 500}, "no 409 on a create"
    assert {code for verb, code in seen if verb in ("patch", "delete")} == {429, 500, 409}
    by_code = Counter[int]()
    for (_verb, code), n in seen.items():
        by_code[code] += n
    assert state["injected"] == {
        "429": by_code[429],
        "500": by_code[500],
        "409": by_code[409],
        "latency": 0,
        "watch_drop": 0,
    }
    metrics = api.get("/metrics").text
    for code in (429, 500, 409):
        assert f'overhaul_sim_injected_faults_total{{kind="{code}"}} {float(by_code[code])}' in metrics


def test_latency_delays_resource_requests_only(sim: SimProcess, api: httpx.Client) -> None:
    set_faults(api, latency="300ms")
    start = time.monotonic()
    assert api.get(f"/api/v1/namespaces/{NS}/configmaps").status_code == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    assert api.get("/readyz").status_code == 200
    assert time.monotonic() - start < 0.3
    assert api.get(FAULTS).json()["injected"]["latency"] == 1


def test_watch_drops_end_the_stream_early(sim: SimProcess, api: httpx.Client) -> None:
    set_faults(api, watchDropSeconds=1, seed=3)
    start = time.monotonic()
    lines = []
    with api.stream(
        "GET", f"/api/v1/namespaces/{NS}/configmaps", params={"watch": "true", "timeoutSeconds": "60"}
    ) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert time.monotonic() - start < 10, "the watch ended long before its 60 s"
    assert all(json.loads(line)["type"] != "ERROR" for line in lines if line), "it just ends"
    assert api.get(FAULTS).json()["injected"]["watch_drop"] == 1


# ----- overhaul drain against a flaky API server ----------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_drain_completes_under_faults_without_breaking_a_budget(
    sim: SimProcess, api: httpx.Client, seed: int
) -> None:
    three = ["worker-1", "worker-2", "worker-3"]
    place(
        api,
        three,
        objects.deployment(NS, "api", 3),
        objects.pdb(NS, "api", {"app": "api"}, maxUnavailable=1),
        selector="app=api",
        count=3,
    )
    place(api, three, objects.deployment(NS, "web", 6), selector="app=web", count=6)
    eventually(
        lambda: (
            (
                api.get(f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/api").json().get("status")
                or {}
            ).get("disruptionsAllowed")
            == 1
        ),
        "the budget to allow one disruption",
        timeout=30,
    )
    set_faults(api, rate=0.05, latency="20ms", watchDropSeconds=3, seed=seed)

    result = subprocess.run(
        sim_command(
            "drain",
            "--kubeconfig",
            str(sim.kubeconfig),
            *three,
            "--ignore-daemonsets",
            "--timeout",
            "120s",
            "-o",
            "json",
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    state = set_faults(api, rate=0, latency=0, watchDropSeconds=0)
    injected = state["injected"]
    assert injected["429"] + injected["500"] + injected["409"] > 0, "the drain met injected errors"
    assert result.returncode == 0, f"{result.stderr}\ninjected: {injected}"
    summary = json.loads(result.stdout)
    assert [n["status"] for n in summary["nodes"]] == ["drained"] * 3
    assert api.get("/debug/overhaul/violations").json()["violations"] == [], "the budget was never broken"
    items = api.get(f"/api/v1/namespaces/{NS}/pods").json()["items"]
    assert not [
        p for p in items if p["spec"].get("nodeName") in three and not p["metadata"].get("deletionTimestamp")
    ]


def drain_nodes(sim: SimProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sim_command("drain", "--kubeconfig", str(sim.kubeconfig), *args),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_throttled_cordon_is_sent_again(sim: SimProcess, api: httpx.Client) -> None:
    """A 429 with `Retry-After: 1` on a write was not acted on: the cordon is sent again (as
    client-go does for any verb), and the drain completes."""
    place(api, ["worker-1"], objects.deployment(NS, "web", 2), selector="app=web", count=2)
    set_faults(api, rate=0.05, codes=[429], seed=SEED_FOURTH)

    result = drain_nodes(sim, "worker-1", "worker-2", "--ignore-daemonsets", "--timeout", "60s")

    injected = set_faults(api, rate=0)["injected"]
    assert injected["429"] >= 1, injected
    assert result.returncode == 0, result.stderr
    nodes = api.get("/api/v1/nodes").json()["items"]
    drained = {n["metadata"]["name"] for n in nodes if n["spec"].get("unschedulable")}
    assert drained == {"worker-1", "worker-2"}
