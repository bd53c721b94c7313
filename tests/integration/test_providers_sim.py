"""The sim provider against the embedded cluster over real HTTPS: the node upgrade protocol.

One cluster (a control plane and four workers, its clock ten times faster than the wall, so a
30-second reboot takes 3 s) serves the module; each test upgrades a node of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from overhaul.domain.version import Version
from overhaul.engine.ports import NodeTarget, NodeUpgrader
from overhaul.kube.client import ApiClient
from overhaul.providers.registry import create_provider
from overhaul.providers.sim import REQUEST, STATE, SimUpgrader
from tests.support.simproc import SimProcess
from tests.support.waiting import eventually

V135 = Version.parse("1.35.0")
FAIL_UPGRADE = "sim.overhaul.io/fail-upgrade"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    args = ["--scenario", "empty", "--nodes", "4", "--speed", "10"]
    with SimProcess(tmp_path_factory.mktemp("sim-providers"), *args) as proc:
        yield proc


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


@pytest.fixture(scope="module")
def upgrader(client: ApiClient) -> NodeUpgrader:
    return create_provider("sim", api=client)


def node(client: ApiClient, name: str) -> dict[str, Any]:
    return client.get(f"/api/v1/nodes/{name}")


def annotate(client: ApiClient, name: str, key: str, value: str) -> None:
    client.patch(f"/api/v1/nodes/{name}", {"metadata": {"annotations": {key: value}}})


def test_a_worker_is_upgraded_and_comes_back_at_the_version(
    client: ApiClient, upgrader: NodeUpgrader
) -> None:
    assert node(client, "worker-1")["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.2"
    result = upgrader.upgrade(NodeTarget("worker-1"), V135, timeout=60)
    assert result.ok, result.reason
    obj = node(client, "worker-1")
    assert obj["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.0"
    assert obj["metadata"]["annotations"][REQUEST] == "v1.35.0"
    assert obj["metadata"]["annotations"][STATE] == "done"
    lines = result.output.splitlines()
    assert lines[0] == "asked node worker-1 to upgrade to v1.35.0"
    assert any("state upgrading" in line and "Ready=Unknown" in line for line in lines)
    assert lines[-1] == "state done, kubelet v1.35.0, Ready=True"
    assert result.actions[0].startswith("PATCH /api/v1/nodes/worker-1 ")


def test_a_control_plane_node_waits_for_its_apiserver(client: ApiClient, upgrader: NodeUpgrader) -> None:
    result = upgrader.upgrade(NodeTarget("control-plane-1", "control-plane"), V135, timeout=60)
    assert result.ok, result.reason
    pod = client.get("/api/v1/namespaces/kube-system/pods/kube-apiserver-control-plane-1")
    assert pod["spec"]["containers"][0]["image"].endswith(":v1.35.0")
    assert (
        "kube-apiserver-control-plane-1: registry.k8s.io/kube-apiserver:v1.35.0, Ready=True" in result.output
    )
    eventually(lambda: client.version()["gitVersion"] == "v1.35.0", "/version at v1.35.0")


def test_a_node_that_never_comes_back_fails_at_the_timeout(client: ApiClient, upgrader: NodeUpgrader) -> None:
    annotate(client, "worker-2", FAIL_UPGRADE, "true")
    started = time.monotonic()
    result = upgrader.upgrade(NodeTarget("worker-2"), V135, timeout=6)
    elapsed = time.monotonic() - started
    assert not result.ok
    assert result.reason.startswith("timed out waiting for node worker-2 to come back at v1.35.0")
    assert "state upgrading" in result.reason
    assert 6 <= elapsed < 15


def test_cancel_ends_the_wait(client: ApiClient, upgrader: NodeUpgrader) -> None:
    annotate(client, "worker-3", FAIL_UPGRADE, "true")
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    result = upgrader.upgrade(NodeTarget("worker-3"), V135, timeout=60, cancel=cancel)
    assert (
        not result.ok and result.reason == "cancelled while waiting for node worker-3 to come back at v1.35.0"
    )
    assert time.monotonic() - started < 5


def test_dry_run_changes_nothing(client: ApiClient, upgrader: NodeUpgrader) -> None:
    result = upgrader.upgrade(NodeTarget("worker-4"), V135, timeout=60, dry_run=True)
    assert result.ok and result.dry_run
    assert REQUEST not in (node(client, "worker-4")["metadata"].get("annotations") or {})


def test_the_version_a_node_runs_is_done_at_once(client: ApiClient) -> None:
    result = SimUpgrader(client).upgrade(NodeTarget("worker-4"), Version.parse("1.34.2"), timeout=30)
    assert result.ok, result.reason
    assert result.duration < 10
    assert node(client, "worker-4")["metadata"]["annotations"][STATE] == "done"


def test_an_unknown_node_fails_clearly(upgrader: NodeUpgrader) -> None:
    result = upgrader.upgrade(NodeTarget("worker-99"), V135, timeout=10)
    assert not result.ok and result.reason == "there is no node worker-99"
