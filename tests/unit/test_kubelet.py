"""Simulated kubelets in virtual time: pod start-up, readiness, crash loops, completion, deletion."""

from __future__ import annotations

from typing import Any

import pytest

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import DeleteOptions, WriteOptions
from overhaul.sim.controllers.podips import NodeAddresses, PodCIDRs
from overhaul.sim.controllers.podruntime import go_duration, image_id, normalize_image
from overhaul.sim.nodes import make_node, node_ip
from overhaul.sim.store import StorageKey, WatchEvent
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]
PODS: StorageKey = ("", "pods")


class Sim:
    def __init__(self, **settings: Any) -> None:
        self.world = World(SimSettings(**settings), clock=VirtualClock())
        self.cluster = self.world.cluster
        pods = self.cluster.registry.get("", "v1", "pods")
        nodes = self.cluster.registry.get("", "v1", "nodes")
        assert pods is not None and nodes is not None
        self.pods, self.nodes = pods, nodes
        self.writes: list[tuple[str, str, JSONDict]] = []
        self.cluster.store.listeners.append(self._record)

    def _record(self, key: StorageKey, event: WatchEvent) -> None:
        if key == PODS:
            meta = event.stored.obj["metadata"]
            self.writes.append((event.type, meta["name"], event.stored.obj))

    def node(self, name: str, ready: bool = True, **kw: Any) -> None:
        index = len(self.cluster.store.collection(("", "nodes")).items)
        obj = make_node(name, "v1.34.2", self.cluster.now(), node_ip(index), **kw)
        if not ready:
            for c in obj["status"]["conditions"]:
                if c["type"] == "Ready":
                    c.update(status="False", reason="KubeletNotReady")
        self.cluster.load(obj)

    def pod(
        self,
        name: str,
        image: str = "nginx:1.25",
        annotations: dict[str, str] | None = None,
        **spec: Any,
    ) -> None:
        spec.setdefault("containers", [{"name": "app", "image": image}])
        meta: JSONDict = {"name": name, "namespace": "default"}
        if annotations:
            meta["annotations"] = annotations
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        self.cluster.create(self.pods, "default", body, WriteOptions.system("test"))

    def get(self, name: str, namespace: str = "default") -> JSONDict | None:
        stored = self.cluster.store.get(PODS, namespace, name)
        return stored.obj if stored is not None else None

    def must(self, name: str, namespace: str = "default") -> JSONDict:
        obj = self.get(name, namespace)
        assert obj is not None, f"pod {name} is gone"
        return obj

    def run(self, seconds: float = 0.0) -> None:
        self.world.manager.run_for(seconds)


def cond(obj: JSONDict, kind: str) -> JSONDict:
    found = [c for c in obj["status"].get("conditions") or [] if c["type"] == kind]
    assert len(found) == 1, f"no {kind} condition"
    return found[0]


def container(obj: JSONDict, index: int = 0) -> JSONDict:
    statuses: list[JSONDict] = obj["status"]["containerStatuses"]
    return statuses[index]


def test_pod_goes_through_creating_running_and_ready_with_the_settings_delays() -> None:
    sim = Sim(pod_start_seconds=2, pod_ready_seconds=3)
    sim.node("w1")
    sim.pod("web")
    sim.run()
    pod = sim.must("web")
    assert pod["spec"]["nodeName"] == "w1"
    assert pod["status"]["phase"] == "Pending"
    assert container(pod)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert cond(pod, "PodReadyToStartContainers")["status"] == "False"
    assert pod["status"]["hostIP"] == "10.0.0.10"
    assert pod["status"]["hostIPs"] == [{"ip": "10.0.0.10"}]
    assert "startTime" in pod["status"]
    assert "podIP" not in pod["status"]
    sim.run(1.9)
    assert sim.must("web")["status"]["phase"] == "Pending"
    sim.run(0.1)
    pod = sim.must("web")
    status = container(pod)
    assert pod["status"]["phase"] == "Running"
    assert (status["started"], status["ready"], status["restartCount"]) == (True, False, 0)
    assert "running" in status["state"]
    assert status["image"] == "docker.io/library/nginx:1.25"
    assert status["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert status["containerID"].startswith("containerd://")
    assert pod["status"]["podIP"].startswith("10.244.")
    assert pod["status"]["podIPs"] == [{"ip": pod["status"]["podIP"]}]
    ready = cond(pod, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [app]"
    sim.run(2.9)
    assert cond(sim.must("web"), "Ready")["status"] == "False"
    sim.run(0.1)
    pod = sim.must("web")
    assert [(c["type"], c["status"]) for c in pod["status"]["conditions"]] == [
        ("PodReadyToStartContainers", "True"),
        ("Initialized", "True"),
        ("Ready", "True"),
        ("ContainersReady", "True"),
        ("PodScheduled", "True"),
    ]
    assert all(c["lastTransitionTime"] and c["lastProbeTime"] is None for c in pod["status"]["conditions"])
    assert container(pod)["ready"] is True


def test_zero_delays_go_from_pending_to_running_and_ready_in_one_status_write() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("web")
    sim.run(10)
    writes = [obj for kind, name, obj in sim.writes if name == "web"]
    assert len(writes) == 3  # created, bound, started
    assert writes[1]["spec"]["nodeName"] == "w1"
    assert writes[2]["status"]["phase"] == "Running"
    assert cond(writes[2], "Ready")["status"] == "True"


def test_start_seconds_annotation_overrides_the_setting() -> None:
    sim = Sim(pod_start_seconds=1, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("slow", annotations={"sim.overhaul.io/start-seconds": "10"})
    sim.run(9.5)
    assert sim.must("slow")["status"]["phase"] == "Pending"
    sim.run(0.5)
    assert cond(sim.must("slow"), "Ready")["status"] == "True"


def test_crashloop_restarts_with_growing_back_off() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("crash", image="registry.example/app:1.0-crashloop")
    sim.run()
    assert container(sim.must("crash"))["state"].keys() == {"running"}
    sim.run(1)  # first exit: restarted at once
    status = container(sim.must("crash"))
    assert status["restartCount"] == 1
    assert "running" in status["state"]
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert status["lastState"]["terminated"]["exitCode"] == 1
    # Each later exit (1 s after a start) waits 10 s, 20 s, 40 s… before the next start.
    t = 1.0
    for restarts, backoff in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (7, 300)):
        sim.run(1)
        t += 1
        pod = sim.must("crash")
        status = container(pod)
        assert pod["status"]["phase"] == "Running"
        assert status["restartCount"] == restarts
        assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        message = status["state"]["waiting"]["message"]
        uid = pod["metadata"]["uid"]
        assert message == (
            f"back-off {go_duration(backoff)} restarting failed container=app pod=crash_default({uid})"
        )
        assert status["ready"] is False and status["started"] is False
        assert cond(pod, "Ready")["status"] == "False"
        sim.run(backoff - 0.5)
        assert "waiting" in container(sim.must("crash"))["state"]
        sim.run(0.5)
        t += backoff
        status = container(sim.must("crash"))
        assert "running" in status["state"], t
        assert status["restartCount"] == restarts + 1


def test_back_off_durations_print_as_go_does() -> None:
    assert [go_duration(s) for s in (10, 20, 40, 80, 160, 300)] == [
        "10s",
        "20s",
        "40s",
        "1m20s",
        "2m40s",
        "5m0s",
    ]


def test_unready_image_runs_but_never_becomes_ready() -> None:
    sim = Sim()
    sim.node("w1")
    sim.pod("lame", image="app:2-unready")
    sim.run(600)
    pod = sim.must("lame")
    assert pod["status"]["phase"] == "Running"
    assert container(pod)["started"] is True
    assert container(pod)["ready"] is False
    assert cond(pod, "Ready")["reason"] == "ContainersNotReady"


@pytest.mark.parametrize(
    ("image", "annotations", "policy", "phase", "seconds"),
    [
        ("job:1-complete", {}, "Never", "Succeeded", 1),
        ("busybox", {"sim.overhaul.io/run-seconds": "3"}, "Never", "Succeeded", 3),
        ("busybox", {"sim.overhaul.io/run-seconds": "3"}, "OnFailure", "Succeeded", 3),
        ("job:1-fail", {}, "Never", "Failed", 1),
        ("job:1-fail", {"sim.overhaul.io/run-seconds": "5"}, "Never", "Failed", 5),
    ],
)
def test_run_to_completion_pods_finish(
    image: str, annotations: dict[str, str], policy: str, phase: str, seconds: float
) -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("job", image=image, annotations=annotations, restartPolicy=policy)
    sim.run(seconds - 0.5)
    assert sim.must("job")["status"]["phase"] == "Running"
    sim.run(0.5)
    pod = sim.must("job")
    assert pod["status"]["phase"] == phase
    terminated = container(pod)["state"]["terminated"]
    assert terminated["exitCode"] == (0 if phase == "Succeeded" else 1)
    assert terminated["reason"] == ("Completed" if phase == "Succeeded" else "Error")
    reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
    assert (cond(pod, "Ready")["status"], cond(pod, "Ready")["reason"]) == ("False", reason)
    assert cond(pod, "PodReadyToStartContainers")["status"] == "False"
    before = pod["metadata"]["resourceVersion"]
    sim.run(100)
    assert sim.must("job")["metadata"]["resourceVersion"] == before


def test_on_failure_restarts_a_failing_container() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("job", image="job:1-fail", restartPolicy="OnFailure")
    sim.run(2)
    pod = sim.must("job")
    assert pod["status"]["phase"] == "Running"
    assert container(pod)["restartCount"] == 1
    assert container(pod)["state"]["waiting"]["reason"] == "CrashLoopBackOff"


@pytest.mark.parametrize(
    ("grace", "stop", "gone_after"),
    [(30, None, 1.0), (5, "60", 5.0), (30, "10", 10.0), (0, None, 0.0)],
)
def test_graceful_deletion_takes_the_shorter_of_grace_and_stop_time(
    grace: int, stop: str | None, gone_after: float
) -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0, pod_stop_seconds=1)
    sim.node("w1")
    sim.pod("web", annotations={"sim.overhaul.io/stop-seconds": stop} if stop else None)
    sim.run(5)
    sim.cluster.delete(sim.pods, "default", "web", DeleteOptions(grace_period_seconds=grace))
    if gone_after:
        sim.run(gone_after - 0.25)
        pod = sim.must("web")
        assert pod["metadata"]["deletionTimestamp"]
        assert pod["metadata"]["deletionGracePeriodSeconds"] == grace
        sim.run(0.25)
    else:
        sim.run()
    assert sim.get("web") is None


def test_a_shorter_second_grace_period_hastens_the_stop() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0, pod_stop_seconds=1)
    sim.node("w1")
    sim.pod("web", annotations={"sim.overhaul.io/stop-seconds": "100"})
    sim.run(1)
    sim.cluster.delete(sim.pods, "default", "web", DeleteOptions(grace_period_seconds=60))
    sim.run(10)
    sim.cluster.delete(sim.pods, "default", "web", DeleteOptions(grace_period_seconds=5))
    sim.run(4.5)
    assert sim.get("web") is not None
    sim.run(0.5)
    assert sim.get("web") is None


def test_pods_on_a_not_ready_node_do_not_progress_until_it_is_back() -> None:
    sim = Sim(pod_start_seconds=1, pod_ready_seconds=0)
    sim.node("w1", ready=False)
    sim.pod("stuck", nodeName="w1")
    sim.run(60)
    pod = sim.must("stuck")
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    sim.cluster.delete(sim.pods, "default", "stuck", DeleteOptions())
    sim.run(60)
    assert sim.get("stuck") is not None  # nobody confirms the deletion either
    node = sim.cluster.store.get(("", "nodes"), None, "w1")
    assert node is not None
    status = dict(node.obj["status"])
    status["conditions"] = [
        {**c, "status": "True", "reason": "KubeletReady"} if c["type"] == "Ready" else c
        for c in status["conditions"]
    ]
    sim.cluster.write_status(sim.nodes, node, status, "test")
    sim.run(1)
    assert sim.get("stuck") is None


def test_pending_pod_on_a_returning_node_starts() -> None:
    sim = Sim(pod_start_seconds=1, pod_ready_seconds=0)
    sim.node("w1", ready=False)
    sim.pod("waiting", nodeName="w1")
    sim.run(10)
    node = sim.cluster.store.get(("", "nodes"), None, "w1")
    assert node is not None
    status = dict(node.obj["status"])
    status["conditions"] = [
        {**c, "status": "True"} if c["type"] == "Ready" else c for c in status["conditions"]
    ]
    sim.cluster.write_status(sim.nodes, node, status, "test")
    sim.run(1)
    assert cond(sim.must("waiting"), "Ready")["status"] == "True"


def test_pod_ips_come_from_the_node_cidr_and_host_network_uses_the_node_ip() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("a", nodeName="w1")
    sim.pod("b", nodeName="w1")
    sim.pod("host", nodeName="w1", hostNetwork=True)
    sim.run()
    node = sim.cluster.store.get(("", "nodes"), None, "w1")
    assert node is not None
    cidr = node.obj["spec"]["podCIDR"]
    assert node.obj["spec"]["podCIDRs"] == [cidr]
    prefix = cidr.rsplit(".", 1)[0] + "."
    ips = {sim.must(n)["status"]["podIP"] for n in ("a", "b")}
    assert len(ips) == 2 and all(ip.startswith(prefix) for ip in ips)
    assert sim.must("host")["status"]["podIP"] == "10.0.0.10"


def test_address_allocators_hand_out_distinct_values() -> None:
    cidrs = PodCIDRs()
    assert cidrs.allocate() == "10.244.0.0/24"
    cidrs.claim("10.244.1.0/24")
    assert cidrs.allocate() == "10.244.2.0/24"
    assert len({cidrs.allocate() for _ in range(5000)}) == 5000
    addresses = NodeAddresses("10.244.7.0/24", in_use=["10.244.7.2"])
    first = addresses.allocate()
    assert first == "10.244.7.3"
    addresses.release("10.244.7.2")
    got = {addresses.allocate() for _ in range(252)}
    assert len(got) == 252 and "10.244.7.1" not in got and "10.244.7.255" not in got


def test_image_references_are_normalized_as_the_runtime_reports_them() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("bitnami/redis:7") == "docker.io/bitnami/redis:7"
    assert normalize_image("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert normalize_image("localhost:5000/app:1") == "localhost:5000/app:1"
    assert image_id("nginx:1.25").startswith("docker.io/library/nginx@sha256:")


def test_node_created_without_status_is_registered_by_its_kubelet() -> None:
    sim = Sim()
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "added", "labels": {"team": "a"}}}
    sim.cluster.create(sim.nodes, None, body, WriteOptions.system("kubectl"))
    sim.run()
    node = sim.cluster.store.get(("", "nodes"), None, "added")
    assert node is not None
    status = node.obj["status"]
    assert cond(node.obj, "Ready")["status"] == "True"
    assert status["nodeInfo"]["kubeletVersion"] == "v1.34.2"
    assert status["allocatable"]["pods"] == "110"
    assert any(a["type"] == "InternalIP" for a in status["addresses"])
    assert node.obj["spec"]["podCIDR"].endswith("/24")
    sim.pod("web")
    sim.run(5)
    assert sim.must("web")["spec"]["nodeName"] == "added"
    assert cond(sim.must("web"), "Ready")["status"] == "True"


def test_loaded_running_pods_are_adopted_without_a_write() -> None:
    sim = Sim()
    sim.node("w1")
    now = sim.cluster.now()
    running = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "old", "namespace": "default"},
        "spec": {"nodeName": "w1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.244.9.9",
            "startTime": now,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
            "containerStatuses": [
                {"name": "app", "ready": True, "started": True, "restartCount": 0, "state": {"running": {}}}
            ],
        },
    }
    sim.cluster.load(running)
    before = sim.must("old")["metadata"]["resourceVersion"]
    sim.run(60)
    assert sim.must("old")["metadata"]["resourceVersion"] == before


def test_init_containers_hold_the_pod_in_initializing() -> None:
    sim = Sim(pod_start_seconds=2, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod(
        "init",
        initContainers=[{"name": "setup", "image": "busybox"}],
        containers=[{"name": "app", "image": "nginx"}],
    )
    sim.run()
    pod = sim.must("init")
    initialized = cond(pod, "Initialized")
    assert (initialized["status"], initialized["reason"]) == ("False", "ContainersNotInitialized")
    assert initialized["message"] == "containers with incomplete status: [setup]"
    assert pod["status"]["initContainerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert container(pod)["state"] == {"waiting": {"reason": "PodInitializing"}}
    sim.run(2)
    pod = sim.must("init")
    assert cond(pod, "Initialized")["status"] == "True"
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert cond(pod, "Ready")["status"] == "True"


def test_readiness_gates_hold_ready_and_other_conditions_are_kept() -> None:
    sim = Sim(pod_start_seconds=0, pod_ready_seconds=0)
    sim.node("w1")
    sim.pod("gated", readinessGates=[{"conditionType": "example.com/lb"}])
    sim.run()
    pod = sim.must("gated")
    ready = cond(pod, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady")
    assert cond(pod, "ContainersReady")["status"] == "True"
    # Another writer sets the gate's condition: the kubelet keeps it and turns the pod Ready.
    stored = sim.cluster.store.get(PODS, "default", "gated")
    assert stored is not None
    status = dict(stored.obj["status"])
    status["conditions"] = [*status["conditions"], {"type": "example.com/lb", "status": "True"}]
    sim.cluster.write_status(sim.pods, stored, status, "lb-controller")
    sim.run()
    pod = sim.must("gated")
    assert cond(pod, "Ready")["status"] == "True"
    assert cond(pod, "example.com/lb")["status"] == "True"
