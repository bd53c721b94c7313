"""A pod's containers in simulated time, and the status a kubelet reports for them.

What a container does is read from the pod, so that tests and scenarios can ask for it:
- an image tag ending `-crashloop` exits 1 after the run time and is restarted with back-off;
- `-fail` exits 1, `-complete` exits 0, after the run time (`sim.overhaul.io/run-seconds`, default 1);
  the annotation alone makes every container exit 0 after that many seconds;
- `-unready` runs but never becomes Ready.
Exits follow the restartPolicy: Always restarts, OnFailure restarts after a non-zero exit, Never
leaves the container terminated; the pod is Succeeded or Failed when no container will run again.
Restarts follow the kubelet's back-off: the first is immediate, then 10 s, 20 s, 40 s… up to 300 s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from overhaul.sim.clock import parse_rfc3339, rfc3339

JSONDict = dict[str, Any]

START_SECONDS = "sim.overhaul.io/start-seconds"
READY_SECONDS = "sim.overhaul.io/ready-seconds"
STOP_SECONDS = "sim.overhaul.io/stop-seconds"
RUN_SECONDS = "sim.overhaul.io/run-seconds"
DEFAULT_RUN_SECONDS = 1.0
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
OWN_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@dataclass(frozen=True, slots=True)
class Timings:
    start: float  # accepted → containers running
    ready: float  # running → ready
    stop: float  # a container's stop time (capped by the grace period)


def annotation_seconds(pod: JSONDict, key: str, default: float) -> float:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    if raw is None:
        return default
    try:
        return max(0.0, float(raw))
    except (TypeError, ValueError):
        return default


def pod_timings(pod: JSONDict, start: float, ready: float, stop: float) -> Timings:
    return Timings(
        annotation_seconds(pod, START_SECONDS, start),
        annotation_seconds(pod, READY_SECONDS, ready),
        annotation_seconds(pod, STOP_SECONDS, stop),
    )


# ----- images -------------------------------------------------------------------------------


def image_tag(image: str) -> str:
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.partition(":")[2]


@lru_cache(maxsize=4096)  # a few images, reported for every container of every pod
def normalize_image(image: str) -> str:
    """The image reference as the runtime reports it (docker.io/library/nginx:latest for nginx)."""
    name = image
    last = name.rsplit("/", 1)[-1]
    if "@" not in name and ":" not in last:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        return "docker.io/library/" + name
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + name
    return name


@lru_cache(maxsize=4096)
def image_id(image: str) -> str:
    repo = normalize_image(image).split("@", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo = repo[: len(repo) - len(last)] + last.partition(":")[0]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_id(uid: str, name: str, instance: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{instance}".encode()).hexdigest()


# ----- the model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    name: str
    image: str
    exit_after: float | None = None  # None: runs until stopped
    exit_code: int = 0
    never_ready: bool = False
    sidecar: bool = False


def _plan(container: JSONDict, run_seconds: float | None, sidecar: bool = False) -> ContainerPlan:
    name, image = str(container.get("name") or ""), str(container.get("image") or "")
    tag = image_tag(image)
    after = run_seconds if run_seconds is not None else DEFAULT_RUN_SECONDS
    if tag.endswith("-crashloop") or tag.endswith("-fail"):
        return ContainerPlan(name, image, after, 1, sidecar=sidecar)
    if tag.endswith("-complete"):
        return ContainerPlan(name, image, after, 0, sidecar=sidecar)
    if tag.endswith("-unready"):
        return ContainerPlan(name, image, never_ready=True, sidecar=sidecar)
    if run_seconds is not None and not sidecar:
        return ContainerPlan(name, image, run_seconds, 0)
    return ContainerPlan(name, image, sidecar=sidecar)


@dataclass(slots=True)
class ContainerRun:
    plan: ContainerPlan
    started: float | None = None  # the running instance's start
    ready: bool = False
    restarts: int = 0
    exits: int = 0
    backoff_until: float | None = None
    backoff: float = 0.0
    last: JSONDict | None = None  # lastState.terminated
    final: JSONDict | None = None  # state.terminated once it will not run again


@dataclass(slots=True)
class PodRun:
    """One pod on its node: what its containers do, in simulated seconds since the epoch."""

    uid: str
    accepted: float
    start_at: float
    ready_delay: float
    restart_policy: str
    containers: list[ContainerRun]  # sidecars first, then the app containers
    init_names: tuple[str, ...]  # run-to-completion init containers (done while the pod is created)
    init_images: tuple[str, ...]
    host_ip: str
    pod_ip: str
    changed: bool = True  # something to report since the last status write
    due: float | None = None  # the moment a timer is already set for
    ref: str = ""  # name_namespace(uid), as the kubelet names a pod in messages

    def app_containers(self) -> list[ContainerRun]:
        return [c for c in self.containers if not c.plan.sidecar]

    def finished(self) -> bool:
        apps = self.app_containers()
        return bool(apps) and all(c.final is not None for c in apps)

    def advance(self, now: float) -> float | None:
        """Plays every transition up to `now`; returns when the next one happens, if any."""
        dues = [self._advance(c, now) for c in self.containers]
        if self.finished():
            return None
        pending = [d for d in dues if d is not None]
        return min(pending) if pending else None

    def _advance(self, c: ContainerRun, now: float) -> float | None:
        if c.final is not None:
            return None
        if c.started is None and c.backoff_until is None:
            if now < self.start_at:
                return self.start_at
            c.started = self.start_at
            self.changed = True
        while True:
            if c.backoff_until is not None:
                if now < c.backoff_until:
                    return c.backoff_until
                c.started, c.backoff_until = c.backoff_until, None
                c.restarts += 1
                self.changed = True
            assert c.started is not None
            end = None if c.plan.exit_after is None else c.started + c.plan.exit_after
            if end is not None and now >= end:
                if self._exit(c, end):
                    return None
                continue
            ready_at = None if c.plan.never_ready else c.started + self.ready_delay
            if ready_at is not None and not c.ready:
                if now >= ready_at:
                    c.ready = True
                    self.changed = True
                else:
                    return ready_at if end is None else min(ready_at, end)
            return end

    def _exit(self, c: ContainerRun, end: float) -> bool:
        """The running instance exits at `end`; True when the container will not run again."""
        assert c.started is not None
        code = c.plan.exit_code
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": _stamp(c.started),
            "finishedAt": _stamp(end),
            "containerID": container_id(self.uid, c.plan.name, c.restarts),
        }
        c.ready = False
        self.changed = True
        restart = c.plan.sidecar or self.restart_policy == "Always"
        restart = restart or (self.restart_policy == "OnFailure" and code != 0)
        if not restart:
            c.final, c.started = terminated, None
            return True
        c.last = terminated
        c.exits += 1
        if c.exits == 1:
            c.started = end  # no back-off recorded yet: the kubelet restarts at once
            c.restarts += 1
        else:
            c.backoff = min(BACKOFF_INITIAL * 2 ** (c.exits - 2), BACKOFF_MAX)
            c.started, c.backoff_until = None, end + c.backoff
        return False


def go_duration(seconds: float) -> str:
    """Whole seconds as Go prints a time.Duration: 10s, 1m20s, 5m0s."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _stamp(moment: float) -> str:
    return _stamp_second(int(moment // 1))


@lru_cache(maxsize=1024)
def _stamp_second(second: int) -> str:
    # Statuses carry second-precision times; thousands of pods share each second.
    return rfc3339(datetime.fromtimestamp(second, UTC))


def _seconds(text: Any, default: float) -> float:
    if not text:
        return default
    try:
        return parse_rfc3339(str(text)).timestamp()
    except ValueError:
        return default


def new_run(pod: JSONDict, now: float, timings: Timings, host_ip: str, pod_ip: str) -> PodRun:
    """A pod the kubelet has just accepted."""
    spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
    run_raw = ((meta.get("annotations") or {}).get(RUN_SECONDS)) is not None
    run_seconds = annotation_seconds(pod, RUN_SECONDS, DEFAULT_RUN_SECONDS) if run_raw else None
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    sidecars = [_plan(c, None, sidecar=True) for c in inits if c.get("restartPolicy") == "Always"]
    regular = [c for c in inits if c.get("restartPolicy") != "Always"]
    apps = [_plan(c, run_seconds) for c in spec.get("containers") or [] if isinstance(c, dict)]
    return PodRun(
        uid=str(meta.get("uid") or ""),
        accepted=now,
        start_at=now + timings.start,
        ready_delay=timings.ready,
        restart_policy=str(spec.get("restartPolicy") or "Always"),
        containers=[ContainerRun(p) for p in sidecars + apps],
        init_names=tuple(str(c.get("name") or "") for c in regular),
        init_images=tuple(str(c.get("image") or "") for c in regular),
        host_ip=host_ip,
        pod_ip=pod_ip,
    )


def adopt_run(pod: JSONDict, now: float, timings: Timings, host_ip: str, pod_ip: str) -> PodRun | None:
    """A pod already running when the kubelet (re)reads it: its reported state is the starting point,
    so nothing is rewritten until something happens. None for a finished pod."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase in ("Succeeded", "Failed"):
        return None
    reported = {
        str(cs.get("name")): cs
        for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
        if isinstance(cs, dict)
    }
    if phase != "Running" or not status.get("containerStatuses"):
        return new_run(pod, now, timings, host_ip, pod_ip)
    run = new_run(
        pod, _seconds(status.get("startTime"), now), timings, host_ip, status.get("podIP") or pod_ip
    )
    run.start_at = min(run.start_at, now)
    for c in run.containers:
        cs = reported.get(c.plan.name)
        if cs is None:
            c.started = now
            continue
        state = cs.get("state") or {}
        c.restarts = c.exits = int(cs.get("restartCount") or 0)
        c.last = (cs.get("lastState") or {}).get("terminated")
        if "running" in state:
            c.started = _seconds((state["running"] or {}).get("startedAt"), now)
            c.ready = bool(cs.get("ready")) and not c.plan.never_ready
        elif "terminated" in state:
            c.final = state["terminated"]
        else:
            c.exits += 1
            c.backoff = min(BACKOFF_INITIAL * 2 ** max(0, c.exits - 2), BACKOFF_MAX)
            c.backoff_until = _seconds((c.last or {}).get("finishedAt"), now) + c.backoff
    run.changed = False
    return run


# ----- the status a kubelet reports ---------------------------------------------------------


def _phase(run: PodRun, now: float) -> str:
    if now < run.start_at:
        return "Pending"
    apps = run.app_containers()
    if apps and all(c.final is not None for c in apps):
        return "Succeeded" if all((c.final or {}).get("exitCode") == 0 for c in apps) else "Failed"
    return "Running"


def _container_status(run: PodRun, c: ContainerRun, now: float, waiting_reason: str) -> JSONDict:
    out: JSONDict = {
        "name": c.plan.name,
        "image": c.plan.image,
        "imageID": "",
        "ready": c.ready,
        "restartCount": c.restarts,
        "started": False,
        "lastState": {"terminated": c.last} if c.last else {},
    }
    if now < run.start_at and c.started is None and c.final is None:
        out["state"] = {"waiting": {"reason": waiting_reason}}
        return out
    out["image"] = normalize_image(c.plan.image)
    out["imageID"] = image_id(c.plan.image)
    out["containerID"] = container_id(run.uid, c.plan.name, c.restarts)
    if c.final is not None:
        out["state"] = {"terminated": c.final}
    elif c.backoff_until is not None:
        out["containerID"] = (c.last or {}).get("containerID", out["containerID"])
        message = f"back-off {go_duration(c.backoff)} restarting failed container={c.plan.name} pod={run.ref}"
        out["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
    else:
        out["started"] = True
        out["state"] = {"running": {"startedAt": _stamp(c.started or now)}}
    return out


def _init_status(run: PodRun, index: int, now: float) -> JSONDict:
    name, image = run.init_names[index], run.init_images[index]
    if now < run.start_at:
        return {
            "name": name,
            "image": image,
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "started": False,
            "lastState": {},
            "state": {"waiting": {"reason": "PodInitializing"}},
        }
    return {
        "name": name,
        "image": normalize_image(image),
        "imageID": image_id(image),
        "containerID": container_id(run.uid, name, 0),
        "ready": True,
        "restartCount": 0,
        "started": False,
        "lastState": {},
        "state": {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": _stamp(run.accepted),
                "finishedAt": _stamp(run.start_at),
                "containerID": container_id(run.uid, name, 0),
            }
        },
    }


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> JSONDict:
    out: JSONDict = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def _readiness_gate_problem(pod: JSONDict, conditions: list[JSONDict]) -> str:
    by_type = {c.get("type"): c for c in conditions}
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        kind = (gate or {}).get("conditionType")
        cond = by_type.get(kind)
        if cond is None:
            return f'corresponding condition of pod readiness gate "{kind}" does not exist.'
        if cond.get("status") != "True":
            return f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}'
    return ""


def render_status(pod: JSONDict, run: PodRun, now: float) -> JSONDict:
    """The pod's status as its kubelet would post it now (other writers' fields and conditions kept)."""
    current = pod.get("status") or {}
    phase = _phase(run, now)
    creating = phase == "Pending"
    terminal = phase in ("Succeeded", "Failed")
    apps = run.app_containers()
    waiting = "PodInitializing" if run.init_names else "ContainerCreating"
    statuses = [_container_status(run, c, now, waiting) for c in apps]
    init_statuses = [_init_status(run, i, now) for i in range(len(run.init_names))]
    init_statuses += [
        _container_status(run, c, now, "PodInitializing") for c in run.containers if c.plan.sidecar
    ]
    unready = [c.plan.name for c in run.containers if not c.ready]
    others = [c for c in current.get("conditions") or [] if c.get("type") not in OWN_CONDITIONS]
    if terminal:
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        containers_ready = _condition("ContainersReady", False, reason)
        ready = _condition("Ready", False, reason)
    elif unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        containers_ready = _condition("ContainersReady", False, "ContainersNotReady", message)
        ready = _condition("Ready", False, "ContainersNotReady", message)
    else:
        containers_ready = _condition("ContainersReady", True)
        gate = _readiness_gate_problem(pod, others)
        ready = (
            _condition("Ready", False, "ReadinessGatesNotReady", gate) if gate else _condition("Ready", True)
        )
    if creating and run.init_names:
        message = f"containers with incomplete status: [{' '.join(run.init_names)}]"
        initialized = _condition("Initialized", False, "ContainersNotInitialized", message)
    else:
        initialized = _condition("Initialized", True, "PodCompleted" if phase == "Succeeded" else "")
    conditions = [
        _condition("PodReadyToStartContainers", not creating and not terminal),
        initialized,
        ready,
        containers_ready,
        _condition("PodScheduled", True),
    ]
    _keep_transition_times(conditions, current.get("conditions") or [], _stamp(now))
    status: JSONDict = {
        **current,
        "phase": phase,
        "conditions": conditions + others,
        "hostIP": run.host_ip,
        "hostIPs": [{"ip": run.host_ip}] if run.host_ip else [],
        "startTime": _stamp(run.accepted),
        "containerStatuses": statuses,
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if not creating and run.pod_ip:
        status["podIP"] = run.pod_ip
        status["podIPs"] = [{"ip": run.pod_ip}]
    return status


def _keep_transition_times(conditions: list[JSONDict], before: list[JSONDict], now: str) -> None:
    previous = {c.get("type"): c for c in before if isinstance(c, dict)}
    for c in conditions:
        old = previous.get(c["type"])
        same = old is not None and old.get("status") == c["status"] and old.get("lastTransitionTime")
        c["lastTransitionTime"] = old["lastTransitionTime"] if same and old is not None else now
