"""The StatefulSet controller in virtual time: ordinals and identity, ordered and parallel
management, claims, ControllerRevisions, RollingUpdate with a partition, OnDelete."""

from __future__ import annotations

from typing import Any

from overhaul.sim.controllers.podutil import is_ready, is_terminating
from overhaul.sim.controllers.statefulset import POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL
from overhaul.sim.store import StorageKey, WatchEvent
from tests.unit.workloads import Env, container

JSONDict = dict[str, Any]


def statefulset(name: str = "db", replicas: int = 3, image: str = "db:1", **spec: Any) -> JSONDict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(image)]}},
            **spec,
        },
    }


def set_image(image: str) -> Any:
    def change(s: JSONDict) -> None:
        s["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return change


def live(env: Env) -> dict[str, JSONDict]:
    return {p["metadata"]["name"]: p for p in env.pods("app=db") if not is_terminating(p)}


class Journal:
    """Pod creations and deletions in order, with the Ready pods at each moment."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.entries: list[tuple[str, str, set[str]]] = []
        env.cluster.store.listeners.append(self.record)

    def record(self, key: StorageKey, event: WatchEvent) -> None:
        if key != ("", "pods"):
            return
        pod = event.stored.obj
        ready = {
            p["metadata"]["name"] for p in self.env.pods("app=db") if is_ready(p) and not is_terminating(p)
        }
        if event.type == "ADDED":
            self.entries.append(("create", pod["metadata"]["name"], ready))
        elif (
            event.type == "MODIFIED"
            and is_terminating(pod)
            and not (event.old or {}).get("metadata", {}).get("deletionTimestamp")
        ):
            self.entries.append(("delete", pod["metadata"]["name"], ready))

    def names(self, action: str) -> list[str]:
        return [name for a, name, _ in self.entries if a == action]


def test_pods_get_ordinal_names_identity_and_claims() -> None:
    env = Env()
    claim = {
        "metadata": {"name": "data", "labels": {"tier": "storage"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    env.create(statefulset(volumeClaimTemplates=[claim]))
    env.run(20)
    pods = live(env)
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    sts = env.get("apps", "statefulsets", "db")
    revision = sts["status"]["updateRevision"]
    assert revision.startswith("db-")
    for i in range(3):
        p = pods[f"db-{i}"]
        assert p["spec"]["hostname"] == f"db-{i}" and p["spec"]["subdomain"] == "db"
        labels = p["metadata"]["labels"]
        assert labels[POD_NAME_LABEL] == f"db-{i}" and labels[POD_INDEX_LABEL] == str(i)
        assert labels[REVISION_LABEL] == revision
        volume = next(v for v in p["spec"]["volumes"] if v["name"] == "data")
        assert volume == {"name": "data", "persistentVolumeClaim": {"claimName": f"data-db-{i}"}}
        pvc = env.get("", "persistentvolumeclaims", f"data-db-{i}")
        assert pvc["status"] == {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"},
        }
        assert pvc["metadata"]["labels"] == {"tier": "storage", "app": "db"}
    assert sts["status"] == {
        "observedGeneration": 1,
        "replicas": 3,
        "readyReplicas": 3,
        "currentReplicas": 3,
        "updatedReplicas": 3,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
        "availableReplicas": 3,
    }
    (cr,) = env.list("apps", "controllerrevisions")
    assert cr["metadata"]["name"] == revision and cr["revision"] == 1
    assert cr["data"]["spec"]["template"]["$patch"] == "replace"
    assert cr["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"


def test_ordered_ready_creates_one_at_a_time_and_removes_in_reverse() -> None:
    env = Env()
    journal = Journal(env)
    env.create(statefulset(replicas=3))
    env.run(20)
    creates = [(name, ready) for a, name, ready in journal.entries if a == "create"]
    assert [name for name, _ in creates] == ["db-0", "db-1", "db-2"]
    for i, (_, ready) in enumerate(creates):
        assert ready == {f"db-{j}" for j in range(i)}  # every lower ordinal was Ready first
    env.patch("apps", "statefulsets", "db", lambda s: s["spec"].update(replicas=0))
    env.run(20)
    assert journal.names("delete") == ["db-2", "db-1", "db-0"]
    assert live(env) == {}


def test_ordered_ready_waits_for_an_unready_pod() -> None:
    env = Env()
    env.kubelet.hold = lambda p: p["metadata"]["name"] == "db-1"
    env.create(statefulset(replicas=3))
    env.run(30)
    assert sorted(live(env)) == ["db-0", "db-1"]


def test_parallel_creates_and_deletes_all_at_once() -> None:
    env = Env()
    env.kubelet.hold = lambda p: True
    env.create(statefulset(replicas=4, podManagementPolicy="Parallel"))
    env.run(0.1)
    assert sorted(live(env)) == ["db-0", "db-1", "db-2", "db-3"]
    env.patch("apps", "statefulsets", "db", lambda s: s["spec"].update(replicas=1))
    env.run(0.1)
    assert sorted(live(env)) == ["db-0"]


def test_rolling_update_goes_from_the_highest_ordinal_down_one_at_a_time() -> None:
    env = Env()
    env.create(statefulset(replicas=3))
    env.run(20)
    old = env.get("apps", "statefulsets", "db")["status"]["currentRevision"]
    journal = Journal(env)
    env.patch("apps", "statefulsets", "db", set_image("db:2"))
    env.run(30)
    assert journal.names("delete") == ["db-2", "db-1", "db-0"]
    for action, _name, ready in journal.entries:
        if action == "delete":
            assert ready == {"db-0", "db-1", "db-2"} - {_name}  # never more than one pod down
    status = env.get("apps", "statefulsets", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"] != old
    assert status["updatedReplicas"] == status["currentReplicas"] == 3
    assert {p["spec"]["containers"][0]["image"] for p in live(env).values()} == {"db:2"}
    revisions = sorted(env.list("apps", "controllerrevisions"), key=lambda r: r["revision"])
    assert [(r["metadata"]["name"], r["revision"]) for r in revisions] == [
        (old, 1),
        (status["updateRevision"], 2),
    ]


def test_partition_keeps_lower_ordinals_on_the_old_revision() -> None:
    env = Env()
    env.create(
        statefulset(replicas=4, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    )
    env.run(30)
    env.patch("apps", "statefulsets", "db", set_image("db:2"))
    env.run(30)
    images = {name: p["spec"]["containers"][0]["image"] for name, p in live(env).items()}
    assert images == {"db-0": "db:1", "db-1": "db:1", "db-2": "db:2", "db-3": "db:2"}
    status = env.get("apps", "statefulsets", "db")["status"]
    assert status["updatedReplicas"] == 2 and status["currentReplicas"] == 2
    assert status["currentRevision"] != status["updateRevision"]
    # A pod below the partition that is deleted comes back at the old revision.
    env.delete("", "pods", "db-0")
    env.run(10)
    assert live(env)["db-0"]["spec"]["containers"][0]["image"] == "db:1"
    env.patch(
        "apps",
        "statefulsets",
        "db",
        lambda s: s["spec"]["updateStrategy"]["rollingUpdate"].update(partition=0),
    )
    env.run(30)
    status = env.get("apps", "statefulsets", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 4


def test_on_delete_updates_only_pods_that_are_deleted() -> None:
    env = Env()
    env.create(statefulset(replicas=2, updateStrategy={"type": "OnDelete"}))
    env.run(20)
    env.patch("apps", "statefulsets", "db", set_image("db:2"))
    env.run(20)
    assert {p["spec"]["containers"][0]["image"] for p in live(env).values()} == {"db:1"}
    env.delete("", "pods", "db-1")
    env.run(20)
    images = {name: p["spec"]["containers"][0]["image"] for name, p in live(env).items()}
    assert images == {"db-0": "db:1", "db-1": "db:2"}
    assert env.get("apps", "statefulsets", "db")["status"]["updatedReplicas"] == 1


def test_returning_to_an_old_template_renumbers_its_revision() -> None:
    env = Env()
    env.create(statefulset(replicas=1))
    env.run(10)
    env.patch("apps", "statefulsets", "db", set_image("db:2"))
    env.run(20)
    env.patch("apps", "statefulsets", "db", set_image("db:1"))
    env.run(20)
    revisions = sorted(env.list("apps", "controllerrevisions"), key=lambda r: r["revision"])
    assert len(revisions) == 2
    assert revisions[-1]["revision"] == 3
    assert revisions[-1]["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == "db:1"
    status = env.get("apps", "statefulsets", "db")["status"]
    assert status["updateRevision"] == revisions[-1]["metadata"]["name"]


def test_claims_follow_the_retention_policy() -> None:
    env = Env()
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    env.create(
        statefulset(
            replicas=2,
            volumeClaimTemplates=[claim],
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"},
        )
    )
    env.run(20)
    env.patch("apps", "statefulsets", "db", lambda s: s["spec"].update(replicas=1))
    env.run(20)
    assert [p["metadata"]["name"] for p in env.list("", "persistentvolumeclaims")] == ["data-db-0"]
    env.delete("apps", "statefulsets", "db", "Background")
    env.run(20)
    assert env.list("", "persistentvolumeclaims") == []
