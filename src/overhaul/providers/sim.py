"""The `sim` provider: upgrades a node of the embedded cluster the way a node agent is asked to.

It sets the Node annotation `upgrade.overhaul.io/kubelet-version: v1.35.0`; the simulated kubelet
(like a system-upgrade-controller or kured agent would on a real node) reboots the node into that
version and reports `upgrade.overhaul.io/state: done` (see docs/sim.md, "Node upgrade protocol").
The provider then waits, with a watch on that one Node (re-listed after a dropped watch, with
backoff after errors), until the state is `done`, the kubelet reports the version and the node is
Ready; for a control-plane node also until its `kube-apiserver-<node>` static pod runs the version.
A node that never comes back (the sim's `sim.overhaul.io/fail-upgrade` fault) fails at the timeout.

It speaks to the API through `NodeApi`, which `overhaul.kube.client.ApiClient` implements; this
package may import only the domain, so it does not import the client or its error classes: API
errors are told apart by their `code` attribute (404), and any other error is retried until the
deadline.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Protocol

import orjson

from overhaul.domain.version import Version
from overhaul.providers.base import CONTROL_PLANE, Target, UpgradeResult, check_target, exact_version

NAME = "sim"
REQUEST = "upgrade.overhaul.io/kubelet-version"
STATE = "upgrade.overhaul.io/state"
DONE = "done"

JSON = dict[str, Any]
Params = Mapping[str, str | int | bool]


class EventStream(Protocol):
    def __iter__(self) -> Iterator[JSON]: ...

    def close(self) -> None: ...


class NodeApi(Protocol):
    """The API requests the sim provider makes (`ApiClient` has them)."""

    def get(self, path: str, params: Params | None = None) -> JSON: ...

    def patch(
        self,
        path: str,
        body: Any,
        patch_type: Literal["merge", "strategic", "json", "apply"] = "merge",
        params: Params | None = None,
    ) -> JSON: ...

    def watch(
        self,
        path: str,
        resource_version: str,
        params: Params | None = None,
        *,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
    ) -> EventStream: ...


_WRITE_ATTEMPTS = 6
_PASSING = (409, 429, 500, 502, 503, 504)


def _code(err: Exception) -> int | None:
    code = getattr(err, "code", None)
    return code if isinstance(code, int) else None


def _annotations(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return (node.get("metadata") or {}).get("annotations") or {}


def _kubelet(node: Mapping[str, Any]) -> str:
    return str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or "")


def _ready(obj: Mapping[str, Any]) -> str:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return str(condition.get("status") or "Unknown")
    return "Unknown"


def node_summary(node: Mapping[str, Any]) -> str:
    state = _annotations(node).get(STATE) or "-"
    return f"state {state}, kubelet {_kubelet(node) or '?'}, Ready={_ready(node)}"


def node_upgraded(node: Mapping[str, Any], version: str) -> bool:
    return _annotations(node).get(STATE) == DONE and _kubelet(node) == version and _ready(node) == "True"


class _Wait:
    """The deadline, the cancel event, and a log of what was seen while waiting."""

    def __init__(self, deadline: float, cancel: threading.Event | None) -> None:
        self.deadline = deadline
        self.cancel = cancel
        self.log: list[str] = []
        self.last_error = ""

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def stopped(self) -> bool:
        return self.remaining() <= 0 or (self.cancel is not None and self.cancel.is_set())

    def sleep(self, seconds: float) -> None:
        pause = max(0.0, min(seconds, self.remaining()))
        if self.cancel is not None:
            self.cancel.wait(pause)
        else:
            time.sleep(pause)

    def note(self, line: str) -> None:
        if not self.log or self.log[-1] != line:
            self.log.append(line)


class SimUpgrader:
    """Upgrades nodes of the embedded cluster through its node upgrade protocol."""

    def __init__(self, api: NodeApi, *, backoff: float = 0.2, max_backoff: float = 2.0) -> None:
        self.api = api
        self.backoff = backoff
        self.max_backoff = max_backoff

    @property
    def name(self) -> str:
        return NAME

    @staticmethod
    def _node_path(name: str) -> str:
        return f"/api/v1/nodes/{name}"

    def actions_for(self, target: Target, version: Version) -> list[str]:
        full = exact_version(version)
        patch = orjson.dumps({"metadata": {"annotations": {REQUEST: full}}}).decode()
        actions = [
            f"PATCH {self._node_path(target.name)} (merge) {patch}",
            f"WATCH /api/v1/nodes?fieldSelector=metadata.name={target.name} until {STATE}={DONE}, "
            f"kubeletVersion={full}, Ready=True",
        ]
        if target.role == CONTROL_PLANE:
            actions.append(
                f"GET /api/v1/namespaces/kube-system/pods/kube-apiserver-{target.name} until {full}"
            )
        return actions

    def upgrade(
        self,
        target: Target,
        version: Version,
        *,
        first_control_plane: bool = False,
        timeout: float,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> UpgradeResult:
        check_target(target)
        full = exact_version(version)
        actions = tuple(self.actions_for(target, version))
        if dry_run:
            return UpgradeResult(True, target.name, full, NAME, actions, dry_run=True)
        started = time.monotonic()
        wait = _Wait(started + timeout, cancel)

        def result(ok: bool, reason: str = "") -> UpgradeResult:
            return UpgradeResult(
                ok,
                target.name,
                full,
                NAME,
                actions,
                "\n".join(wait.log) + "\n",
                reason,
                duration=time.monotonic() - started,
            )

        for attempt in range(_WRITE_ATTEMPTS):
            try:
                self.api.patch(self._node_path(target.name), {"metadata": {"annotations": {REQUEST: full}}})
                break
            except Exception as err:  # the client's errors carry one-line messages
                if _code(err) == 404:
                    return result(False, f"there is no node {target.name}")
                # The patch sets one annotation and names no resourceVersion: a conflict or a server
                # error is passing, and sending it again is safe.
                if _code(err) not in _PASSING or attempt == _WRITE_ATTEMPTS - 1 or wait.stopped():
                    return result(False, f"cannot ask node {target.name} to upgrade: {err}")
                wait.sleep(min(self.backoff * 2**attempt, self.max_backoff))
        wait.note(f"asked node {target.name} to upgrade to {full}")
        ok, reason = self._wait_node(target.name, full, wait)
        if ok and target.role == CONTROL_PLANE:
            ok, reason = self._wait_apiserver(target.name, full, wait)
        return result(ok, reason)

    # ----- waiting

    def _stop_reason(self, wait: _Wait, what: str) -> str:
        if wait.cancel is not None and wait.cancel.is_set():
            return f"cancelled while waiting for {what}"
        seen = f" (last seen: {wait.log[-1]})" if wait.log else ""
        error = f"; last error: {wait.last_error}" if wait.last_error else ""
        return f"timed out waiting for {what}{seen}{error}"

    def _wait_node(self, name: str, version: str, wait: _Wait) -> tuple[bool, str]:
        what = f"node {name} to come back at {version}"
        delay = self.backoff
        while not wait.stopped():
            try:
                node = self.api.get(self._node_path(name))
                wait.note(node_summary(node))
                if node_upgraded(node, version):
                    return True, ""
                rv = str((node.get("metadata") or {}).get("resourceVersion") or "")
                seconds = max(1, min(math.ceil(wait.remaining()), 300))
                stream = self.api.watch(
                    "/api/v1/nodes", rv, {"fieldSelector": f"metadata.name={name}"}, timeout_seconds=seconds
                )
                with _closed_when_stopped(stream, wait):
                    for event in stream:
                        kind = event.get("type")
                        obj = event.get("object")
                        if kind == "ERROR" or not isinstance(obj, dict):
                            break  # e.g. 410 Gone: read the node again
                        if kind == "DELETED":
                            return False, f"node {name} was deleted while it upgraded"
                        if kind in ("ADDED", "MODIFIED"):
                            wait.note(node_summary(obj))
                            if node_upgraded(obj, version):
                                return True, ""
                delay = self.backoff
            except Exception as err:
                if _code(err) == 404:
                    return False, f"node {name} disappeared while it upgraded"
                wait.last_error = str(err)
                wait.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        return False, self._stop_reason(wait, what)

    def _wait_apiserver(self, name: str, version: str, wait: _Wait) -> tuple[bool, str]:
        """Until the node's kube-apiserver static pod runs `version` and is Ready (kubeadm clusters;
        a node without that pod has nothing to wait for)."""
        path = f"/api/v1/namespaces/kube-system/pods/kube-apiserver-{name}"
        what = f"kube-apiserver on {name} to run {version}"
        delay = self.backoff
        while not wait.stopped():
            try:
                pod = self.api.get(path)
            except Exception as err:
                if _code(err) == 404:
                    wait.note(f"no kube-apiserver static pod on {name}")
                    return True, ""
                wait.last_error = str(err)
            else:
                images = [str(c.get("image") or "") for c in (pod.get("spec") or {}).get("containers") or []]
                running = any(image.endswith(f":{version}") for image in images)
                wait.note(f"kube-apiserver-{name}: {', '.join(images)}, Ready={_ready(pod)}")
                if running and _ready(pod) == "True":
                    return True, ""
            wait.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        return False, self._stop_reason(wait, what)


@contextlib.contextmanager
def _closed_when_stopped(stream: EventStream, wait: _Wait) -> Iterator[None]:
    """Closes `stream` (waking the reader) at the deadline or when cancelled, and on the way out."""
    finished = threading.Event()

    def watchdog() -> None:
        while not finished.wait(min(0.2, max(0.0, wait.remaining()))):
            if wait.stopped():
                stream.close()
                return

    thread = threading.Thread(target=watchdog, name="sim upgrade watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        stream.close()
        thread.join()


# ----- surge and blue-green: nodes created like existing ones, and deleted

# Taints the node lifecycle controller and cordons set: a new node does not inherit them.
_STATE_TAINTS = (
    "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
)
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def node_like(like: Mapping[str, Any], name: str, version: str, zone: str = "") -> JSON:
    """A Node object for `name`, as a node group would bring up a machine like `like`: its labels
    (hostname and zone its own), its taints (not the ones cordons and outages set), its capacity and
    allocatable, its architecture and OS, and a kubelet at `version`. No addresses and no conditions:
    the kubelet registers those when it starts."""
    meta = like.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels[HOSTNAME_LABEL] = name
    if zone:
        labels[ZONE_LABEL] = zone
    spec = like.get("spec") or {}
    taints = [
        t for t in spec.get("taints") or () if isinstance(t, dict) and t.get("key") not in _STATE_TAINTS
    ]
    status = like.get("status") or {}
    info = {
        k: v
        for k, v in (status.get("nodeInfo") or {}).items()
        if k in ("architecture", "operatingSystem", "osImage", "containerRuntimeVersion", "kernelVersion")
    }
    info.update(kubeletVersion=version, kubeProxyVersion=version)
    node_status: JSON = {"nodeInfo": info}
    for key in ("capacity", "allocatable"):
        if status.get(key):
            node_status[key] = dict(status[key])
    body: JSON = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"upgrade.overhaul.io/created-like": str(meta.get("name") or "")},
        },
        "spec": {"taints": taints} if taints else {},
        "status": node_status,
    }
    return body


class NodeWriteApi(Protocol):
    """The requests that create and delete Nodes (`ApiClient` has them)."""

    def post(self, path: str, body: Any, params: Params | None = None) -> JSON: ...

    def delete(self, path: str, body: Any = None, params: Params | None = None) -> JSON: ...


class SimNodePool:
    """Creates Nodes like existing ones and deletes them, for surge and blue-green plans: the embedded
    cluster adopts a Node created through the API and runs it (its kubelet registers it). Implements
    `engine.apply.ports.NodePool`."""

    def __init__(self, api: NodeWriteApi) -> None:
        self.api = api

    def create_node_like(self, name: str, like: Mapping[str, Any], version: str, zone: str) -> None:
        exact = exact_version(Version.parse(version))
        try:
            self.api.post("/api/v1/nodes", node_like(like, name, exact, zone))
        except Exception as err:
            if _code(err) != 409:  # AlreadyExists: an earlier run created it
                raise

    def delete_node(self, name: str) -> None:
        try:
            self.api.delete(f"/api/v1/nodes/{name}")
        except Exception as err:
            if _code(err) != 404:
                raise

    def describe_create(self, name: str, like: str, version: str) -> str:
        return f"POST /api/v1/nodes {name} (like {like}: labels, taints, capacity, zone; kubelet {version})"

    def describe_delete(self, name: str) -> str:
        return f"DELETE /api/v1/nodes/{name}"
