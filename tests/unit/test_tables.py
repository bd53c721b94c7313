"""Server-side printing: the Table columns and cells kubectl shows, as a real apiserver prints them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from overhaul.sim import tables
from overhaul.sim.tables import column_definitions, human_age, table, table_row

JSONDict = dict[str, Any]

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, **extra: Any) -> JSONDict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(days=3), **extra}


def cells(group: str, kind: str, obj: JSONDict) -> dict[str, Any]:
    """Column name → cell of one row (names are unique within a table)."""
    names = [c["name"] for c in column_definitions(group, kind)]
    row = table_row(group, kind, obj, NOW)["cells"]
    assert len(row) == len(names)
    return dict(zip(names, row, strict=True))


def columns(group: str, kind: str) -> list[tuple[str, str, int]]:
    return [(c["name"], c["type"], c["priority"]) for c in column_definitions(group, kind)]


# --- human_age ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "want"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=70), "70s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=2), "2m"),
        (timedelta(seconds=190), "3m10s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10, seconds=30), "10m"),
        (timedelta(minutes=70), "70m"),
        (timedelta(minutes=179), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=3, minutes=5, seconds=9), "3h5m"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47), "47h"),
        (timedelta(hours=48), "2d"),
        (timedelta(hours=49), "2d1h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(hours=8 * 24 + 2), "8d"),
        (timedelta(days=367), "367d"),
        (timedelta(days=400), "400d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730), "2y"),
        (timedelta(hours=365 * 2 * 24 + 25), "2y1d"),
        (timedelta(days=3 * 365 + 45), "3y45d"),
        (timedelta(hours=365 * 8 * 24 + 2), "8y"),
        (timedelta(days=10 * 365 + 100), "10y"),
        # A second or so in the future is clock skew, not an error.
        (timedelta(seconds=-1), "0s"),
        (timedelta(seconds=-1, microseconds=-500_000), "0s"),
        (timedelta(seconds=-2), "<invalid>"),
    ],
)
def test_human_age_matches_human_duration(delta: timedelta, want: str) -> None:
    created = (NOW - delta).isoformat()
    assert human_age(created, NOW) == want


def test_human_age_of_unset_or_zero_timestamps_is_unknown() -> None:
    assert human_age(None, NOW) == "<unknown>"
    assert human_age("", NOW) == "<unknown>"
    assert human_age("0001-01-01T00:00:00Z", NOW) == "<unknown>"


def test_human_age_accepts_z_micro_time_and_naive_now() -> None:
    assert human_age("2026-01-10T11:59:00Z", NOW) == "60s"
    assert human_age("2026-01-10T11:59:00.500000Z", NOW) == "59s"
    assert human_age("2026-01-10T11:59:00Z", NOW.replace(tzinfo=None)) == "60s"


# --- Node --------------------------------------------------------------------------------------


def node(
    name: str = "node-1",
    ready: str | None = "True",
    labels: dict[str, str] | None = None,
    unschedulable: bool = False,
    addresses: list[JSONDict] | None = None,
    info: dict[str, str] | None = None,
) -> JSONDict:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(name, labels=labels or {}),
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "conditions": conditions,
            "addresses": addresses
            if addresses is not None
            else [{"type": "InternalIP", "address": "10.0.0.5"}],
            "nodeInfo": info
            if info is not None
            else {
                "kubeletVersion": "v1.30.4",
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "5.15.0-107-generic",
                "containerRuntimeVersion": "containerd://1.7.12",
            },
        },
    }


def test_node_columns() -> None:
    assert columns("", "Node") == [
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Roles", "string", 0),
        ("Age", "string", 0),
        ("Version", "string", 0),
        ("Internal-IP", "string", 1),
        ("External-IP", "string", 1),
        ("OS-Image", "string", 1),
        ("Kernel-Version", "string", 1),
        ("Container-Runtime", "string", 1),
    ]
    assert column_definitions("", "Node")[0]["format"] == "name"


def test_node_cells() -> None:
    got = cells("", "Node", node(labels={"node-role.kubernetes.io/control-plane": ""}))
    assert got == {
        "Name": "node-1",
        "Status": "Ready",
        "Roles": "control-plane",
        "Age": "3d",
        "Version": "v1.30.4",
        "Internal-IP": "10.0.0.5",
        "External-IP": "<none>",
        "OS-Image": "Ubuntu 22.04.4 LTS",
        "Kernel-Version": "5.15.0-107-generic",
        "Container-Runtime": "containerd://1.7.12",
    }


def test_node_version_column_follows_the_kubelet() -> None:
    upgraded = node()
    upgraded["status"]["nodeInfo"]["kubeletVersion"] = "v1.31.0"
    assert cells("", "Node", upgraded)["Version"] == "v1.31.0"


@pytest.mark.parametrize(
    ("ready", "unschedulable", "want"),
    [
        ("True", False, "Ready"),
        ("False", False, "NotReady"),
        ("Unknown", False, "NotReady"),
        (None, False, "Unknown"),
        ("True", True, "Ready,SchedulingDisabled"),
        ("False", True, "NotReady,SchedulingDisabled"),
        (None, True, "Unknown,SchedulingDisabled"),
    ],
)
def test_node_status(ready: str | None, unschedulable: bool, want: str) -> None:
    assert cells("", "Node", node(ready=ready, unschedulable=unschedulable))["Status"] == want


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        ({}, "<none>"),
        ({"node-role.kubernetes.io/worker": ""}, "worker"),
        (
            {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "true"},
            "control-plane,worker",
        ),
        ({"kubernetes.io/role": "master"}, "master"),
        ({"kubernetes.io/role": "infra", "node-role.kubernetes.io/infra": ""}, "infra"),
        ({"kubernetes.io/role": ""}, "<none>"),
        ({"node-role.kubernetes.io/": ""}, "<none>"),
        ({"kubernetes.io/hostname": "node-1"}, "<none>"),
    ],
)
def test_node_roles(labels: dict[str, str], want: str) -> None:
    assert cells("", "Node", node(labels=labels))["Roles"] == want


def test_node_wide_fallbacks() -> None:
    bare = node(addresses=[{"type": "ExternalIP", "address": "203.0.113.9"}], info={})
    got = cells("", "Node", bare)
    assert (got["Internal-IP"], got["External-IP"]) == ("<none>", "203.0.113.9")
    assert (got["Version"], got["OS-Image"], got["Kernel-Version"], got["Container-Runtime"]) == (
        "",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    )


# --- Pod ---------------------------------------------------------------------------------------


def pod(
    statuses: list[JSONDict],
    phase: str = "Running",
    containers: int | None = None,
    init: list[JSONDict] | None = None,
    init_statuses: list[JSONDict] | None = None,
    conditions: list[JSONDict] | None = None,
    **meta_extra: Any,
) -> JSONDict:
    count = len(statuses) if containers is None else containers
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-0", **meta_extra),
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": f"c{i}", "image": "nginx:1.27"} for i in range(count)],
            "initContainers": init or [],
        },
        "status": {
            "phase": phase,
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "conditions": conditions or [],
            "containerStatuses": statuses,
            "initContainerStatuses": init_statuses or [],
        },
    }


def running(name: str = "c0", ready: bool = True, restarts: int = 0, **extra: Any) -> JSONDict:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ago(hours=1)}},
        **extra,
    }


def waiting(reason: str, name: str = "c0", restarts: int = 0, **extra: Any) -> JSONDict:
    return {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason}},
        **extra,
    }


def terminated(reason: str | None, exit_code: int, name: str = "c0", **extra: Any) -> JSONDict:
    state: JSONDict = {"exitCode": exit_code, "finishedAt": ago(minutes=1)}
    if reason is not None:
        state["reason"] = reason
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": state}, **extra}


def test_pod_columns() -> None:
    assert columns("", "Pod") == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
        ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1),
    ]


def test_running_pod() -> None:
    got = cells("", "Pod", pod([running("a"), running("b")]))
    assert got == {
        "Name": "web-0",
        "Ready": "2/2",
        "Status": "Running",
        "Restarts": "0",
        "Age": "3d",
        "IP": "10.244.1.7",
        "Node": "node-1",
        "Nominated Node": "<none>",
        "Readiness Gates": "<none>",
    }


def test_pending_pod_wide_cells() -> None:
    pending = pod([], phase="Pending", containers=1)
    del pending["spec"]["nodeName"]
    del pending["status"]["podIPs"], pending["status"]["podIP"]
    pending["status"]["nominatedNodeName"] = "node-2"
    got = cells("", "Pod", pending)
    assert (got["Ready"], got["Status"]) == ("0/1", "Pending")
    assert (got["IP"], got["Node"], got["Nominated Node"]) == ("<none>", "<none>", "node-2")


def test_container_creating_pod() -> None:
    got = cells("", "Pod", pod([waiting("ContainerCreating")], phase="Pending"))
    assert (got["Ready"], got["Status"], got["Restarts"]) == ("0/1", "ContainerCreating", "0")


def test_crash_looping_pod_shows_restarts_with_the_last_one() -> None:
    crashing = waiting(
        "CrashLoopBackOff",
        restarts=3,
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=5)}},
    )
    got = cells("", "Pod", pod([crashing, running("c1")]))
    assert (got["Ready"], got["Status"], got["Restarts"]) == ("1/2", "CrashLoopBackOff", "3 (5m ago)")


def test_restarts_are_summed_and_the_latest_termination_wins() -> None:
    a = running("a", restarts=2, lastState={"terminated": {"exitCode": 137, "finishedAt": ago(hours=2)}})
    b = running("b", restarts=1, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(seconds=40)}})
    assert cells("", "Pod", pod([a, b]))["Restarts"] == "3 (40s ago)"


def test_restarts_without_a_termination_time_are_a_bare_count() -> None:
    assert cells("", "Pod", pod([running(restarts=4)]))["Restarts"] == "4"


@pytest.mark.parametrize(
    ("reason", "exit_code", "phase", "want"),
    [
        ("Completed", 0, "Succeeded", "Completed"),
        ("Error", 1, "Failed", "Error"),
        ("OOMKilled", 137, "Failed", "OOMKilled"),
        (None, 2, "Failed", "ExitCode:2"),
    ],
)
def test_finished_pods(reason: str | None, exit_code: int, phase: str, want: str) -> None:
    got = cells("", "Pod", pod([terminated(reason, exit_code)], phase=phase))
    assert (got["Ready"], got["Status"]) == ("0/1", want)


def test_signalled_container_without_reason() -> None:
    killed = terminated(None, 0)
    killed["state"]["terminated"].update(signal=9, exitCode=137)
    assert cells("", "Pod", pod([killed], phase="Failed"))["Status"] == "Signal:9"


def test_finished_pods_carry_the_completed_row_condition() -> None:
    done = table_row("", "Pod", pod([terminated("Completed", 0)], phase="Succeeded"), NOW)
    assert done["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    failed = table_row("", "Pod", pod([terminated("Error", 1)], phase="Failed"), NOW)
    assert failed["conditions"][0]["reason"] == "Failed"
    assert "conditions" not in table_row("", "Pod", pod([running()]), NOW)


def test_completed_container_beside_a_running_one() -> None:
    ready = [{"type": "Ready", "status": "True"}]
    mixed = [running("a"), terminated("Completed", 0, name="b")]
    assert cells("", "Pod", pod(mixed, conditions=ready))["Status"] == "Running"
    assert cells("", "Pod", pod(mixed))["Status"] == "NotReady"


def test_terminating_pod() -> None:
    deleting = pod([running()], deletionTimestamp=ago(seconds=5))
    assert cells("", "Pod", deleting)["Status"] == "Terminating"
    # A finished pod being deleted keeps its final status.
    finished = pod([terminated("Completed", 0)], phase="Succeeded", deletionTimestamp=ago(seconds=5))
    assert cells("", "Pod", finished)["Status"] == "Completed"


def test_pod_on_a_lost_node_being_deleted_is_unknown() -> None:
    lost = pod([running()], deletionTimestamp=ago(seconds=5))
    lost["status"]["reason"] = "NodeLost"
    assert cells("", "Pod", lost)["Status"] == "Unknown"


def test_evicted_pod_shows_the_pod_reason() -> None:
    evicted = pod([], phase="Failed", containers=1)
    evicted["status"]["reason"] = "Evicted"
    assert cells("", "Pod", evicted)["Status"] == "Evicted"


def test_scheduling_gated_pod() -> None:
    gated = pod(
        [], phase="Pending", containers=1, conditions=[{"type": "PodScheduled", "reason": "SchedulingGated"}]
    )
    assert cells("", "Pod", gated)["Status"] == "SchedulingGated"


INIT = [{"name": "init-db", "image": "busybox"}]


@pytest.mark.parametrize(
    ("init_status", "want"),
    [
        (waiting("PodInitializing", name="init-db"), "Init:0/1"),
        (running("init-db", ready=False), "Init:0/1"),
        (waiting("CrashLoopBackOff", name="init-db"), "Init:CrashLoopBackOff"),
        (terminated("Error", 1, name="init-db"), "Init:Error"),
        (terminated(None, 3, name="init-db"), "Init:ExitCode:3"),
    ],
)
def test_initializing_pod(init_status: JSONDict, want: str) -> None:
    got = cells(
        "",
        "Pod",
        pod([waiting("PodInitializing")], phase="Pending", init=INIT, init_statuses=[init_status]),
    )
    assert (got["Ready"], got["Status"]) == ("0/1", want)


def test_second_init_container_counts_the_first_done() -> None:
    inits = [*INIT, {"name": "migrate", "image": "busybox"}]
    statuses = [terminated("Completed", 0, name="init-db"), running("migrate", ready=False)]
    got = cells(
        "", "Pod", pod([waiting("PodInitializing")], phase="Pending", init=inits, init_statuses=statuses)
    )
    assert got["Status"] == "Init:1/2"


def test_initialized_pod_reports_its_containers() -> None:
    statuses = [terminated("Completed", 0, name="init-db")]
    got = cells("", "Pod", pod([running()], init=INIT, init_statuses=statuses))
    assert (got["Ready"], got["Status"]) == ("1/1", "Running")


def test_sidecar_counts_towards_ready_and_restarts() -> None:
    sidecar_spec = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    sidecar = running(
        "proxy",
        restarts=1,
        started=True,
        lastState={"terminated": {"exitCode": 1, "finishedAt": ago(minutes=30)}},
    )
    got = cells(
        "",
        "Pod",
        pod(
            [running()],
            init=sidecar_spec,
            init_statuses=[sidecar],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
    )
    assert (got["Ready"], got["Status"], got["Restarts"]) == ("2/2", "Running", "1 (30m ago)")


def test_readiness_gates() -> None:
    gated = pod([running()], conditions=[{"type": "example.com/lb", "status": "True"}])
    gated["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/dns"},
    ]
    assert cells("", "Pod", gated)["Readiness Gates"] == "1/2"


# --- apps --------------------------------------------------------------------------------------

TEMPLATE: JSONDict = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "fluent-bit:3"}]
    },
}


def test_deployment() -> None:
    assert columns("apps", "Deployment") == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "string", 0),
        ("Available", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ]
    deployment = {
        "metadata": meta("web"),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web", "tier": "fe"}},
            "template": TEMPLATE,
        },
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2},
    }
    assert cells("apps", "Deployment", deployment) == {
        "Name": "web",
        "Ready": "2/3",
        "Up-to-date": 1,
        "Available": 2,
        "Age": "3d",
        "Containers": "web,log",
        "Images": "nginx:1.27,fluent-bit:3",
        "Selector": "app=web,tier=fe",
    }


def test_deployment_without_status_or_replicas() -> None:
    fresh = {"metadata": meta("web"), "spec": {"template": TEMPLATE}}
    got = cells("apps", "Deployment", fresh)
    assert (got["Ready"], got["Up-to-date"], got["Available"], got["Selector"]) == ("0/1", 0, 0, "")


def test_replica_set() -> None:
    assert columns("apps", "ReplicaSet") == [
        ("Name", "string", 0),
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ]
    selector = {
        "matchLabels": {"app": "web", "pod-template-hash": "5d4f8"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "canary"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    rs = {
        "metadata": meta("web-5d4f8"),
        "spec": {"replicas": 3, "selector": selector, "template": TEMPLATE},
        "status": {"replicas": 3, "readyReplicas": 1},
    }
    got = cells("apps", "ReplicaSet", rs)
    assert (got["Desired"], got["Current"], got["Ready"]) == (3, 3, 1)
    assert got["Selector"] == "app=web,env in (canary,prod),!legacy,pod-template-hash=5d4f8"


def test_label_selector_edge_cases() -> None:
    rs = {"metadata": meta("x"), "spec": {"replicas": 0, "selector": {}, "template": TEMPLATE}}
    assert cells("apps", "ReplicaSet", rs)["Selector"] == "<none>"
    rs["spec"]["selector"] = {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}
    assert cells("apps", "ReplicaSet", rs)["Selector"] == "<error>"
    rs["spec"]["selector"] = {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}
    assert cells("apps", "ReplicaSet", rs)["Selector"] == "a notin (x)"
    assert cells("apps", "ReplicaSet", rs)["Desired"] == 0


def test_stateful_set() -> None:
    assert columns("apps", "StatefulSet") == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
    ]
    sts = {
        "metadata": meta("db"),
        "spec": {"replicas": 3, "template": TEMPLATE},
        "status": {"readyReplicas": 2},
    }
    assert cells("apps", "StatefulSet", sts) == {
        "Name": "db",
        "Ready": "2/3",
        "Age": "3d",
        "Containers": "web,log",
        "Images": "nginx:1.27,fluent-bit:3",
    }


def test_daemon_set() -> None:
    assert [name for name, _, priority in columns("apps", "DaemonSet") if priority == 0] == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
    ]
    assert [name for name, _, priority in columns("apps", "DaemonSet") if priority == 1] == [
        "Containers",
        "Images",
        "Selector",
    ]
    template = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux"}}}
    ds = {
        "metadata": meta("node-exporter"),
        "spec": {"selector": {"matchLabels": {"app": "ne"}}, "template": template},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 1,
            "numberAvailable": 2,
        },
    }
    got = cells("apps", "DaemonSet", ds)
    assert [got[k] for k in ("Desired", "Current", "Ready", "Up-to-date", "Available")] == [3, 3, 2, 1, 2]
    assert (got["Node Selector"], got["Selector"]) == ("kubernetes.io/os=linux", "app=ne")
    ds["spec"]["template"] = TEMPLATE
    assert cells("apps", "DaemonSet", ds)["Node Selector"] == "<none>"


def test_controller_revision() -> None:
    assert columns("apps", "ControllerRevision") == [
        ("Name", "string", 0),
        ("Controller", "string", 0),
        ("Revision", "string", 0),
        ("Age", "string", 0),
    ]
    owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-exporter", "controller": True}
    rev = {"metadata": meta("node-exporter-7c9d", ownerReferences=[owner]), "revision": 4}
    got = cells("apps", "ControllerRevision", rev)
    assert (got["Controller"], got["Revision"]) == ("daemonset.apps/node-exporter", 4)
    orphan = {"metadata": meta("orphan"), "revision": 1}
    assert cells("apps", "ControllerRevision", orphan)["Controller"] == "<none>"


# --- policy, batch, coordination ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ({"minAvailable": 2}, ("2", "N/A")),
        ({"maxUnavailable": "25%"}, ("N/A", "25%")),
        ({}, ("N/A", "N/A")),
    ],
)
def test_pod_disruption_budget(spec: JSONDict, want: tuple[str, str]) -> None:
    assert columns("policy", "PodDisruptionBudget") == [
        ("Name", "string", 0),
        ("Min Available", "string", 0),
        ("Max Unavailable", "string", 0),
        ("Allowed Disruptions", "integer", 0),
        ("Age", "string", 0),
    ]
    pdb = {"metadata": meta("web"), "spec": spec, "status": {"disruptionsAllowed": 1}}
    got = cells("policy", "PodDisruptionBudget", pdb)
    assert (got["Min Available"], got["Max Unavailable"], got["Allowed Disruptions"]) == (*want, 1)


def job(conditions: list[JSONDict] | None = None, **status: Any) -> JSONDict:
    return {
        "metadata": meta("migrate"),
        "spec": {
            "completions": 1,
            "parallelism": 1,
            "template": TEMPLATE,
            "selector": {"matchLabels": {"job": "m"}},
        },
        "status": {"conditions": conditions or [], **status},
    }


def test_job() -> None:
    assert columns("batch", "Job") == [
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Completions", "string", 0),
        ("Duration", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ]
    done = job(
        [{"type": "Complete", "status": "True"}],
        succeeded=1,
        startTime=ago(minutes=10),
        completionTime=ago(minutes=9, seconds=15),
    )
    got = cells("batch", "Job", done)
    assert (got["Status"], got["Completions"], got["Duration"], got["Selector"]) == (
        "Complete",
        "1/1",
        "45s",
        "job=m",
    )


@pytest.mark.parametrize(
    ("conditions", "deleting", "want"),
    [
        ([], False, "Running"),
        ([{"type": "Failed", "status": "True"}], False, "Failed"),
        ([{"type": "Suspended", "status": "True"}], False, "Suspended"),
        ([{"type": "Suspended", "status": "False"}], False, "Running"),
        ([{"type": "FailureTarget", "status": "True"}], False, "FailureTarget"),
        ([{"type": "Suspended", "status": "True"}], True, "Terminating"),
        ([{"type": "Complete", "status": "True"}], True, "Complete"),
    ],
)
def test_job_status(conditions: list[JSONDict], deleting: bool, want: str) -> None:
    subject = job(conditions)
    if deleting:
        subject["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells("batch", "Job", subject)["Status"] == want


def test_job_completions_and_running_duration() -> None:
    subject = job(succeeded=2, startTime=ago(minutes=3))
    subject["spec"] = {"parallelism": 4, "template": TEMPLATE}
    got = cells("batch", "Job", subject)
    assert (got["Completions"], got["Duration"]) == ("2/1 of 4", "3m")
    subject["spec"]["parallelism"] = 1
    assert cells("batch", "Job", subject)["Completions"] == "2/1"
    assert cells("batch", "Job", job())["Duration"] == ""


def test_cron_job() -> None:
    cron = {
        "metadata": meta("backup"),
        "spec": {
            "schedule": "0 3 * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": TEMPLATE}},
        },
        "status": {"active": [{"name": "backup-1"}], "lastScheduleTime": ago(hours=9)},
    }
    got = cells("batch", "CronJob", cron)
    assert [got[k] for k in ("Schedule", "Timezone", "Suspend", "Active", "Last Schedule")] == [
        "0 3 * * *",
        "<none>",
        "False",
        1,
        "9h",
    ]
    assert got["Selector"] == "<none>"


def test_lease() -> None:
    assert columns("coordination.k8s.io", "Lease") == [
        ("Name", "string", 0),
        ("Holder", "string", 0),
        ("Age", "string", 0),
    ]
    lease = {"metadata": meta("node-1", namespace="kube-node-lease"), "spec": {"holderIdentity": "node-1"}}
    assert cells("coordination.k8s.io", "Lease", lease) == {"Name": "node-1", "Holder": "node-1", "Age": "3d"}
    assert cells("coordination.k8s.io", "Lease", {"metadata": meta("free"), "spec": {}})["Holder"] == ""


# --- core: namespaces, services, config --------------------------------------------------------


def test_namespace() -> None:
    assert columns("", "Namespace") == [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)]
    ns = {
        "metadata": {"name": "kube-system", "creationTimestamp": ago(days=30)},
        "status": {"phase": "Active"},
    }
    assert cells("", "Namespace", ns) == {"Name": "kube-system", "Status": "Active", "Age": "30d"}


def service(spec: JSONDict, status: JSONDict | None = None) -> JSONDict:
    return {"metadata": meta("web"), "spec": spec, "status": status or {}}


def test_service_columns() -> None:
    assert columns("", "Service") == [
        ("Name", "string", 0),
        ("Type", "string", 0),
        ("Cluster-IP", "string", 0),
        ("External-IP", "string", 0),
        ("Port(s)", "string", 0),
        ("Age", "string", 0),
        ("Selector", "string", 1),
    ]


@pytest.mark.parametrize(
    ("spec", "status", "want"),
    [
        (
            {
                "type": "ClusterIP",
                "clusterIPs": ["10.96.0.10"],
                "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}],
                "selector": {"app": "web"},
            },
            None,
            ("ClusterIP", "10.96.0.10", "<none>", "80/TCP,443/TCP", "app=web"),
        ),
        (
            {
                "type": "ClusterIP",
                "clusterIP": "None",
                "clusterIPs": ["None"],
                "ports": [{"port": 53, "protocol": "UDP"}],
            },
            None,
            ("ClusterIP", "None", "<none>", "53/UDP", "<none>"),
        ),
        (
            {
                "type": "NodePort",
                "clusterIPs": ["10.96.3.4"],
                "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
            },
            None,
            ("NodePort", "10.96.3.4", "<none>", "80:30080/TCP", "<none>"),
        ),
        (
            {
                "type": "LoadBalancer",
                "clusterIPs": ["10.96.5.6"],
                "ports": [{"port": 443, "nodePort": 31443}],
            },
            None,
            ("LoadBalancer", "10.96.5.6", "<pending>", "443:31443/TCP", "<none>"),
        ),
        (
            {"type": "LoadBalancer", "clusterIPs": ["10.96.5.6"], "externalIPs": ["198.51.100.1"]},
            {"loadBalancer": {"ingress": [{"ip": "203.0.113.20"}, {"hostname": "lb.example.com"}]}},
            ("LoadBalancer", "10.96.5.6", "203.0.113.20,lb.example.com,198.51.100.1", "<none>", "<none>"),
        ),
        (
            {"type": "ExternalName", "externalName": "db.example.com"},
            None,
            ("ExternalName", "<none>", "db.example.com", "<none>", "<none>"),
        ),
    ],
)
def test_service_cells(spec: JSONDict, status: JSONDict | None, want: tuple[str, ...]) -> None:
    got = cells("", "Service", service(spec, status))
    assert (got["Type"], got["Cluster-IP"], got["External-IP"], got["Port(s)"], got["Selector"]) == want


def test_endpoints() -> None:
    subsets = [
        {
            "addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.1.6"}],
            "ports": [{"port": 8080}, {"port": 9090}],
        },
        {"addresses": [{"ip": "fd00::7"}]},
    ]
    got = cells("", "Endpoints", {"metadata": meta("web"), "subsets": subsets})
    assert got["Endpoints"] == "10.244.0.5:8080,10.244.1.6:8080,10.244.0.5:9090 + 2 more..."
    assert cells("", "Endpoints", {"metadata": meta("none")})["Endpoints"] == "<none>"
    v6 = [{"addresses": [{"ip": "fd00::7"}], "ports": [{"port": 53}]}]
    assert cells("", "Endpoints", {"metadata": meta("dns"), "subsets": v6})["Endpoints"] == "[fd00::7]:53"


def test_config_map_and_secret_and_service_account() -> None:
    assert columns("", "ConfigMap") == [("Name", "string", 0), ("Data", "string", 0), ("Age", "string", 0)]
    cm = {"metadata": meta("settings"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("", "ConfigMap", cm) == {"Name": "settings", "Data": 3, "Age": "3d"}
    assert cells("", "ConfigMap", {"metadata": meta("empty")})["Data"] == 0

    assert columns("", "Secret") == [
        ("Name", "string", 0),
        ("Type", "string", 0),
        ("Data", "string", 0),
        ("Age", "string", 0),
    ]
    secret = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "x", "tls.key": "y"}}
    assert cells("", "Secret", secret) == {"Name": "tls", "Type": "kubernetes.io/tls", "Data": 2, "Age": "3d"}

    assert columns("", "ServiceAccount") == [
        ("Name", "string", 0),
        ("Secrets", "string", 0),
        ("Age", "string", 0),
    ]
    sa = {"metadata": meta("default"), "secrets": [{"name": "default-token"}]}
    assert cells("", "ServiceAccount", sa) == {"Name": "default", "Secrets": 1, "Age": "3d"}


# --- events ------------------------------------------------------------------------------------


def test_event_columns_put_the_wide_ones_where_the_apiserver_does() -> None:
    assert columns("", "Event") == [
        ("Last Seen", "string", 0),
        ("Type", "string", 0),
        ("Reason", "string", 0),
        ("Object", "string", 0),
        ("Subobject", "string", 1),
        ("Source", "string", 1),
        ("Message", "string", 0),
        ("First Seen", "string", 1),
        ("Count", "string", 1),
        ("Name", "string", 1),
    ]
    assert column_definitions("", "Event")[-1]["format"] == "name"


def test_event_cells() -> None:
    event = {
        "metadata": meta("web-0.17a"),
        "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{web}"},
        "reason": "Pulled",
        "message": '  Successfully pulled image "nginx:1.27"\n',
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(minutes=20),
        "lastTimestamp": ago(minutes=2),
        "count": 4,
    }
    assert cells("", "Event", event) == {
        "Last Seen": "2m",
        "Type": "Normal",
        "Reason": "Pulled",
        "Object": "pod/web-0",
        "Subobject": "spec.containers{web}",
        "Source": "kubelet, node-1",
        "Message": 'Successfully pulled image "nginx:1.27"',
        "First Seen": "20m",
        "Count": 4,
        "Name": "web-0.17a",
    }


def test_events_written_through_events_k8s_io() -> None:
    event = {
        "metadata": meta("node-1.abc"),
        "involvedObject": {"kind": "Node"},
        "reason": "NodeNotReady",
        "type": "Warning",
        "eventTime": "2026-01-10T11:59:30.000000Z",
        "reportingComponent": "node-controller",
        "message": "Node is not ready",
    }
    got = cells("", "Event", event)
    assert [got[k] for k in ("Last Seen", "First Seen", "Count", "Object", "Source")] == [
        "30s",
        "30s",
        1,
        "node",
        "node-controller",
    ]
    event["series"] = {"count": 7, "lastObservedTime": "2026-01-10T11:59:55.000000Z"}
    got = cells("", "Event", event)
    assert (got["Last Seen"], got["Count"]) == ("5s", 7)
    del event["eventTime"], event["series"]
    assert cells("", "Event", event)["Last Seen"] == "<unknown>"


# --- storage -----------------------------------------------------------------------------------


def test_persistent_volume_claim() -> None:
    assert columns("", "PersistentVolumeClaim") == [
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Volume", "string", 0),
        ("Capacity", "string", 0),
        ("Access Modes", "string", 0),
        ("StorageClass", "string", 0),
        ("VolumeAttributesClass", "string", 0),
        ("Age", "string", 0),
        ("VolumeMode", "string", 1),
    ]
    bound = {
        "metadata": meta("data-db-0"),
        "spec": {
            "volumeName": "pvc-123",
            "storageClassName": "standard",
            "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1Gi"}},
        },
        "status": {
            "phase": "Bound",
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
        },
    }
    assert cells("", "PersistentVolumeClaim", bound) == {
        "Name": "data-db-0",
        "Status": "Bound",
        "Volume": "pvc-123",
        "Capacity": "10Gi",
        "Access Modes": "RWO,RWX",
        "StorageClass": "standard",
        "VolumeAttributesClass": "<unset>",
        "Age": "3d",
        "VolumeMode": "Filesystem",
    }
    pending = {
        "metadata": meta("claim"),
        "spec": {"resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"},
    }
    got = cells("", "PersistentVolumeClaim", pending)
    assert [
        got[k] for k in ("Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeMode")
    ] == [
        "Pending",
        "",
        "",
        "",
        "",
        "<unset>",
    ]
    pending["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells("", "PersistentVolumeClaim", pending)["Status"] == "Terminating"


def test_persistent_volume() -> None:
    pv = {
        "metadata": {"name": "pvc-123", "creationTimestamp": ago(days=3)},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"namespace": "default", "name": "data-db-0"},
            "storageClassName": "standard",
        },
        "status": {"phase": "Bound"},
    }
    got = cells("", "PersistentVolume", pv)
    assert [
        got[k] for k in ("Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass")
    ] == [
        "10Gi",
        "RWO",
        "Delete",
        "Bound",
        "default/data-db-0",
        "standard",
    ]


def test_storage_class_marks_the_default() -> None:
    sc = {
        "metadata": {
            "name": "standard",
            "creationTimestamp": ago(days=3),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "rancher.io/local-path",
    }
    assert cells("storage.k8s.io", "StorageClass", sc) == {
        "Name": "standard (default)",
        "Provisioner": "rancher.io/local-path",
        "ReclaimPolicy": "Delete",
        "VolumeBindingMode": "Immediate",
        "AllowVolumeExpansion": False,
        "Age": "3d",
    }


# --- scheduling, rbac, default convertors ------------------------------------------------------


def test_priority_class() -> None:
    pc = {"metadata": {"name": "system-node-critical", "creationTimestamp": ago(days=3)}, "value": 2000001000}
    got = cells("scheduling.k8s.io", "PriorityClass", pc)
    assert (got["Value"], got["Global-Default"], got["PreemptionPolicy"]) == (2000001000, False, "")


def test_role_binding() -> None:
    binding = {
        "metadata": meta("readers"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
            {"kind": "User", "name": "bob"},
        ],
    }
    got = cells("rbac.authorization.k8s.io", "RoleBinding", binding)
    assert got == {
        "Name": "readers",
        "Role": "ClusterRole/view",
        "Age": "3d",
        "Users": "alice, bob",
        "Groups": "devs",
        "ServiceAccounts": "tools/ci",
    }
    assert columns("rbac.authorization.k8s.io", "ClusterRoleBinding")[3:] == [
        ("Users", "string", 1),
        ("Groups", "string", 1),
        ("ServiceAccounts", "string", 1),
    ]


def test_crd_prints_created_at() -> None:
    assert columns("apiextensions.k8s.io", "CustomResourceDefinition") == [
        ("Name", "string", 0),
        ("Created At", "date", 0),
    ]
    crd = {"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-01-02T03:04:05Z"}}
    assert cells("apiextensions.k8s.io", "CustomResourceDefinition", crd) == {
        "Name": "widgets.example.com",
        "Created At": "2026-01-02T03:04:05Z",
    }
    no_time = {"metadata": {"name": "x"}}
    assert cells("rbac.authorization.k8s.io", "ClusterRole", no_time)["Created At"] == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("group", "kind"), [("example.com", "Widget"), ("", "NoSuchKind"), ("apps", "Mystery")]
)
def test_custom_and_unknown_kinds_print_name_and_age(group: str, kind: str) -> None:
    defs = column_definitions(group, kind)
    assert [(d["name"], d["type"], d["format"]) for d in defs] == [
        ("Name", "string", "name"),
        ("Age", "date", ""),
    ]
    assert (
        defs[1]["description"]
        == "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp"
    )
    widget = {"apiVersion": "example.com/v1", "kind": kind, "metadata": meta("w1"), "spec": {}}
    assert cells(group, kind, widget) == {"Name": "w1", "Age": "3d"}
    assert cells(group, kind, {"metadata": {"name": "w2"}}) == {"Name": "w2", "Age": None}


def test_core_is_an_alias_of_the_legacy_group() -> None:
    assert column_definitions("core", "Pod") == column_definitions("", "Pod")


# --- rows and tables ---------------------------------------------------------------------------


def test_include_object_modes() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("settings", uid="u-1"),
        "data": {"a": "b"},
    }
    metadata_row = table_row("", "ConfigMap", obj, NOW)
    assert metadata_row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    assert table_row("", "ConfigMap", obj, NOW, "Metadata") == metadata_row
    assert table_row("", "ConfigMap", obj, NOW, "")["object"] == metadata_row["object"]
    assert table_row("", "ConfigMap", obj, NOW, "Object")["object"] == obj
    assert table_row("", "ConfigMap", obj, NOW, "None") == {"cells": ["settings", 1, "3d"]}
    with pytest.raises(ValueError, match="includeObject"):
        table_row("", "ConfigMap", obj, NOW, "Everything")


def test_table_envelope() -> None:
    nodes = [node("node-1"), node("node-2", ready="False")]
    got = table("", "Node", nodes, NOW, resource_version="42")
    assert got["kind"] == "Table"
    assert got["apiVersion"] == "meta.k8s.io/v1"
    assert got["metadata"] == {"resourceVersion": "42"}
    assert got["columnDefinitions"] == column_definitions("", "Node")
    assert [row["cells"][:2] for row in got["rows"]] == [["node-1", "Ready"], ["node-2", "NotReady"]]
    assert all(row["object"]["kind"] == "PartialObjectMetadata" for row in got["rows"])

    paged = table(
        "", "Node", iter(nodes[:1]), NOW, "None", resource_version="42", continue_token="tok", remaining=1
    )
    assert paged["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 1}
    assert paged["rows"] == [{"cells": table_row("", "Node", nodes[0], NOW, "None")["cells"]}]
    empty = table("apps", "Deployment", [], NOW, remaining=0)
    assert empty["rows"] == []
    assert empty["metadata"] == {"resourceVersion": "", "remainingItemCount": 0}


def test_column_definition_shape() -> None:
    for definition in column_definitions("", "Pod"):
        assert set(definition) == {"name", "type", "format", "description", "priority"}
        assert definition["description"]
    assert column_definitions("", "Pod")[0] == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": tables._DOCS["name"],
        "priority": 0,
    }


@pytest.mark.parametrize(("group", "kind"), sorted(tables._PRINTERS))
def test_every_printer_copes_with_a_bare_object(group: str, kind: str) -> None:
    defs = column_definitions(group, kind)
    names = [d["name"] for d in defs]
    assert len(set(names)) == len(names)
    assert all(
        d["type"] in ("string", "integer", "boolean", "date") and d["priority"] in (0, 1) for d in defs
    )
    assert any(d["format"] == "name" for d in defs)
    for obj in ({}, {"metadata": {"name": "x"}, "spec": None, "status": None}):
        row = table_row(group, kind, obj, NOW, "Object")
        assert len(row["cells"]) == len(defs)
        for definition, cell in zip(defs, row["cells"], strict=True):
            if definition["type"] == "integer":
                assert isinstance(cell, int)
        json.dumps(row)
