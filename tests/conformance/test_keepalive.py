"""Idle keep-alive connections stay open as long as kube-apiserver keeps them (90 s).

`kubectl drain` sleeps 5 s after an eviction answered 429 and then POSTs again on the connection it
used; a server that closes idle connections after 5 s (uvicorn's default) races that POST, and kubectl
fails the drain with `EOF` (Go does not retry a POST on a reused connection).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.simproc import SimProcess

IDLE_SECONDS = 6.0  # longer than kubectl's 5 s eviction retry


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-keepalive"), "--scenario", "empty") as proc:
        yield proc


def test_idle_connection_is_kept_past_kubectl_retry_interval(sim: SimProcess) -> None:
    address = urlsplit(sim.server)
    assert address.hostname is not None
    conn = http.client.HTTPSConnection(address.hostname, address.port, context=sim.ssl_context(), timeout=10)
    headers = {"Authorization": f"Bearer {sim.token}", "Connection": "keep-alive"}
    try:
        conn.request("GET", "/api/v1/namespaces/default", headers=headers)
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        assert conn.sock is not None
        sock = conn.sock
        # Idling is what is under test here, not something to wait for.
        time.sleep(IDLE_SECONDS)
        conn.request("GET", "/api/v1/namespaces/default", headers=headers)
        second = conn.getresponse()  # RemoteDisconnected if the server closed the idle connection
        assert second.status == 200
        assert json.loads(second.read())["metadata"]["name"] == "default"
        assert conn.sock is sock  # the same connection, not a reconnect
    finally:
        conn.close()
