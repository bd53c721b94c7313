"""`overhaul drain` end to end: the command run as a user runs it, against the embedded cluster.

Each test gets a cluster of its own (a control plane and six empty workers, its clock five times
faster than the wall), places its workloads on chosen workers by cordoning the others while they
start, and then drains. What must hold is checked through the API: pods gone or still there,
nodes cordoned or not, and the cluster's own invariant monitor, which records every moment a
PodDisruptionBudget had fewer healthy pods than it promises.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
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
NS = "drain-test"


@pytest.fixture
def sim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SimProcess]:
    marker = request.node.get_closest_marker("speed")  # wall-clock ages need the clock at speed 1
    speed = marker.args[0] if marker is not None else 5
    args = ["--scenario", "empty", "--nodes", str(len(WORKERS)), "--speed", str(speed)]
    with SimProcess(tmp_path / "sim", *args) as process:
        yield process


@pytest.fixture
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with client_with_namespace(sim, NS) as client:
        yield client


# ----- helpers --------------------------------------------------------------------------------------


def set_unschedulable(api: httpx.Client, node: str, value: bool) -> None:
    body = b'{"spec":{"unschedulable":true}}' if value else b'{"spec":{"unschedulable":null}}'
    response = api.patch(
        f"/api/v1/nodes/{node}", content=body, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 200, response.text


def unschedulable(api: httpx.Client, node: str) -> bool:
    return bool(api.get(f"/api/v1/nodes/{node}").json()["spec"].get("unschedulable"))


def pods(api: httpx.Client, selector: str = "", ns: str = NS) -> list[JSONDict]:
    params = {"labelSelector": selector} if selector else {}
    items: list[JSONDict] = api.get(f"/api/v1/namespaces/{ns}/pods", params=params).json()["items"]
    return items


def ready(pod: JSONDict) -> bool:
    if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def place(api: httpx.Client, on: Sequence[str], *manifests: JSONDict, ready_pods: int) -> list[JSONDict]:
    """Creates the manifests while only the workers `on` take pods; returns once `ready_pods` are Ready."""
    others = [w for w in WORKERS if w not in on]
    for node in others:
        set_unschedulable(api, node, True)
    objects.create_all(api, *manifests)
    running = eventually(
        lambda: (lambda p: p if len([x for x in p if ready(x)]) >= ready_pods else None)(pods(api)),
        f"{ready_pods} ready pods",
        timeout=30,
    )
    for node in others:
        set_unschedulable(api, node, False)
    return running


def wait_budget(api: httpx.Client, name: str, allowed: int) -> None:
    def settled() -> bool:
        status = (
            api.get(f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{name}").json().get("status") or {}
        )
        return status.get("disruptionsAllowed") == allowed and status.get("observedGeneration") == 1

    eventually(settled, f"PDB {name} to allow {allowed}", timeout=30)


def place_budget_that_allows_nothing(api: httpx.Client) -> None:
    """Two `ledger` pods on worker-1 and worker-2 under a PDB with minAvailable 2: no eviction passes."""
    place(
        api,
        ["worker-1", "worker-2"],
        objects.deployment(NS, "ledger", 2),
        objects.pdb(NS, "ledger", {"app": "ledger"}, minAvailable=2),
        ready_pods=2,
    )
    wait_budget(api, "ledger", 0)


def violations(api: httpx.Client) -> list[JSONDict]:
    found: list[JSONDict] = api.get("/debug/overhaul/violations").json()["violations"]
    return found


def on_node(items: list[JSONDict], node: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in items if p["spec"].get("nodeName") == node)


def drain(sim: SimProcess, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sim_command("drain", "--kubeconfig", str(sim.kubeconfig), *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


# ----- the filters, as kubectl applies them ---------------------------------------------------------


def test_refuses_daemonset_emptydir_and_bare_pods_and_changes_nothing(
    sim: SimProcess, api: httpx.Client
) -> None:
    local = objects.deployment(NS, "cache", 1)
    local["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    place(
        api,
        ["worker-1"],
        objects.daemonset(NS, "agent"),
        local,
        objects.bare_pod(NS, "debug"),
        ready_pods=len(WORKERS) + 2,
    )
    before = on_node(pods(api), "worker-1")

    result = drain(sim, "worker-1")

    assert result.returncode == 1, result.stderr
    err = one_line(result.stderr)
    agent = next(p for p in before if p.startswith("agent-"))
    assert f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {NS}/{agent}" in err
    cache = next(p for p in before if p.startswith("cache-"))
    assert (
        f"cannot delete Pods with local storage (use --delete-emptydir-data to override): {NS}/{cache}" in err
    )
    assert f"cannot delete Pods that declare no controller (use --force to override): {NS}/debug" in err
    assert "evicting pod" not in err
    assert on_node(pods(api), "worker-1") == before
    assert not unschedulable(api, "worker-1"), "a node it failed to drain must be uncordoned"


def test_flags_let_each_filter_through_with_kubectl_warnings(sim: SimProcess, api: httpx.Client) -> None:
    local = objects.deployment(NS, "cache", 1)
    local["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    finished = objects.bare_pod(
        NS, "one-shot", image="registry.k8s.io/busybox:1.36-complete", restartPolicy="Never"
    )
    finished["metadata"]["annotations"] = {"sim.overhaul.io/run-seconds": "1"}
    place(
        api,
        ["worker-1"],
        objects.daemonset(NS, "agent"),
        local,
        objects.bare_pod(NS, "debug"),
        finished,
        ready_pods=len(WORKERS) + 2,
    )
    eventually(
        lambda: (
            api.get(f"/api/v1/namespaces/{NS}/pods/one-shot").json()["status"].get("phase") == "Succeeded"
        ),
        "the one-shot pod to finish",
    )
    agent = next(p for p in on_node(pods(api), "worker-1") if p.startswith("agent-"))

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--force", "-o", "json")

    assert result.returncode == 0, result.stderr
    err = one_line(result.stderr)
    assert f"Warning: ignoring DaemonSet-managed Pods: {NS}/{agent}" in err
    assert f"deleting Pods with local storage: {NS}/cache-" in err
    assert f"deleting Pods that declare no controller: {NS}/debug" in err
    summary = json.loads(result.stdout)
    node = summary["nodes"][0]
    assert summary["drained"] is True and node["status"] == "drained" and node["cordoned"] is True
    evicted = set(node["pods"]["evicted"])
    assert {f"{NS}/debug", f"{NS}/one-shot"} <= evicted  # a finished bare pod needs no --force
    assert any(p.startswith(f"{NS}/cache-") for p in evicted)
    assert {"pod": f"{NS}/{agent}", "reason": "DaemonSet"} in node["pods"]["skipped"]
    left = on_node(pods(api), "worker-1")
    assert left == [agent], "only the DaemonSet pod stays"
    assert unschedulable(api, "worker-1")


def test_mirror_pods_are_skipped(sim: SimProcess, api: httpx.Client) -> None:
    kube_system = pods(api, ns="kube-system")
    mirrors = on_node(
        [p for p in kube_system if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})],
        "control-plane-1",
    )
    assert mirrors, "the control plane runs static pods"

    result = drain(sim, "control-plane-1", "--ignore-daemonsets", "-o", "json")

    assert result.returncode == 0, result.stderr
    skipped = json.loads(result.stdout)["nodes"][0]["pods"]["skipped"]
    assert {s["pod"] for s in skipped if s["reason"] == "mirror pod"} == {f"kube-system/{m}" for m in mirrors}
    assert set(mirrors) <= set(on_node(pods(api, ns="kube-system"), "control-plane-1"))


def test_pod_selector_evicts_only_what_it_selects(sim: SimProcess, api: httpx.Client) -> None:
    place(api, ["worker-1"], objects.deployment(NS, "web", 2), objects.deployment(NS, "db", 2), ready_pods=4)

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--pod-selector", "app=web")

    assert result.returncode == 0, result.stderr
    left = on_node(pods(api), "worker-1")
    assert len(left) == 2 and all(name.startswith("db-") for name in left)


@pytest.mark.speed(1)
def test_skip_wait_for_delete_timeout_skips_pods_deleted_long_ago(sim: SimProcess, api: httpx.Client) -> None:
    stuck = objects.bare_pod(NS, "stuck")
    stuck["metadata"]["finalizers"] = ["example.com/hold"]  # deleted, it stays until the finalizer goes
    place(api, ["worker-1"], stuck, ready_pods=1)
    deleted = api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/stuck", json={"gracePeriodSeconds": 0})
    assert deleted.status_code in (200, 202), deleted.text
    time.sleep(2.5)  # the deletion must be more than a (wall-clock) second old

    result = drain(sim, "worker-1", "--force", "--skip-wait-for-delete-timeout", "1", "-o", "json")

    assert result.returncode == 0, result.stderr
    skipped = json.loads(result.stdout)["nodes"][0]["pods"]["skipped"]
    assert [s["pod"] for s in skipped] == [f"{NS}/stuck"]

    # Without the option the drain waits for a pod that cannot go, until its timeout.
    result = drain(sim, "worker-1", "--force", "--timeout", "3s")
    assert result.returncode == 1
    assert "global timeout reached: 3s" in one_line(result.stderr)


def test_dry_run_changes_nothing(sim: SimProcess, api: httpx.Client) -> None:
    place(api, ["worker-1"], objects.deployment(NS, "web", 2), ready_pods=2)
    before = on_node(pods(api), "worker-1")

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--dry-run")

    assert result.returncode == 0, result.stderr
    err = one_line(result.stderr)
    assert "node/worker-1 cordoned (dry run)" in err
    for name in before:
        assert f"evicting pod {NS}/{name} (dry run)" in err
    assert on_node(pods(api), "worker-1") == before
    assert not unschedulable(api, "worker-1")


# ----- PodDisruptionBudgets --------------------------------------------------------------------------


def test_budget_that_allows_nothing_blocks_and_is_named(sim: SimProcess, api: httpx.Client) -> None:
    place_budget_that_allows_nothing(api)
    node = on_node(pods(api), "worker-1")
    assert node, "a ledger pod runs on worker-1"

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--timeout", "4s", "-o", "json")

    assert result.returncode == 1
    err = one_line(result.stderr)
    assert f"blocked by PodDisruptionBudget {NS}/ledger" in err
    assert "global timeout reached: 4s" in err
    blocked = json.loads(result.stdout)["nodes"][0]["pods"]["blocked"]
    assert {b["budget"] for b in blocked} == {f"{NS}/ledger"}
    assert on_node(pods(api), "worker-1") == node
    assert not unschedulable(api, "worker-1")
    assert violations(api) == []

    # --on-blocked fail gives up at once: the budget cannot allow anything while all pods are healthy.
    result = drain(sim, "worker-1", "--ignore-daemonsets", "--on-blocked", "fail")
    assert result.returncode == 1
    assert f"blocked by PodDisruptionBudget {NS}/ledger, which will not allow a disruption" in one_line(
        result.stderr
    )
    assert not unschedulable(api, "worker-1")


def test_disable_eviction_after_deletes_past_the_budget_loudly(sim: SimProcess, api: httpx.Client) -> None:
    place_budget_that_allows_nothing(api)

    result = drain(
        sim, "worker-1", "--ignore-daemonsets", "--on-blocked", "disable-eviction-after=2s", "-o", "json"
    )

    assert result.returncode == 0, result.stderr
    assert f"WARNING: deleting pod {NS}/ledger-" in one_line(result.stderr)
    summary = json.loads(result.stdout)
    assert summary["budgetsBypassed"] and summary["nodes"][0]["deleted"] == 1
    assert on_node(pods(api), "worker-1") == []


def test_max_unavailable_one_across_three_nodes_never_has_two_down(
    sim: SimProcess, api: httpx.Client
) -> None:
    three = ["worker-1", "worker-2", "worker-3"]
    running = place(
        api,
        three,
        objects.deployment(NS, "api", 3),
        objects.pdb(NS, "api", {"app": "api"}, maxUnavailable=1),
        ready_pods=3,
    )
    assert sorted(p["spec"]["nodeName"] for p in running) == three, "one replica per node"
    wait_budget(api, "api", 1)

    result = drain(sim, *three, "--ignore-daemonsets", "-o", "json")

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [n["status"] for n in summary["nodes"]] == ["drained"] * 3
    assert violations(api) == [], "the budget was never broken"
    moved = eventually(
        lambda: (lambda p: p if len([x for x in p if ready(x)]) == 3 else None)(pods(api, "app=api")),
        "three ready replicas again",
    )
    assert not {p["spec"]["nodeName"] for p in moved} & set(three)
    assert all(unschedulable(api, n) for n in three)


def test_pod_under_two_budgets_fails_naming_both(sim: SimProcess, api: httpx.Client) -> None:
    place(
        api,
        ["worker-1"],
        objects.deployment(NS, "shared", 2),
        objects.pdb(NS, "first", {"app": "shared"}, maxUnavailable=1),
        objects.pdb(NS, "second", {"app": "shared"}, maxUnavailable=1),
        ready_pods=2,
    )
    wait_budget(api, "first", 1)

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--timeout", "60s")

    assert result.returncode == 1
    err = one_line(result.stderr)
    assert "more than one PodDisruptionBudget" in err
    assert f"{NS}/first" in err and f"{NS}/second" in err
    assert not unschedulable(api, "worker-1")


def test_bare_pod_refused_without_force(sim: SimProcess, api: httpx.Client) -> None:
    place(api, ["worker-1"], objects.bare_pod(NS, "lonely"), ready_pods=1)

    result = drain(sim, "worker-1", "--ignore-daemonsets")

    assert result.returncode == 1
    assert (
        f"cannot delete Pods that declare no controller (use --force to override): {NS}/lonely"
        in one_line(result.stderr)
    )
    assert on_node(pods(api), "worker-1") == ["lonely"]
    assert not unschedulable(api, "worker-1")

    result = drain(sim, "worker-1", "--ignore-daemonsets", "--leave-cordoned")
    assert result.returncode == 1
    assert unschedulable(api, "worker-1"), "--leave-cordoned keeps it cordoned"


def test_already_cordoned_node_stays_cordoned_after_failure(sim: SimProcess, api: httpx.Client) -> None:
    place(api, ["worker-1"], objects.bare_pod(NS, "lonely"), ready_pods=1)
    set_unschedulable(api, "worker-1", True)

    result = drain(sim, "worker-1", "--ignore-daemonsets")

    assert result.returncode == 1
    assert "node/worker-1 already cordoned" in result.stderr
    assert unschedulable(api, "worker-1"), "someone else's cordon is theirs to lift"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_drain_uncordons(sim: SimProcess, api: httpx.Client, sig: signal.Signals) -> None:
    place_budget_that_allows_nothing(api)
    process = subprocess.Popen(
        sim_command("drain", "--kubeconfig", str(sim.kubeconfig), "worker-1", "--ignore-daemonsets"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        eventually(lambda: unschedulable(api, "worker-1"), "the drain to cordon worker-1")
        time.sleep(1.0)  # well into the wait for the budget
        process.send_signal(sig)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"drain did not stop within 60 s of {sig.name}; stderr:\n{err}")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, err
    assert "node/worker-1 uncordoned" in err
    assert not unschedulable(api, "worker-1")
    assert "Traceback" not in err


# ----- bad input -------------------------------------------------------------------------------------


def test_unknown_node_is_bad_input_and_changes_nothing(sim: SimProcess, api: httpx.Client) -> None:
    result = drain(sim, "worker-1", "no-such-node")

    assert result.returncode == 2
    assert result.stderr.strip() == "overhaul: node not found: no-such-node (nothing was changed)"
    assert not unschedulable(api, "worker-1")


@pytest.mark.parametrize(
    "args",
    [
        ["--selector", "=broken"],
        ["worker-1", "--pod-selector", "app in (a"],
        ["worker-1", "--timeout", "soon"],
    ],
    ids=["selector", "pod-selector", "timeout"],
)
def test_bad_selectors_and_durations_are_bad_input(
    sim: SimProcess, api: httpx.Client, args: list[str]
) -> None:
    result = drain(sim, *args)

    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("overhaul: ")
    assert not unschedulable(api, "worker-1")


def test_selector_picks_nodes(sim: SimProcess, api: httpx.Client) -> None:
    result = drain(
        sim, "--selector", "topology.kubernetes.io/zone=zone-b", "--ignore-daemonsets", "-o", "json"
    )

    assert result.returncode == 0, result.stderr
    names = [n["name"] for n in json.loads(result.stdout)["nodes"]]
    assert names == ["worker-2", "worker-5"]


def test_parallel_one_drains_node_after_node(sim: SimProcess, api: httpx.Client) -> None:
    place(api, ["worker-1", "worker-2"], objects.deployment(NS, "web", 4), ready_pods=4)
    first = on_node(pods(api), "worker-1")
    second = on_node(pods(api), "worker-2")
    assert first and second

    result = drain(sim, "worker-1", "worker-2", "--ignore-daemonsets", "--parallel", "1")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    drained_first = lines.index("node/worker-1 drained")
    assert all(lines.index(f"evicting pod {NS}/{name}") > drained_first for name in second)
    assert on_node(pods(api), "worker-1") == [] and on_node(pods(api), "worker-2") == []
