"""`overhaul plan` end to end against the embedded demo cluster over HTTPS, as a subprocess.

The demo has 3 control-plane nodes and 9 workers in 3 zones, PDBs (one with minAvailable equal to
its replicas, which preflight blocks on), bare pods and objects last applied with removed API
versions: the plan is refused until those are accepted or fixed, then written as plan.yaml (loaded
back and validated here) and plan.md. The test that fixes the cluster as a user would runs last.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from overhaul.domain.plan import Action, StageKind
from overhaul.planning.invariants import check_plan
from overhaul.planning.planfile import load_plan
from tests.support.simproc import SimProcess, settled_demo, sim_command
from tests.support.waiting import eventually

ACCEPT = (
    "--accept",
    "removed-api",
    "--accept",
    "unmanaged-pod",
    "--accept",
    "pdb-blocks-drain:payments/ledger",
)
SECTIONS = (
    "## Details",
    "## Before the upgrade",
    "## Control plane",
    "## Worker waves",
    "## Verification",
    "## Rollback plan",
    "## Preflight findings",
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with settled_demo(tmp_path_factory.mktemp("sim-plan")) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client


def plan(
    sim: SimProcess, workdir: Path, *args: str, cluster: bool = True
) -> subprocess.CompletedProcess[str]:
    where = ("--kubeconfig", str(sim.kubeconfig)) if cluster else ()
    return subprocess.run(
        sim_command("plan", *where, *args),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=workdir,
    )


def test_blocking_findings_stop_the_plan(sim: SimProcess, tmp_path: Path) -> None:
    done = plan(sim, tmp_path, "--to", "1.36", "--provider", "sim")
    assert done.returncode == 3, done.stderr
    assert "[pdb-blocks-drain:payments/ledger]" in done.stderr
    assert "[removed-api:batch/legacy-reports]" in done.stderr
    assert "[unmanaged-pod:default/debug-shell]" in done.stderr
    assert not (tmp_path / "plan.yaml").exists() and not (tmp_path / "plan.md").exists()
    # Accepting some of them is not enough.
    done = plan(sim, tmp_path, "--to", "1.36", "--provider", "sim", "--accept", "removed-api")
    assert done.returncode == 3 and "removed-api" not in done.stderr.split("no plan written")[1]


def test_plan_with_accepted_findings(sim: SimProcess, api: httpx.Client, tmp_path: Path) -> None:
    done = plan(
        sim,
        tmp_path,
        "--to",
        "1.36",
        "--provider",
        "sim",
        *ACCEPT,
        "--max-unavailable",
        "3",
        "--window",
        "Sat,Sun 01:00-05:00 Europe/Berlin",
        "--soak",
        "2m",
        "--validate-between-batches",
        "-o",
        "upgrade.yaml",
    )
    assert done.returncode == 0, done.stderr
    assert "Wrote upgrade.yaml and upgrade.md" in done.stdout
    loaded = load_plan(tmp_path / "upgrade.yaml")  # validates: schema, digest, invariants
    assert check_plan(loaded) == []

    # The cluster it was made for, node by node.
    nodes = api.get("/api/v1/nodes").json()["items"]
    assert loaded.cluster.server == sim.server
    assert {(n.name, n.uid, n.version) for n in loaded.cluster.nodes} == {
        (n["metadata"]["name"], n["metadata"]["uid"], n["status"]["nodeInfo"]["kubeletVersion"])
        for n in nodes
    }
    assert loaded.control_plane_path == ("v1.34.2", "v1.35.4", "v1.36.0")

    # Control-plane nodes one at a time per hop, then every worker once, in batches of at most 3
    # inside one zone.
    kinds = [s.kind for s in loaded.stages]
    assert kinds == [StageKind.CONTROL_PLANE, StageKind.CONTROL_PLANE, StageKind.WORKERS]
    for stage in loaded.stages[:2]:
        assert [s.node_names for s in stage.steps] == [
            ("control-plane-1",),
            ("control-plane-2",),
            ("control-plane-3",),
        ]
    waves = loaded.stages[2].steps
    workers = sorted(n for s in waves for n in s.node_names)
    assert workers == sorted(f"worker-{i}" for i in range(1, 10))
    assert all(s.action is Action.UPGRADE_NODES and 1 <= len(s.nodes) <= 3 for s in waves)
    assert all(len({n.zone for n in s.nodes}) == 1 for s in waves)
    assert all(s.gates.soak_seconds == 120 and s.gates.validate for s in loaded.steps)
    assert loaded.estimate.windows_needed >= 1 and loaded.estimate.earliest_start
    # The accepted blocker shows where it bites.
    assert any("payments/ledger allows no disruption" in n for s in waves for n in s.notes)

    markdown = (tmp_path / "upgrade.md").read_text()
    positions = [markdown.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "Kubernetes 1.34.2 → 1.36.0" in markdown
    assert "worker-1" in markdown and "`--accept pdb-blocks-drain:payments/ledger`" in markdown
    assert "Sat, Sun 01:00-05:00 Europe/Berlin (4h)" in markdown


def test_surge_and_blue_green_on_the_sim(sim: SimProcess, tmp_path: Path) -> None:
    for strategy in ("surge", "blue-green"):
        done = plan(
            sim,
            tmp_path,
            "--to",
            "1.35",
            "--provider",
            "sim",
            "--strategy",
            strategy,
            *ACCEPT,
            "-o",
            f"{strategy}.yaml",
        )
        assert done.returncode == 0, done.stderr
        loaded = load_plan(tmp_path / f"{strategy}.yaml")
        actions = {s.action for s in loaded.steps}
        assert {Action.ADD_NODES, Action.DRAIN_NODES, Action.REMOVE_NODES} <= actions
        assert Action.UPGRADE_NODES not in actions


def test_exec_provider_renders_the_commands(sim: SimProcess, tmp_path: Path) -> None:
    done = plan(
        sim,
        tmp_path,
        "--to",
        "1.35",
        "--provider",
        "exec",
        "--exec-control-plane",
        "ssh {node} sudo /opt/upgrade-cp.sh {version}",
        "--exec-node",
        "ssh {node} sudo /opt/upgrade-node.sh {version} {zone}",
        *ACCEPT,
    )
    assert done.returncode == 0, done.stderr
    loaded = load_plan(tmp_path / "plan.yaml")
    first = loaded.steps[0].nodes[0]
    assert first.commands == ("ssh control-plane-1 sudo /opt/upgrade-cp.sh v1.35.4",)
    worker = next(n for s in loaded.steps if s.action is Action.UPGRADE_NODES for n in s.nodes)
    assert worker.commands == (f"ssh {worker.name} sudo /opt/upgrade-node.sh v1.35.4 {worker.zone}",)
    assert "/opt/upgrade-node.sh" in (tmp_path / "plan.md").read_text()


def test_plan_offline_from_a_snapshot(sim: SimProcess, tmp_path: Path) -> None:
    snapshot = tmp_path / "cluster.json.gz"
    taken = subprocess.run(
        sim_command("snapshot", "--kubeconfig", str(sim.kubeconfig), "-o", str(snapshot)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode == 0, taken.stderr
    done = plan(
        sim,
        tmp_path,
        "--to",
        "1.36",
        "--provider",
        "sim",
        "--from-snapshot",
        str(snapshot),
        *ACCEPT,
        "--etcd-endpoint",
        "https://127.0.0.1:2379",
        "--backup-dir",
        "bk",
        cluster=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = load_plan(tmp_path / "plan.yaml")
    backup = loaded.spec.backup
    assert backup.enabled and backup.directory == str((tmp_path / "bk").resolve())
    assert backup.etcd is not None and backup.etcd.endpoint == "https://127.0.0.1:2379"
    assert loaded.cluster.source == f"snapshot:{snapshot}" and loaded.cluster.server == ""
    assert len(loaded.cluster.nodes) == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--to", "banana"), "--to: 'banana' is not a Kubernetes version"),
        (("--to", "1.33"), "--to 1.33: the cluster already runs 1.34.2; a downgrade is not an upgrade"),
        (
            ("--to", "1.36", "--window", "Sat 25:00-26:00"),
            "--window: 'Sat 25:00-26:00': '25:00' is not a time of day",
        ),
        (
            ("--to", "1.36", "--window", "Sat 01:00-05:00 Mars/Olympus"),
            "--window: 'Sat 01:00-05:00 Mars/Olympus': 'Mars/Olympus' is not a time zone",
        ),
        (
            ("--to", "1.36", "--max-unavailable", "lots"),
            "--max-unavailable: 'lots' is not a count or a percentage",
        ),
        (("--to", "1.36", "--max-unavailable", "0"), "--max-unavailable 0: must be at least 1"),
        (("--to", "1.36", "--strategy", "surge", "--provider", "exec"), "--strategy surge adds nodes"),
        (("--to", "1.36", "--accept", "no-such-check"), "--accept no-such-check: unknown check"),
        (
            ("--to", "1.36", "--etcd-key", "k"),
            "--etcd-cacert, --etcd-cert and --etcd-key need --etcd-endpoint",
        ),
        (("--to", "1.36", "--no-backup", "--backup-dir", "b"), "--no-backup goes with neither"),
        (("--to", "1.36", "--etcd-endpoint", "ftp://x"), "--etcd-endpoint ftp://x: give a URL"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    sim: SimProcess, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    provider = () if "--provider" in args else ("--provider", "sim")
    done = plan(sim, tmp_path, *args, *provider)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"overhaul: {message}"), done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_fixing_the_cluster_the_way_a_user_would(sim: SimProcess, api: httpx.Client, tmp_path: Path) -> None:
    # Loosen the PDB that can never allow a disruption, and delete the debugging pods nobody recreates.
    patched = api.patch(
        "/apis/policy/v1/namespaces/payments/poddisruptionbudgets/ledger",
        json={"spec": {"minAvailable": 1}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    for name in ("debug-shell", "scratch-builder"):
        deleted = api.delete(f"/api/v1/namespaces/default/pods/{name}", params={"gracePeriodSeconds": "0"})
        assert deleted.status_code in (200, 202), deleted.text
    eventually(
        lambda: (
            api.get("/apis/policy/v1/namespaces/payments/poddisruptionbudgets/ledger")
            .json()["status"]
            .get("disruptionsAllowed")
            == 1
        ),
        "the ledger PDB to allow a disruption",
    )
    eventually(
        lambda: api.get("/api/v1/namespaces/default/pods").json()["items"] == [], "the bare pods to go"
    )
    # The removed API versions are in the sources that apply those objects: accepted, to be migrated.
    done = plan(
        sim,
        tmp_path,
        "--to",
        "1.36",
        "--provider",
        "sim",
        "--accept",
        "removed-api",
        "--max-unavailable",
        "3",
    )
    assert done.returncode == 0, done.stderr
    loaded = load_plan(tmp_path / "plan.yaml")
    notes = [n for s in loaded.steps for n in s.notes]
    assert not any("allows no disruption" in n or "no controller" in n for n in notes), notes
