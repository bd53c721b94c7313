"""The `kubeadm` provider: the kubeadm upgrade procedure, run on each node over ssh.

The procedure is the one of the Kubernetes documentation, "Upgrading kubeadm clusters"
(kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/) and "Changing the
Kubernetes package repository" (.../kubeadm/change-package-repository/), checked 2026-05:

1. Point the package repository at the target minor: the community repositories (pkgs.k8s.io)
   have one repository per minor, `https://pkgs.k8s.io/core:/stable:/v1.35/deb/` (or `/rpm/`), so
   the version in the repository file (`/etc/apt/sources.list.d/kubernetes.list`,
   `/etc/yum.repos.d/kubernetes.repo`) must change for a minor upgrade. The edit fails the step
   when the file does not name a pkgs.k8s.io minor repository (nothing to switch).
2. Upgrade kubeadm, pinned, between `apt-mark unhold` and `apt-mark hold` (apt), or with
   `--disableexcludes=kubernetes` (yum/dnf), and check `kubeadm version`.
3. First control-plane node: `kubeadm upgrade plan v1.35.0`, then `kubeadm upgrade apply v1.35.0
   --yes`. Other control-plane nodes and workers: `kubeadm upgrade node`.
4. Upgrade kubelet and kubectl the same way, then `systemctl daemon-reload` and
   `systemctl restart kubelet`.

Draining before step 4 and uncordoning after are the engine's (it drains before it calls the
provider). Packages are pinned as `kubeadm='1.35.0-*'` by default (any package revision of that
release, as the documentation writes it); `package_revision: "1.1"` pins `1.35.0-1.1` exactly.

Settings:

    name: kubeadm
    user: ubuntu                 # ssh login (default: ssh's own default)
    port: 22
    identity_file: ~/.ssh/id_ed25519
    ssh_options: ["StrictHostKeyChecking=accept-new"]   # each passed as -o
    ssh_command: ssh
    connect_timeout: 15
    host: "{address}"            # template for the ssh destination host (default: address, else name)
    sudo: true                   # prefix commands with sudo (false when logging in as root)
    package_manager: apt         # apt | yum | dnf
    package_revision: "*"
    manage_repository: true
    repository_file: /etc/apt/sources.list.d/kubernetes.list    # default per package manager
    apply_flags: []              # extra flags of `kubeadm upgrade apply` (e.g. --config FILE)
    node_flags: []               # extra flags of `kubeadm upgrade node`

Every step is one ssh command; the result's `actions` are those ssh command lines, exactly as run
(`--dry-run` shows them without connecting), and its output each step's command and output.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from overhaul.domain.version import Version
from overhaul.providers.base import (
    CONTROL_PLANE,
    MAX_OUTPUT,
    ProviderConfigError,
    Target,
    UpgradeResult,
    check_keys,
    check_target,
    clip_tail,
    exact_version,
    get_bool,
    get_int,
    get_str,
    get_str_list,
)
from overhaul.providers.process import run_command
from overhaul.providers.templates import CommandTemplate, placeholder_values

NAME = "kubeadm"
SETTINGS = (
    "name",
    "user",
    "port",
    "identity_file",
    "ssh_options",
    "ssh_command",
    "connect_timeout",
    "host",
    "sudo",
    "package_manager",
    "package_revision",
    "manage_repository",
    "repository_file",
    "apply_flags",
    "node_flags",
)
PACKAGE_MANAGERS = ("apt", "yum", "dnf")
REPOSITORY_FILES = {
    "apt": "/etc/apt/sources.list.d/kubernetes.list",
    "yum": "/etc/yum.repos.d/kubernetes.repo",
    "dnf": "/etc/yum.repos.d/kubernetes.repo",
}


@dataclass(frozen=True)
class Procedure:
    """How to run the kubeadm procedure on a node (independent of how the node is reached)."""

    package_manager: str = "apt"
    package_revision: str = "*"
    sudo: bool = True
    manage_repository: bool = True
    repository_file: str = ""  # "" = the package manager's usual file
    apply_flags: tuple[str, ...] = ()
    node_flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.package_manager not in PACKAGE_MANAGERS:
            raise ProviderConfigError(
                f"provider {NAME}: package_manager {self.package_manager!r} is not one of "
                f"{', '.join(PACKAGE_MANAGERS)}"
            )
        if not self.package_revision or any(c.isspace() for c in self.package_revision):
            raise ProviderConfigError(
                f"provider {NAME}: package_revision {self.package_revision!r} is not valid"
            )

    def _sudo(self, command: str) -> str:
        return f"sudo {command}" if self.sudo else command

    def _pin(self, package: str, number: str) -> str:
        separator = "=" if self.package_manager == "apt" else "-"
        return shlex.quote(f"{package}{separator}{number}-{self.package_revision}")

    def _install(self, packages: Sequence[str], number: str) -> str:
        pins = " ".join(self._pin(p, number) for p in packages)
        names = " ".join(packages)
        if self.package_manager == "apt":
            return " && ".join(
                (
                    self._sudo(f"apt-mark unhold {names}"),
                    self._sudo("apt-get update"),
                    self._sudo(f"DEBIAN_FRONTEND=noninteractive apt-get install -y {pins}"),
                    self._sudo(f"apt-mark hold {names}"),
                )
            )
        return self._sudo(f"{self.package_manager} install -y {pins} --disableexcludes=kubernetes")

    def _switch_repository(self, minor: str) -> str:
        raw = self.repository_file or REPOSITORY_FILES[self.package_manager]
        path = shlex.quote(raw)
        # Rewrites every /core:/stable:/vX.Y/ (the apt line; yum's baseurl and gpgkey), then checks
        # that the file names the target's repository.
        script = f"s#/core:/stable:/v[0-9]+\\.[0-9]+/#/core:/stable:/v{minor}/#g"
        check = shlex.quote(f"/core:/stable:/v{minor}/")
        missing = shlex.quote(f"{raw} does not name a pkgs.k8s.io repository to switch to v{minor}")
        return (
            f"{self._sudo(f'sed -i -E {shlex.quote(script)} {path}')} && "
            f"{{ grep -q {check} {path} || {{ echo {missing} >&2; exit 1; }}; }}"
        )

    def steps(self, version: Version, *, role: str, first_control_plane: bool) -> list[tuple[str, str]]:
        """(title, shell line) of every step, in order, for a node of `role`."""
        full = exact_version(version)
        number = full[1:]
        minor = f"{version.major}.{version.minor}"
        steps: list[tuple[str, str]] = []
        if self.manage_repository:
            steps.append((f"switch the package repository to v{minor}", self._switch_repository(minor)))
        steps.append(("upgrade kubeadm", self._install(["kubeadm"], number)))
        steps.append(
            (
                "check kubeadm's version",
                f'v="$(kubeadm version -o short)" && echo "kubeadm $v" && test "$v" = {full}',
            )
        )
        if role == CONTROL_PLANE and first_control_plane:
            steps.append(("kubeadm upgrade plan", self._sudo(f"kubeadm upgrade plan {full}")))
            flags = "".join(f" {shlex.quote(f)}" for f in self.apply_flags)
            steps.append(("kubeadm upgrade apply", self._sudo(f"kubeadm upgrade apply {full} --yes{flags}")))
        else:
            flags = "".join(f" {shlex.quote(f)}" for f in self.node_flags)
            steps.append(("kubeadm upgrade node", self._sudo(f"kubeadm upgrade node{flags}")))
        steps.append(("upgrade kubelet and kubectl", self._install(["kubelet", "kubectl"], number)))
        steps.append(
            (
                "restart the kubelet",
                f"{self._sudo('systemctl daemon-reload')} && {self._sudo('systemctl restart kubelet')}",
            )
        )
        return steps


@dataclass(frozen=True)
class Ssh:
    """How to reach a node: the ssh command line before the remote command."""

    command: str = "ssh"
    user: str = ""
    port: int | None = None
    identity_file: str = ""
    options: tuple[str, ...] = ()
    connect_timeout: int = 15
    host: CommandTemplate | None = None  # default: the node's address, else its name

    def destination(self, target: Target, values: Mapping[str, str]) -> str:
        if self.host is not None:
            rendered = self.host.render(values)
            host = rendered[0] if len(rendered) == 1 else ""
        else:
            host = target.address or target.name
        if not host or host.startswith("-") or any(c.isspace() for c in host):
            raise ValueError(f"node {target.name}: {host!r} is not a host ssh can connect to")
        return f"{self.user}@{host}" if self.user else host

    def argv(self, destination: str, remote: str) -> list[str]:
        argv = [self.command, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}"]
        if self.port is not None:
            argv += ["-p", str(self.port)]
        if self.identity_file:
            argv += ["-i", self.identity_file]
        for option in self.options:
            argv += ["-o", option]
        return [*argv, destination, remote]


class KubeadmUpgrader:
    """Upgrades kubeadm nodes over ssh, one step (one ssh command) at a time."""

    def __init__(
        self, procedure: Procedure | None = None, ssh: Ssh | None = None, max_output: int = MAX_OUTPUT
    ):
        self.procedure = procedure or Procedure()
        self.ssh = ssh or Ssh()
        self.max_output = max_output

    @property
    def name(self) -> str:
        return NAME

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KubeadmUpgrader:
        check_keys(NAME, config, SETTINGS)
        manager = get_str(NAME, config, "package_manager", "apt") or "apt"
        procedure = Procedure(
            package_manager=manager,
            package_revision=get_str(NAME, config, "package_revision", "*") or "*",
            sudo=get_bool(NAME, config, "sudo", True),
            manage_repository=get_bool(NAME, config, "manage_repository", True),
            repository_file=get_str(NAME, config, "repository_file", "") or "",
            apply_flags=get_str_list(NAME, config, "apply_flags"),
            node_flags=get_str_list(NAME, config, "node_flags"),
        )
        host = get_str(NAME, config, "host")
        connect_timeout = get_int(NAME, config, "connect_timeout")
        ssh = Ssh(
            command=get_str(NAME, config, "ssh_command", "ssh") or "ssh",
            user=get_str(NAME, config, "user", "") or "",
            port=get_int(NAME, config, "port"),
            identity_file=get_str(NAME, config, "identity_file", "") or "",
            options=get_str_list(NAME, config, "ssh_options"),
            connect_timeout=connect_timeout if connect_timeout is not None else 15,
            host=CommandTemplate(host, what="kubeadm host") if host else None,
        )
        return cls(procedure, ssh)

    def commands(
        self, target: Target, version: Version, *, first_control_plane: bool = False
    ) -> list[tuple[str, list[str]]]:
        """(title, ssh argv) of every step for `target`, in order."""
        check_target(target)
        destination = self.ssh.destination(target, placeholder_values(target, version))
        steps = self.procedure.steps(version, role=target.role, first_control_plane=first_control_plane)
        return [(title, self.ssh.argv(destination, line)) for title, line in steps]

    def upgrade(
        self,
        target: Target,
        version: Version,
        *,
        first_control_plane: bool = False,
        timeout: float,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> UpgradeResult:
        full = exact_version(version)
        commands = self.commands(target, version, first_control_plane=first_control_plane)
        actions = tuple(shlex.join(argv) for _, argv in commands)
        if dry_run:
            return UpgradeResult(True, target.name, full, NAME, actions, dry_run=True)
        started = time.monotonic()
        deadline = started + timeout
        log: list[str] = []
        ran: list[str] = []
        for (title, argv), action in zip(commands, actions, strict=True):
            remaining = deadline - time.monotonic()
            reason = ""
            if cancel is not None and cancel.is_set():
                reason = f"cancelled before: {title}"
            elif remaining <= 0:
                reason = f"timed out after {timeout:g}s before: {title}"
            if reason:
                return self._result(False, target, full, ran, log, reason, started)
            ran.append(action)
            log.append(f"$ {action}")
            result = run_command(argv, timeout=remaining, cancel=cancel, max_output=self.max_output)
            if result.output:
                log.append(result.output.rstrip("\n"))
            if not result.ok:
                why = result.failure(timeout) if not result.timed_out else f"timed out after {timeout:g}s"
                return self._result(False, target, full, ran, log, f"{title} failed: {why}", started)
        return self._result(True, target, full, ran, log, "", started)

    def _result(
        self,
        ok: bool,
        target: Target,
        full: str,
        ran: list[str],
        log: list[str],
        reason: str,
        started: float,
    ) -> UpgradeResult:
        return UpgradeResult(
            ok,
            target.name,
            full,
            NAME,
            tuple(ran),
            clip_tail("\n".join(log) + "\n", self.max_output),
            reason,
            duration=time.monotonic() - started,
        )
