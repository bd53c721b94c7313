"""The apply engine's decisions against an in-memory cluster (a fake of the port, not of our code):
idempotent steps, cordons left as they should be, pause/resume/abort, windows.

The journal is the real one, in a temporary folder. End to end over HTTP: tests/integration/test_apply.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from overhaul.domain.eviction import EvictionOutcome, EvictionResult
from overhaul.domain.plan import (
    Action,
    BackupSpec,
    DrainSpec,
    NewNode,
    PlanNode,
    Role,
    Stage,
    StageKind,
    Step,
)
from overhaul.domain.version import Version
from overhaul.engine.apply.engine import Applier, ApplyOptions, ApplyResult, Outcome
from overhaul.engine.apply.events import ApplyEvent, DryRunAction
from overhaul.engine.drain.ports import ObjectWatch, Sink
from overhaul.engine.journal import (
    ControlAction,
    DirectoryJournalStore,
    Journal,
    read_journal,
    request_control,
)
from overhaul.engine.ports import NodeTarget
from overhaul.planning.windows import parse_window
from tests.unit.test_apply_drift import make_plan

JSON = dict[str, Any]


class EmptyWatch:
    def wait_synced(self, timeout: float | None = None) -> bool:
        return True

    def items(self) -> list[dict[str, Any]]:
        return []

    def stop(self, timeout: float = 10.0) -> None:
        return None

    @property
    def stopped(self) -> bool:
        return False

    @property
    def error(self) -> Exception | None:
        return None


class FakeCluster:
    """Nodes without pods: the drain of a node is its cordon."""

    def __init__(self, versions: Mapping[str, str], cordoned: Sequence[str] = ()) -> None:
        self.objects: dict[str, JSON] = {}
        self.cordons: list[tuple[str, bool]] = []
        for name, version in versions.items():
            self.objects[name] = {
                "metadata": {"name": name, "uid": f"uid-{name}"},
                "spec": {"unschedulable": True} if name in cordoned else {},
                "status": {
                    "nodeInfo": {"kubeletVersion": version},
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }

    def node(self, name: str) -> JSON | None:
        return self.objects.get(name)

    def nodes(self, label_selector: str) -> Sequence[JSON]:
        return list(self.objects.values())

    def set_unschedulable(self, name: str, unschedulable: bool) -> None:
        self.cordons.append((name, unschedulable))
        self.objects[name]["spec"]["unschedulable"] = unschedulable

    def daemonset_exists(self, namespace: str, name: str) -> bool | str:
        return True

    def evict(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult:
        return EvictionResult(EvictionOutcome.EVICTED)

    def delete_pod(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult:
        return EvictionResult(EvictionOutcome.EVICTED)

    def watch_pods(self, node: str, pod_selector: str, sink: Sink) -> ObjectWatch:
        return EmptyWatch()

    def watch_budgets(self, sink: Sink) -> ObjectWatch:
        return EmptyWatch()

    def list_nodes(self) -> Sequence[JSON]:
        return list(self.objects.values())

    def list_budgets(self) -> Sequence[JSON]:
        return []

    def unschedulable(self, name: str) -> bool:
        return bool(self.objects[name]["spec"].get("unschedulable"))

    def version(self, name: str) -> str:
        return str(self.objects[name]["status"]["nodeInfo"]["kubeletVersion"])


@dataclass
class Result:
    ok: bool
    reason: str = ""
    output: str = ""
    actions: Sequence[str] = ()
    dry_run: bool = False


@dataclass
class FakeUpgrader:
    cluster: FakeCluster
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, bool]] = field(default_factory=list)
    on_upgrade: Any = None

    @property
    def name(self) -> str:
        return "fake"

    def upgrade(
        self,
        target: NodeTarget,
        version: Version,
        *,
        first_control_plane: bool = False,
        timeout: float,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> Result:
        if dry_run:
            return Result(True, actions=(f"upgrade {target.name} to {version.full()}",), dry_run=True)
        self.calls.append((target.name, first_control_plane))
        if self.on_upgrade is not None:
            self.on_upgrade(target.name)
        if target.name in self.failing:
            self.cluster.objects[target.name]["status"]["conditions"] = [
                {"type": "Ready", "status": "Unknown"}
            ]
            return Result(False, reason="it never came back")
        self.cluster.objects[target.name]["status"]["nodeInfo"]["kubeletVersion"] = version.full()
        return Result(True, output=f"upgraded {target.name}")


def three_step_plan(cordoned_before: str = "") -> Any:
    """cp-1 (control plane), then w-1 and w-2 together, to v1.35.0."""
    base = make_plan()

    def pn(name: str, role: Role) -> PlanNode:
        return PlanNode(name, f"uid-{name}", "v1.34.2", role, cordoned=name == cordoned_before)

    cp = Step("cp/cp-1", Action.UPGRADE_CONTROL_PLANE, "v1.35.0", nodes=(pn("cp-1", Role.CONTROL_PLANE),))
    wave = Step(
        "workers/wave-1",
        Action.UPGRADE_NODES,
        "v1.35.0",
        nodes=(pn("w-1", Role.WORKER), pn("w-2", Role.WORKER)),
    )
    stages = (
        Stage("cp", StageKind.CONTROL_PLANE, "cp", "v1.34.2", "v1.35.0", (cp,)),
        Stage("workers", StageKind.WORKERS, "workers", "", "v1.35.0", (wave,)),
    )
    return replace(base, stages=stages)


FAST = ApplyOptions(poll_interval=0.01, ready_timeout=1, health_timeout=1)


def run(
    tmp_path: Path,
    plan: Any,
    cluster: FakeCluster,
    upgrader: FakeUpgrader,
    options: ApplyOptions = FAST,
    now: Any = None,
    events: list[ApplyEvent] | None = None,
    backup: Any = None,
) -> ApplyResult:
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        kwargs: dict[str, Any] = {"now": now} if now is not None else {}
        if backup is not None:
            kwargs["backup"] = backup
        applier = Applier(
            plan, cluster, upgrader, journal, options=options, listener=(events or []).append, **kwargs
        )
        return applier.run()


def journal_of(tmp_path: Path) -> Any:
    with DirectoryJournalStore(tmp_path / "state") as store:
        return read_journal(store)


def test_every_node_is_upgraded_once_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    result = run(tmp_path, three_step_plan(), cluster, upgrader)
    assert result.outcome is Outcome.SUCCEEDED and result.steps_run == 2
    assert sorted(upgrader.calls) == [("cp-1", True), ("w-1", False), ("w-2", False)]
    assert not any(cluster.unschedulable(n) for n in ("cp-1", "w-1", "w-2"))
    again = run(tmp_path, three_step_plan(), cluster, upgrader)
    assert again.outcome is Outcome.SUCCEEDED and again.steps_run == 0
    assert len(upgrader.calls) == 3


def test_a_node_cordoned_before_the_plan_stays_cordoned(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"}, cordoned=["w-2"])
    result = run(tmp_path, three_step_plan(cordoned_before="w-2"), cluster, FakeUpgrader(cluster))
    assert result.outcome is Outcome.SUCCEEDED
    assert cluster.unschedulable("w-2") and not cluster.unschedulable("w-1")
    assert cluster.version("w-2") == "v1.35.0"


def test_a_node_a_crashed_run_upgraded_and_left_cordoned_is_only_uncordoned(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.35.0", "w-1": "v1.34.2", "w-2": "v1.34.2"}, cordoned=["cp-1"])
    upgrader = FakeUpgrader(cluster)
    result = run(tmp_path, three_step_plan(), cluster, upgrader)
    assert result.outcome is Outcome.SUCCEEDED
    assert "cp-1" not in [name for name, _ in upgrader.calls]
    assert not cluster.unschedulable("cp-1")


def test_a_failed_node_stays_cordoned_the_rest_of_its_batch_is_uncordoned(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    result = run(tmp_path, three_step_plan(), cluster, FakeUpgrader(cluster, failing={"w-2"}))
    assert result.outcome is Outcome.FAILED and result.failed_step == "workers/wave-1"
    assert result.broken_nodes == ("w-2",)
    assert cluster.unschedulable("w-2") and not cluster.unschedulable("w-1")
    journal = journal_of(tmp_path)
    assert journal.failed() == ("workers/wave-1",)
    assert "w-2: upgrade failed: it never came back" in journal.steps["workers/wave-1"].reason


def test_pause_waits_for_resume_and_abort_stops_between_steps(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    reader = DirectoryJournalStore(tmp_path / "state")
    upgrader = FakeUpgrader(cluster)
    upgrader.on_upgrade = lambda name: (
        request_control(reader, ControlAction.PAUSE, by="ops") if name == "cp-1" else None
    )
    done = threading.Event()
    outcome: list[ApplyResult] = []
    thread = threading.Thread(
        target=lambda: (outcome.append(run(tmp_path, three_step_plan(), cluster, upgrader)), done.set())
    )
    thread.start()
    assert not done.wait(0.5)  # paused after the control-plane step
    assert [name for name, _ in upgrader.calls] == ["cp-1"]
    request_control(reader, ControlAction.ABORT, by="ops")
    assert done.wait(5)
    thread.join()
    assert outcome[0].outcome is Outcome.ABORTED
    assert [name for name, _ in upgrader.calls] == ["cp-1"]
    assert not any(cluster.unschedulable(n) for n in ("cp-1", "w-1", "w-2"))
    journal = journal_of(tmp_path)
    assert journal.finished.outcome == "aborted" and set(journal.acknowledged.values()) == {"pause", "abort"}


def test_outside_every_window_it_stops_or_waits_for_the_opening(tmp_path: Path) -> None:
    window = parse_window("Mon 01:00-02:00 UTC")
    plan = three_step_plan()
    plan = replace(plan, spec=replace(plan.spec, windows=(window,)))
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    sunday = dt.datetime(2026, 11, 29, 23, 59, 59, 900000, tzinfo=dt.UTC)
    stopped = run(
        tmp_path, plan, cluster, upgrader, replace(FAST, stop_outside_window=True), now=lambda: sunday
    )
    assert stopped.outcome is Outcome.OUTSIDE_WINDOW and upgrader.calls == []
    clock = iter(
        [sunday + dt.timedelta(hours=h) for h in (0, 1, 1.5)] + [sunday + dt.timedelta(hours=1.5)] * 100
    )
    waited = run(tmp_path, plan, cluster, upgrader, now=lambda: next(clock))
    assert waited.outcome is Outcome.SUCCEEDED and len(upgrader.calls) == 3


def test_a_dry_run_lists_actions_and_changes_nothing(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    events: list[ApplyEvent] = []
    applier = Applier(
        three_step_plan(), cluster, upgrader, None, options=ApplyOptions(dry_run=True), listener=events.append
    )
    assert applier.run().outcome is Outcome.DRY_RUN
    actions = [e.action for e in events if isinstance(e, DryRunAction)]
    assert "upgrade w-1 to v1.35.0" in actions and "kubectl uncordon w-2" in actions
    assert any(a.startswith("kubectl drain cp-1 --ignore-daemonsets") for a in actions)
    assert upgrader.calls == [] and cluster.cordons == []


@dataclass
class FakeBackup:
    error: str = ""
    taken: int = 0

    def describe(self) -> str:
        return "every API resource, into /backups/"

    def take(self) -> str:
        if self.error:
            raise OSError(self.error)
        self.taken += 1
        return f"/backups/overhaul-backup-{self.taken}"


def test_a_backup_is_taken_once_before_the_first_step(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster, failing={"w-2"})
    backup = FakeBackup()
    first = run(tmp_path, three_step_plan(), cluster, upgrader, backup=backup)
    assert first.outcome is Outcome.FAILED and backup.taken == 1
    journal = journal_of(tmp_path)
    assert (
        next(iter(journal.steps)) == "backup"
        and journal.steps["backup"].output == "/backups/overhaul-backup-1"
    )
    upgrader.failing.clear()
    cluster.objects["w-2"]["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    second = run(tmp_path, three_step_plan(), cluster, upgrader, backup=backup)
    assert second.outcome is Outcome.SUCCEEDED and backup.taken == 1  # a resumed run takes none


def test_a_failed_backup_refuses_to_start_and_is_retried_next_time(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    upgrader = FakeUpgrader(cluster)
    backup = FakeBackup(error="read-only file system")
    result = run(tmp_path, three_step_plan(), cluster, upgrader, backup=backup)
    assert result.outcome is Outcome.FAILED and result.failed_step == "backup"
    assert "read-only file system" in result.message
    assert upgrader.calls == [] and cluster.cordons == []
    backup.error = ""
    assert run(tmp_path, three_step_plan(), cluster, upgrader, backup=backup).outcome is Outcome.SUCCEEDED
    assert backup.taken == 1 and journal_of(tmp_path).steps["backup"].attempts == 2


def test_no_backup_when_the_plan_turns_it_off_and_a_dry_run_only_says_it(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    plan = three_step_plan()
    off = replace(plan, spec=replace(plan.spec, backup=BackupSpec(enabled=False)))
    backup = FakeBackup()
    assert run(tmp_path, off, cluster, FakeUpgrader(cluster), backup=backup).outcome is Outcome.SUCCEEDED
    assert backup.taken == 0 and "backup" not in journal_of(tmp_path).steps
    events: list[ApplyEvent] = []
    fresh = FakeCluster({"cp-1": "v1.34.2", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    dry = Applier(
        plan, fresh, FakeUpgrader(fresh), None, options=ApplyOptions(dry_run=True), listener=events.append,
        backup=backup,
    )  # fmt: skip
    assert dry.run().outcome is Outcome.DRY_RUN and backup.taken == 0
    actions = [e.action for e in events if isinstance(e, DryRunAction) and e.step == "backup"]
    assert actions == ["# would take a backup: every API resource, into /backups/"]


class FakePool:
    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.created: list[tuple[str, str, str]] = []
        self.deleted: list[str] = []

    def create_node_like(self, name: str, like: Mapping[str, Any], version: str, zone: str) -> None:
        self.created.append((name, like["metadata"]["name"], version))
        self.cluster.objects[name] = {
            "metadata": {"name": name, "uid": f"uid-{name}"},
            "spec": {},
            "status": {
                "nodeInfo": {"kubeletVersion": version},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }

    def delete_node(self, name: str) -> None:
        self.deleted.append(name)
        self.cluster.objects.pop(name, None)

    def describe_create(self, name: str, like: str, version: str) -> str:
        return f"create {name} like {like} at {version}"

    def describe_delete(self, name: str) -> str:
        return f"delete {name}"


def surge_plan() -> Any:
    """w-1 and w-2 replaced by w-1-new and w-2-new: add, drain, remove."""
    base = make_plan()

    def pn(name: str) -> PlanNode:
        return PlanNode(name, f"uid-{name}", "v1.34.2", Role.WORKER)

    old = (pn("w-1"), pn("w-2"))
    steps = (
        Step(
            "w/add",
            Action.ADD_NODES,
            "v1.35.0",
            new_nodes=(NewNode("w-1-new", "w-1"), NewNode("w-2-new", "w-2")),
        ),
        Step("w/cordon", Action.CORDON_NODES, "v1.35.0", nodes=old),
        Step("w/drain", Action.DRAIN_NODES, "v1.35.0", nodes=old, drain=DrainSpec()),
        Step("w/remove", Action.REMOVE_NODES, "v1.35.0", nodes=old),
    )
    return replace(base, stages=(Stage("workers", StageKind.WORKERS, "workers", "", "v1.35.0", steps),))


def test_surge_steps_add_drain_and_remove_nodes_once(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.35.0", "w-1": "v1.34.2", "w-2": "v1.34.2"})
    pool = FakePool(cluster)
    upgrader = FakeUpgrader(cluster)
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        result = Applier(surge_plan(), cluster, upgrader, journal, options=FAST, node_pool=pool).run()
    assert result.outcome is Outcome.SUCCEEDED
    assert sorted(pool.created) == [("w-1-new", "w-1", "v1.35.0"), ("w-2-new", "w-2", "v1.35.0")]
    assert sorted(pool.deleted) == ["w-1", "w-2"] and upgrader.calls == []
    assert sorted(cluster.objects) == ["cp-1", "w-1-new", "w-2-new"]
    assert ("w-1", True) in cluster.cordons and ("w-1", False) not in cluster.cordons
    with pytest.raises(ValueError, match="creates and deletes nodes"):
        Applier(surge_plan(), cluster, upgrader, None, options=ApplyOptions(dry_run=True)).run()


def test_a_rerun_after_a_crash_mid_surge_creates_and_deletes_nothing_twice(tmp_path: Path) -> None:
    cluster = FakeCluster({"cp-1": "v1.35.0", "w-1": "v1.34.2", "w-2": "v1.34.2", "w-1-new": "v1.35.0"})
    pool = FakePool(cluster)
    del cluster.objects["w-2"]  # a crashed run created w-1-new and removed w-2 (say)
    cluster.objects["w-2-new"] = dict(cluster.objects["w-1-new"], metadata={"name": "w-2-new"})
    with DirectoryJournalStore(tmp_path / "state", writer=True) as store:
        journal = Journal.open(store, plan_id="p", plan_hash="h", run_id="r", by="test")
        result = Applier(
            surge_plan(), cluster, FakeUpgrader(cluster), journal, options=FAST, node_pool=pool
        ).run()
    assert result.outcome is Outcome.SUCCEEDED
    assert pool.created == [] and pool.deleted == ["w-1"]
