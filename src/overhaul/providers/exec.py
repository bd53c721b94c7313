"""The `exec` provider: the user's own command upgrades a node (a playbook, a script, a cloud CLI).

Settings (a plan file's `provider:` section or the command line):

    name: exec
    worker: "ansible-playbook upgrade.yml -l {node} -e k8s_version={version_number}"
    control_plane: "..."          # optional, default: worker's command
    first_control_plane: "..."    # optional, default: control_plane's command
    shell: false                  # true: each command is a /bin/sh -c line (see templates.py)
    env: {KEY: value}             # optional, added to the environment

The command succeeds when it exits 0 within the timeout; what it prints (stdout and stderr) is the
result's output, kept in the journal. It also finds the values in its environment:
OVERHAUL_NODE, OVERHAUL_VERSION, OVERHAUL_ZONE, OVERHAUL_ROLE, OVERHAUL_ADDRESS,
OVERHAUL_FIRST_CONTROL_PLANE ("true"/"false").
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Mapping
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
    exact_version,
    get_bool,
    get_str,
    get_str_map,
)
from overhaul.providers.process import run_command
from overhaul.providers.templates import CommandTemplate, placeholder_values

NAME = "exec"
SETTINGS = ("name", "worker", "control_plane", "first_control_plane", "shell", "env")


class ExecUpgrader:
    """Upgrades nodes by running command templates, one command per node."""

    def __init__(
        self,
        worker: str,
        *,
        control_plane: str | None = None,
        first_control_plane: str | None = None,
        shell: bool = False,
        env: Mapping[str, str] | None = None,
        max_output: int = MAX_OUTPUT,
    ) -> None:
        self.worker = CommandTemplate(worker, shell=shell, what="exec worker command")
        self.control_plane = (
            CommandTemplate(control_plane, shell=shell, what="exec control_plane command")
            if control_plane
            else self.worker
        )
        self.first_control_plane = (
            CommandTemplate(first_control_plane, shell=shell, what="exec first_control_plane command")
            if first_control_plane
            else self.control_plane
        )
        self.env = dict(env or {})
        self.max_output = max_output

    @property
    def name(self) -> str:
        return NAME

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ExecUpgrader:
        check_keys(NAME, config, SETTINGS)
        worker = get_str(NAME, config, "worker")
        if not worker:
            raise ProviderConfigError(
                f"provider {NAME}: `worker` (the command that upgrades a node) is required"
            )
        return cls(
            worker,
            control_plane=get_str(NAME, config, "control_plane"),
            first_control_plane=get_str(NAME, config, "first_control_plane"),
            shell=get_bool(NAME, config, "shell", False),
            env=get_str_map(NAME, config, "env"),
        )

    def command_for(
        self, target: Target, version: Version, *, first_control_plane: bool = False
    ) -> list[str]:
        """The argv that upgrades `target`."""
        check_target(target)
        if target.role == CONTROL_PLANE:
            template = self.first_control_plane if first_control_plane else self.control_plane
        else:
            template = self.worker
        return template.render(placeholder_values(target, version))

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
        argv = self.command_for(target, version, first_control_plane=first_control_plane)
        full = exact_version(version)
        action = shlex.join(argv)
        if dry_run:
            return UpgradeResult(True, target.name, full, NAME, (action,), dry_run=True)
        env = {
            **self.env,
            "OVERHAUL_NODE": target.name,
            "OVERHAUL_VERSION": full,
            "OVERHAUL_ZONE": target.zone,
            "OVERHAUL_ROLE": target.role,
            "OVERHAUL_ADDRESS": target.address,
            "OVERHAUL_FIRST_CONTROL_PLANE": "true" if first_control_plane else "false",
        }
        started = time.monotonic()
        result = run_command(argv, timeout=timeout, cancel=cancel, env=env, max_output=self.max_output)
        reason = result.failure(timeout)
        return UpgradeResult(
            result.ok,
            target.name,
            full,
            NAME,
            (action,),
            result.output,
            f"{argv[0]}: {reason}" if reason else "",
            duration=time.monotonic() - started,
        )
