"""The etcd restore procedure printed for a backup, and how etcd tool failures are explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from overhaul.backup.errors import BadBackup
from overhaul.backup.etcdctl import diagnose
from overhaul.backup.folder import FileRecord
from overhaul.backup.manifest import Manifest
from overhaul.backup.procedure import etcd_procedure

SHA = "ab" * 32


def manifest(folder: Path, version: str, members: list[dict[str, Any]]) -> Manifest:
    record = {
        "file": "etcd/snapshot.db",
        "endpoint": "https://10.0.0.1:2379",
        "etcdVersion": version,
        "memberName": "cp-1",
        "members": members,
        "revision": 1234,
        "totalKeys": 99,
    }
    data = {"started": "2026-05-01T12:00:00Z", "finished": "2026-05-01T12:00:09Z", "etcd": record}
    return Manifest(folder, data, {"etcd/snapshot.db": FileRecord(SHA, 4096)})


THREE = [
    {"name": "cp-1", "peerURLs": ["https://10.0.0.1:2380"]},
    {"name": "cp-2", "peerURLs": ["https://10.0.0.2:2380"]},
    {"name": "cp-3", "peerURLs": ["https://10.0.0.3:2380"]},
]


def test_three_members_on_etcd_35_use_etcdutl(tmp_path: Path) -> None:
    text = etcd_procedure(manifest(tmp_path, "3.5.21", THREE))
    cluster = "cp-1=https://10.0.0.1:2380,cp-2=https://10.0.0.2:2380,cp-3=https://10.0.0.3:2380"
    for n in (1, 2, 3):
        assert f"scp {tmp_path}/etcd/snapshot.db 10.0.0.{n}:/var/tmp/etcd-snapshot.db" in text
        assert f"--name cp-{n} --initial-advertise-peer-urls https://10.0.0.{n}:2380" in text
    assert text.count(f"--initial-cluster {cluster}") == 3
    assert text.count("sudo etcdutl snapshot restore /var/tmp/etcd-snapshot.db") == 3
    assert f"echo '{SHA}  /var/tmp/etcd-snapshot.db' | sha256sum --check" in text
    assert "--initial-cluster-token overhaul-restore-20260501t120000z" in text
    assert "sudo mv /var/lib/etcd /var/lib/etcd.before-restore-20260501t120000z" in text
    # stop everything before restoring, start etcd before the API server
    assert text.index("/etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/manifests-stopped/") < text.index(
        "snapshot restore"
    )
    assert text.index("manifests-stopped/etcd.yaml /etc/kubernetes/manifests/") < text.index(
        "manifests-stopped/kube-apiserver.yaml"
    )


def test_etcd_34_uses_etcdctl_and_a_custom_data_dir(tmp_path: Path) -> None:
    text = etcd_procedure(manifest(tmp_path, "3.4.23", THREE[:1]), data_dir="/data/etcd")
    assert "sudo ETCDCTL_API=3 etcdctl snapshot restore" in text
    assert "--data-dir /data/etcd" in text


def test_no_snapshot_no_procedure(tmp_path: Path) -> None:
    bare = Manifest(tmp_path, {"etcd": {"skipped": "no --etcd-endpoint given"}}, {})
    with pytest.raises(BadBackup, match=r"holds no etcd snapshot \(no --etcd-endpoint given\)"):
        etcd_procedure(bare)


@pytest.mark.parametrize(
    ("stderr", "meaning"),
    [
        (
            '{"error":"x509: certificate signed by unknown authority"}\nError: context deadline exceeded',
            "not trusted by --etcd-cacert",
        ),
        ('{"error":"dial tcp 127.0.0.1:1: connect: connection refused"}', "connection refused"),
        ('{"error":"write: broken pipe"}\nFailed to get the status', "did not accept the client certificate"),
        ('{"error":"latest balancer error: use of closed network connection"}', "the client certificate"),
        ("Failed to get the status of endpoint (context deadline exceeded)", "no answer in time"),
        ('{"error":"tls: first record does not look like a TLS handshake"}', "does not speak TLS"),
        ("Error: open /x/snapshot.db.part: no space left on device", "no space left on the device"),
        ("Error: something new", "something new"),
        ("", "failed without a message"),
    ],
)
def test_diagnose(stderr: str, meaning: str) -> None:
    assert meaning in diagnose(stderr)
