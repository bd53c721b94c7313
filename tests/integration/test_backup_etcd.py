"""`overhaul backup` against a real etcd (Debian's etcd-server on 127.0.0.1, TLS with client
certificates as kubeadm sets it up): the snapshot is taken, verified, readable by etcd's own tools
and restorable by them; `--verify` catches a damaged one; unreachable etcd, wrong certificates and a
full disk are clear errors that leave no backup behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.etcd import EtcdServer, etcd_binary, free_port
from tests.support.mounts import tmpfs
from tests.support.simproc import SimProcess, sim_command

KEYS = 60


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    with EtcdServer(tmp_path_factory.mktemp("etcd")) as server:
        server.put(KEYS)
        yield server


@pytest.fixture(scope="module")
def taken(etcd: EtcdServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One etcd-only backup, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("etcd-backups")
    done = overhaul("backup", "--no-resources", "--out", str(out), *tls(etcd), "-o", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return Path(result["backup"]), result["manifest"]


def overhaul(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sim_command(*args), capture_output=True, text=True, timeout=timeout)


def tls(
    etcd: EtcdServer, *, ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> list[str]:
    assert etcd.pki is not None
    return [
        "--etcd-endpoint",
        etcd.endpoint,
        "--etcd-cacert",
        str(ca or etcd.pki.ca),
        "--etcd-cert",
        str(cert or etcd.pki.client_cert),
        "--etcd-key",
        str(key or etcd.pki.client_key),
        "--etcd-timeout",
        "2s",
    ]


def etcd_version() -> str:
    out = subprocess.run(
        [etcd_binary("etcd"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()[0].split(":", 1)[1].strip()


def assert_no_backup(out: Path) -> None:
    assert not out.exists() or not [p for p in out.iterdir() if p.name.startswith((".overhaul", "overhaul"))]


# --------------------------------------------------------------------------------- the snapshot


def test_snapshot_is_taken_verified_and_recorded(taken: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = taken
    snapshot = folder / "etcd" / "snapshot.db"
    assert snapshot.is_file()
    assert snapshot.stat().st_mode & 0o777 == 0o600  # it holds every Secret of the cluster
    record = manifest["etcd"]
    assert record["integrityHash"] == "verified"
    assert record["etcdVersion"] == etcd_version()
    assert record["totalKeys"] >= KEYS
    assert record["revision"] >= KEYS + 1 and record["revision"] >= record["revisionBeforeSnapshot"]
    assert record["totalSize"] + 32 == snapshot.stat().st_size  # the database and its sha256
    assert record["memberName"] == "test-member" and record["members"][0]["name"] == "test-member"
    digest = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    assert manifest["files"]["etcd/snapshot.db"] == {"sha256": digest, "bytes": snapshot.stat().st_size}
    assert manifest["resources"] == {"skipped": "not requested (--no-resources)"}
    assert manifest["complete"] is True and manifest["format"] == "overhaul.io/backup/v1"


def test_etcds_own_tool_lists_the_snapshot(taken: tuple[Path, dict[str, Any]]) -> None:
    """`etcdutl snapshot status` where installed (etcd >= 3.5), else `etcdctl snapshot status` (3.4)."""
    folder, manifest = taken
    tool = shutil.which("etcdutl") or etcd_binary("etcdctl")
    done = subprocess.run(
        [tool, "snapshot", "status", str(folder / "etcd" / "snapshot.db"), "-w", "json"],
        capture_output=True,
        text=True,
        check=True,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
    )
    status = json.loads(done.stdout)
    record = manifest["etcd"]
    assert (status["hash"], status["revision"], status["totalKey"], status["totalSize"]) == (
        record["hash"],
        record["revision"],
        record["totalKeys"],
        record["totalSize"],
    )


def test_snapshot_restores_with_etcds_tools(taken: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """The procedure's restore command works on the snapshot (its integrity hash is checked)."""
    folder, _ = taken
    tool = shutil.which("etcdutl") or etcd_binary("etcdctl")
    done = subprocess.run(
        [
            tool,
            "snapshot",
            "restore",
            str(folder / "etcd" / "snapshot.db"),
            "--data-dir",
            str(tmp_path / "restored"),
        ],
        capture_output=True,
        text=True,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "restored" / "member" / "snap" / "db").is_file()


def test_verify_says_intact(taken: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = taken
    done = overhaul("backup", "--verify", str(folder), "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["intact"] is True and report["snapshotChecked"] is True and report["problems"] == []


def test_verify_catches_a_corrupted_snapshot(taken: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    folder, _ = taken
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    snapshot = copy / "etcd" / "snapshot.db"
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    done = overhaul("backup", "--verify", str(copy))
    assert done.returncode == 1
    assert "DAMAGED" in done.stdout
    assert "etcd/snapshot.db: sha256 differs" in done.stdout
    assert "integrity hash does not match" in done.stdout
    assert "Traceback" not in done.stderr


def test_verify_catches_a_truncated_snapshot(taken: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    folder, _ = taken
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    snapshot = copy / "etcd" / "snapshot.db"
    snapshot.write_bytes(snapshot.read_bytes()[:4096])
    done = overhaul("backup", "--verify", str(copy), "-o", "json")
    assert done.returncode == 1
    problems = json.loads(done.stdout)["problems"]
    assert any("bytes, the manifest recorded" in p for p in problems), problems
    assert any("no integrity hash" in p or "snapshot status failed" in p for p in problems), problems


def test_etcd_procedure_gives_the_commands_for_this_snapshot(taken: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = taken
    done = overhaul("restore", "--from", str(folder), "--etcd-procedure")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    sha = manifest["files"]["etcd/snapshot.db"]["sha256"]
    member = manifest["etcd"]["members"][0]
    assert f"echo '{sha}  /var/tmp/etcd-snapshot.db' | sha256sum --check" in text
    assert "snapshot restore /var/tmp/etcd-snapshot.db" in text
    tool = "etcdutl" if int(etcd_version().split(".")[1]) >= 5 else "ETCDCTL_API=3 etcdctl"
    assert f"sudo {tool} snapshot restore" in text
    assert f"--name {member['name']} --initial-advertise-peer-urls {member['peerURLs'][0]}" in text
    assert f"--initial-cluster {member['name']}={member['peerURLs'][0]}" in text
    assert "--data-dir /var/lib/etcd" in text
    assert str((folder / "etcd" / "snapshot.db").resolve()) in text


def test_one_folder_holds_the_snapshot_and_the_resources(etcd: EtcdServer, tmp_path: Path) -> None:
    with SimProcess(tmp_path / "sim", "--scenario", "empty") as sim:
        done = overhaul(
            "backup", "--kubeconfig", str(sim.kubeconfig), "--out", str(tmp_path / "out"), *tls(etcd)
        )
    assert done.returncode == 0, done.stderr
    assert "etcd snapshot" in done.stderr and "resources:" in done.stderr  # the progress bars
    assert "etcd snapshot: verified; etcd " in done.stdout
    (folder,) = (tmp_path / "out").iterdir()
    assert (folder / "etcd" / "snapshot.db").is_file()
    assert (folder / "resources" / "cluster" / "namespaces.json").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["etcd"]["totalKeys"] >= KEYS and manifest["resources"]["objects"] > 0
    verify = overhaul("backup", "--verify", str(folder))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout and "etcd snapshot re-checked" in verify.stdout


# ------------------------------------------------------------------------------------------ faults


def test_unreachable_etcd_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = overhaul(
        "backup", "--no-resources", "--out", str(out), "--etcd-endpoint", f"http://127.0.0.1:{free_port()}",
        "--etcd-timeout", "2s",
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot reach etcd at http://127.0.0.1:" in done.stderr
    assert "connection refused" in done.stderr
    assert "the partial backup was removed" in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_backup(out)


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("ca", "etcd's server certificate is not trusted by --etcd-cacert"),
        ("client", "etcd did not accept the client certificate"),
    ],
)
def test_wrong_certificates_are_clear_errors(
    etcd: EtcdServer, tmp_path: Path, which: str, expected: str
) -> None:
    assert etcd.stranger is not None
    if which == "ca":
        args = tls(etcd, ca=etcd.stranger.ca)
    else:
        args = tls(etcd, cert=etcd.stranger.client_cert, key=etcd.stranger.client_key)
    out = tmp_path / "out"
    done = overhaul("backup", "--no-resources", "--out", str(out), *args)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_backup(out)


def test_disk_full_during_the_snapshot_leaves_nothing(etcd: EtcdServer, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "16k") as small:  # the database is larger than 16 KiB
        done = overhaul("backup", "--no-resources", "--out", str(small), *tls(etcd))
        assert done.returncode == 1
        assert "no space left on the device" in done.stderr
        assert "the partial backup was removed" in done.stderr
        assert_no_backup(small)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--etcd-endpoint", "not-a-url"], "give a URL like https://10.0.0.1:2379"),
        (
            ["--etcd-endpoint", "https://127.0.0.1:2379", "--etcd-cert", "x.crt"],
            "--etcd-cert and --etcd-key go together",
        ),
        (["--etcd-cacert", "ca.crt"], "need --etcd-endpoint"),
        (
            ["--etcd-endpoint", "https://127.0.0.1:2379", "--etcd-cacert", "/nonexistent/ca.crt"],
            "no such file",
        ),
        (["--no-etcd"], "leave nothing to back up"),
        (["--etcd-endpoint", "https://127.0.0.1:2379", "--etcd-timeout", "soon"], "invalid duration"),
    ],
)
def test_bad_etcd_options_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    done = overhaul("backup", "--no-resources", "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_backup(tmp_path / "out")


def test_verify_of_a_folder_that_is_no_backup(tmp_path: Path) -> None:
    done = overhaul("backup", "--verify", str(tmp_path))
    assert done.returncode == 1
    assert "no manifest.json" in done.stderr
    assert "Traceback" not in done.stderr
