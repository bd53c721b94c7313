"""Fixtures for driving the embedded cluster with real kubectl binaries.

Every test that takes the `kubectl` fixture runs once with the oldest and once with the newest
kubectl found. Each kubectl version gets its own `overhaul sim up` subprocess (session-scoped, so
pytest groups the tests by version and keeps one sim alive at a time), loaded with five workers of
ten pods each. Tests work in a namespace of their own, so they do not see each other's objects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.kubectl import Kubectl, KubectlRunner, oldest_and_newest
from tests.support.simproc import SimProcess, kubectl_env

KUBECTLS = oldest_and_newest()
WORKERS = 5
PODS_PER_WORKER = 10


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kubectl_min(minor): run only with kubectl 1.<minor> or newer (of the oldest and newest)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kubectl" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("kubectl_min")
    minimum = int(marker.args[0]) if marker is not None else 0
    chosen: list[Kubectl | None] = [k for k in KUBECTLS if k.minor >= minimum]
    # No kubectl must fail every such test loudly (`make test` installs one), never skip it.
    params = chosen or [None]
    ids = [k.label if k is not None else "no-kubectl" for k in params]
    metafunc.parametrize("kubectl", params, ids=ids, indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kubectl" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kubectl)


@pytest.fixture(scope="session")
def kubectl(request: pytest.FixtureRequest) -> Kubectl:
    found: Kubectl | None = request.param
    if found is None:
        minimum = request.node.get_closest_marker("kubectl_min")
        pytest.fail(
            "no suitable kubectl found (need `kubectl` on PATH"
            + (f", version 1.{minimum.args[0]} or newer" if minimum else "")
            + "; `make test` installs it)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def kube_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kubectl's discovery and HTTP cache for this test session (KUBECACHEDIR)."""
    return tmp_path_factory.mktemp("kubecache")


@pytest.fixture(scope="session")
def sim(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """One embedded cluster per kubectl version: a control plane and five workers with ten pods each."""
    workdir = tmp_path_factory.mktemp(f"sim-{kubectl.label}")
    with SimProcess(workdir, "--nodes", str(WORKERS), "--pods-per-node", str(PODS_PER_WORKER)) as proc:
        yield proc


@pytest.fixture(scope="session")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    """The sim's API over HTTPS (its CA, its token): to check server state behind kubectl's back."""
    with sim.client() as client:
        yield client


@pytest.fixture
def k(kubectl: Kubectl, sim: SimProcess, kube_cache: Path) -> KubectlRunner:
    return KubectlRunner(kubectl, sim.kubeconfig, kubectl_env(kube_cache))


@pytest.fixture
def ns(request: pytest.FixtureRequest, api: httpx.Client) -> str:
    """A fresh namespace named after the test."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]
    name = f"{base[:56].rstrip('-')}-{digest}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    response = api.post("/api/v1/namespaces", json=body)
    assert response.status_code == 201, response.text
    return name
