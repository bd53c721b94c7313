"""The Deployment controller in virtual time: rollouts within their surge and unavailability
budgets at every step, revisions, undo, Recreate, scaling, pausing, history and deadlines."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overhaul.sim.controllers import deploymentutil as du
from overhaul.sim.controllers.podutil import is_ready, is_terminating, scaled_value
from overhaul.sim.store import StorageKey, WatchEvent
from tests.unit.workloads import Env, deployment

JSONDict = dict[str, Any]


def rollout_status(d: JSONDict) -> str:
    """What `kubectl rollout status deployment/x` prints (polymorphichelpers.DeploymentStatusViewer)."""
    name, st_ = d["metadata"]["name"], d.get("status") or {}
    if d["metadata"]["generation"] > st_.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed..."
    cond = du.get_condition(st_, "Progressing")
    if cond is not None and cond.get("reason") == du.TIMED_OUT:
        return f'error: deployment "{name}" exceeded its progress deadline'
    replicas, updated = d["spec"]["replicas"], st_.get("updatedReplicas", 0)
    if updated < replicas:
        return f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated..."
    if st_.get("replicas", 0) > updated:
        pending = st_["replicas"] - updated
        return f"Waiting for rollout to finish: {pending} old replicas are pending termination..."
    if st_.get("availableReplicas", 0) < updated:
        available = st_.get("availableReplicas", 0)
        return f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
    return f'deployment "{name}" successfully rolled out'


def set_image(image: str) -> Any:
    def change(d: JSONDict) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return change


def replica_sets(env: Env, name: str = "web") -> list[JSONDict]:
    return sorted(env.list("apps", "replicasets", f"app={name}"), key=du.revision)


def live_pods(env: Env, name: str = "web") -> list[JSONDict]:
    return [p for p in env.pods(f"app={name}") if not is_terminating(p)]


def test_a_new_deployment_rolls_out_and_reports_like_kubectl_expects() -> None:
    env = Env()
    env.create(deployment("web", 3))
    env.run(10)
    d = env.get("apps", "deployments", "web")
    assert rollout_status(d) == 'deployment "web" successfully rolled out'
    assert d["metadata"]["annotations"][du.REVISION] == "1"
    (rs,) = replica_sets(env)
    pod_hash = rs["metadata"]["labels"][du.HASH_LABEL]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", du.HASH_LABEL: pod_hash}
    assert rs["metadata"]["annotations"] == {
        du.REVISION: "1",
        du.DESIRED_REPLICAS: "3",
        du.MAX_REPLICAS: "4",
    }
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = env.pods("app=web")
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{pod_hash}-")
        assert len(pod["metadata"]["name"]) == len(f"web-{pod_hash}-") + 5
        assert pod["metadata"]["labels"][du.HASH_LABEL] == pod_hash
    status = d["status"]
    assert {
        k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    } == {
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    assert "unavailableReplicas" not in status
    reasons = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert reasons == {
        "Available": ("True", du.MIN_AVAILABLE),
        "Progressing": ("True", du.NEW_RS_AVAILABLE),
    }
    events = [e["message"] for e in env.list("", "events") if e["reason"] == "ScalingReplicaSet"]
    assert events == [f"Scaled up replica set web-{pod_hash} from 0 to 3"]


def test_progressing_reasons_follow_the_rollout() -> None:
    env = Env()
    env.kubelet.ready_after = 5.0
    env.create(deployment("web", 2))
    env.run(0.1)
    cond = du.get_condition(env.get("apps", "deployments", "web")["status"], "Progressing")
    assert cond is not None and cond["reason"] in (du.NEW_RS_CREATED, du.RS_UPDATED)
    available = du.get_condition(env.get("apps", "deployments", "web")["status"], "Available")
    assert available is not None and (available["status"], available["reason"]) == (
        "False",
        du.MIN_UNAVAILABLE,
    )
    env.run(3)
    assert rollout_status(env.get("apps", "deployments", "web")).startswith("Waiting for rollout to finish")
    env.run(10)
    assert rollout_status(env.get("apps", "deployments", "web")) == 'deployment "web" successfully rolled out'


def test_set_image_rolls_within_budgets_and_records_revisions_with_change_cause() -> None:
    env = Env()
    env.create(deployment("web", 4))
    env.run(10)

    def change(d: JSONDict) -> None:
        set_image("nginx:1.26")(d)
        d["metadata"].setdefault("annotations", {})[du.CHANGE_CAUSE] = (
            "kubectl set image deployment/web app=nginx:1.26"
        )

    env.patch("apps", "deployments", "web", change)
    env.run(30)
    d = env.get("apps", "deployments", "web")
    assert rollout_status(d) == 'deployment "web" successfully rolled out'
    old, new = replica_sets(env)
    assert (du.revision(old), du.revision(new)) == (1, 2)
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 4
    assert new["metadata"]["annotations"][du.CHANGE_CAUSE].startswith("kubectl set image")
    assert du.CHANGE_CAUSE not in old["metadata"]["annotations"]
    assert d["metadata"]["annotations"][du.REVISION] == "2"
    assert {p["spec"]["containers"][0]["image"] for p in live_pods(env)} == {"nginx:1.26"}


def test_undo_reuses_the_old_replica_set_and_moves_its_revision_up() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    env.patch("apps", "deployments", "web", set_image("nginx:1.26"))
    env.run(20)
    first, second = replica_sets(env)
    # What `kubectl rollout undo` sends: the old ReplicaSet's template without the hash label.
    template = copy.deepcopy(first["spec"]["template"])
    del template["metadata"]["labels"][du.HASH_LABEL]
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(template=template))
    env.run(20)
    rss = replica_sets(env)
    assert [rs["metadata"]["name"] for rs in rss] == [second["metadata"]["name"], first["metadata"]["name"]]
    reused = rss[-1]
    assert reused["metadata"]["annotations"][du.REVISION] == "3"
    assert reused["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    assert reused["spec"]["replicas"] == 2 and rss[0]["spec"]["replicas"] == 0
    d = env.get("apps", "deployments", "web")
    assert d["metadata"]["annotations"][du.REVISION] == "3"
    assert rollout_status(d) == 'deployment "web" successfully rolled out'


def test_recreate_stops_every_old_pod_before_starting_new_ones() -> None:
    env = Env()
    env.create(deployment("web", 3, strategy={"type": "Recreate"}))
    env.run(10)
    seen_mixed = []

    def watch(key: StorageKey, event: WatchEvent) -> None:
        if key != ("", "pods"):
            return
        images = {p["spec"]["containers"][0]["image"] for p in env.pods("app=web")}
        if len(images) > 1:
            seen_mixed.append(images)

    env.cluster.store.listeners.append(watch)
    env.patch("apps", "deployments", "web", set_image("nginx:1.26"))
    env.run(20)
    assert not seen_mixed
    assert rollout_status(env.get("apps", "deployments", "web")) == 'deployment "web" successfully rolled out'
    assert [rs["spec"]["replicas"] for rs in replica_sets(env)] == [0, 3]


def test_scaling_mid_rollout_is_proportional() -> None:
    env = Env()
    env.create(
        deployment(
            "web",
            10,
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}},
        )
    )
    env.run(10)
    env.kubelet.hold = lambda pod: True  # new pods never start: the rollout stalls half-way
    env.patch("apps", "deployments", "web", set_image("nginx:1.26"))
    env.run(5)
    old, new = replica_sets(env)
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(replicas=20))
    env.run(1)
    old, new = replica_sets(env)
    # 13 of 13 allowed become 23 of 23: each keeps its share of the surge-inflated total.
    assert old["spec"]["replicas"] + new["spec"]["replicas"] == 23
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (14, 9)
    for rs in (old, new):
        assert rs["metadata"]["annotations"][du.DESIRED_REPLICAS] == "20"
        assert rs["metadata"]["annotations"][du.MAX_REPLICAS] == "23"


def test_scale_of_a_settled_deployment_resizes_its_replica_set() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(replicas=5))
    env.run(10)
    (rs,) = replica_sets(env)
    assert rs["spec"]["replicas"] == 5
    assert rs["metadata"]["annotations"][du.DESIRED_REPLICAS] == "5"
    assert len(live_pods(env)) == 5
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(replicas=1))
    env.run(10)
    assert len(live_pods(env)) == 1
    assert env.get("apps", "deployments", "web")["status"]["replicas"] == 1


def test_a_paused_deployment_does_not_roll_until_resumed() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(paused=True))
    env.run(1)
    cond = du.get_condition(env.get("apps", "deployments", "web")["status"], "Progressing")
    assert cond is not None and (cond["status"], cond["reason"]) == ("Unknown", du.PAUSED)
    env.patch("apps", "deployments", "web", set_image("nginx:1.26"))
    env.run(10)
    assert len(replica_sets(env)) == 1
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(paused=False))
    env.run(20)
    assert len(replica_sets(env)) == 2
    assert rollout_status(env.get("apps", "deployments", "web")) == 'deployment "web" successfully rolled out'


def test_revision_history_limit_deletes_the_oldest_unused_replica_sets() -> None:
    env = Env()
    env.create(deployment("web", 1, revisionHistoryLimit=2))
    env.run(5)
    for tag in ("1.26", "1.27", "1.28", "1.29"):
        env.patch("apps", "deployments", "web", set_image(f"nginx:{tag}"))
        env.run(10)
    assert [du.revision(rs) for rs in replica_sets(env)] == [3, 4, 5]


def test_progress_deadline_exceeded_when_pods_never_become_ready() -> None:
    env = Env()
    env.kubelet.hold = lambda pod: True
    env.create(deployment("web", 2, progressDeadlineSeconds=30))
    env.run(20)
    cond = du.get_condition(env.get("apps", "deployments", "web")["status"], "Progressing")
    assert cond is not None and cond["reason"] != du.TIMED_OUT
    env.run(20)
    d = env.get("apps", "deployments", "web")
    cond = du.get_condition(d["status"], "Progressing")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", du.TIMED_OUT)
    assert cond["message"].endswith("has timed out progressing.")
    assert rollout_status(d) == 'error: deployment "web" exceeded its progress deadline'


def test_min_ready_seconds_delays_availability() -> None:
    env = Env()
    env.create(deployment("web", 2, minReadySeconds=10))
    env.run(3)
    d = env.get("apps", "deployments", "web")
    assert d["status"].get("readyReplicas") == 2 and "availableReplicas" not in d["status"]
    env.run(15)
    assert env.get("apps", "deployments", "web")["status"]["availableReplicas"] == 2


def test_an_orphaned_replica_set_is_adopted_by_a_matching_deployment() -> None:
    env = Env()
    env.create(deployment("web", 2))
    env.run(10)
    env.delete("apps", "deployments", "web", "Orphan")
    env.run(2)
    (rs,) = replica_sets(env)
    assert "ownerReferences" not in rs["metadata"]
    assert len(live_pods(env)) == 2
    env.create(deployment("web", 2))
    env.run(5)
    (rs,) = replica_sets(env)
    assert (
        rs["metadata"]["ownerReferences"][0]["uid"]
        == env.get("apps", "deployments", "web")["metadata"]["uid"]
    )
    assert len(live_pods(env)) == 2


# ----- the rolling update's budgets, at every step ------------------------------------------------

budget = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas=st.integers(1, 7), surge=budget, unavailable=budget, ready_after=st.sampled_from([0.5, 1.0, 3.0])
)
def test_rolling_update_never_exceeds_surge_nor_drops_below_minimum_available(
    replicas: int, surge: Any, unavailable: Any, ready_after: float
) -> None:
    if scaled_value(surge, 100, True) == 0 and scaled_value(unavailable, 100, True) == 0:
        surge = 1  # the apiserver refuses both zero
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    env = Env()
    env.kubelet.ready_after = ready_after
    env.create(deployment("web", replicas, strategy=strategy))
    env.run(30)
    assert rollout_status(env.get("apps", "deployments", "web")) == 'deployment "web" successfully rolled out'
    max_surge, max_unavailable = du.resolve_fenceposts(surge, unavailable, replicas)
    max_unavailable = min(max_unavailable, replicas)
    violations: list[str] = []

    def check(key: StorageKey, event: WatchEvent) -> None:
        if key not in (("", "pods"), ("apps", "replicasets")):
            return
        rss = env.list("apps", "replicasets", "app=web")
        specs = sum(rs["spec"]["replicas"] for rs in rss)
        pods = live_pods(env)
        available = sum(1 for p in pods if is_ready(p))
        if specs > replicas + max_surge:
            violations.append(f"replica sets want {specs} > {replicas} + {max_surge}")
        if len(pods) > replicas + max_surge:
            violations.append(f"{len(pods)} pods > {replicas} + {max_surge}")
        if available < replicas - max_unavailable:
            violations.append(f"{available} available < {replicas} - {max_unavailable}")

    env.cluster.store.listeners.append(check)
    env.patch("apps", "deployments", "web", set_image("nginx:1.26"))
    env.run(120)
    assert not violations, violations[:5]
    assert rollout_status(env.get("apps", "deployments", "web")) == 'deployment "web" successfully rolled out'
    assert {p["spec"]["containers"][0]["image"] for p in live_pods(env)} == {"nginx:1.26"}
    assert len(live_pods(env)) == replicas


# ----- the arithmetic, as deployment_util.go computes it ---------------------------------------------


def test_fenceposts_round_surge_up_and_unavailable_down() -> None:
    assert du.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert du.resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert du.resolve_fenceposts(0, "10%", 5) == (0, 1)  # both zero would stall: one may be unavailable
    assert du.resolve_fenceposts(None, None, 4) == (0, 1)
    assert du.resolve_fenceposts(2, 1, 4) == (2, 1)


def test_new_replica_set_grows_into_the_surge_only() -> None:
    d = deployment(
        "web", 10, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 0}}
    )
    old = {"spec": {"replicas": 10}, "status": {"replicas": 10}}
    new = {"spec": {"replicas": 0}, "status": {}}
    assert du.new_rs_new_replicas(d, [old, new], new) == 3
    old_shrunk = {"spec": {"replicas": 8}, "status": {"replicas": 10}}  # its pods are not gone yet
    assert du.new_rs_new_replicas(d, [old_shrunk, {"spec": {"replicas": 3}}], {"spec": {"replicas": 3}}) == 3
    recreate = deployment("web", 10, strategy={"type": "Recreate"})
    assert du.new_rs_new_replicas(recreate, [old, new], new) == 10


def test_rollback_annotations_keep_the_revision_history() -> None:
    d = deployment("web", 2, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    d["metadata"]["annotations"] = {
        du.CHANGE_CAUSE: "undo",
        du.REVISION: "5",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    rs = {du.REVISION: "2", du.REVISION_HISTORY: "1"}
    out = du.new_rs_annotations(d, rs, 6, exists=True)
    assert out == {du.REVISION: "6", du.REVISION_HISTORY: "1,2", du.CHANGE_CAUSE: "undo"}
    created = du.new_rs_annotations(d, {}, 1, exists=False)
    assert created == {
        du.REVISION: "1",
        du.CHANGE_CAUSE: "undo",
        du.DESIRED_REPLICAS: "2",
        du.MAX_REPLICAS: "3",
    }


def test_proportions_follow_the_max_replicas_annotation() -> None:
    d = deployment(
        "web", 20, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    )
    rs = {"metadata": {"annotations": {du.MAX_REPLICAS: "13"}}, "spec": {"replicas": 8}}
    assert du.proportion(rs, d, 10, 0) == 6  # round(8 * 23 / 13) - 8
    assert du.proportion(rs, d, 10, 8) == 2  # never more than what is left to add
    shrink = deployment("web", 0)
    assert du.proportion(rs, shrink, -13, 0) == -8


def test_templates_compare_without_the_hash_label_and_empty_fields() -> None:
    a = {
        "metadata": {"labels": {"app": "web", du.HASH_LABEL: "abc"}},
        "spec": {"containers": [{"name": "c", "resources": {}}]},
    }
    b = {
        "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
        "spec": {"containers": [{"name": "c"}]},
    }
    assert du.equal_ignore_hash(a, b)
    b["spec"]["containers"][0]["image"] = "x"
    assert not du.equal_ignore_hash(a, b)
