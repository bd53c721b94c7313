"""Cluster access against the embedded cluster over real HTTPS: kubeconfig resolution, the API
client, paging, the reflector, errors, snapshots and the ClusterView.

One demo sim serves the module (bookmarks every 0.2 s). The 410 test uses a second sim loaded
with 20,100 pods, more than the per-resource event ring keeps, so an old resourceVersion is
answered with 410 Gone. Status-code mappings the sim cannot produce (403, 500) use an
in-process httpx MockTransport as the server.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
import yaml
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User

from overhaul.domain.cluster import ClusterView
from overhaul.kube.client import ApiClient, resource_path
from overhaul.kube.config import Connection, resolve_connection
from overhaul.kube.errors import (
    ApiError,
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unreachable,
)
from overhaul.kube.reflector import Reflector, WatchEvent
from overhaul.kube.snapshot import load_snapshot_view
from overhaul.kube.view import load_cluster_view
from tests.support.simproc import SimProcess, sim_command
from tests.support.waiting import eventually

JSON = dict[str, Any]


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    workdir = tmp_path_factory.mktemp("sim-kube")
    with SimProcess(workdir, "--scenario", "demo", "--bookmark-interval", "0.2") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> Iterator[ApiClient]:
    with ApiClient.from_kubeconfig(sim.kubeconfig) as api:
        yield api


@pytest.fixture(scope="module")
def live_view(client: ApiClient) -> ClusterView:
    return load_cluster_view(client)


def _namespace(client: ApiClient, name: str) -> str:
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _kubeconfig(
    sim: SimProcess,
    *,
    contexts: dict[str, tuple[str, str]],
    current: str | None,
    clusters: dict[str, JSON] | None = None,
    users: dict[str, JSON] | None = None,
) -> JSON:
    """A kubeconfig document; `contexts` maps a context to its (cluster, user)."""
    ca = base64.b64encode(sim.ca_pem.encode()).decode()
    clusters = (
        clusters
        if clusters is not None
        else {"sim": {"server": sim.server, "certificate-authority-data": ca}}
    )
    users = users if users is not None else {"admin": {"token": sim.token}}
    doc: JSON = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, (c, u) in contexts.items()],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def _write(path: Path, doc: JSON) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------------------- kubeconfig and contexts


def test_kubeconfig_with_two_contexts(sim: SimProcess, tmp_path: Path) -> None:
    doc = _kubeconfig(
        sim,
        contexts={"good": ("sim", "admin"), "stale": ("sim", "expired")},
        current="good",
        users={"admin": {"token": sim.token}, "expired": {"token": "not-the-token"}},
    )
    path = _write(tmp_path / "config", doc)
    with ApiClient.from_kubeconfig(path) as api:
        assert api.connection.context == "good"
        assert api.version()["gitVersion"] == "v1.34.2"
    with ApiClient.from_kubeconfig(path, "stale") as api, pytest.raises(Unauthorized) as err:
        api.get("/api/v1/nodes")
    assert "refused the credentials of context 'stale'" in str(err.value)
    with pytest.raises(ConfigError, match=r"context 'nope' not found in .*config \(contexts: good, stale\)"):
        ApiClient.from_kubeconfig(path, "nope")


def test_kubeconfig_variable_merges_files_first_wins(
    sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first file's cluster (with a CA file relative to that file) and current-context win;
    # the user comes from the second file, which also defines a broken "sim" cluster.
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    (first_dir / "ca.pem").write_text(sim.ca_pem)
    first = _write(
        first_dir / "config",
        _kubeconfig(
            sim,
            contexts={"main": ("sim", "admin")},
            current="main",
            clusters={"sim": {"server": sim.server, "certificate-authority": "ca.pem"}},
            users={},
        ),
    )
    second = _write(
        second_dir / "config",
        _kubeconfig(
            sim,
            contexts={"main": ("broken", "admin"), "other": ("broken", "admin")},
            current="other",
            clusters={"sim": {"server": f"https://127.0.0.1:{_closed_port()}"}, "broken": {"server": "x"}},
        ),
    )
    missing = tmp_path / "missing" / "config"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(missing), str(first), str(second)]))
    with ApiClient.from_kubeconfig() as api:
        assert api.connection.context == "main"
        assert api.server == sim.server
        assert {n["metadata"]["name"] for n in api.list_all("/api/v1/nodes")[0]} >= {"worker-1", "worker-9"}
    assert resolve_connection(context="other").server == "x"
    with pytest.raises(ConfigError, match="context 'absent' not found"):
        resolve_connection(context="absent")
    # --kubeconfig wins over the variable.
    only_second = resolve_connection(second)
    assert only_second.context == "other"


def test_default_kubeconfig_and_in_cluster_service_account(sim: SimProcess, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write(home / ".kube" / "config", _kubeconfig(sim, contexts={"home": ("sim", "admin")}, current="home"))
    assert resolve_connection(environ={"HOME": str(home)}).context == "home"

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(sim.token + "\n")
    (account / "ca.crt").write_text(sim.ca_pem)
    (account / "namespace").write_text("payments")
    port = sim.server.rsplit(":", 1)[1]
    env = {
        "HOME": str(tmp_path / "nohome"),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": port,
    }
    connection = resolve_connection(environ=env, service_account_dir=account)
    assert connection.source == "in-cluster service account"
    assert connection.namespace == "payments"
    with ApiClient(connection) as api:
        assert api.version()["minor"] == "34"
    with pytest.raises(ConfigError, match=r"no kubeconfig found .* not running in a cluster"):
        resolve_connection(environ={"HOME": str(tmp_path / "nohome")}, service_account_dir=tmp_path / "none")


def test_exec_credential_plugin(sim: SimProcess, tmp_path: Path) -> None:
    # A plugin in the kubeconfig's directory, named by a relative path, as kubectl resolves it.
    plugin = tmp_path / "bin" / "sim-token.py"
    plugin.parent.mkdir()
    info = tmp_path / "exec-info.json"
    plugin.write_text(
        "import json, os, sys\n"
        f"open({str(info)!r}, 'w').write(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "json.dump({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        f"           'status': {{'token': {sim.token!r}}}}}, sys.stdout)\n"
    )
    script = plugin.with_suffix(".sh")
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {plugin}\n")
    script.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/sim-token.sh"}}
    user["exec"]["interactiveMode"] = "Never"
    path = _write(
        tmp_path / "config", _kubeconfig(sim, contexts={"c": ("sim", "u")}, current="c", users={"u": user})
    )
    with ApiClient.from_kubeconfig(path) as api:
        assert api.list_all("/api/v1/namespaces")[0]
    assert orjson.loads(info.read_text()) == {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    missing = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "no-such-plugin"}}
    path = _write(
        tmp_path / "other", _kubeconfig(sim, contexts={"c": ("sim", "u")}, current="c", users={"u": missing})
    )
    with (
        ApiClient.from_kubeconfig(path) as api,
        pytest.raises(ConfigError, match="credentials of context 'c'"),
    ):
        api.list_all("/api/v1/namespaces")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("clusters: [\n  - name: x\n    cluster: {server: 'a'\n", r"malformed YAML \(line \d+\)"),
        ("- just\n- a list\n", "not a kubeconfig"),
        ("clusters: {sim: 1}\n", "clusters must be a list"),
        ("contexts:\n- name: c\n  context: {user: u}\ncurrent-context: c\n", "kubeconfig .*config:"),
        ("current-context: c\n", r"context 'c' not found .*\(contexts: none\)"),
        (
            "clusters: []\ncontexts:\n- name: c\n  context: {cluster: gone}\ncurrent-context: c\n",
            "refers to cluster 'gone'",
        ),
    ],
)
def test_bad_kubeconfigs_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as err:
        resolve_connection(path)
    assert "\n" not in str(err.value)


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kubeconfig .*nowhere: no such file"):
        resolve_connection(tmp_path / "nowhere")


# --------------------------------------------------------------------------------------- the client


def test_version_discovery_and_text_endpoints(client: ApiClient) -> None:
    assert client.version()["gitVersion"] == "v1.34.2"
    discovery = client.discover()
    assert not discovery.failed
    assert {"v1", "apps/v1", "policy/v1", "batch/v1"} <= discovery.group_versions
    deployments = discovery.find("apps", "v1", "deployments")
    assert deployments is not None and deployments.listable and deployments.namespaced
    assert all("/" not in r.name for r in discovery.resources)  # subresources left out
    names = [(r.group, r.name) for r in discovery.preferred_resources()]
    assert len(names) == len(set(names))
    assert client.get_text("/readyz", {"verbose": True}).strip()
    metrics = client.get_text("/metrics")
    assert "apiserver_request_total" in metrics
    assert 'client="overhaul"' in metrics  # our User-Agent, overhaul/<version>


def test_paging_returns_every_object_exactly_once(client: ApiClient) -> None:
    whole = client.get("/api/v1/pods")["items"]
    pages = list(client.list_pages("/api/v1/pods", limit=7))
    assert len(pages) == -(-len(whole) // 7)
    assert all(len(p.items) == 7 for p in pages[:-1])
    uids = [item["metadata"]["uid"] for page in pages for item in page.items]
    assert len(uids) == len(set(uids))
    assert set(uids) == {item["metadata"]["uid"] for item in whole}
    prefetched = [
        i["metadata"]["uid"]
        for p in client.list_pages("/api/v1/pods", limit=7, prefetch=True)
        for i in p.items
    ]
    assert set(prefetched) == set(uids) and len(prefetched) == len(uids)
    items, rv = client.list_all("/api/v1/pods", {"fieldSelector": "spec.nodeName=worker-1"}, limit=2)
    assert items and all(i["spec"]["nodeName"] == "worker-1" for i in items)
    assert int(rv) > 0


def test_writes_and_their_errors(client: ApiClient) -> None:
    ns = _namespace(client, "client-writes")
    path = resource_path("", "v1", "configmaps", ns)
    created = client.post(
        path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    assert created["metadata"]["uid"]
    with pytest.raises(Conflict, match="already exists"):
        client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    one = f"{path}/c"
    assert client.patch(one, {"data": {"b": "2"}})["data"] == {"a": "1", "b": "2"}
    assert client.patch(one, {"data": {"c": "3"}}, "strategic")["data"]["c"] == "3"
    assert "a" not in client.patch(one, [{"op": "remove", "path": "/data/a"}], "json")["data"]
    stale = dict(created, data={"x": "y"})
    with pytest.raises(Conflict):
        client.put(one, stale)  # the resourceVersion precondition of an update
    client.delete(one)
    with pytest.raises(NotFound, match=r'GET .*/configmaps/c: configmaps "c" not found \(404 NotFound\)'):
        client.get(one)


def test_a_refused_eviction_carries_the_budget_cause(client: ApiClient) -> None:
    # The demo's ledger PDB (minAvailable 2 of 2 replicas) allows no disruption once both are ready.
    pdb_path = resource_path("policy", "v1", "poddisruptionbudgets", "payments", "ledger")

    def settled() -> bool:
        status = client.get(pdb_path).get("status") or {}
        return status.get("currentHealthy") == 2 and status.get("disruptionsAllowed") == 0

    eventually(settled, "the ledger PDB at 2 healthy pods")
    pods, _ = client.list_all(resource_path("", "v1", "pods", "payments"), {"labelSelector": "app=ledger"})
    pod = next(p for p in pods if p["status"]["phase"] == "Running")["metadata"]
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod["name"], "namespace": "payments"},
    }
    with pytest.raises(TooManyRequests) as err:
        client.post(resource_path("", "v1", "pods", "payments", pod["name"]) + "/eviction", body)
    assert "disruption budget" in str(err.value)
    assert [c.reason for c in err.value.causes] == ["DisruptionBudget"]


def test_unreachable_and_unauthorized(sim: SimProcess, tmp_path: Path) -> None:
    refused = _kubeconfig(
        sim,
        contexts={"c": ("sim", "admin")},
        current="c",
        clusters={"sim": {"server": f"https://127.0.0.1:{_closed_port()}"}},
    )
    with (
        ApiClient.from_kubeconfig(_write(tmp_path / "refused", refused)) as api,
        pytest.raises(Unreachable) as err,
    ):
        api.version()
    assert str(err.value) == f"cannot reach the cluster at {api.server}: connection refused"

    untrusted = _kubeconfig(
        sim, contexts={"c": ("sim", "admin")}, current="c", clusters={"sim": {"server": sim.server}}
    )
    with (
        ApiClient.from_kubeconfig(_write(tmp_path / "untrusted", untrusted)) as api,
        pytest.raises(Unreachable) as err,
    ):
        api.version()
    assert "TLS certificate verification failed" in str(err.value)

    dns = _kubeconfig(
        sim,
        contexts={"c": ("sim", "admin")},
        current="c",
        clusters={"sim": {"server": "https://no-such-host.invalid:6443"}},
    )
    with ApiClient.from_kubeconfig(_write(tmp_path / "dns", dns)) as api, pytest.raises(Unreachable) as err:
        api.version()
    assert "cannot resolve the host name" in str(err.value)


def _mock_client(handler: Any) -> ApiClient:
    config = KubeConfig.from_one(cluster=Cluster(server="https://mock.invalid"), user=User(token="t")).get()
    assert config is not None
    return ApiClient(Connection(config, "test"), transport=httpx2.MockTransport(handler))


def _status(code: int, reason: str, message: str, **details: Any) -> JSON:
    status: JSON = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code}
    status["message"] = message
    if details:
        status["details"] = details
    return status


def test_status_codes_map_to_typed_errors() -> None:
    answers = {
        "/forbidden": (
            403,
            _status(403, "Forbidden", 'pods is forbidden: User "dev" cannot list resource "pods"'),
        ),
        "/broken": (500, _status(500, "InternalError", "etcdserver: request timed out")),
        "/html": (502, None),
        "/busy": (
            429,
            _status(
                429,
                "TooManyRequests",
                "Cannot evict pod as it would violate the pod's disruption budget.",
                causes=[
                    {
                        "reason": "DisruptionBudget",
                        "message": "The disruption budget web needs 2 healthy pods",
                    }
                ],
                retryAfterSeconds=10,
            ),
        ),
    }
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        code, body = answers[request.url.path]
        if body is None:
            return httpx2.Response(code, text="<html>Bad Gateway</html>")
        return httpx2.Response(code, json=body)

    with _mock_client(handler) as api:
        with pytest.raises(Forbidden) as forbidden:
            api.get("/forbidden")
        assert str(forbidden.value) == (
            'GET /forbidden: pods is forbidden: User "dev" cannot list resource "pods" (403 Forbidden)'
        )
        with pytest.raises(ApiError) as broken:
            api.get("/broken")
        assert type(broken.value) is ApiError and broken.value.code == 500
        assert str(broken.value) == "GET /broken: etcdserver: request timed out (500 InternalError)"
        with pytest.raises(ApiError, match=r"<html>Bad Gateway</html> \(502\)"):
            api.get("/html")
        with pytest.raises(TooManyRequests) as busy:
            api.post("/busy", {})
        assert busy.value.retry_after == 10
        assert busy.value.causes[0].reason == "DisruptionBudget"
    assert seen[0].headers["User-Agent"].startswith("overhaul/")
    assert seen[0].headers["Authorization"] == "Bearer t"


def test_an_expired_continue_token_starts_the_list_over() -> None:
    requests: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        token = request.url.params.get("continue")
        requests.append(token or "")
        if token == "old":
            return httpx2.Response(
                410, json=_status(410, "Expired", "The provided continue parameter is too old")
            )
        if token == "next":
            return httpx2.Response(200, json={"metadata": {"resourceVersion": "9"}, "items": [{"n": 3}]})
        first = len([r for r in requests if not r]) == 1
        meta = {"resourceVersion": "5" if first else "8", "continue": "old" if first else "next"}
        return httpx2.Response(200, json={"metadata": meta, "items": [{"n": 1}, {"n": 2}]})

    with _mock_client(handler) as api:
        pages = list(api.list_pages("/api/v1/pods", limit=2))
        assert [p.restarted for p in pages] == [False, True, False]
        assert api.list_all("/api/v1/pods", limit=2) == ([{"n": 1}, {"n": 2}, {"n": 3}], "9")
    assert requests[:4] == ["", "old", "", "next"]


# ----------------------------------------------------------------------------------------- reflector


def test_reflector_follows_adds_changes_and_deletes(client: ApiClient) -> None:
    ns = _namespace(client, "reflected")
    path = resource_path("", "v1", "configmaps", ns)
    client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}})
    events: list[WatchEvent] = []
    lock = threading.Lock()

    def record(event: WatchEvent) -> None:
        with lock:
            events.append(event)

    def seen(kind: str, name: str) -> bool:
        with lock:
            return any(e.type == kind and e.key == f"{ns}/{name}" for e in events)

    with Reflector(client, path, on_event=record) as reflector:
        assert reflector.wait_synced(10)
        assert seen("ADDED", "before")
        client.post(
            path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"v": "1"}}
        )
        eventually(lambda: seen("ADDED", "cm"), "ADDED cm")
        client.patch(f"{path}/cm", {"data": {"v": "2"}})
        eventually(lambda: seen("MODIFIED", "cm"), "MODIFIED cm")
        assert (reflector.get(f"{ns}/cm") or {}).get("data") == {"v": "2"}
        client.delete(f"{path}/cm")
        eventually(lambda: seen("DELETED", "cm"), "DELETED cm")
        assert reflector.get(f"{ns}/cm") is None
        assert [o["metadata"]["name"] for o in reflector.items()] == ["before"]
        # Bookmarks (every 0.2 s here) keep the resourceVersion current while nothing changes.
        count = reflector.bookmarks
        eventually(lambda: reflector.bookmarks > count, "a bookmark")
        assert int(reflector.resource_version) > 0
    assert reflector.stopped
    assert reflector.lists == 1


def test_reflector_stops_on_fatal_errors(sim: SimProcess, tmp_path: Path) -> None:
    doc = _kubeconfig(sim, contexts={"c": ("sim", "bad")}, current="c", users={"bad": {"token": "wrong"}})
    with ApiClient.from_kubeconfig(_write(tmp_path / "config", doc)) as api:
        reflector = Reflector(api, "/api/v1/pods").start()
        with pytest.raises(Unauthorized):
            reflector.wait_synced(10)
        assert reflector.stopped


@pytest.fixture
def rolled_sim(tmp_path: Path) -> Iterator[SimProcess]:
    """A sim whose pod event ring rolled at start-up (20,100 pods > 20,000 events kept)."""
    args = ("--nodes", "2", "--pods-per-node", "10050", "--bookmark-interval", "0.2")
    with SimProcess(tmp_path / "sim-rolled", *args) as proc:
        yield proc


def test_reflector_lists_again_after_410_gone(rolled_sim: SimProcess) -> None:
    with ApiClient.from_kubeconfig(rolled_sim.kubeconfig) as api:
        ns = _namespace(api, "gone")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p1"},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
        }
        path = resource_path("", "v1", "pods", ns)
        api.post(path, pod)
        events: list[WatchEvent] = []
        # Resuming from resourceVersion 1, long compacted away: the watch gets an ERROR 410 event,
        # and the reflector lists instead, reporting what it finds.
        with Reflector(api, path, resource_version="1", on_event=events.append) as reflector:
            eventually(lambda: reflector.lists == 1, "the relist after 410")
            assert ("ADDED", f"{ns}/p1") in [(e.type, e.key) for e in events]
            api.post(path, dict(pod, metadata={"name": "p2"}))
            eventually(lambda: reflector.get(f"{ns}/p2") is not None, "p2 seen by the watch after the relist")
            assert reflector.error is None


# ----------------------------------------------------------------------------- the view and snapshots


def test_load_cluster_view(live_view: ClusterView) -> None:
    view = live_view
    assert view.server.git_version == "v1.34.2"
    assert len(view.nodes) == 12 and sum(n.control_plane for n in view.nodes) == 3
    assert view.kubelet_versions() == {"v1.34.2": 12}
    assert {n.zone for n in view.nodes} == {"zone-a", "zone-b", "zone-c"}
    pod = next(p for p in view.pods if p.namespace == "shop" and p.name.startswith("frontend-"))
    assert [w.kind for w in view.owner_chain(pod)] == ["ReplicaSet", "Deployment"]
    assert [p.name for p in view.pdbs_for(pod)] == ["frontend"]
    assert pod in view.pods_on(pod.node_name)
    assert any(p.mirror for p in view.pods)  # the control plane's static pods
    assert any(p.daemonset for p in view.pods)
    assert any(p.has_empty_dir for p in view.pods)
    assert any(p.owner is None for p in view.pods)  # the demo's bare pod
    kinds = {w.kind for w in view.workloads}
    assert kinds == {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}
    legacy = next(u for u in view.api_usage if u.ref.name == "legacy-reports" and u.ref.kind == "Deployment")
    assert legacy.ref.api_version == "apps/v1"
    assert legacy.last_applied_api_version == "extensions/v1beta1"
    assert "extensions/v1beta1" in legacy.api_versions
    assert all(u.ref.api_version != "v1" for u in view.api_usage)  # the core group is not scanned
    assert "apps/v1" in view.served_group_versions
    assert not view.notes


def _snapshot(sim: SimProcess, output: Path) -> subprocess.CompletedProcess[str]:
    cmd = sim_command("snapshot", "-o", str(output), "--kubeconfig", str(sim.kubeconfig))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_snapshot_loads_into_the_sim_and_as_a_view(
    client: ApiClient, sim: SimProcess, tmp_path: Path
) -> None:
    output = tmp_path / "cluster.json.gz"
    done = _snapshot(sim, output)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(output)
    assert output.read_bytes()[:2] == b"\x1f\x8b"
    live = load_cluster_view(client)
    offline = load_snapshot_view(output)

    assert offline.server == live.server
    assert [(n.name, n.kubelet_version, n.labels, n.taints) for n in offline.nodes] == [
        (n.name, n.kubelet_version, n.labels, n.taints) for n in live.nodes
    ]
    assert {(p.key, p.node_name, p.owner, p.requests) for p in offline.pods} == {
        (p.key, p.node_name, p.owner, p.requests) for p in live.pods
    }
    assert {(w.kind, w.key, w.replicas) for w in offline.workloads} == {
        (w.kind, w.key, w.replicas) for w in live.workloads
    }
    assert {(p.key, orjson.dumps(p.selector)) for p in offline.pdbs} == {
        (p.key, orjson.dumps(p.selector)) for p in live.pdbs
    }
    assert [n.name for n in offline.namespaces] == [n.name for n in live.namespaces]
    assert offline.api_resources == live.api_resources

    def legacy(view: ClusterView) -> set[tuple[str, str | None]]:
        return {
            (u.ref.name, u.last_applied_api_version) for u in view.api_usage if u.last_applied_api_version
        }

    assert legacy(offline) == legacy(live) != set()
    # Pods are kept without their managedFields; Secrets never.
    items = orjson.loads(_read(output))["items"]
    assert {i["kind"] for i in items} == {
        "Namespace",
        "Node",
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "PodDisruptionBudget",
    }
    pods = [i for i in items if i["kind"] == "Pod"]
    assert pods and all("managedFields" not in p["metadata"] for p in pods)

    with (
        SimProcess(tmp_path / "replay", "--scenario", str(output)) as replay,
        ApiClient.from_kubeconfig(replay.kubeconfig) as api,
    ):
        nodes = {n["metadata"]["name"] for n in api.list_all("/api/v1/nodes")[0]}
        served = {
            (p["metadata"]["namespace"], p["metadata"]["name"]) for p in api.list_all("/api/v1/pods")[0]
        }
    assert nodes == {n.name for n in offline.nodes}
    # The replay runs on from the snapshot (a StatefulSet still scaling up adds its next pod).
    assert served >= {(p.namespace, p.name) for p in offline.pods}


def _read(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode()


def test_a_plain_json_snapshot(sim: SimProcess, tmp_path: Path) -> None:
    output = tmp_path / "cluster.json"
    assert _snapshot(sim, output).returncode == 0
    assert output.read_text().startswith('{"apiVersion":"v1","kind":"List"')
    view = load_snapshot_view(output)
    assert len(view.nodes) == 12
    # Any List document of objects works too (e.g. `kubectl get nodes -o json` plus a version).
    doc = orjson.loads(output.read_bytes())
    doc.pop("apiUsage")
    (tmp_path / "one-line.json").write_bytes(orjson.dumps(doc))
    again = load_snapshot_view(tmp_path / "one-line.json")
    assert len(again.pods) == len(view.pods)
    assert {u.ref.name for u in again.api_usage} >= {"legacy-reports"}  # derived from the items


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", r"overhaul: kubeconfig .*missing: no such file"),
        ("malformed", r"overhaul: kubeconfig .*malformed: malformed YAML"),
        ("context", r"overhaul: context 'nope' not found in .*good"),
        (
            "unreachable",
            r"overhaul: cannot reach the cluster at https://127\.0\.0\.1:\d+: connection refused",
        ),
        (
            "token",
            r"overhaul: the cluster at https://127\.0\.0\.1:\d+ refused the credentials of context 'good': "
            r"a wrong or expired token or client certificate \(401 Unauthorized\)$",
        ),
    ],
)
def test_snapshot_errors_are_one_line_exit_1(
    sim: SimProcess, tmp_path: Path, setup: str, message: str
) -> None:
    path = tmp_path / setup
    extra: list[str] = []
    if setup == "malformed":
        path.write_text("clusters: [\n  - {name: x\n")
    elif setup == "context":
        _write(path, _kubeconfig(sim, contexts={"good": ("sim", "admin")}, current="good"))
        extra = ["--context", "nope"]
    elif setup == "unreachable":
        clusters = {"sim": {"server": f"https://127.0.0.1:{_closed_port()}"}}
        _write(path, _kubeconfig(sim, contexts={"good": ("sim", "admin")}, current="good", clusters=clusters))
    elif setup == "token":
        users = {"admin": {"token": "wrong"}}
        _write(path, _kubeconfig(sim, contexts={"good": ("sim", "admin")}, current="good", users=users))
    cmd = sim_command("snapshot", "-o", str(tmp_path / "out.json.gz"), "--kubeconfig", str(path), *extra)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert re.match(message, lines[0]), lines[0]
    assert not (tmp_path / "out.json.gz").exists()


def test_global_options_before_the_command(sim: SimProcess, tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    cmd = sim_command("--kubeconfig", str(sim.kubeconfig), "snapshot", "-o", str(output))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert output.exists()
