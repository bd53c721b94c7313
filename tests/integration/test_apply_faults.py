"""`overhaul apply` against a flaky API server: the embedded cluster injects 5% errors (429, 500 and
409 conflicts), latency and watch drops into every request of the resource API, from the moment
the plan is written until the apply ends. The upgrade must still complete, every node once, none
left cordoned, no PodDisruptionBudget broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from overhaul.kube.client import ApiClient
from tests.integration.test_apply import assert_all_upgraded_once, overhaul, write_plan
from tests.support.simproc import start_cluster

FAULTS = "/debug/overhaul/faults"


@pytest.mark.parametrize("seed", [7, 1234])
def test_apply_completes_under_api_faults(tmp_path: Path, seed: int) -> None:
    sim = start_cluster(tmp_path / "sim")
    try:
        plan = write_plan(sim, tmp_path / "plan.yaml")
        with sim.client() as http:
            settings = {
                "rate": 0.05,
                "codes": [429, 500, 409],
                "latency": 0.01,
                "watchDropSeconds": 3,
                "seed": seed,
            }
            assert http.post(FAULTS, json=settings).status_code == 200

        done = overhaul(sim, "apply", str(plan), "--yes", "--state", str(tmp_path / "state"), timeout=600)

        with sim.client() as http:
            injected = http.post(FAULTS, json={"rate": 0, "latency": 0, "watchDropSeconds": 0}).json()[
                "injected"
            ]
        assert injected["429"] + injected["500"] + injected["409"] > 0, injected
        assert done.returncode == 0, f"{done.stderr[-4000:]}\ninjected: {injected}"
        with ApiClient.from_kubeconfig(sim.kubeconfig) as client:
            assert_all_upgraded_once(sim, client)
    finally:
        sim.stop()
