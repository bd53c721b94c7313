"""Provider commands rendered into the plan, and the finding ids `--accept` takes."""

from __future__ import annotations

import shlex

import pytest

from overhaul.domain.cluster import ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.plan import Amount, AmountError, ProviderName, ProviderSpec, Role
from overhaul.planning.accept import accept_findings, finding_id, relax_for_strategy
from overhaul.planning.commands import TemplateError, check_template, kubeadm_commands, node_commands, render


def test_templates_accept_only_known_placeholders() -> None:
    check_template("ssh {node} sudo upgrade --to {version} --zone {zone} --role {role} {{literal}}")
    for bad, message in [
        ("up {nodes}", "unknown placeholder {nodes}"),
        ("up {node!r}", "unknown placeholder {node}"),
        ("up {node:>10}", "unknown placeholder {node}"),
        ("up {node", "literal braces"),
        ("  ", "an empty command"),
    ]:
        with pytest.raises(TemplateError, match=message):
            check_template(bad)


def test_rendered_values_are_shell_quoted() -> None:
    command = render(
        "up {node} {version} {zone} {role}", node="w-1", version="v1.36.0", zone="", role=Role.WORKER
    )
    assert command == "up w-1 v1.36.0 '' worker"
    assert shlex.split(command) == ["up", "w-1", "v1.36.0", "", "worker"]


def test_exec_uses_the_template_of_the_role() -> None:
    spec = ProviderSpec(ProviderName.EXEC, "cp {node}", "node {node}")
    common = {"host": "10.0.0.1", "version": "v1.36.0", "zone": "a"}
    assert node_commands(spec, node="n", role=Role.CONTROL_PLANE, **common) == ("cp n",)
    assert node_commands(spec, node="n", role=Role.WORKER, **common) == ("node n",)
    assert node_commands(ProviderSpec(ProviderName.SIM), node="n", role=Role.WORKER, **common) == ()


def test_kubeadm_apt_procedure() -> None:
    spec = ProviderSpec(ProviderName.KUBEADM, ssh_user="admin", package_manager="apt")
    first = kubeadm_commands(
        spec, host="10.0.0.1", version="v1.35.4", role=Role.CONTROL_PLANE, first=True, new_minor=True
    )
    remote = [shlex.split(c)[-1] for c in first]
    assert all(shlex.split(c)[:4] == ["ssh", "-o", "BatchMode=yes", "admin@10.0.0.1"] for c in first)
    assert remote == [
        'sudo sed -i "s#/v[0-9]*[.][0-9]*/#/v1.35/#" /etc/apt/sources.list.d/kubernetes.list',
        "sudo apt-get update",
        'sudo apt-mark unhold kubeadm && sudo apt-get install -y "kubeadm=1.35.4-*" '
        "&& sudo apt-mark hold kubeadm",
        "sudo kubeadm upgrade apply -y v1.35.4",
        'sudo apt-mark unhold kubelet kubectl && sudo apt-get install -y "kubelet=1.35.4-*" '
        '"kubectl=1.35.4-*" && sudo apt-mark hold kubelet kubectl',
        "sudo systemctl daemon-reload && sudo systemctl restart kubelet",
    ]
    worker = kubeadm_commands(
        spec, host="w", version="v1.35.5", role=Role.WORKER, first=False, new_minor=False
    )
    assert "sudo kubeadm upgrade node" in shlex.split(worker[2])[-1]
    assert not any("sed -i" in c for c in worker)  # same minor: the repository stays


def test_kubeadm_yum_procedure() -> None:
    spec = ProviderSpec(ProviderName.KUBEADM, package_manager="yum")
    commands = kubeadm_commands(
        spec, host="n", version="v1.36.0", role=Role.WORKER, first=False, new_minor=True
    )
    remote = [shlex.split(c)[-1] for c in commands]
    assert shlex.split(commands[0])[3] == "n"  # no user: ssh's own default
    assert remote[0].endswith("/etc/yum.repos.d/kubernetes.repo")
    assert 'sudo yum install -y --disableexcludes=kubernetes "kubeadm-1.36.0-*"' in remote


def test_amounts() -> None:
    assert Amount.parse("3").of(10, round_up=False) == 3
    assert Amount.parse("25%").of(10, round_up=False) == 2
    assert Amount.parse("25%").of(10, round_up=True) == 3
    assert Amount.parse("10%").of(3, round_up=False) == 1  # never 0: the plan must progress
    assert str(Amount.parse("25%")) == "25%"
    for bad in ("-1", "1.5", "x", "150%", ""):
        with pytest.raises(AmountError):
            Amount.parse(bad)


def test_finding_ids_and_accepting_them() -> None:
    pdb = Finding(
        "pdb-blocks-drain",
        Severity.BLOCKING,
        "m",
        object=ObjectRef("policy/v1", "PodDisruptionBudget", "pay", "ledger"),
    )
    node = Finding("capacity", Severity.BLOCKING, "c", object=ObjectRef("v1", "Node", "", "w-1"))
    cluster = Finding("end-of-support", Severity.WARNING, "e")
    assert [finding_id(f) for f in (pdb, node, cluster)] == [
        "pdb-blocks-drain:pay/ledger",
        "capacity:w-1",
        "end-of-support",
    ]
    accepted = accept_findings([pdb, node, cluster], ["pdb-blocks-drain:pay/ledger"])
    assert [f.severity for f in accepted] == [Severity.WARNING, Severity.BLOCKING, Severity.WARNING]
    assert accepted[0].message.endswith("(accepted with --accept pdb-blocks-drain:pay/ledger)")
    by_check = accept_findings([pdb], ["pdb-blocks-drain"])
    assert by_check[0].message.endswith("(accepted with --accept pdb-blocks-drain)")
    relaxed = relax_for_strategy([node], adds_nodes=True)
    assert relaxed[0].severity is Severity.WARNING and "adds nodes" in relaxed[0].message
    assert relax_for_strategy([node], adds_nodes=False) == [node]
