"""`overhaul sim up` as a user runs it: bad input, signals, the scenario list, and scenario files."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.kubectl import Kubectl, KubectlRunner, parse_table
from tests.support.simproc import SimProcess, kubectl_env, sim_command


def _sim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sim_command(*args), capture_output=True, text=True, timeout=timeout)


def _assert_one_line_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("overhaul: ")
    assert done.stdout == ""
    return lines[0]


def test_occupied_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _sim("sim", "up", "--port", str(port), "--kubeconfig-out", str(tmp_path / "kc"))
    line = _assert_one_line_error(done, 1)
    assert f"port {port}" in line and "already in use" in line
    assert not (tmp_path / "kc").exists()


def test_malformed_scenario_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: a: b\n")
    done = _sim("sim", "up", "--port", "0", "--scenario", str(path), "--kubeconfig-out", str(tmp_path / "kc"))
    line = _assert_one_line_error(done, 2)
    assert f"{path}:6:" in line
    assert "malformed YAML" in line


def test_scenario_document_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n- just\n- a list\n")
    done = _sim("sim", "up", "--port", "0", "--scenario", str(path), "--kubeconfig-out", str(tmp_path / "kc"))
    line = _assert_one_line_error(done, 2)
    assert str(path) in line and "document 2" in line


def test_unknown_scenario(tmp_path: Path) -> None:
    done = _sim(
        "sim", "up", "--port", "0", "--scenario", "no-such-scenario", "--kubeconfig-out", str(tmp_path / "kc")
    )
    line = _assert_one_line_error(done, 2)
    assert "no-such-scenario" in line
    assert "empty" in line  # it names the built-in ones


def test_scenarios_lists_empty() -> None:
    done = _sim("sim", "scenarios")
    assert done.returncode == 0, done.stderr
    names = [line.split("\t", 1)[0] for line in done.stdout.splitlines()]
    assert "empty" in names


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    sim = SimProcess(tmp_path).start()
    with sim.client() as client:
        assert client.get("/api/v1/nodes").status_code == 200
    code = sim.stop(sig)
    assert code == 0, sim.stderr()
    assert "Traceback" not in sim.stderr()
    with pytest.raises(httpx.TransportError), httpx.Client(verify=sim.ssl_context(), timeout=2) as client:
        client.get(sim.server + "/readyz")


SCENARIO = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "shop-settings", "namespace": "shop"},
        "data": {"currency": "EUR"},
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-web", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "shop-web"}},
            "template": {
                "metadata": {"labels": {"app": "shop-web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "shop-node-1", "labels": {"kubernetes.io/hostname": "shop-node-1"}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.34.2"},
        },
    },
]


def test_scenario_file_loads(kubectl: Kubectl, kube_cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(SCENARIO, sort_keys=False))
    with SimProcess(tmp_path / "sim", "--scenario", str(path)) as sim:
        k = KubectlRunner(kubectl, sim.kubeconfig, kubectl_env(kube_cache))
        assert k.json("get", "configmap", "shop-settings", "-n", "shop")["data"] == {"currency": "EUR"}
        deployment = k.json("get", "deployment", "shop-web", "-n", "shop")
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
        nodes = {r["NAME"]: r for r in parse_table(k.run("get", "nodes").stdout)}
        # A file with nodes of its own gets no default control plane.
        assert set(nodes) == {"shop-node-1"}
        namespaces = {r["NAME"] for r in parse_table(k.run("get", "namespaces").stdout)}
        assert {"shop", "default", "kube-system"} <= namespaces
