"""The upgrade lock as a Lease, against the embedded cluster over real HTTPS.

One empty cluster serves the module; each test uses a Lease of its own name. Contention is real:
threads with their own API clients race on the same Lease, and the API server's optimistic
concurrency (create-if-absent, update-if-unchanged) decides.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from overhaul.engine.lock import LockRefused, crashed_here, hold_lock, local_identity
from overhaul.kube.client import ApiClient
from overhaul.kube.lease import LeaseLock, micro_time, parse_time
from tests.support.simproc import SimProcess
from tests.support.waiting import eventually

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-lease"), "--scenario", "empty") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


@pytest.fixture
def name() -> str:
    return f"overhaul-upgrade-{uuid.uuid4().hex[:8]}"


def lease(client: ApiClient, name: str) -> dict[str, object]:
    spec: dict[str, object] = client.get(f"{LEASES}/{name}")["spec"]
    return spec


def make_lock(client: ApiClient, name: str, who: str, duration: int = 30) -> LeaseLock:
    return LeaseLock(client, who, name=name, duration_seconds=duration)


def test_acquire_writes_the_lease_as_leader_election_does(client: ApiClient, name: str) -> None:
    identity = local_identity("run1")
    lock = make_lock(client, name, identity)
    before = datetime.now(UTC)
    attempt = lock.try_acquire()
    assert attempt.acquired and attempt.taken_over is None
    spec = lease(client, name)
    assert spec["holderIdentity"] == identity
    assert spec["leaseDurationSeconds"] == 30
    assert spec["leaseTransitions"] == 0
    acquired = parse_time(spec["acquireTime"])
    assert acquired is not None and acquired >= before - timedelta(seconds=1)
    assert str(spec["renewTime"]).endswith("Z") and len(str(spec["renewTime"])) == len(
        "2026-05-01T12:00:00.000000Z"
    )
    current = lock.current()
    assert current is not None and current.identity == identity and not current.stale


def test_a_second_holder_is_refused_with_who_and_since_when(client: ApiClient, name: str) -> None:
    first = make_lock(client, name, "alice@laptop:1/aaaa")
    assert first.try_acquire().acquired
    second = make_lock(client, name, "bob@desk:2/bbbb")
    attempt = second.try_acquire()
    assert not attempt.acquired
    assert attempt.holder.identity == "alice@laptop:1/aaaa" and attempt.holder.acquired_at is not None
    with pytest.raises(LockRefused) as err, hold_lock(second):
        pass
    message = str(err.value)
    assert "alice@laptop:1/aaaa" in message and f"Lease kube-system/{name}" in message
    assert attempt.holder.acquired_at.strftime("%Y-%m-%dT%H:%M:%S") in message
    assert lease(client, name)["holderIdentity"] == "alice@laptop:1/aaaa"


def test_renew_moves_renew_time_and_keeps_acquire_time(client: ApiClient, name: str) -> None:
    lock = make_lock(client, name, "alice@laptop:1/aaaa")
    lock.try_acquire()
    first = lease(client, name)
    time.sleep(0.05)
    assert lock.renew()
    second = lease(client, name)
    assert second["acquireTime"] == first["acquireTime"]
    assert str(second["renewTime"]) > str(first["renewTime"])


def test_release_frees_the_lock_for_the_next_holder(client: ApiClient, name: str) -> None:
    first = make_lock(client, name, "alice@laptop:1/aaaa")
    first.try_acquire()
    first.release()
    spec = lease(client, name)
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    assert first.current() is None
    second = make_lock(client, name, "bob@desk:2/bbbb")
    attempt = second.try_acquire()
    assert attempt.acquired and attempt.taken_over is None
    assert lease(client, name)["leaseTransitions"] == 1
    first.release()  # no longer ours: nothing happens
    assert lease(client, name)["holderIdentity"] == "bob@desk:2/bbbb"


def test_a_stale_lock_is_taken_over_and_its_holder_loses_it(client: ApiClient, name: str) -> None:
    ghost = make_lock(client, name, "ghost@crashed:9/dead", duration=1)
    assert ghost.try_acquire().acquired
    time.sleep(1.3)  # renewTime + 1 s is now in the past
    taker = make_lock(client, name, "bob@desk:2/bbbb")
    attempt = taker.try_acquire()
    assert attempt.acquired
    assert attempt.taken_over is not None and attempt.taken_over.identity == "ghost@crashed:9/dead"
    assert attempt.taken_over.stale
    spec = lease(client, name)
    assert spec["holderIdentity"] == "bob@desk:2/bbbb" and spec["leaseTransitions"] == 1
    assert not ghost.renew()  # the old holder finds out at its next renewal


def test_a_lease_left_by_someone_else_is_judged_by_its_renew_time(client: ApiClient, name: str) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "old@host:1/x",
            "leaseDurationSeconds": 60,
            "acquireTime": micro_time(old),
            "renewTime": micro_time(old),
            "leaseTransitions": 4,
        },
    }
    client.post(LEASES, body)
    attempt = make_lock(client, name, "bob@desk:2/bbbb").try_acquire()
    assert attempt.acquired and attempt.taken_over is not None
    assert lease(client, name)["leaseTransitions"] == 5


@pytest.mark.parametrize("stale_lease", [False, True], ids=["no-lease", "stale-lease"])
def test_of_racing_contenders_exactly_one_wins(sim: SimProcess, name: str, stale_lease: bool) -> None:
    contenders = 6
    if stale_lease:
        with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
            ghost = make_lock(api, name, "ghost@crashed:9/dead", duration=1)
            ghost.try_acquire()
        time.sleep(1.3)
    barrier = threading.Barrier(contenders)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def contend(i: int) -> None:
        try:
            with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
                lock = make_lock(api, name, f"contender-{i}@host:{i}/run")
                barrier.wait()
                results[i] = lock.try_acquire().acquired
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    winners = [i for i, won in results.items() if won]
    assert len(winners) == 1, results
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        assert lease(api, name)["holderIdentity"] == f"contender-{winners[0]}@host:{winners[0]}/run"
        assert lease(api, name)["leaseTransitions"] == (1 if stale_lease else 0)


def test_hold_lock_renews_in_the_background_and_releases_on_exit(client: ApiClient, name: str) -> None:
    lock = make_lock(client, name, "alice@laptop:1/aaaa", duration=2)
    with hold_lock(lock, renew_interval=0.2) as held:
        first = lease(client, name)["renewTime"]
        eventually(lambda: lease(client, name)["renewTime"] != first, "a renewal")
        time.sleep(2.5)  # longer than the duration: still held thanks to the renewals
        refused = make_lock(client, name, "bob@desk:2/bbbb").try_acquire()
        assert not refused.acquired
        held.check()
        assert held.renewer.renewals >= 2
    assert lease(client, name)["holderIdentity"] == ""


def test_the_renewer_notices_a_takeover(client: ApiClient, name: str) -> None:
    lock = make_lock(client, name, "alice@laptop:1/aaaa", duration=1)
    lost: list[str] = []
    with hold_lock(lock, renew_interval=0.1, on_lost=lost.append) as held:
        # Someone forces the lock over (as if ours had gone stale).
        spec = client.get(f"{LEASES}/{name}")
        spec["spec"]["holderIdentity"] = "mallory@x:1/m"
        client.put(f"{LEASES}/{name}", spec)
        assert held.renewer.wait_lost(5)
    assert lost and "taken over" in lost[0]
    assert lease(client, name)["holderIdentity"] == "mallory@x:1/m"  # not released: it is not ours


def test_a_lock_whose_holder_died_on_this_host_is_taken_over_at_once(client: ApiClient, name: str) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        try:
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            host = socket.gethostname()
            crashed = make_lock(client, name, f"alice@{host}:{dead.pid}/dead0001", duration=300)
            assert crashed.try_acquire().acquired
            waiting = LeaseLock(
                client, f"bob@{host}:{running.pid}/live0001", name=name, abandoned=crashed_here
            )
            attempt = waiting.try_acquire()  # renewed just now, for 300 s: yet its process is gone
            assert attempt.acquired and attempt.taken_over is not None
            assert attempt.taken_over.identity == f"alice@{host}:{dead.pid}/dead0001"
            assert lease(client, name)["leaseTransitions"] == 1
            third = LeaseLock(client, local_identity("third"), name=name, abandoned=crashed_here)
            refused = third.try_acquire()  # bob's process runs: his lock holds
            assert not refused.acquired and refused.holder.identity.startswith("bob@")
        finally:
            running.kill()
