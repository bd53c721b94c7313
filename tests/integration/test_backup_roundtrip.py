"""Back up the embedded cluster and restore it into a fresh one, over HTTPS, as a user would.

The source is the demo scenario (workloads, PDBs, Services, a bare pod, a Job) plus, in a namespace of
its own, ConfigMaps (one owned by another), Secrets, RBAC, a StorageClass, a PV and PVC, two CRDs (one
with a status subresource, one whose status is data) and their custom resources. The backup is
restored into `sim up --scenario empty`; exported again from there, every object equals the original
(apart from server-set fields, which neither export keeps). Then: what exists is skipped or updated,
a failing object is reported and makes the exit code 1, apiVersions the target does not serve are
refused before anything changes, and faults (cluster gone, disk full, read-only folder, bad keys)
are clear errors that leave no backup behind.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from overhaul.backup.checksums import sha256_file
from overhaul.backup.loading import load_resources
from overhaul.backup.manifest import read_manifest
from tests.support.mounts import tmpfs
from tests.support.simproc import SimProcess, sim_command
from tests.support.waiting import eventually

JSON = dict[str, Any]
NS = "backup-e2e"
KEY = base64.urlsafe_b64encode(b"k" * 32)
SECRET_TEXT = "s3cr3t-pa55word-never-logged"
SECRET_DATA = "another-hidden-value"


def crd(kind: str, plural: str, scope: str, *, status_subresource: bool) -> JSON:
    version: JSON = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    if status_subresource:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [version],
        },
    }


def deployment(name: str, replicas: int) -> JSON:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "worker",
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.example.com/app:1.0",
                            "envFrom": [{"configMapRef": {"name": "settings"}}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ],
                },
            },
        },
    }


def create(api: httpx.Client, path: str, body: JSON) -> JSON:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def populate(api: httpx.Client) -> None:
    """The objects beyond the demo's, created through the API as kubectl would."""
    create(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    core = f"/api/v1/namespaces/{NS}"
    settings = create(
        api,
        f"{core}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"LEVEL": "debug"},
        },
    )
    owner_ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "settings",
        "uid": settings["metadata"]["uid"],
    }
    create(
        api,
        f"{core}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings-extra", "ownerReferences": [owner_ref]},
            "data": {"MORE": "yes"},
        },
    )
    create(
        api,
        f"{core}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": SECRET_TEXT},
        },
    )
    create(
        api,
        f"{core}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "api-token"},
            "type": "Opaque",
            "data": {"token": base64.b64encode(SECRET_DATA.encode()).decode()},
        },
    )
    create(
        api,
        f"{core}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker"}},
    )
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}"
    create(
        api,
        f"{rbac}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    create(
        api,
        f"{rbac}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "worker-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "worker", "namespace": NS}],
        },
    )
    create(
        api,
        "/apis/storage.k8s.io/v1/storageclasses",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "backup-e2e-fast"},
            "provisioner": "example.com/fast",
        },
    )
    create(
        api,
        "/api/v1/persistentvolumes",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "backup-e2e-pv"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "backup-e2e-fast",
                "hostPath": {"path": "/srv/data"},
            },
        },
    )
    create(
        api,
        f"{core}/persistentvolumeclaims",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "backup-e2e-fast",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    create(api, f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("web", 2))
    create(
        api,
        f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
    )
    create(
        api,
        f"{core}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    create(
        api,
        f"{core}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web-headless"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    create(api, crds, crd("Widget", "widgets", "Namespaced", status_subresource=True))
    create(api, crds, crd("Gadget", "gadgets", "Cluster", status_subresource=False))
    widgets = f"/apis/example.com/v1/namespaces/{NS}/widgets"
    eventually(lambda: api.get(widgets).status_code == 200, "the Widget CRD to be served")
    for i in range(3):
        create(
            api,
            widgets,
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": f"w{i}"},
                "spec": {"size": i},
            },
        )
    status = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w0"},
        "status": {"ok": True},
    }
    assert api.patch(
        f"{widgets}/w0/status", json=status, headers={"Content-Type": "application/merge-patch+json"}
    ).is_success
    create(
        api,
        "/apis/example.com/v1/gadgets",
        {
            "apiVersion": "example.com/v1",
            "kind": "Gadget",
            "metadata": {"name": "g1"},
            "spec": {"color": "blue"},
            "status": {"recorded": "by hand, part of the object"},
        },
    )


def settled(api: httpx.Client) -> bool:
    deployments = api.get("/apis/apps/v1/deployments").json()["items"]
    return all(
        (d.get("status") or {}).get("readyReplicas") == d["spec"]["replicas"]
        and "deployment.kubernetes.io/revision" in (d["metadata"].get("annotations") or {})
        for d in deployments
    )


def revisions_set(api: httpx.Client) -> bool:
    deployments = api.get("/apis/apps/v1/deployments").json()["items"]
    return all(
        "deployment.kubernetes.io/revision" in (d["metadata"].get("annotations") or {}) for d in deployments
    )


def overhaul(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sim_command(*args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "backup.key"
    path.write_bytes(KEY + b"\n")
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-backup-source"), "--scenario", "demo") as proc:
        with proc.client() as api:
            populate(api)
            eventually(lambda: settled(api), "the demo's workloads to be ready", timeout=60)
        yield proc


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with SimProcess(tmp_path_factory.mktemp("sim-backup-target"), "--scenario", "empty") as proc:
        yield proc


@pytest.fixture(scope="module")
def backup(
    source: SimProcess, keyfile: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, JSON, str]:
    out = tmp_path_factory.mktemp("backups")
    done = overhaul(
        "backup", "--kubeconfig", str(source.kubeconfig), "--out", str(out), "--include-secrets",
        "--encrypt-key-file", str(keyfile), "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return Path(result["backup"]), result["manifest"], done.stdout + done.stderr


def objects_of(folder: Path) -> dict[tuple[str, str, str, str], JSON]:
    loaded = load_resources(read_manifest(folder), KEY)
    return {
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in loaded.objects
    }


def rewrite(folder: Path, rel: str, change: Any) -> None:
    """Changes one exported file of a copied backup and records its new checksum, as a hand edit
    that keeps the manifest consistent would."""
    path = folder / rel
    document = json.loads(path.read_text())
    change(document["items"])
    path.write_text(json.dumps(document))
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    digest, size = sha256_file(path)
    manifest["files"][rel].update(sha256=digest, bytes=size, objects=len(document["items"]))
    manifest_path.write_text(json.dumps(manifest))


# ------------------------------------------------------------------------------------------ backup


def test_backup_exports_every_kind_with_counts(backup: tuple[Path, JSON, str]) -> None:
    folder, manifest, _ = backup
    resources = manifest["resources"]
    kinds = {t["kind"]: t["objects"] for t in resources["types"]}
    assert kinds["CustomResourceDefinition"] == 2
    assert kinds["Widget"] == 3 and kinds["Gadget"] == 1
    assert kinds["Secret"] == 2 and kinds["ConfigMap"] >= 2
    assert kinds["PodDisruptionBudget"] == 13 and kinds["Deployment"] == 15
    assert kinds["Pod"] == 2  # the demo's bare pods; the others belong to controllers
    skipped = {(s["kind"], s["reason"]): s["objects"] for s in resources["skipped"]}
    assert skipped[("Pod", "owned by a controller")] > 50
    assert skipped[("Pod", "mirror pod")] == 12  # the control plane's static pods
    assert ("ReplicaSet", "owned by a controller") in skipped
    assert "events" in resources["excluded"]
    assert resources["secrets"] == "encrypted"
    assert manifest["etcd"] == {"skipped": "no --etcd-endpoint given"}
    assert manifest["cluster"]["version"].startswith("v1.")
    for rel, record in manifest["files"].items():
        assert sha256_file(folder / rel) == (record["sha256"], record["bytes"])


def test_server_set_fields_are_stripped(backup: tuple[Path, JSON, str]) -> None:
    folder, _, _ = backup
    objects = objects_of(folder)
    for obj in objects.values():
        meta = obj["metadata"]
        assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp", "generation"} & set(meta)
    web = objects[("apps/v1", "Deployment", NS, "web")]
    assert "status" not in web
    assert "clusterIP" not in objects[("v1", "Service", NS, "web")]["spec"]
    assert objects[("v1", "Service", NS, "web-headless")]["spec"]["clusterIP"] == "None"
    assert "status" not in objects[("example.com/v1", "Widget", NS, "w0")]  # a status subresource: a report
    assert objects[("example.com/v1", "Gadget", "", "g1")]["status"] == {
        "recorded": "by hand, part of the object"
    }
    bare = objects[("v1", "Pod", "default", "debug-shell")]
    assert "nodeName" not in bare["spec"]
    job = next(o for k, o in objects.items() if k[1] == "Job")
    assert "selector" not in job["spec"]
    assert not {"controller-uid", "batch.kubernetes.io/controller-uid"} & set(
        job["spec"]["template"]["metadata"]["labels"]
    )


def test_secrets_are_encrypted_private_and_never_shown(backup: tuple[Path, JSON, str]) -> None:
    folder, manifest, output = backup
    rel = f"resources/namespaces/{NS}/secrets.json.fernet"
    assert manifest["files"][rel]["encrypted"] is True
    assert (folder / rel).stat().st_mode & 0o777 == 0o600
    assert not (folder / f"resources/namespaces/{NS}/secrets.json").exists()
    encoded = base64.b64encode(SECRET_DATA.encode()).decode()
    for value in (SECRET_TEXT, SECRET_DATA, encoded, base64.b64encode(SECRET_TEXT.encode()).decode()):
        assert value not in output
        for path in folder.rglob("*"):
            if path.is_file():
                assert value.encode() not in path.read_bytes(), path
    secrets = objects_of(folder)
    assert base64.b64decode(secrets[("v1", "Secret", NS, "db")]["data"]["password"]).decode() == SECRET_TEXT


def test_namespace_and_exclude_options(source: SimProcess, tmp_path: Path) -> None:
    done = overhaul(
        "backup", "--kubeconfig", str(source.kubeconfig), "--out", str(tmp_path), "-n", NS,
        "--exclude-resource", "configmaps", "--exclude-resource", "Deployment",
        "--exclude-resource", "nosuchthing", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--exclude-resource nosuchthing: no served resource has that name" in done.stderr
    resources = json.loads(done.stdout)["manifest"]["resources"]
    kinds = {t["kind"]: t["objects"] for t in resources["types"]}
    assert "ConfigMap" not in kinds and "Deployment" not in kinds and "Secret" not in kinds
    assert kinds["Namespace"] == 1 and kinds["Widget"] == 3 and kinds["CustomResourceDefinition"] == 2
    assert "Node" not in kinds and "Gadget" not in kinds  # cluster-scoped, not asked for
    assert resources["namespaces"] == [NS]


# ----------------------------------------------------------------------------------------- restore


def test_restore_refuses_api_versions_the_cluster_does_not_serve(
    backup: tuple[Path, JSON, str], target: SimProcess, keyfile: Path, tmp_path: Path
) -> None:
    folder, _, _ = backup
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)

    def old_pdb(items: list[JSON]) -> None:
        items[0]["apiVersion"] = "policy/v1beta1"

    def dropped_widget_version(items: list[JSON]) -> None:
        items[0]["apiVersion"] = "example.com/v1alpha1"

    rewrite(copy, f"resources/namespaces/{NS}/poddisruptionbudgets.policy.json", old_pdb)
    rewrite(copy, f"resources/namespaces/{NS}/widgets.example.com.json", dropped_widget_version)
    done = overhaul(
        "restore", "--kubeconfig", str(target.kubeconfig), "--from", str(copy), "--key-file", str(keyfile)
    )
    assert done.returncode == 2
    assert (
        f"policy/v1beta1 PodDisruptionBudget is not served by the cluster (use policy/v1 instead): {NS}/web"
        in done.stderr
    )
    assert (
        f"example.com/v1alpha1 Widget is not served by the cluster (use example.com/v1 instead): {NS}/w0"
        in done.stderr
    )
    assert "nothing was changed" in done.stderr
    with target.client() as api:
        assert api.get(f"/api/v1/namespaces/{NS}").status_code == 404


def test_dry_run_changes_nothing(backup: tuple[Path, JSON, str], target: SimProcess, keyfile: Path) -> None:
    folder, _, _ = backup
    done = overhaul(
        "restore", "--kubeconfig", str(target.kubeconfig), "--from", str(folder), "--key-file", str(keyfile),
        "--dry-run", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dryRun"] is True and report["summary"]["failed"] == 0
    assert report["summary"]["created"] > 50
    with target.client() as api:
        assert api.get(f"/api/v1/namespaces/{NS}").status_code == 404
        assert api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").json()["items"] == []


def test_restore_recreates_every_object_in_order(
    backup: tuple[Path, JSON, str], target: SimProcess, keyfile: Path, tmp_path: Path
) -> None:
    folder, _, _ = backup
    done = overhaul(
        "restore", "--kubeconfig", str(target.kubeconfig), "--from", str(folder), "--key-file", str(keyfile),
        "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SECRET_TEXT not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["failed"] == 0, [o for o in report["objects"] if o["outcome"] == "failed"]
    order = [o["kind"] for o in report["objects"] if o["outcome"] == "created"]
    first = {kind: order.index(kind) for kind in set(order)}
    assert first["CustomResourceDefinition"] == 0
    assert (
        first["Namespace"]
        < first["StorageClass"]
        < first["PersistentVolume"]
        < first["PersistentVolumeClaim"]
    )
    assert first["PersistentVolumeClaim"] < first["Secret"] < first["ServiceAccount"] < first["Role"]
    assert first["Role"] < first["RoleBinding"] < first["Deployment"] < first["Widget"]
    left_out = {(o["kind"], o.get("reason")) for o in report["objects"] if o["outcome"] == "skipped"}
    assert ("Node", "nodes register themselves through their kubelets") in left_out
    assert ("Endpoints", "kept by the endpoints controller (its Service has a selector)") in left_out

    with target.client() as api:
        eventually(lambda: revisions_set(api), "the target's Deployment controller to annotate revisions")
        settings = api.get(f"/api/v1/namespaces/{NS}/configmaps/settings").json()
        extra = api.get(f"/api/v1/namespaces/{NS}/configmaps/settings-extra").json()
        assert extra["metadata"]["ownerReferences"][0]["uid"] == settings["metadata"]["uid"]  # the new owner
    again = overhaul(
        "backup", "--kubeconfig", str(target.kubeconfig), "--out", str(tmp_path), "--include-secrets",
        "--encrypt-key-file", str(keyfile), "-o", "json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    original = objects_of(folder)
    restored = objects_of(Path(json.loads(again.stdout)["backup"]))
    derived = {k for k in original if k[1] == "Endpoints" and ("v1", "Service", k[2], k[3]) in original}
    compared = 0
    for key, obj in original.items():
        if key[1] == "Node" or key in derived:
            continue
        assert key in restored, f"{key} was not restored"
        if key[1] == "ConfigMap" and key[3] == "settings-extra":
            obj = {
                **obj,
                "metadata": {
                    **obj["metadata"],
                    "ownerReferences": restored[key]["metadata"]["ownerReferences"],
                },
            }
        assert restored[key] == obj, key
        compared += 1
    assert compared >= 75  # every object but the Nodes and derived Endpoints (80 at the time of writing)


def test_existing_objects_are_skipped_or_updated(
    backup: tuple[Path, JSON, str], target: SimProcess, keyfile: Path
) -> None:
    folder, _, _ = backup
    args = [
        "restore",
        "--kubeconfig",
        str(target.kubeconfig),
        "--from",
        str(folder),
        "--key-file",
        str(keyfile),
    ]
    skip = overhaul(*args, "-o", "json")
    assert skip.returncode == 0, skip.stderr
    summary = json.loads(skip.stdout)["summary"]
    assert summary["created"] == 0 and summary["updated"] == 0 and summary["failed"] == 0
    with target.client() as api:
        path = f"/api/v1/namespaces/{NS}/configmaps/settings"
        patched = api.patch(
            path,
            json={"data": {"LEVEL": "changed"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.is_success
        # A dry run sends each replacement with dryRun=All: judged by the server, written nowhere.
        dry = overhaul(*args, "--existing", "update", "-n", NS, "--dry-run", "-o", "json")
        assert dry.returncode == 0, dry.stderr
        assert json.loads(dry.stdout)["summary"]["updated"] > 0
        assert api.get(path).json()["data"] == {"LEVEL": "changed"}
        update = overhaul(*args, "--existing", "update", "-n", NS)
        assert update.returncode == 0, update.stderr
        assert "updated" in update.stdout
        assert api.get(path).json()["data"] == {"LEVEL": "debug"}


def test_a_failing_object_is_reported_and_exits_1(
    backup: tuple[Path, JSON, str], target: SimProcess, keyfile: Path, tmp_path: Path
) -> None:
    folder, _, _ = backup
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)

    def bad_name(items: list[JSON]) -> None:
        items.append({**items[0], "metadata": {"name": "Not_A_Valid_Name", "namespace": NS}})

    rewrite(copy, f"resources/namespaces/{NS}/configmaps.json", bad_name)
    base = ["restore", "--kubeconfig", str(target.kubeconfig), "--from", str(copy)]
    base += ["--key-file", str(keyfile)]
    # A dry run asks the server (dryRun=All) and so finds the refusal before anything is written.
    dry = overhaul(*base, "-n", NS, "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert f"failed: ConfigMap {NS}/Not_A_Valid_Name" in dry.stdout
    assert "the server would refuse it" in dry.stdout and "(422)" in dry.stdout
    done = overhaul(*base, "-n", NS)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"failed: ConfigMap {NS}/Not_A_Valid_Name" in done.stdout
    assert "(422)" in done.stdout


# ------------------------------------------------------------------------------- bad input, faults


def test_encrypted_secrets_need_the_right_key(
    backup: tuple[Path, JSON, str], target: SimProcess, tmp_path: Path
) -> None:
    folder, _, _ = backup
    base = ["restore", "--kubeconfig", str(target.kubeconfig), "--from", str(folder), "--dry-run"]
    missing = overhaul(*base)
    assert missing.returncode == 2
    assert "encrypted: give the key with --key-file" in missing.stderr
    other = tmp_path / "other.key"
    other.write_bytes(base64.urlsafe_b64encode(b"o" * 32))
    wrong = overhaul(*base, "--key-file", str(other))
    assert wrong.returncode == 2
    assert "cannot decrypt it with this key" in wrong.stderr
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    bad = overhaul(*base, "--key-file", str(junk))
    assert bad.returncode == 2
    assert "holds no Fernet key" in bad.stderr
    for done in (missing, wrong, bad):
        assert "Traceback" not in done.stderr


def test_damaged_backup_is_refused_by_restore(
    backup: tuple[Path, JSON, str], target: SimProcess, tmp_path: Path, keyfile: Path
) -> None:
    folder, _, _ = backup
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    (copy / f"resources/namespaces/{NS}/configmaps.json").write_text('{"items": []}')
    done = overhaul(
        "restore", "--kubeconfig", str(target.kubeconfig), "--from", str(copy), "--key-file", str(keyfile)
    )
    assert done.returncode == 2
    assert "is damaged" in done.stderr and "configmaps.json" in done.stderr
    verify = overhaul("backup", "--verify", str(copy))
    assert verify.returncode == 1
    assert f"resources/namespaces/{NS}/configmaps.json" in verify.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_cluster_leaves_no_backup(source: SimProcess, tmp_path: Path) -> None:
    config = yaml.safe_load(source.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    gone = tmp_path / "gone.kubeconfig"
    gone.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    done = overhaul("backup", "--kubeconfig", str(gone), "--out", str(out))
    assert done.returncode == 1
    assert "cannot reach the cluster" in done.stderr and "connection refused" in done.stderr
    assert "the partial backup was removed" in done.stderr
    assert list(out.iterdir()) == []


def test_disk_full_during_the_export_leaves_no_backup(source: SimProcess, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "64k") as small:  # the demo's export is well over 100 kB
        done = overhaul("backup", "--kubeconfig", str(source.kubeconfig), "--out", str(small))
        assert done.returncode == 1
        assert "No space left on device" in done.stderr
        assert "the partial backup was removed" in done.stderr
        assert "Traceback" not in done.stderr
        assert list(small.iterdir()) == []


def test_read_only_folder_is_a_clear_error(source: SimProcess, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as ro:
        done = overhaul("backup", "--kubeconfig", str(source.kubeconfig), "--out", str(ro))
        assert done.returncode == 1
        assert f"cannot write the backup to {ro}: Read-only file system" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--encrypt-key-file", "k"], "add --include-secrets"),
        (["--no-resources", "--no-etcd"], "leave nothing to back up"),
        (
            ["--no-resources", "-n", "x", "--etcd-endpoint", "https://127.0.0.1:2379"],
            "need the resource export",
        ),
        (["-n", "no-such-namespace"], "--namespace: no namespace named no-such-namespace"),
        (["-o", "yaml"], "-o yaml: use one of table, json"),
    ],
)
def test_bad_backup_options_exit_2(
    source: SimProcess, tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    done = overhaul("backup", "--kubeconfig", str(source.kubeconfig), "--out", str(out), *args)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() or list(out.iterdir()) == []
