"""The kubeadm provider: the documented procedure, built as ssh commands, run against a fake ssh.

The fake (tests/support/fake_ssh.py) is put first on PATH and records every call, so the tests see
exactly what would be run on each node, in order; `--dry-run` must show the same commands.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from overhaul.domain.version import Version
from overhaul.providers.base import Node, ProviderConfigError
from overhaul.providers.kubeadm import KubeadmUpgrader, Procedure, Ssh
from tests.support import fake_ssh

V135 = Version.parse("1.35.0")
WORKER = Node("worker-1", "worker", "zone-a", "10.0.0.11")
FIRST_CP = Node("cp-1", "control-plane", "zone-a", "10.0.0.1")
OTHER_CP = Node("cp-2", "control-plane", "zone-b", "10.0.0.2")


@pytest.fixture
def ssh_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    bin_dir = tmp_path / "bin"
    fake_ssh.install(bin_dir)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    monkeypatch.delenv("FAKE_SSH_FAIL", raising=False)
    monkeypatch.delenv("FAKE_SSH_HANG", raising=False)
    yield log


def remotes(log: Path) -> list[str]:
    return [c["remote"] for c in fake_ssh.calls(log)]


def test_a_worker_gets_the_documented_apt_procedure(ssh_log: Path) -> None:
    upgrader = KubeadmUpgrader(Procedure(), Ssh(user="ubuntu"))
    result = upgrader.upgrade(WORKER, V135, timeout=60)
    assert result.ok, result.reason
    calls = fake_ssh.calls(ssh_log)
    assert {c["destination"] for c in calls} == {"ubuntu@10.0.0.11"}
    assert calls[0]["argv"][:4] == ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
    assert remotes(ssh_log) == [
        "sudo sed -i -E 's#/core:/stable:/v[0-9]+\\.[0-9]+/#/core:/stable:/v1.35/#g' "
        "/etc/apt/sources.list.d/kubernetes.list && { grep -q /core:/stable:/v1.35/ "
        "/etc/apt/sources.list.d/kubernetes.list || { echo '/etc/apt/sources.list.d/kubernetes.list does "
        "not name a pkgs.k8s.io repository to switch to v1.35' >&2; exit 1; }; }",
        "sudo apt-mark unhold kubeadm && sudo apt-get update && "
        "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y 'kubeadm=1.35.0-*' && "
        "sudo apt-mark hold kubeadm",
        'v="$(kubeadm version -o short)" && echo "kubeadm $v" && test "$v" = v1.35.0',
        "sudo kubeadm upgrade node",
        "sudo apt-mark unhold kubelet kubectl && sudo apt-get update && "
        "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y 'kubelet=1.35.0-*' 'kubectl=1.35.0-*' && "
        "sudo apt-mark hold kubelet kubectl",
        "sudo systemctl daemon-reload && sudo systemctl restart kubelet",
    ]
    assert "ran on ubuntu@10.0.0.11: sudo kubeadm upgrade node" in result.output
    assert result.output.startswith("$ ssh -o BatchMode=yes")


def test_the_first_control_plane_node_plans_and_applies(ssh_log: Path) -> None:
    upgrader = KubeadmUpgrader(Procedure(apply_flags=("--certificate-renewal=false",)))
    assert upgrader.upgrade(FIRST_CP, V135, first_control_plane=True, timeout=60).ok
    ran = remotes(ssh_log)
    assert ran[3:5] == [
        "sudo kubeadm upgrade plan v1.35.0",
        "sudo kubeadm upgrade apply v1.35.0 --yes --certificate-renewal=false",
    ]
    assert not any("upgrade node" in r for r in ran)


def test_other_control_plane_nodes_follow_with_upgrade_node(ssh_log: Path) -> None:
    assert KubeadmUpgrader().upgrade(OTHER_CP, V135, timeout=60).ok
    ran = remotes(ssh_log)
    assert "sudo kubeadm upgrade node" in ran
    assert not any("upgrade apply" in r or "upgrade plan" in r for r in ran)


def test_yum_pins_packages_and_switches_both_repository_urls(ssh_log: Path) -> None:
    procedure = Procedure(package_manager="yum", package_revision="150500.1.1", sudo=False)
    assert KubeadmUpgrader(procedure).upgrade(WORKER, V135, timeout=60).ok
    ran = remotes(ssh_log)
    assert ran[0].startswith("sed -i -E 's#/core:/stable:/v[0-9]+\\.[0-9]+/#/core:/stable:/v1.35/#g' ")
    assert "/etc/yum.repos.d/kubernetes.repo" in ran[0]
    assert ran[1] == "yum install -y kubeadm-1.35.0-150500.1.1 --disableexcludes=kubernetes"
    assert ran[4] == (
        "yum install -y kubelet-1.35.0-150500.1.1 kubectl-1.35.0-150500.1.1 --disableexcludes=kubernetes"
    )
    assert not any(r.startswith("sudo") for r in ran)


def test_the_repository_switch_changes_the_minor_in_a_real_file(tmp_path: Path) -> None:
    repo = tmp_path / "kubernetes.repo"
    repo.write_text(
        "[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/\n"
        "enabled=1\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/repodata/repomd.xml.key\n"
    )
    procedure = Procedure(package_manager="dnf", sudo=False, repository_file=str(repo))
    title, line = procedure.steps(V135, role="worker", first_control_plane=False)[0]
    assert title == "switch the package repository to v1.35"
    subprocess.run(["sh", "-c", line], check=True)
    text = repo.read_text()
    assert text.count("/core:/stable:/v1.35/") == 2 and "v1.34" not in text

    elsewhere = tmp_path / "other.list"
    elsewhere.write_text("deb https://example.com/k8s /\n")
    line = Procedure(sudo=False, repository_file=str(elsewhere)).steps(
        V135, role="worker", first_control_plane=False
    )[0][1]
    run = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
    assert run.returncode == 1 and "does not name a pkgs.k8s.io repository to switch to v1.35" in run.stderr


def test_every_remote_line_is_valid_shell() -> None:
    for procedure in (Procedure(), Procedure(package_manager="yum", sudo=False)):
        for first in (True, False):
            for _, line in procedure.steps(V135, role="control-plane", first_control_plane=first):
                subprocess.run(["sh", "-n", "-c", line], check=True)


def test_dry_run_shows_exactly_the_commands_a_run_makes(ssh_log: Path) -> None:
    upgrader = KubeadmUpgrader(
        Procedure(), Ssh(user="root", port=2222, identity_file="/k/id", options=("A=b",))
    )
    plan = upgrader.upgrade(FIRST_CP, V135, first_control_plane=True, timeout=60, dry_run=True)
    assert plan.ok and plan.dry_run and fake_ssh.calls(ssh_log) == []
    result = upgrader.upgrade(FIRST_CP, V135, first_control_plane=True, timeout=60)
    assert result.actions == plan.actions
    assert [["ssh", *c["argv"]] for c in fake_ssh.calls(ssh_log)] == [shlex.split(a) for a in plan.actions]
    assert plan.actions[0].startswith(
        "ssh -o BatchMode=yes -o ConnectTimeout=15 -p 2222 -i /k/id -o A=b root@10.0.0.1 "
    )


def test_a_failed_step_stops_the_procedure_and_says_which(
    ssh_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_FAIL", "install -y 'kubelet=")
    result = KubeadmUpgrader().upgrade(WORKER, V135, timeout=60)
    assert not result.ok
    assert result.reason == "upgrade kubelet and kubectl failed: exit status 100"
    assert "E: simulated failure" in result.output
    assert not any("systemctl" in r for r in remotes(ssh_log))
    assert len(result.actions) == 5  # what ran, the failed step included


def test_a_hanging_step_times_out(ssh_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SSH_HANG", "kubeadm upgrade node")
    result = KubeadmUpgrader().upgrade(WORKER, V135, timeout=2)
    assert not result.ok and result.reason == "kubeadm upgrade node failed: timed out after 2s"
    assert result.duration < 15
    assert not any("kubelet kubectl" in r for r in remotes(ssh_log))


def test_cancel_stops_a_running_step(ssh_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SSH_HANG", "apt-mark unhold kubeadm")
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    result = KubeadmUpgrader().upgrade(WORKER, V135, timeout=60, cancel=cancel)
    assert not result.ok and result.reason == "upgrade kubeadm failed: cancelled"
    assert result.duration < 15


def test_settings_are_checked() -> None:
    upgrader = KubeadmUpgrader.from_config(
        {
            "user": "ops",
            "package_manager": "dnf",
            "ssh_options": ["StrictHostKeyChecking=accept-new"],
            "port": 22,
        }
    )
    assert upgrader.procedure.package_manager == "dnf" and upgrader.ssh.port == 22
    with pytest.raises(ProviderConfigError, match="unknown setting pkg"):
        KubeadmUpgrader.from_config({"pkg": "apt"})
    with pytest.raises(ProviderConfigError, match="package_manager 'zypper'"):
        KubeadmUpgrader.from_config({"package_manager": "zypper"})
    with pytest.raises(ProviderConfigError, match="ssh_options must be a list"):
        KubeadmUpgrader.from_config({"ssh_options": "A=b"})
    with pytest.raises(ProviderConfigError, match="unknown placeholder"):
        KubeadmUpgrader.from_config({"host": "{hostname}.lan"})


def test_the_host_template_and_unusable_hosts() -> None:
    upgrader = KubeadmUpgrader.from_config({"host": "{node}.{zone}.internal", "user": "ops"})
    commands = upgrader.commands(WORKER, V135)
    assert commands[0][1][-2] == "ops@worker-1.zone-a.internal"
    assert KubeadmUpgrader().commands(Node("worker-9"), V135)[0][1][-2] == "worker-9"  # no address
    with pytest.raises(ValueError, match="not a host"):
        KubeadmUpgrader().commands(Node("w", address="-oProxyCommand=x"), V135)
    with pytest.raises(ValueError, match="exact version"):
        KubeadmUpgrader().commands(WORKER, Version.parse("1.35"))
