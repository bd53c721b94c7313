"""Apply's gates end to end: `overhaul apply` as a subprocess against the embedded cluster over
HTTPS, and a real Prometheus stand-in (http.server in a thread of the test) serving /api/v1/alerts."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from overhaul.kube.client import ApiClient
from overhaul.kube.validate_cluster import KubeValidateCluster
from overhaul.planning.planfile import load_plan
from overhaul.validate.checks import Expectation
from overhaul.validate.run import take_baseline, validate_cluster
from tests.integration.test_apply import (
    apply_popen,
    assert_all_upgraded_once,
    journal_text,
    overhaul,
    upgrades_started,
    write_plan,
)
from tests.support.simproc import SimProcess
from tests.support.waiting import eventually


class FakePrometheus:
    """Serves `GET /api/v1/alerts` as Prometheus does: a firing alert while `firing`, else only
    Watchdog (always firing, and not matched by the gate's regex) and a pending alert."""

    def __init__(self) -> None:
        self.firing = True
        self.requests = 0
        self.asked_at: list[float] = []  # time.monotonic() of each request
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                owner.asked_at.append(time.monotonic())
                alerts = [
                    {"labels": {"alertname": "Watchdog"}, "state": "firing"},
                    {"labels": {"alertname": "KubeNodeUnreachable"}, "state": "pending"},
                ]
                if owner.firing:
                    alerts.append({"labels": {"alertname": "KubeNodeNotReady"}, "state": "firing"})
                body = json.dumps({"status": "success", "data": {"alerts": alerts}}).encode()
                status = 200 if self.path == "/api/v1/alerts" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_alert_gate_holds_apply_while_the_alert_fires_and_fails_safe_without_prometheus(
    sim: SimProcess, tmp_path: Path
) -> None:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
        # Prometheus unreachable: held, then the first step fails with a clear message.
        down = write_plan(
            sim, tmp_path / "down.yaml", "--block-on-alerts", closed_port_url(), "--alert-regex", "KubeNode.*"
        )
        done = overhaul(sim, "apply", str(down), "--yes", "--alert-timeout", "3s")
        assert done.returncode == 1, done.stderr
        assert "alert gate" in done.stderr and "unreachable" in done.stderr
        assert upgrades_started(client) == Counter()

        with FakePrometheus() as prometheus:
            plan = write_plan(
                sim,
                tmp_path / "plan.yaml",
                "--block-on-alerts",
                prometheus.url,
                "--alert-regex",
                "KubeNode.*",
            )
            state = tmp_path / "plan.state"
            proc = apply_popen(sim, plan, state, "--alert-interval", "1s")
            try:
                eventually(lambda: prometheus.requests >= 2, "apply to ask Prometheus twice", timeout=60)
                eventually(lambda: "KubeNodeNotReady" in journal_text(state), "the journal to name the alert")
                # Held, apply asks again every --alert-interval (1s, not the default 5s): a load can
                # only lengthen the gaps, so the shortest one shows the interval.
                asked = prometheus.requests
                eventually(lambda: prometheus.requests >= asked + 3, "three more requests", timeout=60)
                times = prometheus.asked_at[asked - 1 :]
                assert min(b - a for a, b in itertools.pairwise(times)) < 4.0, times
                assert proc.poll() is None and upgrades_started(client) == Counter()
                prometheus.firing = False
                _out, err = proc.communicate(timeout=300)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert proc.returncode == 0, err
            assert "alerts firing: KubeNodeNotReady" in err and "Watchdog" not in err
            assert_all_upgraded_once(sim, client)


def test_validation_over_the_api_and_a_validate_gated_apply(sim: SimProcess, tmp_path: Path) -> None:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
        cluster = KubeValidateCluster(client)
        baseline = take_baseline(cluster)
        eventually(  # the demo cluster settles: a pod may be Pending a moment after it starts
            lambda: validate_cluster(cluster, Expectation(apiserver="1.34"), baseline, test_pod=False) == [],
            "the cluster to validate",
            timeout=60,
            every=0.5,
        )
        # With the test pod (a live cluster may show a pod between states for a moment: asked again).
        eventually(
            lambda: (
                validate_cluster(cluster, Expectation(apiserver="1.34"), baseline, test_pod_timeout=30) == []
            ),
            "the cluster to validate with a test pod",
            timeout=90,
            every=1.0,
        )
        assert client.get("/api/v1/namespaces/overhaul-validate")["metadata"]["name"] == "overhaul-validate"
        eventually(
            lambda: client.list_all("/api/v1/namespaces/overhaul-validate/pods")[0] == [],
            "the test pod to be deleted",
        )
        failures = validate_cluster(
            cluster, Expectation(nodes={"worker-1": "v1.35.4"}, apiserver="1.35"), baseline, test_pod=False
        )
        assert [f.check for f in failures] == ["versions", "versions"]
        assert "node worker-1 runs kubelet v1.34.2, expected v1.35.4 or newer" in failures[1].message
        stuck = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "stuck"},
            "spec": {"nodeSelector": {"nowhere": "true"}, "containers": [{"name": "c", "image": "x"}]},
        }
        client.post("/api/v1/namespaces/default/pods", stuck)
        failures = validate_cluster(cluster, Expectation(), baseline, test_pod=False)
        assert [f.message for f in failures] == ["pod default/stuck is Pending"]
        client.delete("/api/v1/namespaces/default/pods/stuck", params={"gracePeriodSeconds": "0"})
        eventually(
            lambda: validate_cluster(cluster, Expectation(), baseline, test_pod=False) == [],
            "the stuck pod to be gone",
        )

        plan = write_plan(sim, tmp_path / "plan.yaml", "--validate-between-batches")
        done = overhaul(sim, "apply", str(plan), "--yes", timeout=400)
        assert done.returncode == 0, done.stderr
        validated = done.stderr.count("validated: versions, nodes, pods, budgets, a test pod")
        assert validated == len([s for s in load_plan(plan).steps if s.gates.validate]) > 0, done.stderr
        assert_all_upgraded_once(sim, client)
        assert client.list_all("/api/v1/namespaces/overhaul-validate/pods")[0] == []

        # The journal of that apply feeds the next plan's estimate.
        state = tmp_path / "plan.state"
        assert "worker-1: timings drain=" in journal_text(state)
        again = overhaul(
            sim, "plan", "--to", "1.36", "--provider", "sim", "--accept", "removed-api",
            "--timings-from", str(state), "--timings", "ready=7s", "-o", str(tmp_path / "next.yaml"),
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        timings = load_plan(tmp_path / "next.yaml").spec.timings
        assert timings.ready == 7 and timings.drain < 120 and timings.upgrade < 180  # measured: fast sim
        markdown = (tmp_path / "next.md").read_text()
        assert "drain " in markdown and "(median of 12 measured)" in markdown and "ready 7s," in markdown
        assert f"measured in the journals of {state}" in markdown
        bad = overhaul(
            sim, "plan", "--to", "1.36", "--provider", "sim", "--timings-from", str(tmp_path / "nope")
        )
        assert bad.returncode == 2 and "--timings-from" in bad.stderr
