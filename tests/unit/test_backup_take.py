"""`take_backup` and `verify_backup` through the backup package's own port, with a cluster held in
memory (a stand-in for the port, not for any of our code): the folder it writes, what a failure
leaves behind (nothing), and what `--verify` finds wrong."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overhaul.backup.encryption import load_key
from overhaul.backup.errors import BackupFailed, BadBackup, BadOptions
from overhaul.backup.export import ExportOptions
from overhaul.backup.folder import BackupFolder
from overhaul.backup.loading import load_resources
from overhaul.backup.manifest import read_manifest
from overhaul.backup.ports import ClusterIdentity, Page, ServedApis
from overhaul.backup.selection import select_resources
from overhaul.backup.take import BackupOptions, BackupPorts, take_backup
from overhaul.backup.verify import verify_backup
from overhaul.domain.cluster import ServedResource

JSON = dict[str, Any]
ALL = frozenset({"get", "list", "create", "update", "delete", "watch"})
MOMENT = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

CONFIGMAPS = ServedResource("", "v1", "configmaps", "ConfigMap", True, ALL)
SECRETS = ServedResource("", "v1", "secrets", "Secret", True, ALL)
PODS = ServedResource("", "v1", "pods", "Pod", True, ALL)
NAMESPACES = ServedResource("", "v1", "namespaces", "Namespace", False, ALL)
EVENTS = ServedResource("", "v1", "events", "Event", True, ALL)
BINDINGS = ServedResource("", "v1", "bindings", "Binding", True, frozenset({"create"}))
DEPLOYMENTS = ServedResource("apps", "v1", "deployments", "Deployment", True, ALL)


def item(name: str, namespace: str | None = None, **extra: Any) -> JSON:
    meta: JSON = {"name": name, "uid": f"uid-{name}", "resourceVersion": "1"}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, **extra}


class MemoryCluster:
    """The ClusterReader port over objects held in memory; `fail_on` makes one list fail."""

    def __init__(self, objects: dict[str, list[JSON]], *, fail_on: str = "", restart_on: str = "") -> None:
        self.objects = objects
        self.fail_on = fail_on
        self.restart_on = restart_on

    def identity(self) -> ClusterIdentity:
        return ClusterIdentity("https://cluster.example:6443", "prod", "v1.34.2")

    def discover(self) -> ServedApis:
        resources = (CONFIGMAPS, SECRETS, PODS, NAMESPACES, EVENTS, BINDINGS, DEPLOYMENTS)
        return ServedApis(resources, resources)

    def list_pages(self, resource: ServedResource, namespace: str | None) -> Iterator[Page]:
        if resource.name == self.fail_on:
            raise RuntimeError(f"cannot reach the cluster while listing {resource.name}")
        items = [
            o
            for o in self.objects.get(resource.name, [])
            if namespace is None or o["metadata"].get("namespace") == namespace
        ]
        if resource.name == self.restart_on:
            yield Page([item("stale", "a")])
            yield Page(items[:1], restarted=True)
            yield Page(items[1:])
            return
        yield Page(items[:1])
        yield Page(items[1:])

    def get(self, resource: ServedResource, namespace: str | None, name: str) -> JSON | None:
        return next((o for o in self.objects.get(resource.name, []) if o["metadata"]["name"] == name), None)


def cluster(**kwargs: Any) -> MemoryCluster:
    owned = {"ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "controller": True}]}
    return MemoryCluster(
        {
            "namespaces": [item("a"), item("b")],
            "configmaps": [item("z", "a", data={"k": "v"}), item("y", "a"), item("x", "b")],
            "secrets": [item("s", "a", data={"password": base64.b64encode(b"hunter2").decode()})],
            "pods": [
                item("bare", "a", spec={"nodeName": "n1"}),
                {**item("owned", "a"), "metadata": {"name": "owned", "namespace": "a", **owned}},
            ],
            "events": [item("e", "a")],
            "deployments": [item("d", "b", status={"readyReplicas": 1})],
        },
        **kwargs,
    )


def test_a_backup_folder_with_its_manifest(tmp_path: Path) -> None:
    result = take_backup(BackupOptions(tmp_path), BackupPorts(cluster=cluster()), clock=lambda: MOMENT)
    assert result.path == tmp_path / "overhaul-backup-20260501T120000Z"
    manifest = read_manifest(result.path)
    assert manifest.data["cluster"] == {
        "server": "https://cluster.example:6443",
        "context": "prod",
        "version": "v1.34.2",
    }
    assert manifest.data["started"] == "2026-05-01T12:00:00Z"
    assert manifest.data["etcd"] == {"skipped": "no etcd endpoint given"}
    assert sorted(manifest.files) == [
        "resources/cluster/namespaces.json",
        "resources/namespaces/a/configmaps.json",
        "resources/namespaces/a/pods.json",
        "resources/namespaces/b/configmaps.json",
        "resources/namespaces/b/deployments.apps.json",
    ]
    cms = json.loads((result.path / "resources/namespaces/a/configmaps.json").read_text())
    assert cms["kind"] == "List"
    assert [o["metadata"]["name"] for o in cms["items"]] == ["y", "z"]  # sorted by name
    assert cms["items"][1] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "z", "namespace": "a"},
        "data": {"k": "v"},
    }
    assert result.export is not None
    assert result.export.counts() == {"ConfigMap": 3, "Deployment": 1, "Namespace": 2, "Pod": 1}
    assert result.export.skipped == {("Pod", "owned by a controller"): 1}
    assert set(result.export.excluded) == {"events", "secrets"}
    assert not list(tmp_path.glob(".*partial"))
    assert verify_backup(result.path).intact


def test_secrets_plain_are_private_and_encrypted_need_the_key(tmp_path: Path) -> None:
    plain = take_backup(
        BackupOptions(tmp_path / "p", ExportOptions(include_secrets=True)), BackupPorts(cluster=cluster())
    )
    path = plain.path / "resources/namespaces/a/secrets.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (plain.path / "resources/namespaces/a/configmaps.json").stat().st_mode & 0o777 == 0o644
    keyfile = tmp_path / "key"
    keyfile.write_bytes(base64.urlsafe_b64encode(b"1" * 32))
    key = load_key(keyfile)
    sealed = take_backup(
        BackupOptions(tmp_path / "e", ExportOptions(include_secrets=True, encrypt_key=key)),
        BackupPorts(cluster=cluster()),
    )
    encrypted = sealed.path / "resources/namespaces/a/secrets.json.fernet"
    assert b"aHVudGVyMg" not in encrypted.read_bytes()
    manifest = read_manifest(sealed.path)
    with pytest.raises(BadOptions, match="encrypted: give the key"):
        load_resources(manifest, None)
    secret = next(o for o in load_resources(manifest, key).objects if o["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2"


def test_a_restarted_list_drops_what_came_before(tmp_path: Path) -> None:
    result = take_backup(BackupOptions(tmp_path), BackupPorts(cluster=cluster(restart_on="configmaps")))
    loaded = load_resources(read_manifest(result.path), None)
    names = sorted(o["metadata"]["name"] for o in loaded.objects if o["kind"] == "ConfigMap")
    assert names == ["x", "y", "z"]


def test_a_failure_leaves_no_backup(tmp_path: Path) -> None:
    with pytest.raises(BackupFailed, match=r"while listing pods; the partial backup was removed"):
        take_backup(BackupOptions(tmp_path), BackupPorts(cluster=cluster(fail_on="pods")))
    assert list(tmp_path.iterdir()) == []


def test_options_that_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(BadOptions, match="nothing to back up"):
        take_backup(BackupOptions(tmp_path, resources=None), BackupPorts())
    with pytest.raises(BadOptions, match="needs a cluster"):
        take_backup(BackupOptions(tmp_path), BackupPorts())
    with pytest.raises(BadOptions, match="no namespace named nope"):
        take_backup(
            BackupOptions(tmp_path, ExportOptions(namespaces=("nope",))), BackupPorts(cluster=cluster())
        )
    assert list(tmp_path.iterdir()) == []


def test_namespaces_option_lists_only_those(tmp_path: Path) -> None:
    result = take_backup(
        BackupOptions(tmp_path, ExportOptions(namespaces=("b",))), BackupPorts(cluster=cluster())
    )
    assert sorted(read_manifest(result.path).files) == [
        "resources/cluster/namespaces.json",
        "resources/namespaces/b/configmaps.json",
        "resources/namespaces/b/deployments.apps.json",
    ]
    namespaces = json.loads((result.path / "resources/cluster/namespaces.json").read_text())["items"]
    assert [n["metadata"]["name"] for n in namespaces] == ["b"]


def test_two_backups_in_one_second_get_two_folders(tmp_path: Path) -> None:
    first = take_backup(BackupOptions(tmp_path), BackupPorts(cluster=cluster()), clock=lambda: MOMENT)
    second = take_backup(BackupOptions(tmp_path), BackupPorts(cluster=cluster()), clock=lambda: MOMENT)
    assert second.path.name == first.path.name + "-2"


def test_selection_rules() -> None:
    chosen = select_resources([CONFIGMAPS, SECRETS, EVENTS, BINDINGS, DEPLOYMENTS], ["Deployment", "bogus"])
    assert [r.name for r in chosen.chosen] == ["configmaps"]
    assert set(chosen.excluded) == {"deployments.apps", "events", "secrets"}
    assert chosen.unmatched == ("bogus",)
    assert [r.name for r in select_resources([SECRETS], include_secrets=True).chosen] == ["secrets"]
    assert select_resources([DEPLOYMENTS], ["deployments.apps"]).chosen == ()
    assert select_resources([DEPLOYMENTS], ["DEPLOYMENTS"]).chosen == ()


# ------------------------------------------------------------------------------------------ verify


@pytest.fixture
def taken(tmp_path: Path) -> Path:
    return take_backup(BackupOptions(tmp_path / "out"), BackupPorts(cluster=cluster())).path


def test_verify_finds_changed_missing_and_extra_files(taken: Path) -> None:
    (taken / "resources/namespaces/a/configmaps.json").write_text("{}")
    (taken / "resources/namespaces/b/configmaps.json").unlink()
    (taken / "resources/stray.json").write_text("{}")
    report = verify_backup(taken)
    assert not report.intact
    assert set(report.problems) == {
        "resources/namespaces/a/configmaps.json: 2 bytes, the manifest recorded "
        f"{read_manifest(taken).files['resources/namespaces/a/configmaps.json'].bytes}",
        "resources/namespaces/b/configmaps.json: missing",
        "resources/stray.json: not listed in the manifest",
    }


def test_verify_same_size_different_content(taken: Path) -> None:
    path = taken / "resources/namespaces/a/pods.json"
    data = bytearray(path.read_bytes())
    data[-3] = ord("X") if data[-3] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    (problem,) = verify_backup(taken).problems
    assert "sha256 differs" in problem


def test_not_a_backup(tmp_path: Path, taken: Path) -> None:
    with pytest.raises(BadBackup, match=r"no manifest\.json"):
        verify_backup(tmp_path)
    (taken / "manifest.json").write_text("{not json")
    with pytest.raises(BadBackup, match="not JSON"):
        verify_backup(taken)
    (taken / "manifest.json").write_text(json.dumps({"format": "overhaul.io/backup/v1", "complete": False}))
    with pytest.raises(BadBackup, match="incomplete"):
        verify_backup(taken)
    (taken / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(BadBackup, match="not an overhaul backup manifest"):
        verify_backup(taken)


def test_a_discarded_folder_that_cannot_be_removed_is_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = BackupFolder(tmp_path, MOMENT)
    folder.write("resources/x.json", b"{}")
    monkeypatch.setattr("overhaul.backup.folder.shutil.rmtree", lambda path, ignore_errors: None)
    assert "marked incomplete" in folder.discard()
    with pytest.raises(BadBackup, match="incomplete"):
        read_manifest(folder.path)
