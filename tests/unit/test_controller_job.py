"""The Job controller in virtual time: parallelism and completions, exact counting through the
tracking finalizer, back-off and backoffLimit, Indexed jobs, suspend, deadlines and TTL."""

from __future__ import annotations

from typing import Any

from overhaul.sim.controllers.job import TRACKING, format_indexes, parse_indexes
from overhaul.sim.controllers.podutil import is_active
from tests.unit.workloads import Env, container

JSONDict = dict[str, Any]


def job(name: str = "batch", **spec: Any) -> JSONDict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container("busybox:1.36")]}}, **spec},
    }


def active(env: Env) -> list[JSONDict]:
    return sorted(
        (p for p in env.pods("job-name=batch") if is_active(p)), key=lambda p: p["metadata"]["name"]
    )


def conditions(env: Env) -> dict[str, tuple[str, str]]:
    status = env.get("batch", "jobs", "batch")["status"]
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status.get("conditions") or []}


def finish(env: Env, pods: list[JSONDict], phase: str = "Succeeded") -> None:
    for pod in pods:
        env.set_phase(pod, phase)
    env.run(0.1)


def test_the_apiserver_generates_the_selector_and_labels() -> None:
    env = Env()
    created = env.create(job())
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = created["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "batch",
        "controller-uid": uid,
        "job-name": "batch",
    }
    assert created["metadata"]["labels"] == labels
    manual = job("manual", manualSelector=True, selector={"matchLabels": {"x": "y"}})
    manual["spec"]["template"]["metadata"] = {"labels": {"x": "y"}}
    assert env.create(manual)["spec"]["selector"] == {"matchLabels": {"x": "y"}}


def test_runs_to_completion_with_parallelism_and_counts_each_pod_once() -> None:
    env = Env()
    env.create(job(completions=3, parallelism=2))
    env.run(5)
    running = active(env)
    assert len(running) == 2
    for pod in running:
        assert TRACKING in pod["metadata"]["finalizers"]
        assert pod["metadata"]["name"].startswith("batch-")
    status = env.get("batch", "jobs", "batch")["status"]
    assert status["active"] == 2 and status["ready"] == 2 and "startTime" in status
    finish(env, running[:1])
    env.run(5)
    assert len(active(env)) == 2
    assert env.get("batch", "jobs", "batch")["status"]["succeeded"] == 1
    finish(env, active(env))
    env.run(5)
    status = env.get("batch", "jobs", "batch")["status"]
    assert status["succeeded"] == 3 and "active" not in status and "failed" not in status
    assert conditions(env) == {
        "SuccessCriteriaMet": ("True", "CompletionsReached"),
        "Complete": ("True", "CompletionsReached"),
    }
    assert status["completionTime"] and status["uncountedTerminatedPods"] == {}
    for pod in env.pods("job-name=batch"):
        assert TRACKING not in (pod["metadata"].get("finalizers") or [])
    assert [e["reason"] for e in env.list("", "events") if e["involvedObject"]["kind"] == "Job"] == [
        "Completed"
    ]


def test_failures_back_off_then_exhaust_the_backoff_limit() -> None:
    env = Env()
    env.create(job(backoffLimit=2))
    env.run(5)
    (first,) = active(env)
    finish(env, [first], "Failed")
    env.run(5)
    assert active(env) == []  # back-off: 10 s after the first failure
    env.run(6)
    (second,) = active(env)
    assert env.get("batch", "jobs", "batch")["status"]["failed"] == 1
    finish(env, [second], "Failed")
    env.run(15)
    assert active(env) == []  # 20 s after the second
    env.run(10)
    (third,) = active(env)
    finish(env, [third], "Failed")
    env.run(5)
    status = env.get("batch", "jobs", "batch")["status"]
    assert status["failed"] == 3
    assert conditions(env) == {
        "FailureTarget": ("True", "BackoffLimitExceeded"),
        "Failed": ("True", "BackoffLimitExceeded"),
    }
    assert "completionTime" not in status
    env.run(60)
    assert active(env) == []


def test_a_finished_failure_stops_the_other_active_pods() -> None:
    env = Env()
    env.create(job(completions=4, parallelism=3, backoffLimit=0))
    env.run(5)
    pods = active(env)
    finish(env, pods[:1], "Failed")
    env.run(5)
    assert active(env) == []
    status = env.get("batch", "jobs", "batch")["status"]
    assert status["failed"] == 3  # the stopped pods count as failed, as the real controller counts them
    assert conditions(env)["Failed"] == ("True", "BackoffLimitExceeded")


def test_indexed_jobs_give_each_pod_an_index() -> None:
    env = Env()
    env.create(job(completions=3, parallelism=3, completionMode="Indexed"))
    env.run(5)
    pods = active(env)
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == ["0", "1", "2"]
    for pod in pods:
        index = pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        assert pod["spec"]["hostname"] == f"batch-{index}"
        assert pod["metadata"]["name"].startswith(f"batch-{index}-")
    by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
    finish(env, [by_index["1"]], "Failed")
    finish(env, [by_index["0"], by_index["2"]])
    env.run(5)
    assert env.get("batch", "jobs", "batch")["status"]["completedIndexes"] == "0,2"
    env.run(15)
    (retry,) = active(env)
    assert retry["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1"
    finish(env, [retry])
    env.run(5)
    status = env.get("batch", "jobs", "batch")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3 and status["failed"] == 1
    assert conditions(env)["Complete"] == ("True", "CompletionsReached")


def test_index_ranges() -> None:
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert format_indexes(set()) == "" and parse_indexes("") == set()


def test_suspend_deletes_active_pods_without_counting_them_and_resume_restarts() -> None:
    env = Env()
    env.create(job(parallelism=2, completions=2))
    env.run(5)
    env.patch("batch", "jobs", "batch", lambda j: j["spec"].update(suspend=True))
    env.run(5)
    assert active(env) == []
    status = env.get("batch", "jobs", "batch")["status"]
    assert "failed" not in status
    assert conditions(env) == {"Suspended": ("True", "JobSuspended")}
    env.patch("batch", "jobs", "batch", lambda j: j["spec"].update(suspend=False))
    env.run(5)
    assert len(active(env)) == 2
    assert conditions(env) == {"Suspended": ("False", "JobResumed")}


def test_active_deadline_fails_the_job() -> None:
    env = Env()
    env.create(job(activeDeadlineSeconds=30))
    env.run(20)
    assert len(active(env)) == 1
    env.run(20)
    assert active(env) == []
    assert conditions(env)["Failed"] == ("True", "DeadlineExceeded")


def test_ttl_after_finished_deletes_the_job_and_its_pods() -> None:
    env = Env()
    env.create(job(ttlSecondsAfterFinished=30))
    env.run(5)
    finish(env, active(env))
    env.run(10)
    assert env.find("batch", "jobs", "batch") is not None
    env.run(30)
    assert env.find("batch", "jobs", "batch") is None
    assert env.pods("job-name=batch") == []


def test_deleting_a_running_job_removes_its_pods_and_their_finalizers() -> None:
    env = Env()
    env.create(job(parallelism=2, completions=2))
    env.run(5)
    env.delete("batch", "jobs", "batch", "Background")
    env.run(10)
    assert env.find("batch", "jobs", "batch") is None
    assert env.pods("job-name=batch") == []


def test_deleting_a_job_without_a_policy_orphans_its_pods_like_batch_v1() -> None:
    env = Env()
    env.create(job())
    env.run(5)
    env.delete("batch", "jobs", "batch")
    env.run(5)
    (pod,) = env.pods("job-name=batch")
    assert "ownerReferences" not in pod["metadata"]
    assert TRACKING not in (pod["metadata"].get("finalizers") or [])
