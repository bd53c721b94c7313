"""plan.yaml: written, read back equal; malformed, hand-edited or unsound files refused in one line
that names the file, the line and the field."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.domain.cluster import ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.plan import (
    AlertGate,
    Amount,
    BackupSpec,
    EtcdEndpoint,
    Gates,
    Plan,
    ProviderName,
    ProviderSpec,
    Strategy,
)
from overhaul.planning.planfile import PlanFileError, digest, dumps_plan, load_plan, loads_plan, plan_to_dict
from overhaul.planning.windows import parse_window
from tests.unit.test_planning_plan import demo_like, plan_for, spec


def sample(**changes: object) -> Plan:
    finding = Finding(
        "pdb-blocks-drain",
        Severity.WARNING,
        "PodDisruptionBudget pay/ledger: minAvailable 2 keeps all 2 pods up | (accepted)",
        "Lower minAvailable to 1.",
        ObjectRef("policy/v1", "PodDisruptionBudget", "pay", "ledger"),
    )
    the_spec = spec(
        windows=(parse_window("Sat,Sun 01:00-05:00 Europe/Berlin"),),
        gates=Gates(soak_seconds=120, alerts=AlertGate("http://prom:9090", "Critical.*"), validate=True),
        accepted=("pdb-blocks-drain:pay/ledger",),
        **changes,
    )
    plan = plan_for(demo_like(), the_spec)
    return replace(plan, findings=(finding,), warnings=("a warning: with a colon",))


def test_round_trip() -> None:
    plan = sample()
    text = dumps_plan(plan)
    assert text.startswith("# Upgrade plan written by")
    document = yaml.safe_load(text)
    assert document["apiVersion"] == "overhaul.io/v1alpha1" and document["kind"] == "UpgradePlan"
    assert document["metadata"]["digest"] == digest(document)
    assert loads_plan(text) == plan


@pytest.mark.parametrize(
    "backup",
    [
        BackupSpec(),
        BackupSpec(enabled=False),
        BackupSpec(
            etcd=EtcdEndpoint("https://10.0.0.1:2379", "/pki/ca.crt", "/pki/c.crt", "/pki/c.key"),
            directory="/b",
        ),
    ],
)
def test_the_backup_section_round_trips_and_the_digest_covers_it(backup: BackupSpec) -> None:
    plan = sample(backup=backup)
    text = dumps_plan(plan)
    assert loads_plan(text) == plan
    assert "backup:" in text and "enabled:" in text
    flipped = (
        text.replace("enabled: true", "enabled: false")
        if backup.enabled
        else text.replace("enabled: false", "enabled: true")
    )
    with pytest.raises(PlanFileError, match="digest"):
        loads_plan(flipped)
    document = yaml.safe_load(text)
    del document["spec"]["backup"]["directory"]
    with pytest.raises(PlanFileError, match=r"spec\.backup: missing field 'directory'"):
        loads_plan(yaml.safe_dump(document), verify_digest=False)


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("provider", [ProviderName.SIM, ProviderName.EXEC, ProviderName.KUBEADM])
def test_round_trip_every_strategy_and_provider(strategy: Strategy, provider: ProviderName) -> None:
    if strategy is not Strategy.ROLLING and not provider.creates_nodes:
        return
    the_provider = ProviderSpec(provider, "cp {node} {version}", "node {node} {zone} {role}", "admin", "yum")
    plan = sample(strategy=strategy, provider=the_provider)
    assert loads_plan(dumps_plan(plan)) == plan


@settings(max_examples=30, deadline=None)
@given(
    soak=st.integers(0, 7200),
    cap=st.integers(1, 9),
    percent=st.booleans(),
    regex=st.text(min_size=1, max_size=20),
)
def test_round_trip_any_options(soak: int, cap: int, percent: bool, regex: str) -> None:
    gates = Gates(soak_seconds=soak, alerts=AlertGate("https://prom", regex))
    plan = plan_for(demo_like(workers=3), spec(gates=gates, max_unavailable=Amount(min(cap, 100), percent)))
    assert loads_plan(dumps_plan(plan)) == plan


def test_load_plan_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(dumps_plan(sample()))
    assert load_plan(path).name == "upgrade-1.34.2-to-1.36.0"
    with pytest.raises(PlanFileError, match=r"missing\.yaml: cannot read it"):
        load_plan(tmp_path / "missing.yaml")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_errors_name_file_line_and_field() -> None:
    text = dumps_plan(sample())
    cases = {
        "unknown": (text.replace("  server:", "  sever:", 1), "cluster.sever: unknown field", "  sever:"),
        "type": (
            re.sub(r"estimateSeconds: \d+", "estimateSeconds: soon", text, count=1),
            "stages[0].steps[0].estimateSeconds: expected an integer, got a string",
            "estimateSeconds: soon",
        ),
        "enum": (
            text.replace("action: upgrade-nodes", "action: reboot", 1),
            "action: 'reboot' is not one of upgrade-control-plane",
            "action: reboot",
        ),
        "version": (
            text.replace("target: v1.36.0", "target: banana", 1),
            "spec.target: 'banana' is not a Kubernetes version",
            "target: banana",
        ),
        "window": (
            text.replace("Sat,Sun 01:00-05:00 Europe/Berlin", "Sat 01:00", 1),
            "spec.windows[0]: 'Sat 01:00': no HH:MM-HH:MM",
            "Sat 01:00",
        ),
    }
    for name, (edited, message, needle) in cases.items():
        with pytest.raises(PlanFileError) as caught:
            loads_plan(edited, "plan.yaml")
        text_of = str(caught.value)
        assert message in text_of, name
        assert text_of.startswith(f"plan.yaml:{_line_of(edited, needle)}: "), (name, text_of)
        assert "\n" not in text_of


def test_missing_field_points_at_its_parent() -> None:
    text = dumps_plan(sample())
    edited = text.replace("  context: ''\n", "", 1)
    with pytest.raises(PlanFileError, match=r"^plan\.yaml:\d+: cluster: missing field 'context'$"):
        loads_plan(edited, "plan.yaml")


def test_a_hand_edit_that_stays_valid_is_refused_by_the_digest() -> None:
    text = dumps_plan(sample())
    edited = text.replace("soakSeconds: 120", "soakSeconds: 0")
    with pytest.raises(PlanFileError, match=r"metadata\.digest: does not match the plan's content"):
        loads_plan(edited, "plan.yaml")
    assert loads_plan(edited, "plan.yaml", verify_digest=False).spec.gates.soak_seconds == 0


def test_references_and_invariants_are_checked() -> None:
    plan = sample()
    document = plan_to_dict(plan)
    node = document["stages"][2]["steps"][0]["nodes"][0]
    node["uid"] = "someone-else"
    document["metadata"]["digest"] = digest(document)
    with pytest.raises(
        PlanFileError, match=r"stages\[2\]\.steps\[0\]\.nodes\[0\]\.uid: 'someone-else' is not the uid"
    ):
        loads_plan(yaml.safe_dump(document), "plan.yaml")

    document = plan_to_dict(plan)
    for step in document["stages"][0]["steps"]:
        step["version"] = "v1.36.0"  # 1.34 → 1.36 in one hop
    document["metadata"]["digest"] = digest(document)
    with pytest.raises(PlanFileError, match="one minor at a time"):
        loads_plan(yaml.safe_dump(document), "plan.yaml")

    document = plan_to_dict(plan)
    document["stages"][2]["steps"][0]["nodes"][0]["name"] = "ghost"
    document["metadata"]["digest"] = digest(document)
    with pytest.raises(PlanFileError, match=r"'ghost' is neither in cluster\.nodes nor added earlier"):
        loads_plan(yaml.safe_dump(document), "plan.yaml")

    document = plan_to_dict(plan)
    document["stages"][1]["steps"][0]["id"] = document["stages"][0]["steps"][0]["id"]
    document["metadata"]["digest"] = digest(document)
    with pytest.raises(PlanFileError, match="is used twice"):
        loads_plan(yaml.safe_dump(document), "plan.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file, not a plan"),
        ("- a\n", "kind: not an overhaul plan"),
        ("kind: UpgradePlan\napiVersion: overhaul.io/v9\n", "apiVersion: 'overhaul.io/v9' is not supported"),
        ("kind: [UpgradePlan\n", "not valid YAML"),
        ("kind: UpgradePlan\nkind: UpgradePlan\n", "kind: given twice"),
        ("kind: UpgradePlan\napiVersion: overhaul.io/v1alpha1\n", "missing field 'metadata'"),
    ],
)
def test_not_a_plan(text: str, message: str) -> None:
    with pytest.raises(PlanFileError, match=message.replace("[", r"\[")):
        loads_plan(text, "plan.yaml")
