"""Node upgrades as the sim kubelet carries them out, and the control plane's static pods and /version."""

from __future__ import annotations

from typing import Any

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import PATCH_MERGE, DeleteOptions, WriteOptions
from overhaul.sim.controlplane import ApiServers, image_for, kube_system_objects
from overhaul.sim.nodes import make_node, node_ip
from overhaul.sim.world import SimSettings, World

JSONDict = dict[str, Any]
REQUEST = "upgrade.overhaul.io/kubelet-version"
STATE = "upgrade.overhaul.io/state"


class Sim:
    def __init__(self, **settings: Any) -> None:
        settings.setdefault("pod_start_seconds", 1)
        settings.setdefault("pod_ready_seconds", 1)
        settings.setdefault("node_reboot_seconds", 30)
        self.world = World(SimSettings(**settings), clock=VirtualClock())
        self.cluster = self.world.cluster
        pods = self.cluster.registry.get("", "v1", "pods")
        nodes = self.cluster.registry.get("", "v1", "nodes")
        assert pods is not None and nodes is not None
        self.pods, self.nodes = pods, nodes

    def node(self, name: str, control_plane: bool = False, annotations: dict[str, str] | None = None) -> None:
        index = len(self.cluster.store.collection(("", "nodes")).items)
        obj = make_node(name, "v1.34.2", self.cluster.now(), node_ip(index), control_plane=control_plane)
        obj["metadata"]["annotations"].update(annotations or {})
        self.cluster.load(obj)

    def pod(self, name: str, **spec: Any) -> None:
        spec.setdefault("containers", [{"name": "app", "image": "nginx:1.25"}])
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
        self.cluster.create(self.pods, "default", body, WriteOptions.system("test"))

    def request(self, node: str, version: str) -> None:
        patch = {"metadata": {"annotations": {REQUEST: version}}}
        self.cluster.patch(self.nodes, None, node, PATCH_MERGE, patch, WriteOptions.system("overhaul"))

    def get_node(self, name: str) -> JSONDict:
        stored = self.cluster.store.get(("", "nodes"), None, name)
        assert stored is not None
        return stored.obj

    def get_pod(self, name: str, namespace: str = "default") -> JSONDict | None:
        stored = self.cluster.store.get(("", "pods"), namespace, name)
        return stored.obj if stored is not None else None

    def must_pod(self, name: str) -> JSONDict:
        pod = self.get_pod(name)
        assert pod is not None
        return pod

    def events(self, reason: str) -> list[JSONDict]:
        return [s.obj for s in self.cluster.store.list(("", "events"))[0] if s.obj["reason"] == reason]

    def served(self, times: int = 12) -> set[str]:
        return {self.cluster.served_version() for _ in range(times)}

    def run(self, seconds: float = 0.0) -> None:
        self.world.manager.run_for(seconds)


def ready(obj: JSONDict) -> JSONDict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def taints(node: JSONDict) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in node["spec"].get("taints") or []]


def test_worker_upgrade_goes_down_for_the_reboot_and_returns_with_the_new_kubelet() -> None:
    sim = Sim()
    sim.node("w1")
    sim.node("w2")
    sim.pod("pinned", nodeName="w1")
    sim.run(5)
    sim.request("w1", "v1.35.0")
    sim.run()
    node = sim.get_node("w1")
    assert node["metadata"]["annotations"][STATE] == "upgrading"
    cond = ready(node)
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert all(c["status"] == "Unknown" for c in node["status"]["conditions"])
    assert taints(node) == [
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    ]
    assert sim.get_pod("pinned") is None  # the reboot ended it
    assert [e["involvedObject"]["name"] for e in sim.events("UpgradeStarted")] == ["w1"]
    assert "v1.34.2 to v1.35.0" in sim.events("UpgradeStarted")[0]["message"]
    assert len(sim.events("NodeNotReady")) == 1
    # Meanwhile new pods go elsewhere.
    sim.pod("new")
    sim.run(1)
    assert sim.must_pod("new")["spec"]["nodeName"] == "w2"
    sim.run(28)
    assert ready(sim.get_node("w1"))["status"] == "Unknown"
    sim.run(1)
    node = sim.get_node("w1")
    assert ready(node)["status"] == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.0"
    assert node["status"]["nodeInfo"]["kubeProxyVersion"] == "v1.35.0"
    assert node["metadata"]["annotations"][STATE] == "done"
    assert taints(node) == []
    assert sim.events("Rebooted")[0]["type"] == "Warning"
    assert len(sim.events("UpgradeCompleted")) == 1


def test_reboot_seconds_annotation_overrides_the_setting() -> None:
    sim = Sim(node_reboot_seconds=300)
    sim.node("w1", annotations={"sim.overhaul.io/reboot-seconds": "5"})
    sim.run()
    sim.request("w1", "v1.35.0")
    sim.run(4.5)
    assert ready(sim.get_node("w1"))["status"] == "Unknown"
    sim.run(0.5)
    assert ready(sim.get_node("w1"))["status"] == "True"


def test_fail_upgrade_fault_never_brings_the_node_back() -> None:
    sim = Sim()
    sim.node("w1", annotations={"sim.overhaul.io/fail-upgrade": "true"})
    sim.run()
    sim.request("w1", "v1.35.0")
    sim.run(3600)
    node = sim.get_node("w1")
    assert ready(node)["status"] == "Unknown"
    assert node["metadata"]["annotations"][STATE] == "upgrading"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.2"


def test_requesting_the_running_version_is_done_at_once() -> None:
    sim = Sim()
    sim.node("w1")
    sim.run()
    sim.request("w1", "v1.34.2")
    sim.run()
    node = sim.get_node("w1")
    assert node["metadata"]["annotations"][STATE] == "done"
    assert ready(node)["status"] == "True"
    assert sim.events("UpgradeStarted") == []


def test_pods_bound_to_a_rebooting_node_start_when_it_returns() -> None:
    sim = Sim(node_reboot_seconds=10)
    sim.node("w1")
    sim.run()
    sim.request("w1", "v1.35.0")
    sim.run(1)
    sim.pod("daemon", nodeName="w1", tolerations=[{"operator": "Exists"}])
    sim.run(5)
    assert sim.must_pod("daemon")["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    sim.run(4)  # back at t=10, then the start and ready delays
    sim.run(2)
    assert ready(sim.must_pod("daemon"))["status"] == "True"


# ----- the control plane --------------------------------------------------------------------


def control_plane(count: int = 3) -> Sim:
    sim = Sim()
    for i in range(count):
        sim.node(f"cp-{i + 1}", control_plane=True)
    sim.node("w1")
    sim.run(5)
    return sim


def static_pod(sim: Sim, component: str, node: str) -> JSONDict:
    pod = sim.get_pod(f"{component}-{node}", "kube-system")
    assert pod is not None
    return pod


def test_control_plane_nodes_run_kubeadm_static_pods() -> None:
    sim = control_plane(1)
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pod = static_pod(sim, component, "cp-1")
        meta = pod["metadata"]
        assert meta["labels"] == {"component": component, "tier": "control-plane"}
        assert meta["annotations"]["kubernetes.io/config.source"] == "file"
        assert (
            meta["annotations"]["kubernetes.io/config.mirror"]
            == meta["annotations"]["kubernetes.io/config.hash"]
        )
        owner = meta["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("Node", "cp-1", True)
        assert owner["uid"] == sim.get_node("cp-1")["metadata"]["uid"]
        assert pod["spec"]["nodeName"] == "cp-1"
        assert pod["spec"]["priorityClassName"] == "system-node-critical"
        assert pod["status"]["podIP"] == pod["status"]["hostIP"] == "10.0.0.10"
        assert ready(pod)["status"] == "True"
    assert static_pod(sim, "kube-apiserver", "cp-1")["spec"]["containers"][0]["image"] == (
        "registry.k8s.io/kube-apiserver:v1.34.2"
    )
    assert static_pod(sim, "etcd", "cp-1")["spec"]["containers"][0]["image"] == "registry.k8s.io/etcd:3.6.5-0"
    assert sim.get_pod("kube-apiserver-w1", "kube-system") is None
    assert sim.served() == {"v1.34.2"}


def test_a_deleted_mirror_pod_comes_back() -> None:
    sim = control_plane(1)
    uid = static_pod(sim, "kube-scheduler", "cp-1")["metadata"]["uid"]
    sim.cluster.delete(sim.pods, "kube-system", "kube-scheduler-cp-1", DeleteOptions())
    sim.run(3)
    pod = static_pod(sim, "kube-scheduler", "cp-1")
    assert pod["metadata"]["uid"] != uid
    assert ready(pod)["status"] == "True"


def test_version_moves_as_control_plane_nodes_upgrade() -> None:
    sim = control_plane(3)
    assert sim.served() == {"v1.34.2"}
    sim.request("cp-1", "v1.35.0")
    sim.run(1)
    assert ready(static_pod(sim, "kube-apiserver", "cp-1"))["status"] == "False"
    assert sim.served() == {"v1.34.2"}
    sim.run(29)  # back at t=30: new static pods, started and ready 2 s later
    apiserver = static_pod(sim, "kube-apiserver", "cp-1")
    assert apiserver["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.35.0"
    assert static_pod(sim, "etcd", "cp-1")["spec"]["containers"][0]["image"] == image_for("etcd", "v1.35.0")
    assert image_for("etcd", "v1.35.0") == "registry.k8s.io/etcd:3.6.6-0"
    sim.run(2)
    assert ready(static_pod(sim, "kube-apiserver", "cp-1"))["status"] == "True"
    assert sim.served() == {"v1.34.2", "v1.35.0"}
    for node in ("cp-2", "cp-3"):
        sim.request(node, "v1.35.0")
        sim.run(40)
    assert sim.served() == {"v1.35.0"}
    assert sim.get_node("cp-3")["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.0"


def test_single_control_plane_keeps_answering_while_it_reboots() -> None:
    sim = control_plane(1)
    sim.request("cp-1", "v1.35.0")
    sim.run(1)
    assert sim.served() == {"v1.34.2"}
    sim.run(40)
    assert sim.served() == {"v1.35.0"}


def test_served_version_rotates_over_ready_apiservers_only() -> None:
    servers = ApiServers("v1.30.0")
    assert servers.served_version() == "v1.30.0"
    servers.observe("a", "v1.34.2", True)
    servers.observe("b", "v1.35.0", True)
    servers.observe("c", "v1.36.0", False)
    seen = [servers.served_version() for _ in range(4)]
    assert set(seen) == {"v1.34.2", "v1.35.0"}
    assert seen[0] != seen[1]
    servers.forget("a")
    servers.forget("b")
    assert servers.served_version() == "v1.36.0"


def test_kube_system_add_ons_follow_the_version() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kube_system_objects("v1.34.2")}
    proxy = objects[("DaemonSet", "kube-proxy")]
    assert proxy["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-proxy:v1.34.2"
    assert proxy["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]
    assert ("DaemonSet", "kindnet") in objects
    dns = objects[("Deployment", "coredns")]
    assert (
        dns["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/coredns/coredns:v1.12.1"
    )
    assert objects[("Service", "kube-dns")]["spec"]["clusterIP"] == "10.96.0.10"
    sim = Sim()
    for obj in kube_system_objects("v1.34.2"):
        sim.cluster.load(obj)  # they load as a scenario would


def test_mirror_pods_of_a_loaded_snapshot_are_adopted() -> None:
    sim = Sim()
    sim.node("cp-1", control_plane=True)
    now = sim.cluster.now()
    sim.cluster.load(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "kube-apiserver-cp-1",
                "namespace": "kube-system",
                "labels": {"component": "kube-apiserver", "tier": "control-plane"},
                "annotations": {
                    "kubernetes.io/config.mirror": "0123abcd",
                    "kubernetes.io/config.source": "file",
                },
            },
            "spec": {
                "nodeName": "cp-1",
                "hostNetwork": True,
                "containers": [{"name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v1.33.5"}],
            },
            "status": {
                "phase": "Running",
                "startTime": now,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                "containerStatuses": [
                    {"name": "kube-apiserver", "ready": True, "restartCount": 0, "state": {"running": {}}}
                ],
            },
        }
    )
    uid = static_pod(sim, "kube-apiserver", "cp-1")["metadata"]["uid"]
    sim.run(5)
    assert static_pod(sim, "kube-apiserver", "cp-1")["metadata"]["uid"] == uid
    assert static_pod(sim, "kube-scheduler", "cp-1")["spec"]["containers"][0]["image"] == (
        "registry.k8s.io/kube-scheduler:v1.33.5"
    )
    assert sim.served() == {"v1.33.5"}
