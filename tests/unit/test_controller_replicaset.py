"""The ReplicaSet controller in virtual time: pods from the template, adoption and release,
which pods a scale-down removes, and status."""

from __future__ import annotations

from typing import Any

from overhaul.sim.controllers.podutil import deletion_order, is_terminating
from tests.unit.workloads import Env, container

JSONDict = dict[str, Any]


def replica_set(name: str, replicas: int, **spec: Any) -> JSONDict:
    labels = {"app": name, "pod-template-hash": "abc12"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container()]}},
            **spec,
        },
    }


def pod(name: str, labels: dict[str, str], **status: Any) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [container()]},
        **({"status": status} if status else {}),
    }


def live(env: Env, selector: str = "app=rs") -> list[JSONDict]:
    return [p for p in env.pods(selector) if not is_terminating(p)]


def test_creates_named_labelled_owned_pods_and_reports_status() -> None:
    env = Env()
    rs = env.create(replica_set("rs", 3))
    env.run(5)
    pods = live(env)
    assert len(pods) == 3
    for p in pods:
        assert p["metadata"]["name"].startswith("rs-") and len(p["metadata"]["name"]) == len("rs-") + 5
        assert p["metadata"]["labels"] == {"app": "rs", "pod-template-hash": "abc12"}
        (ref,) = p["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "rs",
            "uid": rs["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    assert env.get("apps", "replicasets", "rs")["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }


def test_status_omits_zero_counts_while_pods_start() -> None:
    env = Env()
    env.kubelet.hold = lambda p: True
    env.create(replica_set("rs", 2))
    env.run(1)
    assert env.get("apps", "replicasets", "rs")["status"] == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "observedGeneration": 1,
    }


def test_replaces_deleted_and_finished_pods() -> None:
    env = Env()
    env.create(replica_set("rs", 2))
    env.run(5)
    first, second = live(env)
    env.delete("", "pods", first["metadata"]["name"])
    env.set_phase(second, "Failed")
    env.run(5)
    names = {p["metadata"]["name"] for p in live(env) if p["status"]["phase"] == "Running"}
    assert len(names) == 2 and first["metadata"]["name"] not in names
    assert env.get("apps", "replicasets", "rs")["status"]["replicas"] == 2


def test_adopts_matching_orphans_instead_of_creating() -> None:
    env = Env()
    labels = {"app": "rs", "pod-template-hash": "abc12"}
    env.create(pod("orphan-1", labels))
    env.create(pod("other", {"app": "other"}))
    rs = env.create(replica_set("rs", 2))
    env.run(5)
    adopted = env.get("", "pods", "orphan-1")
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    assert "ownerReferences" not in env.get("", "pods", "other")["metadata"]
    assert len(live(env)) == 2


def test_releases_a_pod_whose_labels_stop_matching() -> None:
    env = Env()
    env.create(replica_set("rs", 2))
    env.run(5)
    victim = live(env)[0]["metadata"]["name"]
    env.patch("", "pods", victim, lambda p: p["metadata"]["labels"].update(app="debug"))
    env.run(5)
    released = env.get("", "pods", victim)
    assert "ownerReferences" not in released["metadata"]
    assert len(live(env)) == 2  # a replacement took its place


def test_scale_down_removes_unscheduled_then_not_ready_then_newest() -> None:
    env = Env()
    env.create(replica_set("rs", 3))
    env.run(5)
    ready = sorted(live(env), key=lambda p: p["metadata"]["creationTimestamp"])
    env.kubelet.hold = lambda p: True
    env.patch("apps", "replicasets", "rs", lambda r: r["spec"].update(replicas=4))
    env.run(1)
    (pending,) = [p for p in live(env) if p["status"]["phase"] == "Pending"]
    env.patch("apps", "replicasets", "rs", lambda r: r["spec"].update(replicas=2))
    env.run(1)
    names = {p["metadata"]["name"] for p in live(env)}
    assert pending["metadata"]["name"] not in names
    assert len(names) == 2
    assert names <= {p["metadata"]["name"] for p in ready}


def test_deletion_order_ranks_like_active_pods_with_ranks() -> None:
    def p(
        name: str,
        node: str = "n1",
        phase: str = "Running",
        ready: bool = True,
        created: str = "2024-01-01T00:00:00Z",
        since: str = "2024-01-01T00:00:10Z",
        cost: str | None = None,
    ) -> JSONDict:
        meta: JSONDict = {"name": name, "creationTimestamp": created}
        if cost is not None:
            meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": cost}
        return {
            "metadata": meta,
            "spec": {"nodeName": node},
            "status": {
                "phase": phase,
                "conditions": [
                    {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}
                ],
            },
        }

    pods = [
        p("old-ready", created="2024-01-01T00:00:00Z"),
        p("new-ready", created="2024-01-02T00:00:00Z", since="2024-01-02T00:00:10Z"),
        p("cheap", cost="-10", created="2023-01-01T00:00:00Z"),
        p("not-ready", ready=False),
        p("pending", phase="Pending", ready=False),
        p("unscheduled", node="", phase="Pending", ready=False),
    ]
    order = [x["metadata"]["name"] for x in deletion_order(pods)]
    assert order == ["unscheduled", "pending", "not-ready", "cheap", "new-ready", "old-ready"]


def test_fully_labeled_counts_pods_carrying_every_template_label() -> None:
    env = Env()
    spec = replica_set("rs", 2)
    spec["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    env.create(spec)
    env.run(5)
    victim = live(env)[0]["metadata"]["name"]
    env.patch("", "pods", victim, lambda p: p["metadata"]["labels"].pop("tier"))
    env.run(1)
    status = env.get("apps", "replicasets", "rs")["status"]
    assert status["replicas"] == 2 and status["fullyLabeledReplicas"] == 1


def test_min_ready_seconds_delays_available_replicas() -> None:
    env = Env()
    env.create(replica_set("rs", 2, minReadySeconds=20))
    env.run(5)
    status = env.get("apps", "replicasets", "rs")["status"]
    assert status["readyReplicas"] == 2 and "availableReplicas" not in status
    env.run(20)
    assert env.get("apps", "replicasets", "rs")["status"]["availableReplicas"] == 2


def test_large_scale_up_is_done_in_bursts() -> None:
    env = Env()
    env.kubelet.hold = lambda p: True
    env.create(replica_set("rs", 1200))
    env.run(1)
    assert len(env.pods("app=rs")) == 1200
    assert env.get("apps", "replicasets", "rs")["status"]["replicas"] == 1200
