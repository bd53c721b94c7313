"""API objects to ClusterView values: the item converters and the view's look-ups."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from overhaul.domain.cluster import ClusterView, OwnerRef, Resources, ServerVersion, Taint, Toleration
from overhaul.domain.convert import (
    ViewBuilder,
    api_usage,
    crd_view,
    namespace_view,
    node_view,
    pdb_view,
    pod_requests,
    pod_view,
    served_resources,
    server_version,
    usage_from_json,
    usage_to_json,
    workload_view,
)
from overhaul.domain.version import Version

MI = 2**20
GI = 2**30

NODE: dict[str, Any] = {
    "metadata": {
        "name": "cp-1",
        "uid": "n-1",
        "creationTimestamp": "2026-01-02T03:04:05Z",
        "labels": {
            "kubernetes.io/hostname": "cp-1",
            "node-role.kubernetes.io/control-plane": "",
            "topology.kubernetes.io/zone": "eu-west-1a",
            "topology.kubernetes.io/region": "eu-west-1",
        },
    },
    "spec": {
        "unschedulable": True,
        "taints": [
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
            {
                "key": "node.kubernetes.io/unschedulable",
                "effect": "NoSchedule",
                "timeAdded": "2026-01-02T03:04:05Z",
            },
        ],
    },
    "status": {
        "capacity": {"cpu": "4", "memory": "16393016Ki", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110", "ephemeral-storage": "94500Mi"},
        "conditions": [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
            },
        ],
        "addresses": [
            {"type": "Hostname", "address": "cp-1"},
            {"type": "InternalIP", "address": "10.0.0.10"},
        ],
        "nodeInfo": {
            "kubeletVersion": "v1.33.4",
            "kubeProxyVersion": "v1.33.4",
            "containerRuntimeVersion": "containerd://1.7.24",
        },
    },
}

POD: dict[str, Any] = {
    "metadata": {
        "name": "web-7d4b9c-abcde",
        "namespace": "shop",
        "uid": "p-1",
        "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
        "annotations": {"kubernetes.io/config.mirror": "abc"},
        "ownerReferences": [
            {"apiVersion": "v1", "kind": "Foo", "name": "not-the-controller", "uid": "x"},
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-7d4b9c",
                "uid": "rs-1",
                "controller": True,
            },
        ],
        "deletionTimestamp": "2026-01-02T03:05:00Z",
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1"}],
    },
    "spec": {
        "nodeName": "worker-1",
        "priority": 1000,
        "priorityClassName": "high",
        "terminationGracePeriodSeconds": 45,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-1"]}]},
                    ]
                }
            }
        },
        "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "web"}}],
        "initContainers": [
            {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}},
            {
                "name": "proxy",
                "restartPolicy": "Always",
                "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}},
            },
            {"name": "warm", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
        ],
        "containers": [
            {
                "name": "app",
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"}},
            },
            {"name": "log", "resources": {"limits": {"cpu": "1"}}},
        ],
        "overhead": {"cpu": "10m", "memory": "8Mi"},
    },
    "status": {
        "phase": "Running",
        "startTime": "2026-01-02T03:04:05Z",
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
        "initContainerStatuses": [
            {"name": "migrate", "restartCount": 1, "state": {"terminated": {"exitCode": 0}}}
        ],
        "containerStatuses": [
            {"name": "app", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            {"name": "log", "restartCount": 0, "state": {"running": {}}},
        ],
    },
}


def test_node_view() -> None:
    node = node_view(NODE)
    assert node.name == "cp-1"
    assert node.ready
    assert node.control_plane
    assert node.roles == ("control-plane",)
    assert node.zone == "eu-west-1a"
    assert node.region == "eu-west-1"
    assert node.unschedulable
    assert node.taints[0] == Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")
    assert node.kubelet_version == "v1.33.4"
    assert node.kubelet == Version(1, 33, 4)
    assert node.kube_proxy == Version(1, 33, 4)
    assert node.allocatable == Resources(3800, 15 * GI, 94500 * MI)
    assert node.capacity.memory_bytes == 16393016 * 1024
    assert node.allocatable_pods == 110
    assert node.internal_ip == "10.0.0.10"
    assert node.created == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    memory = node.condition("MemoryPressure")
    assert memory is not None and memory.status == "False"


def test_a_node_without_a_ready_condition_is_not_ready() -> None:
    node = node_view(
        {"metadata": {"name": "new"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
    )
    assert not node.ready
    assert not node_view({"metadata": {"name": "bare"}}).ready
    assert node_view({"metadata": {"name": "bare"}}).zone is None


def test_pod_view() -> None:
    pod = pod_view(POD)
    assert (pod.namespace, pod.name, pod.uid, pod.node_name) == (
        "shop",
        "web-7d4b9c-abcde",
        "p-1",
        "worker-1",
    )
    assert pod.key == "shop/web-7d4b9c-abcde"
    assert pod.phase == "Running"
    assert not pod.ready
    assert pod.owner == OwnerRef("ReplicaSet", "web-7d4b9c", "rs-1")
    assert not pod.daemonset
    assert pod.mirror
    assert pod.has_empty_dir
    assert pod.restart_count == 4
    assert pod.waiting_reason == "CrashLoopBackOff"
    assert pod.start_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert pod.terminating
    assert pod.priority == 1000
    assert pod.priority_class == "high"
    assert pod.termination_grace_seconds == 45
    assert pod.node_selector == {"kubernetes.io/os": "linux"}
    assert pod.tolerations == (
        Toleration("node.kubernetes.io/not-ready", "Exists", "", "NoExecute", 300),
        Toleration("dedicated", "Equal", "web", "NoSchedule", None),
    )
    assert pod.required_node_affinity == (
        ((("zone", "In", ("a", "b")),), ()),
        ((), (("metadata.name", "In", ("worker-1",)),)),
    )


def test_pod_requests_count_as_the_scheduler_counts() -> None:
    # containers: 250m + 0 (limits only, no requests) = 250m cpu, 256Mi memory, 1Gi ephemeral.
    # sidecar "proxy" (restartPolicy Always) adds 100m / 32Mi to the running pod: 350m / 288Mi.
    # init peaks: "migrate" alone 2 cpu / 64Mi; "warm" with the sidecar 600m / 1Gi+32Mi.
    # max per resource: 2000m cpu, 1Gi+32Mi memory; then the overhead: +10m, +8Mi.
    assert pod_requests(POD["spec"]) == Resources(2010, GI + 32 * MI + 8 * MI, GI)


def test_pod_level_requests_stand_for_cpu_and_memory() -> None:
    spec = {
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "ephemeral-storage": "1Gi"}}}],
    }
    assert pod_requests(spec) == Resources(1000, GI, GI)


def test_a_bare_pending_pod() -> None:
    pod = pod_view(
        {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}}
    )
    assert pod.phase == "Pending"
    assert pod.node_name == ""
    assert pod.owner is None
    assert pod.requests == Resources()
    assert not pod.ready and not pod.mirror and not pod.has_empty_dir and not pod.terminating


def test_daemonset_pods_and_finished_pods() -> None:
    obj = copy.deepcopy(POD)
    obj["metadata"]["ownerReferences"] = [{"kind": "DaemonSet", "name": "ds", "uid": "d", "controller": True}]
    obj["status"]["phase"] = "Succeeded"
    pod = pod_view(obj)
    assert pod.daemonset
    assert pod.finished


def test_workload_views() -> None:
    deployment = workload_view(
        {
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "d-1", "generation": 3},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1},
                },
            },
            "status": {
                "observedGeneration": 2,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "updatedReplicas": 1,
            },
        }
    )
    assert (deployment.kind, deployment.replicas, deployment.ready_replicas) == ("Deployment", 3, 2)
    assert (deployment.available_replicas, deployment.updated_replicas) == (2, 1)
    assert deployment.selector == {"matchLabels": {"app": "web"}}
    assert (deployment.max_unavailable, deployment.max_surge) == ("25%", 1)
    assert not deployment.up_to_date

    statefulset = workload_view(
        {
            "metadata": {"name": "db", "namespace": "shop", "uid": "s-1"},
            "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}},
            "status": {"readyReplicas": 1},
        },
        kind="StatefulSet",
    )
    assert statefulset.kind == "StatefulSet"
    assert statefulset.replicas == 1  # spec.replicas defaults to 1
    assert statefulset.partition == 2

    daemonset = workload_view(
        {
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-1"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}},
            "status": {
                "desiredNumberScheduled": 12,
                "numberReady": 11,
                "numberAvailable": 10,
                "updatedNumberScheduled": 9,
            },
        }
    )
    assert (daemonset.replicas, daemonset.ready_replicas, daemonset.available_replicas) == (12, 11, 10)
    assert daemonset.updated_replicas == 9
    assert daemonset.strategy == "RollingUpdate"

    job = workload_view(
        {
            "kind": "Job",
            "metadata": {
                "name": "report-1",
                "namespace": "batch",
                "uid": "j-1",
                "ownerReferences": [{"kind": "CronJob", "name": "report", "uid": "cj", "controller": True}],
            },
            "spec": {"parallelism": 2, "completions": 5},
            "status": {"active": 2, "ready": 1, "succeeded": 3, "failed": 1},
        }
    )
    assert (job.replicas, job.available_replicas, job.ready_replicas) == (2, 2, 1)
    assert (job.completions, job.succeeded, job.failed) == (5, 3, 1)
    assert job.owner == OwnerRef("CronJob", "report", "cj")


def test_pdb_view() -> None:
    pdb = pdb_view(
        {
            "metadata": {"name": "web", "namespace": "shop", "uid": "pdb-1", "generation": 2},
            "spec": {
                "minAvailable": "50%",
                "selector": {"matchLabels": {"app": "web"}},
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
            "status": {
                "currentHealthy": 3,
                "desiredHealthy": 2,
                "disruptionsAllowed": 1,
                "expectedPods": 3,
                "observedGeneration": 1,
            },
        }
    )
    assert pdb.min_available == "50%"
    assert pdb.max_unavailable is None
    assert pdb.unhealthy_pod_eviction_policy == "AlwaysAllow"
    assert (pdb.current_healthy, pdb.desired_healthy, pdb.disruptions_allowed, pdb.expected_pods) == (
        3,
        2,
        1,
        3,
    )
    assert not pdb.status_current
    nil = pdb_view({"metadata": {"name": "n", "namespace": "x"}, "spec": {"maxUnavailable": 0}})
    assert nil.selector is None
    assert nil.max_unavailable == 0


def test_namespace_and_crd_views() -> None:
    ns = namespace_view(
        {
            "metadata": {"name": "old", "uid": "ns-1", "deletionTimestamp": "2026-01-02T03:04:05Z"},
            "status": {"phase": "Terminating"},
        }
    )
    assert ns.terminating
    crd = crd_view(
        {
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
                "versions": [
                    {
                        "name": "v1beta1",
                        "served": True,
                        "storage": False,
                        "deprecated": True,
                        "deprecationWarning": "use v1",
                    },
                    {"name": "v1", "served": True, "storage": True},
                ],
            },
            "status": {"storedVersions": ["v1beta1", "v1"]},
        }
    )
    assert crd.group == "example.com"
    assert crd.names.kind == "Widget" and crd.names.short_names == ("wd",)
    assert crd.storage_version == "v1"
    assert crd.served_versions == ("v1beta1", "v1")
    assert crd.versions[0].deprecated and crd.versions[0].deprecation_warning == "use v1"
    assert crd.stored_versions == ("v1beta1", "v1")


def test_api_usage_from_last_applied_and_managed_fields() -> None:
    applied = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "legacy"}}
    obj = {
        "metadata": {
            "name": "legacy",
            "namespace": "batch",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": orjson.dumps(applied).decode()
            },
            "managedFields": [
                {
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "apiVersion": "extensions/v1beta1",
                    "time": "2021-03-02T10:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {}},
                },
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1"},
            ],
        }
    }
    usage = api_usage(obj, "apps/v1", "Deployment")
    assert usage is not None
    assert (usage.ref.api_version, usage.ref.kind, usage.ref.namespace, usage.ref.name) == (
        "apps/v1",
        "Deployment",
        "batch",
        "legacy",
    )
    assert usage.last_applied_api_version == "extensions/v1beta1"
    assert [tuple(m) for m in usage.managed_fields] == [
        ("kubectl-client-side-apply", "Update", "extensions/v1beta1", "2021-03-02T10:00:00Z"),
        ("kube-controller-manager", "Update", "apps/v1", None),
    ]
    assert usage.api_versions == {"extensions/v1beta1", "apps/v1"}
    assert usage_from_json(orjson.loads(orjson.dumps(usage_to_json(usage)))) == usage
    assert api_usage({"metadata": {"name": "plain"}}) is None
    broken = {
        "metadata": {"name": "b", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{"}}
    }
    assert api_usage(broken) is None


def test_server_version_and_discovery() -> None:
    server = server_version(
        {"major": "1", "minor": "34", "gitVersion": "v1.34.2-eks-1", "platform": "linux/amd64"}
    )
    assert server.version == Version(1, 34, 2)
    resources = served_resources(
        "apps/v1",
        {
            "resources": [
                {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["get", "list"]},
                {"name": "deployments/scale", "kind": "Scale", "namespaced": True, "verbs": ["get"]},
            ]
        },
    )
    assert len(resources) == 1
    assert resources[0].group_version == "apps/v1" and resources[0].listable
    core = served_resources("v1", {"resources": [{"name": "pods", "kind": "Pod", "verbs": ["list"]}]})
    assert core[0].group == "" and core[0].group_version == "v1"


def _pod(name: str, node: str, labels: dict[str, str], owner: tuple[str, str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}", "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}]
    return {"kind": "Pod", "metadata": meta, "spec": {"nodeName": node}, "status": {"phase": "Running"}}


def _cluster() -> ClusterView:
    builder = ViewBuilder()
    builder.add({"metadata": {"name": "worker-1"}}, "Node")
    builder.add({"metadata": {"name": "worker-2"}}, "Node")
    builder.add(
        {
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "dep"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
        }
    )
    builder.add(
        {
            "kind": "ReplicaSet",
            "metadata": {
                "name": "web-1",
                "namespace": "shop",
                "uid": "rs",
                "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "dep", "controller": True}],
            },
        }
    )
    builder.add(_pod("web-1-a", "worker-1", {"app": "web"}, ("ReplicaSet", "web-1", "rs")))
    builder.add(_pod("web-1-b", "worker-2", {"app": "web"}, ("ReplicaSet", "web-1", "rs")))
    builder.add(_pod("orphan", "worker-1", {"app": "tool"}, None))
    builder.add(_pod("stale", "worker-2", {"app": "x"}, ("ReplicaSet", "web-1", "recreated-uid")))
    for name, spec in (
        ("web", {"selector": {"matchLabels": {"app": "web"}}}),
        ("all", {"selector": {}}),
        ("none", {}),
    ):
        builder.add(
            {"kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}
        )
    assert not builder.add({"kind": "ConfigMap", "metadata": {"name": "ignored"}})
    return builder.build(ServerVersion("1", "34", "v1.34.2"))


def test_cluster_view_lookups() -> None:
    view = _cluster()
    assert [p.name for p in view.pods_on("worker-1")] == ["web-1-a", "orphan"]
    assert view.pods_on("nowhere") == ()
    assert view.node("worker-2") is not None and view.node("x") is None
    web_a = view.pod("shop", "web-1-a")
    assert web_a is not None
    assert [w.name for w in view.owner_chain(web_a)] == ["web-1", "web"]
    top = view.top_controller(web_a)
    assert top is not None and top.kind == "Deployment"
    orphan = view.pod("shop", "orphan")
    assert orphan is not None and view.owner_chain(orphan) == ()
    stale = view.pod("shop", "stale")
    assert stale is not None and view.owner_chain(stale) == ()  # same name, another uid: owner gone
    deployment = view.workload("Deployment", "shop", "web")
    assert deployment is not None
    assert {p.name for p in view.pods_of(deployment)} == {"web-1-a", "web-1-b"}
    assert {p.name for p in view.pdbs_for(web_a)} == {"web", "all"}  # nil selects none, {} all
    assert {p.name for p in view.pdbs_for(orphan)} == {"all"}
    assert len(view.pdbs_in("shop")) == 3
    web_pdb = next(p for p in view.pdbs if p.name == "web")
    assert {p.name for p in view.pods_for(web_pdb)} == {"web-1-a", "web-1-b"}
    assert view.kubelet_versions() == {"": 2}


def test_the_builder_shares_identical_small_values() -> None:
    builder = ViewBuilder()
    for i in range(3):
        obj = copy.deepcopy(POD)
        obj["metadata"]["name"] = f"web-{i}"
        builder.add(obj, "Pod")
    first, second = builder.pods[0], builder.pods[1]
    assert first.labels is second.labels
    assert first.tolerations is second.tolerations
    assert first.requests is second.requests
    assert first.owner is second.owner


@given(
    st.lists(
        st.fixed_dictionaries(
            {"cpu": st.integers(0, 4000), "memory": st.integers(0, 4096), "sidecar": st.booleans()}
        ),
        max_size=4,
    ),
    st.lists(
        st.fixed_dictionaries({"cpu": st.integers(0, 4000), "memory": st.integers(0, 4096)}), max_size=4
    ),
)
def test_requests_cover_every_container_that_runs_at_once(
    inits: list[dict[str, Any]], containers: list[dict[str, Any]]
) -> None:
    def container(c: dict[str, Any], sidecar: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resources": {"requests": {"cpu": f"{c['cpu']}m", "memory": f"{c['memory']}Mi"}}
        }
        if sidecar:
            out["restartPolicy"] = "Always"
        return out

    spec = {
        "initContainers": [container(c, c["sidecar"]) for c in inits],
        "containers": [container(c) for c in containers],
    }
    total = pod_requests(spec)
    sidecars = [c for c in inits if c["sidecar"]]
    running_cpu = sum(c["cpu"] for c in containers) + sum(c["cpu"] for c in sidecars)
    running_memory = sum(c["memory"] for c in containers) + sum(c["memory"] for c in sidecars)
    assert total.cpu_milli >= running_cpu and total.memory_bytes >= running_memory * MI
    for i, init in enumerate(inits):
        before = sum(c["cpu"] for c in inits[:i] if c["sidecar"])
        if not init["sidecar"]:
            assert total.cpu_milli >= init["cpu"] + before
    if not inits:
        assert total == Resources(running_cpu, running_memory * MI, 0)
