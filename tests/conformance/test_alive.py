"""The embedded cluster comes alive, as kubectl sees it: controllers, rollouts, drains, PDBs, upgrades.

Each kubectl version gets a sim of its own for this module: a control plane and four empty workers,
its clock running faster than wall time so that pods start within a fraction of a second. Every test
works in a namespace of its own, which is deleted afterwards (and cordoned workers uncordoned), so
that one test's pods and budgets never stand in the way of another test's drain. (`sim` and `api`
here override conftest's, so conftest's `k` and `ns` use this cluster.)

The fast clock has one visible side effect: timestamps run ahead of the client's wall clock, so ages
that kubectl computes itself (`kubectl describe` events) read `<invalid>`; none is asserted here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import objects
from tests.support.kubectl import Kubectl, KubectlRunner, parse_table
from tests.support.simproc import SimProcess
from tests.support.waiting import eventually

JSONDict = dict[str, Any]
WORKERS = 4
SPEED = 5  # simulated seconds per wall-clock second: a pod is Ready 0.4 s after it is bound
BUDGET_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
TWO_PDBS_MESSAGE = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)


# ----- fixtures: this module's own cluster ------------------------------------------------------


@pytest.fixture(scope="module")
def sim(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """A control plane and four empty workers (conftest's cluster has bare pods on every worker)."""
    workdir = tmp_path_factory.mktemp(f"alive-{kubectl.label}")
    args = ("--scenario", "empty", "--nodes", str(WORKERS), "--speed", str(SPEED))
    with SimProcess(workdir, *args) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client


@pytest.fixture
def ns(ns: str, api: httpx.Client) -> Iterator[str]:
    """conftest's fresh namespace, deleted (with all it holds) after the test; workers uncordoned."""
    yield ns
    response = api.delete(f"/api/v1/namespaces/{ns}")
    assert response.status_code in (200, 202), response.text
    cordoned = api.get("/api/v1/nodes", params={"fieldSelector": "spec.unschedulable=true"})
    for node in cordoned.json()["items"]:
        patched = api.patch(
            f"/api/v1/nodes/{node['metadata']['name']}",
            content=b'{"spec":{"unschedulable":null}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text
    eventually(
        lambda: api.get(f"/api/v1/namespaces/{ns}").status_code == 404,
        f"namespace {ns} to be deleted",
        timeout=30,
    )


# ----- reading the cluster through kubectl ---------------------------------------------------------


def _pods(k: KubectlRunner, ns: str, app: str) -> list[JSONDict]:
    items: list[JSONDict] = k.json("get", "pods", "-n", ns, "-l", f"app={app}")["items"]
    return items


def _name(obj: JSONDict) -> str:
    return str(obj["metadata"]["name"])


def _node_of(pod: JSONDict) -> str:
    return str(pod["spec"].get("nodeName") or "")


def _running(pod: JSONDict) -> bool:
    """Running and Ready, and not on its way out."""
    if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
        return False
    conditions = pod["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _all_running(k: KubectlRunner, ns: str, app: str, count: int) -> list[JSONDict] | None:
    """The app's pods once there are exactly `count` and each is Running and Ready."""
    pods = _pods(k, ns, app)
    if len(pods) == count and all(_running(p) for p in pods):
        return pods
    return None


def _wait_running(k: KubectlRunner, ns: str, app: str, count: int, timeout: float = 30) -> list[JSONDict]:
    return eventually(
        lambda: _all_running(k, ns, app, count), f"{count} running pods of {ns}/{app}", timeout=timeout
    )


def _wait_budget(k: KubectlRunner, ns: str, name: str, healthy: int, allowed: int) -> JSONDict:
    """The PDB once the disruption controller has counted `healthy` pods and allows `allowed`."""

    def settled() -> JSONDict | None:
        pdb: JSONDict = k.json("get", "pdb", name, "-n", ns)
        status = pdb.get("status") or {}
        if (
            status.get("observedGeneration") == pdb["metadata"]["generation"]
            and status.get("currentHealthy") == healthy
            and status.get("disruptionsAllowed") == allowed
        ):
            return pdb
        return None

    return eventually(settled, f"PDB {ns}/{name} to allow {allowed} with {healthy} healthy", timeout=30)


def _violations(api: httpx.Client, ns: str) -> list[JSONDict]:
    """The invariant monitor's records for one namespace."""
    response = api.get("/debug/overhaul/violations")
    assert response.status_code == 200, response.text
    return [v for v in response.json()["violations"] if v["namespace"] == ns]


def _rollout(k: KubectlRunner, ns: str, what: str) -> str:
    return k.run("rollout", "status", what, "-n", ns, "--timeout=60s").stdout


def _drain(k: KubectlRunner, node: str, *extra: str, check: bool = True) -> Any:
    return k.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", *extra, check=check)


# ----- tests -------------------------------------------------------------------------------------


def test_controllers_run_pods(k: KubectlRunner, ns: str) -> None:
    k.create(
        objects.deployment(ns, "web", 3),
        objects.statefulset(ns, "db", 3),
        objects.daemonset(ns, "agent"),
        objects.job(ns, "once"),
    )
    assert 'deployment "web" successfully rolled out' in _rollout(k, ns, "deployment/web")
    # The apiserver defaults a RollingUpdate partition of 0, so kubectl reports a partitioned roll out.
    assert "partitioned roll out complete: 3 new pods have been updated" in _rollout(k, ns, "statefulset/db")
    assert 'daemon set "agent" successfully rolled out' in _rollout(k, ns, "daemonset/agent")
    done = k.run("wait", "--for=condition=complete", "job/once", "-n", ns, "--timeout=60s")
    assert done.stdout.strip() == "job.batch/once condition met"

    web = _wait_running(k, ns, "web", 3)
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for p in web)
    db = _wait_running(k, ns, "db", 3)
    assert sorted(_name(p) for p in db) == ["db-0", "db-1", "db-2"]
    agents = _wait_running(k, ns, "agent", WORKERS)
    assert sorted(_node_of(p) for p in agents) == [f"worker-{i}" for i in range(1, WORKERS + 1)]

    job = k.json("get", "job", "once", "-n", ns)
    assert job["status"]["succeeded"] == 1
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    (finished,) = _pods(k, ns, "once")
    assert finished["status"]["phase"] == "Succeeded"
    assert finished["metadata"]["ownerReferences"][0]["name"] == "once"


def test_set_image_rollout_and_undo(k: KubectlRunner, ns: str) -> None:
    k.create(objects.deployment(ns, "web", 3, image="registry.k8s.io/nginx:1"))
    _rollout(k, ns, "deployment/web")
    first = {_name(p) for p in _wait_running(k, ns, "web", 3)}

    done = k.run("set", "image", "deployment/web", "app=registry.k8s.io/nginx:2", "-n", ns)
    assert done.stdout.strip() == "deployment.apps/web image updated"
    assert 'deployment "web" successfully rolled out' in _rollout(k, ns, "deployment/web")
    second = _wait_running(k, ns, "web", 3)
    assert {p["spec"]["containers"][0]["image"] for p in second} == {"registry.k8s.io/nginx:2"}
    assert not first & {_name(p) for p in second}

    history = k.run("rollout", "history", "deployment/web", "-n", ns).stdout
    revisions = [line.split()[0] for line in history.splitlines() if re.match(r"^\d+\s", line)]
    assert revisions == ["1", "2"], history
    two = k.run("rollout", "history", "deployment/web", "-n", ns, "--revision=2").stdout
    assert "registry.k8s.io/nginx:2" in two

    done = k.run("rollout", "undo", "deployment/web", "-n", ns)
    assert done.stdout.strip() == "deployment.apps/web rolled back"
    assert 'deployment "web" successfully rolled out' in _rollout(k, ns, "deployment/web")
    back = _wait_running(k, ns, "web", 3)
    assert {p["spec"]["containers"][0]["image"] for p in back} == {"registry.k8s.io/nginx:1"}
    served = k.json("get", "deployment", "web", "-n", ns)
    assert served["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/nginx:1"
    # Undo re-uses revision 1's ReplicaSet as revision 3.
    history = k.run("rollout", "history", "deployment/web", "-n", ns).stdout
    assert [line.split()[0] for line in history.splitlines() if re.match(r"^\d+\s", line)] == ["2", "3"]


def test_scale(k: KubectlRunner, ns: str) -> None:
    k.create(objects.deployment(ns, "web", 2), objects.statefulset(ns, "db", 3))
    _rollout(k, ns, "deployment/web")
    _rollout(k, ns, "statefulset/db")

    done = k.run("scale", "deployment/web", "--replicas=5", "-n", ns)
    assert done.stdout.strip() == "deployment.apps/web scaled"
    _rollout(k, ns, "deployment/web")
    assert len(_wait_running(k, ns, "web", 5)) == 5
    assert k.json("get", "deployment", "web", "-n", ns)["status"]["readyReplicas"] == 5

    _wait_running(k, ns, "db", 3)
    watch = ("get", "pods", "-n", ns, "-l", "app=db", "-w", "--output-watch-events")
    with k.background(*watch) as lines:
        lines.wait_for(lambda line: line.split()[:2] == ["ADDED", "db-2"])
        done = k.run("scale", "statefulset/db", "--replicas=1", "-n", ns)
        assert done.stdout.strip() == "statefulset.apps/db scaled"
        # OrderedReady: the highest ordinal goes first, and the next only once it is gone.
        first = lines.wait_for(lambda line: line.startswith("DELETED"), timeout=30)
        second = lines.wait_for(lambda line: line.startswith("DELETED"), timeout=30)
    assert [first.split()[1], second.split()[1]] == ["db-2", "db-1"]
    assert [_name(p) for p in _wait_running(k, ns, "db", 1)] == ["db-0"]


def test_drain_evicts_and_pods_come_back(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(
        objects.deployment(ns, "web", 3, volumes=[{"name": "scratch", "emptyDir": {}}]),
        objects.pdb(ns, "web", {"app": "web"}, maxUnavailable=1),
        objects.statefulset(ns, "db", 2),
        objects.pdb(ns, "db", {"app": "db"}, minAvailable=1),
        objects.daemonset(ns, "agent"),
    )
    for what in ("deployment/web", "statefulset/db", "daemonset/agent"):
        _rollout(k, ns, what)
    _wait_budget(k, ns, "web", healthy=3, allowed=1)
    _wait_budget(k, ns, "db", healthy=2, allowed=1)
    node = _node_of(_wait_running(k, ns, "db", 2)[0])
    on_node = [p for p in k.json("get", "pods", "-n", ns)["items"] if _node_of(p) == node]
    (agent,) = [p for p in on_node if p["metadata"]["labels"]["app"] == "agent"]
    evicted = sorted(_name(p) for p in on_node if p is not agent)

    done = _drain(k, node, "--timeout=60s")
    assert f"node/{node} cordoned" in done.stdout
    assert f"ignoring DaemonSet-managed Pods: {ns}/{_name(agent)}" in done.stderr
    for name in evicted:
        assert f"pod/{name} evicted" in done.stdout
    assert done.stdout.strip().endswith(f"node/{node} drained"), done.stdout
    row = next(r for r in parse_table(k.run("get", "nodes").stdout) if r["NAME"] == node)
    assert row["STATUS"] == "Ready,SchedulingDisabled"

    # The evicted pods come back on other nodes: new ones for the Deployment, db-N again for the set.
    for app, count in (("web", 3), ("db", 2)):
        back = _wait_running(k, ns, app, count)
        assert all(_node_of(p) not in ("", node) for p in back), [(_name(p), _node_of(p)) for p in back]
    # The DaemonSet's pod is still there, the same pod, still running.
    still = k.json("get", "pod", _name(agent), "-n", ns)
    assert still["metadata"]["uid"] == agent["metadata"]["uid"]
    assert _node_of(still) == node and _running(still)
    assert _violations(api, ns) == []

    assert k.run("uncordon", node).stdout.strip() == f"node/{node} uncordoned"
    assert not k.json("get", "node", node)["spec"].get("unschedulable")


def test_drain_blocked_by_budget_times_out(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(
        objects.deployment(ns, "critical", 2),
        objects.pdb(ns, "critical", {"app": "critical"}, minAvailable=2),
    )
    _rollout(k, ns, "deployment/critical")
    _wait_budget(k, ns, "critical", healthy=2, allowed=0)
    pods = _wait_running(k, ns, "critical", 2)
    node = _node_of(pods[0])
    held = {_name(p): p["metadata"]["uid"] for p in pods if _node_of(p) == node}

    started = time.monotonic()
    done = _drain(k, node, "--timeout=8s", check=False)
    took = time.monotonic() - started
    assert done.returncode != 0
    assert took >= 8, done.stderr
    for name in held:
        refused = f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): {BUDGET_MESSAGE}'
        # Evicting is retried every 5 s until the timeout: at least the first try and one retry.
        assert done.stderr.count(refused) >= 2, done.stderr
        assert f'error when evicting pods/"{name}" -n "{ns}": global timeout reached: 8s' in done.stderr
    assert f'unable to drain node "{node}"' in done.stderr

    after = {_name(p): p for p in _pods(k, ns, "critical")}
    for name, uid in held.items():
        assert after[name]["metadata"]["uid"] == uid
        assert _running(after[name]) and _node_of(after[name]) == node
    assert _violations(api, ns) == []
    assert k.run("uncordon", node).stdout.strip() == f"node/{node} uncordoned"


def test_drain_refused_for_pod_with_two_budgets(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    deployment = objects.deployment(ns, "twice", 1)
    deployment["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    k.create(
        deployment,
        objects.pdb(ns, "by-app", {"app": "twice"}, maxUnavailable=1),
        objects.pdb(ns, "by-tier", {"tier": "front"}, maxUnavailable=1),
    )
    _rollout(k, ns, "deployment/twice")
    _wait_budget(k, ns, "by-app", healthy=1, allowed=1)
    _wait_budget(k, ns, "by-tier", healthy=1, allowed=1)
    (pod,) = _wait_running(k, ns, "twice", 1)
    node = _node_of(pod)

    done = _drain(k, node, "--timeout=30s", check=False)
    assert done.returncode != 0
    assert f'error when evicting pods/"{_name(pod)}" -n "{ns}": {TWO_PDBS_MESSAGE}' in done.stderr
    assert "will retry" not in done.stderr  # a 500 is not retried, unlike a 429
    (after,) = _pods(k, ns, "twice")
    assert after["metadata"]["uid"] == pod["metadata"]["uid"] and _running(after)

    # Behind kubectl: the Eviction API's answer is a 500 Status with that message.
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": _name(pod), "namespace": ns},
    }
    response = api.post(f"/api/v1/namespaces/{ns}/pods/{_name(pod)}/eviction", json=eviction)
    assert response.status_code == 500
    assert response.json()["message"] == TWO_PDBS_MESSAGE
    assert _violations(api, ns) == []


def test_drain_bare_pod_needs_force(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(objects.bare_pod(ns, "bare"))
    (pod,) = _wait_running(k, ns, "bare", 1)
    node = _node_of(pod)

    refused = _drain(k, node, check=False)
    assert refused.returncode != 0
    # kubectl's own wording ("cannot delete Pods declare no controller" before 1.28 or so).
    assert re.search(
        rf"cannot delete Pods (that )?declare no controller \(use --force to override\): {ns}/bare",
        refused.stderr,
    ), refused.stderr
    (still,) = _pods(k, ns, "bare")
    assert still["metadata"]["uid"] == pod["metadata"]["uid"] and _running(still)

    forced = _drain(k, node, "--force", "--timeout=60s")
    assert f"deleting Pods that declare no controller: {ns}/bare" in forced.stderr
    assert "pod/bare evicted" in forced.stdout
    assert forced.stdout.strip().endswith(f"node/{node} drained"), forced.stdout
    assert api.get(f"/api/v1/namespaces/{ns}/pods/bare").status_code == 404  # nothing brings it back


def test_deleting_protected_pod_is_a_violation(k: KubectlRunner, api: httpx.Client, ns: str) -> None:
    k.create(
        objects.deployment(ns, "guarded", 2), objects.pdb(ns, "guarded", {"app": "guarded"}, minAvailable=2)
    )
    _rollout(k, ns, "deployment/guarded")
    _wait_budget(k, ns, "guarded", healthy=2, allowed=0)
    pods = _wait_running(k, ns, "guarded", 2)
    victim = _name(pods[0])
    assert _violations(api, ns) == []

    # A plain delete does not ask the budget (only the Eviction API does): the monitor notices.
    done = k.run("delete", "pod", victim, "-n", ns)
    assert done.stdout.strip() == f'pod "{victim}" deleted'
    recorded = eventually(lambda: _violations(api, ns), "a violation to be recorded")
    assert recorded[0]["pdb"] == "guarded"
    assert recorded[0]["pod"] == victim
    assert recorded[0]["desiredHealthy"] == 2
    assert recorded[0]["healthy"] == 1
    assert recorded[0]["node"] == _node_of(pods[0])
    # Recorded the moment the pod began terminating, not only once it is gone.
    assert recorded[0]["cause"] == "terminating"
    _wait_running(k, ns, "guarded", 2)  # the ReplicaSet replaces it


def test_node_upgrade(k: KubectlRunner, ns: str) -> None:
    k.create(objects.deployment(ns, "web", 2), objects.daemonset(ns, "agent"))
    _rollout(k, ns, "deployment/web")
    _rollout(k, ns, "daemonset/agent")
    pod = _wait_running(k, ns, "web", 2)[0]
    node = _node_of(pod)
    (agent,) = [p for p in _wait_running(k, ns, "agent", WORKERS) if _node_of(p) == node]

    def status_of(line: str) -> str:
        cells = line.split()
        return cells[1] if len(cells) > 1 and cells[0] == node else ""

    with k.background("get", "node", node, "-w") as lines:
        lines.wait_for(lambda line: status_of(line) == "Ready")
        done = k.run(
            "annotate",
            "node",
            node,
            "sim.overhaul.io/reboot-seconds=5",
            "upgrade.overhaul.io/kubelet-version=v1.35.0",
        )
        assert re.fullmatch(rf"node/{node} annotated?", done.stdout.strip())
        down = lines.wait_for(lambda line: status_of(line) == "NotReady")
        assert down.split()[-1] == "v1.34.2"
        up = lines.wait_for(lambda line: status_of(line) == "Ready", timeout=30)
        assert up.split()[-1] == "v1.35.0"

    rows = {r["NAME"]: r for r in parse_table(k.run("get", "nodes").stdout)}
    assert rows[node]["STATUS"] == "Ready"
    assert rows[node]["VERSION"] == "v1.35.0"
    assert {r["VERSION"] for name, r in rows.items() if name != node} == {"v1.34.2"}
    served = k.json("get", "node", node)
    assert served["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.0"
    assert served["status"]["nodeInfo"]["kubeProxyVersion"] == "v1.35.0"
    assert served["metadata"]["annotations"]["upgrade.overhaul.io/state"] == "done"
    assert not served["spec"].get("taints")
    # The pod that ran there ended with the reboot; its ReplicaSet replaced it.
    after = _wait_running(k, ns, "web", 2)
    assert _name(pod) not in {_name(p) for p in after}
    # So did its DaemonSet pod, which the DaemonSet put back on the node once it was Ready.
    (returned,) = [p for p in _wait_running(k, ns, "agent", WORKERS) if _node_of(p) == node]
    assert returned["metadata"]["uid"] != agent["metadata"]["uid"]
