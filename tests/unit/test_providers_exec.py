"""The exec provider and its command templates, running real commands (sh, printf, sleep)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from overhaul.domain.version import Version
from overhaul.engine.ports import NodeTarget, NodeUpgrader
from overhaul.providers.base import Node, ProviderConfigError
from overhaul.providers.exec import ExecUpgrader
from overhaul.providers.process import run_command
from overhaul.providers.templates import CommandTemplate, check_template

V135 = Version.parse("v1.35.2")
WORKER = Node("worker-1", "worker", "zone-a", "10.0.0.11")


def test_the_command_runs_with_the_values_and_its_output_is_kept() -> None:
    upgrader = ExecUpgrader(
        "sh -c 'echo upgrading $0 to $1 in $2 as $3; echo warning >&2' {node} {version} {zone} {role}"
    )
    result = upgrader.upgrade(WORKER, V135, timeout=10)
    assert result.ok and result.reason == ""
    assert result.output == "upgrading worker-1 to v1.35.2 in zone-a as worker\nwarning\n"
    assert result.actions == (
        "sh -c 'echo upgrading $0 to $1 in $2 as $3; echo warning >&2' worker-1 v1.35.2 zone-a worker",
    )
    assert (result.node, result.version, result.provider) == ("worker-1", "v1.35.2", "exec")


def test_values_are_never_split_or_interpreted_in_argv_mode(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    node = Node(f"a b;touch {marker}", address="$(touch x)")
    result = ExecUpgrader("printf '[%s]\\n' {node} {address} {version_number} {minor}").upgrade(
        node, V135, timeout=10
    )
    assert result.output == f"[a b;touch {marker}]\n[$(touch x)]\n[1.35.2]\n[1.35]\n"
    assert not marker.exists()


def test_shell_mode_runs_a_line_with_quoted_values(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    node = Node(f"x; touch {marker}")
    upgrader = ExecUpgrader("echo {node} | tr x X && echo {version}", shell=True)
    result = upgrader.upgrade(node, V135, timeout=10)
    assert result.ok and result.output == f"X; touch {marker}\nv1.35.2\n"
    assert not marker.exists()
    assert result.actions[0].startswith("/bin/sh -c ")


def test_the_environment_carries_the_values_too() -> None:
    upgrader = ExecUpgrader(
        "sh -c 'echo $OVERHAUL_NODE $OVERHAUL_VERSION $OVERHAUL_ROLE $OVERHAUL_FIRST_CONTROL_PLANE $EXTRA'",
        env={"EXTRA": "yes"},
    )
    cp = Node("cp-1", "control-plane")
    assert (
        upgrader.upgrade(cp, V135, first_control_plane=True, timeout=10).output
        == "cp-1 v1.35.2 control-plane true yes\n"
    )


def test_control_plane_templates_are_picked_by_role() -> None:
    upgrader = ExecUpgrader(
        "echo worker {node}", control_plane="echo cp {node}", first_control_plane="echo first {node}"
    )
    cp = Node("cp-1", "control-plane")
    assert upgrader.command_for(WORKER, V135) == ["echo", "worker", "worker-1"]
    assert upgrader.command_for(cp, V135) == ["echo", "cp", "cp-1"]
    assert upgrader.command_for(cp, V135, first_control_plane=True) == ["echo", "first", "cp-1"]
    assert ExecUpgrader("echo {node}").command_for(cp, V135, first_control_plane=True) == ["echo", "cp-1"]


def test_a_failing_command_reports_its_status_and_output() -> None:
    result = ExecUpgrader("sh -c 'echo E: no space left; exit 3'").upgrade(WORKER, V135, timeout=10)
    assert not result.ok and result.reason == "sh: exit status 3" and result.output == "E: no space left\n"


def test_a_missing_program_is_a_failure_not_a_crash() -> None:
    result = ExecUpgrader("/nonexistent/upgrade {node}").upgrade(WORKER, V135, timeout=10)
    assert not result.ok and result.reason.startswith("/nonexistent/upgrade: cannot run /nonexistent/upgrade")


def test_a_command_past_its_timeout_is_killed_with_its_children() -> None:
    started = time.monotonic()
    result = ExecUpgrader("sh -c 'echo started; sleep 30 & sleep 30'").upgrade(WORKER, V135, timeout=0.5)
    assert not result.ok and result.reason == "sh: timed out after 0.5s"
    assert result.output == "started\n"
    assert time.monotonic() - started < 5


def test_cancel_stops_the_command() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result = ExecUpgrader("sleep 30").upgrade(WORKER, V135, timeout=60, cancel=cancel)
    assert not result.ok and result.reason == "sleep: cancelled" and result.duration < 5


def test_dry_run_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = ExecUpgrader(f"touch {marker}-{{node}}").upgrade(WORKER, V135, timeout=10, dry_run=True)
    assert result.ok and result.dry_run and result.actions == (f"touch {marker}-worker-1",)
    assert not list(tmp_path.iterdir())


def test_long_output_keeps_its_tail() -> None:
    result = run_command(["sh", "-c", "seq 1 100000"], timeout=10, max_output=1000)
    assert result.ok and result.output.startswith("[... ") and result.output.endswith("\n100000\n")
    assert len(result.output.split("\n", 1)[1]) <= 1000


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("upgrade {nodename}", "unknown placeholder {nodename}"),
        ("upgrade {node!r}", "takes no format or conversion"),
        ("upgrade {node:>10}", "takes no format or conversion"),
        ("upgrade {}", "an empty placeholder"),
        ("upgrade {0}", "unknown placeholder {0}"),
        ("upgrade {node.name}", "unknown placeholder {node.name}"),
        ("upgrade {node", "expected '}'"),
        ("upgrade }", "Single '}'"),
        ("  ", "an empty command"),
    ],
)
def test_bad_templates_are_refused_clearly(template: str, message: str) -> None:
    with pytest.raises(ProviderConfigError, match=re.escape(message)) as err:
        CommandTemplate(template, what="exec worker command")
    assert str(err.value).startswith("exec worker command: ")


def test_unknown_placeholders_list_the_known_ones() -> None:
    with pytest.raises(ProviderConfigError) as err:
        check_template("x {nod}", "exec worker command")
    assert "known: {node}, {version}, {version_number}, {minor}, {zone}, {role}, {address}" in str(err.value)


def test_literal_braces_and_unbalanced_quotes() -> None:
    assert CommandTemplate("echo {{node}} {node}").render(
        {"node": "n", "version": "", "version_number": "", "minor": "", "zone": "", "role": "", "address": ""}
    ) == ["echo", "{node}", "n"]
    with pytest.raises(ProviderConfigError, match="No closing quotation"):
        CommandTemplate("echo 'unbalanced {node}")


def test_settings_are_checked() -> None:
    upgrader = ExecUpgrader.from_config({"name": "exec", "worker": "up {node}", "shell": True})
    assert upgrader.worker.shell
    with pytest.raises(ProviderConfigError, match=r"`worker`.*is required"):
        ExecUpgrader.from_config({})
    with pytest.raises(ProviderConfigError, match="unknown setting command"):
        ExecUpgrader.from_config({"worker": "x", "command": "y"})
    with pytest.raises(ProviderConfigError, match="shell must be true or false"):
        ExecUpgrader.from_config({"worker": "x", "shell": "yes"})
    with pytest.raises(ProviderConfigError, match="unknown placeholder"):
        ExecUpgrader.from_config({"worker": "x", "control_plane": "y {host}"})


def test_an_inexact_version_or_role_is_refused() -> None:
    with pytest.raises(ValueError, match="exact version"):
        ExecUpgrader("echo").upgrade(WORKER, Version.parse("1.35"), timeout=1)
    with pytest.raises(ValueError, match="unknown role"):
        ExecUpgrader("echo").upgrade(Node("n", "master"), V135, timeout=1)


def test_it_is_the_engine_port() -> None:
    upgrader: NodeUpgrader = ExecUpgrader("echo {node} {role} {zone} {address}")
    outcome = upgrader.upgrade(NodeTarget("cp-1", "control-plane", "zone-b", "10.0.0.1"), V135, timeout=10)
    assert outcome.ok and outcome.output == "cp-1 control-plane zone-b 10.0.0.1\n"
    assert list(outcome.actions) == ["echo cp-1 control-plane zone-b 10.0.0.1"]
