"""The API over HTTPS without kubectl: authentication, paging, and watch semantics.

One sim for the module, loaded with 20,100 pods: more than the per-resource event ring keeps,
so that an old resourceVersion is answered with 410 Gone. Watch bookmarks come every 0.2 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.simproc import SimProcess

PODS_PER_NODE = 10_050  # two nodes: 20,100 pod events at start-up, more than the ring's 20,000
BOOKMARK_INTERVAL = 0.2
JSONDict = dict[str, Any]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    args = (
        "--nodes",
        "2",
        "--pods-per-node",
        str(PODS_PER_NODE),
        "--bookmark-interval",
        str(BOOKMARK_INTERVAL),
    )
    with SimProcess(tmp_path_factory.mktemp("sim-http"), *args) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client


def _namespace(api: httpx.Client, name: str) -> str:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    response = api.post("/api/v1/namespaces", json=body)
    assert response.status_code == 201, response.text
    return name


def _configmap(api: httpx.Client, ns: str, name: str, **data: str) -> JSONDict:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    response = api.post(f"/api/v1/namespaces/{ns}/configmaps", json=body)
    assert response.status_code == 201, response.text
    created: JSONDict = response.json()
    return created


def _watch(api: httpx.Client, path: str, count: int, timeout: float = 20.0, **params: str) -> list[JSONDict]:
    """The first `count` events of a watch (fewer if the server ends the stream first)."""
    events: list[JSONDict] = []
    deadline = time.monotonic() + timeout
    query = {"watch": "1", "timeoutSeconds": str(int(timeout)), **params}
    # The server ends the watch after timeoutSeconds; the client's read timeout only catches a dead
    # server, so it must not race the server's own ending on a busy machine.
    with api.stream("GET", path, params=query, timeout=timeout + 10) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.strip():
                events.append(json.loads(line))
            if len(events) >= count or time.monotonic() > deadline:
                break
    return events


# ----- authentication ---------------------------------------------------------------------------


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_wrong_token_is_unauthorized(sim: SimProcess) -> None:
    with sim.client(token="not-the-token") as client:
        _assert_unauthorized(client.get("/api/v1/nodes"))
        _assert_unauthorized(client.post("/api/v1/namespaces", json={"metadata": {"name": "x"}}))
        _assert_unauthorized(client.get("/apis"))


def test_no_token_is_unauthorized(sim: SimProcess, api: httpx.Client) -> None:
    with sim.anonymous_client() as client:
        _assert_unauthorized(client.get("/api/v1/namespaces/default/pods"))
        _assert_unauthorized(client.get("/metrics"))
        _assert_unauthorized(client.delete("/api/v1/namespaces/default"))
        # What the apiserver shows anyone: health and version.
        assert client.get("/readyz").status_code == 200
        assert client.get("/version").json()["gitVersion"] == "v1.34.2"
    assert api.get("/api/v1/namespaces/default").status_code == 200


def test_https_only_with_the_sims_ca(sim: SimProcess) -> None:
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as client:
        client.get(sim.server + "/readyz")  # the system trust store does not know the per-run CA
    plain = sim.server.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError), httpx.Client(timeout=5) as client:
        client.get(plain + "/api/v1/nodes")


# ----- paging -----------------------------------------------------------------------------------


def test_limit_and_continue(api: httpx.Client) -> None:
    ns = "load-0"  # the scenario's namespace of the first 200 workers' pods
    full = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    total = len(full["items"])
    assert total == 2 * PODS_PER_NODE
    seen: list[str] = []
    token = ""
    pages = 0
    list_rv = None
    while True:
        params = {"limit": "7000"} | ({"continue": token} if token else {})
        page = api.get(f"/api/v1/namespaces/{ns}/pods", params=params).json()
        pages += 1
        meta = page["metadata"]
        list_rv = list_rv or meta["resourceVersion"]
        assert meta["resourceVersion"] == list_rv  # every page is of the same snapshot version
        seen.extend(p["metadata"]["name"] for p in page["items"])
        token = meta.get("continue", "")
        if not token:
            assert "remainingItemCount" not in meta
            break
        assert len(page["items"]) == 7000
        assert meta["remainingItemCount"] == total - len(seen)
    assert pages == 3
    assert seen == sorted(seen)  # key order
    assert len(set(seen)) == total
    assert set(seen) == {p["metadata"]["name"] for p in full["items"]}


def test_limit_with_selector_has_no_remaining_count(api: httpx.Client) -> None:
    page = api.get("/api/v1/pods", params={"limit": "5", "labelSelector": "shard=4"}).json()
    assert len(page["items"]) == 5
    assert all(p["metadata"]["labels"]["shard"] == "4" for p in page["items"])
    assert page["metadata"]["continue"]
    assert "remainingItemCount" not in page["metadata"]
    following = api.get(
        "/api/v1/pods",
        params={"limit": "5", "labelSelector": "shard=4", "continue": page["metadata"]["continue"]},
    ).json()
    first = {p["metadata"]["name"] for p in page["items"]}
    assert first.isdisjoint(p["metadata"]["name"] for p in following["items"])


def test_invalid_continue_token(api: httpx.Client) -> None:
    response = api.get("/api/v1/pods", params={"limit": "5", "continue": "not a token"})
    assert response.status_code == 400
    body = response.json()
    assert body["kind"] == "Status" and body["reason"] == "BadRequest"


# ----- watch ------------------------------------------------------------------------------------


def test_watch_replays_events_after_resource_version(api: httpx.Client) -> None:
    ns = _namespace(api, "watch-replay")
    first = _configmap(api, ns, "first", v="1")
    since = first["metadata"]["resourceVersion"]
    _configmap(api, ns, "second", v="1")
    patched = api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/second",
        json={"data": {"v": "2"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert api.delete(f"/api/v1/namespaces/{ns}/configmaps/first").status_code == 200
    events = _watch(api, f"/api/v1/namespaces/{ns}/configmaps", 3, resourceVersion=since)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "second"),
        ("MODIFIED", "second"),
        ("DELETED", "first"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(since)
    assert events[1]["object"]["data"] == {"v": "2"}


def test_watch_from_too_old_resource_version_is_gone(api: httpx.Client) -> None:
    events = _watch(api, "/api/v1/pods", 1, resourceVersion="2")
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status"
    assert status["code"] == 410
    assert status["reason"] == "Expired"
    assert status["message"].startswith("too old resource version: 2")
    # A recent version is still served: the ring holds the latest events.
    now = api.get("/api/v1/pods", params={"limit": "1"}).json()["metadata"]["resourceVersion"]
    assert _watch(api, "/api/v1/pods", 1, timeout=2, resourceVersion=now) == []


def test_watch_bookmarks(api: httpx.Client) -> None:
    ns = _namespace(api, "watch-bookmarks")
    created = _configmap(api, ns, "one")
    since = int(created["metadata"]["resourceVersion"])
    events = _watch(
        api, f"/api/v1/namespaces/{ns}/configmaps", 2, resourceVersion=str(since), allowWatchBookmarks="true"
    )
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    for event in events:
        assert event["object"]["kind"] == "ConfigMap"
        assert event["object"]["apiVersion"] == "v1"
        assert int(event["object"]["metadata"]["resourceVersion"]) >= since


def test_no_bookmarks_unless_asked(api: httpx.Client) -> None:
    ns = _namespace(api, "watch-quiet")
    created = _configmap(api, ns, "one")
    rv = created["metadata"]["resourceVersion"]
    started = time.monotonic()
    events = _watch(api, f"/api/v1/namespaces/{ns}/configmaps", 1, timeout=1, resourceVersion=rv)
    assert events == []
    assert time.monotonic() - started >= 0.9  # the server held the watch open until timeoutSeconds


def test_watch_initial_events_then_changes(api: httpx.Client) -> None:
    ns = _namespace(api, "watch-initial")
    _configmap(api, ns, "existing")
    with api.stream(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", params={"watch": "true", "timeoutSeconds": "10"}
    ) as response:
        lines = response.iter_lines()
        first = json.loads(next(line for line in lines if line.strip()))
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "existing")
        _configmap(api, ns, "new")
        second = json.loads(next(line for line in lines if line.strip()))
        assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "new")


# ----- bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", ["application/vnd.kubernetes.protobuf", "application/cbor"])
def test_undecoded_body_media_type_is_415(api: httpx.Client, media_type: str) -> None:
    response = api.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"k8s\x00\x0a\x0f",
        headers={"Content-Type": media_type},
    )
    assert response.status_code == 415
    body = response.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "UnsupportedMediaType", 415)


@pytest.mark.parametrize(
    ("validation", "code"),
    [("Strict", 400), ("Warn", 201), ("Ignore", 201)],
    ids=["strict", "warn", "ignore"],
)
def test_field_validation(api: httpx.Client, validation: str, code: int) -> None:
    name = f"fv-{validation.lower()}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "colour": "blue"}
    response = api.post(
        "/api/v1/namespaces/default/configmaps", params={"fieldValidation": validation}, json=body
    )
    assert response.status_code == code, response.text
    if validation == "Strict":
        assert response.json()["message"] == (
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
            'strict decoding error: unknown field "colour"'
        )
    elif validation == "Warn":
        assert response.headers["warning"] == '299 - "unknown field \\"colour\\""'
        assert "colour" not in response.json()
    else:
        assert "warning" not in response.headers
