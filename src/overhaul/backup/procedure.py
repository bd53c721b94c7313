"""The etcd restore procedure for one backup's snapshot, as the exact commands to run.

Restoring etcd replaces the cluster's whole state and runs on the control-plane hosts themselves (the
data directory is theirs), so overhaul prints the procedure rather than running it. The commands
follow the Kubernetes documentation ("Operating etcd clusters for Kubernetes: restoring an etcd
cluster") for a kubeadm layout (static pod manifests in /etc/kubernetes/manifests, certificates in
/etc/kubernetes/pki/etcd), with the members, peer URLs, checksum and etcd version this backup recorded.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import urlsplit

from overhaul.backup.errors import BadBackup
from overhaul.backup.manifest import Manifest

MANIFESTS = "/etc/kubernetes/manifests"
STOPPED = "/etc/kubernetes/manifests-stopped"
PKI = "/etc/kubernetes/pki/etcd"
REMOTE_SNAPSHOT = "/var/tmp/etcd-snapshot.db"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _uses_etcdutl(version: str) -> bool:
    """etcd 3.5 moved `snapshot restore` to etcdutl (etcdctl's is deprecated, then gone in 3.6)."""
    try:
        major, minor = (int(p) for p in version.lstrip("v").split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= (3, 5)


def _members(record: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for m in record.get("members") or []:
        if isinstance(m, dict):
            urls = [str(u) for u in m.get("peerURLs") or []]
            out.append((str(m.get("name") or "") or "<member-name>", urls[0] if urls else "<peer-url>"))
    return out or [("<member-name>", "<peer-url>")]


def _host(peer_url: str) -> str:
    return urlsplit(peer_url).hostname or "<control-plane-host>"


def etcd_procedure(manifest: Manifest, data_dir: str = "/var/lib/etcd") -> str:
    """The procedure as shell commands with comments; BadBackup when the backup has no snapshot."""
    record = manifest.etcd
    if record is None:
        why = manifest.skipped("etcd") or "none was taken"
        raise BadBackup(f"{manifest.folder}: the backup holds no etcd snapshot ({why})")
    rel = str(record["file"])
    file = manifest.files.get(rel)
    if file is None:
        raise BadBackup(f"{manifest.folder}: the manifest lists no {rel}")
    snapshot = (manifest.folder / rel).resolve()
    stamp = str(manifest.data.get("started") or "").replace("-", "").replace(":", "").lower() or "restore"
    version = str(record.get("etcdVersion") or "")
    members = _members(record)
    initial_cluster = ",".join(f"{name}={url}" for name, url in members)
    tool = "etcdutl" if _uses_etcdutl(version) else "ETCDCTL_API=3 etcdctl"
    q = shlex.quote
    lines = [
        f"# Restoring etcd from the overhaul backup {manifest.folder}",
        f"#   snapshot {snapshot}",
        f"#   sha256 {file.sha256}, revision {record.get('revision')}, {record.get('totalKeys')} keys,",
        f"#   etcd {version or 'unknown'}, taken {manifest.data.get('finished')}",
        f"#   from {record.get('endpoint')}"
        + (f" (member {record.get('memberName')})" if record.get("memberName") else ""),
        "# This replaces the cluster's whole state with the snapshot's: what was written after it is lost.",
        "# Check first: overhaul backup --verify " + q(str(manifest.folder)),
        f"# Members: {', '.join(name for name, _ in members)}. Run each step on every control-plane host",
        "# before the next step; step 4 differs per member.",
        "",
        "# 1. Copy the snapshot to every control-plane host, and check that it arrived intact.",
    ]
    for _, url in members:
        lines.append(f"scp {q(str(snapshot))} {_host(url)}:{REMOTE_SNAPSHOT}")
    lines += [
        f"echo '{file.sha256}  {REMOTE_SNAPSHOT}' | sha256sum --check",
        "",
        "# 2. Stop the API server, the controllers and etcd (the kubelet stops a static pod whose manifest",
        "#    leaves the manifests folder); wait until `crictl ps` lists none of them.",
        f"sudo mkdir -p {STOPPED}",
        "sudo mv " + " ".join(f"{MANIFESTS}/{c}.yaml" for c in (*CONTROL_PLANE, "etcd")) + f" {STOPPED}/",
        "sudo crictl ps --name 'etcd|kube-apiserver|kube-controller-manager|kube-scheduler'",
        "",
        "# 3. Keep the current data aside (delete it once the cluster is back).",
        f"sudo mv {q(data_dir)} {q(f'{data_dir}.before-restore-{stamp}')}",
        "",
        "# 4. On each member, restore the snapshot as that member (its name and peer URL).",
    ]
    for name, url in members:
        lines += [
            f"#    on {name} ({_host(url)}):",
            f"sudo {tool} snapshot restore {REMOTE_SNAPSHOT} \\",
            f"  --name {q(name)} --initial-advertise-peer-urls {q(url)} \\",
            f"  --initial-cluster {q(initial_cluster)} \\",
            f"  --initial-cluster-token {q(f'overhaul-restore-{stamp}')} --data-dir {q(data_dir)}",
        ]
    lines += [
        "",
        "# 5. Start etcd and check it is healthy, then start the control plane again.",
        f"sudo mv {STOPPED}/etcd.yaml {MANIFESTS}/",
        "sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 "
        f"--cacert={PKI}/ca.crt --cert={PKI}/healthcheck-client.crt --key={PKI}/healthcheck-client.key "
        "endpoint health",
        "sudo mv " + " ".join(f"{STOPPED}/{c}.yaml" for c in CONTROL_PLANE) + f" {MANIFESTS}/",
        "",
        "# 6. Restart the kubelet on every node (it caches cluster state), then check the cluster.",
        "sudo systemctl restart kubelet",
        "kubectl get nodes && kubectl get pods -A",
    ]
    return "\n".join(lines) + "\n"
