"""plan.md: the sections teams read, filled from the plan."""

from __future__ import annotations

from dataclasses import replace

from overhaul.domain.cluster import ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.plan import ProviderName, ProviderSpec, Strategy
from overhaul.planning.markdown import cell, render_markdown
from overhaul.planning.planfile import plan_to_dict
from overhaul.planning.windows import parse_window
from tests.unit.test_planning_plan import demo_like, plan_for, spec

SECTIONS = (
    "# Upgrade plan: Kubernetes 1.34.2 → 1.36.0",
    "## Details",
    "## Before the upgrade",
    "## Control plane",
    "## Worker waves",
    "## Verification",
    "## Rollback plan",
    "## Preflight findings",
)


def test_every_section_in_order() -> None:
    text = render_markdown(plan_for(demo_like()))
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "| Target | 1.36.0 |" in text
    assert "| Path | control plane 1.34.2 → 1.35.4 → 1.36.0; 6 workers → 1.36.0 |" in text
    assert "### Control plane 1.34.2 → 1.35.4" in text
    assert "| `control-plane-v1.35.4/cp-1` | cp-1 | 1.34.2 → 1.35.4 |" in text
    assert "### Workers → 1.36.0" in text
    assert "`overhaul validate --expect 1.36.0`" in text
    assert "CHANGELOG-1.35.md" in text and "CHANGELOG-1.36.md" in text
    assert "None." in text  # no findings
    assert "In order:\n\n1. Control plane 1.34.2 → 1.35.4" in text
    assert text.endswith("\n") and "\n\n\n\n" not in text


def test_digest_and_plan_file_name() -> None:
    plan = plan_for(demo_like())
    text = render_markdown(plan, "prod-plan.yaml")
    assert plan_to_dict(plan)["metadata"]["digest"] in text
    assert "`overhaul apply prod-plan.yaml`" in text
    assert "`overhaul apply prod-plan.yaml --dry-run`" in text


def test_worker_waves_list_their_nodes_and_zones() -> None:
    plan = plan_for(demo_like())
    text = render_markdown(plan)
    for step in plan.stages[-1].steps:
        assert f"| `{step.id}` | upgrade | {', '.join(step.node_names)} | {step.nodes[0].zone} |" in text


def test_findings_with_their_accept_ids_and_escaped_cells() -> None:
    finding = Finding(
        "pdb-blocks-drain",
        Severity.WARNING,
        "minAvailable 2 | keeps all\npods up (accepted with --accept pdb-blocks-drain)",
        "Lower it.",
        ObjectRef("policy/v1", "PodDisruptionBudget", "pay", "ledger"),
    )
    plan = replace(plan_for(demo_like()), findings=(finding,), warnings=("watch out",))
    text = render_markdown(plan)
    assert (
        "| warning | pdb-blocks-drain | PodDisruptionBudget pay/ledger | minAvailable 2 \\| keeps all "
        "pods up (accepted with --accept pdb-blocks-drain) | Lower it. | "
        "`--accept pdb-blocks-drain:pay/ledger` |"
    ) in text
    assert "Accepted blocking finding `pdb-blocks-drain:pay/ledger`: Lower it." in text
    assert "## Warnings\n\n- watch out" in text


def test_windows_strategy_and_commands() -> None:
    provider = ProviderSpec(ProviderName.EXEC, "cp-up {node} {version}", "node-up {node} {version}")
    plan = plan_for(
        demo_like(),
        spec(windows=(parse_window("Sat 01:00-05:00 Europe/Berlin"),), provider=provider),
    )
    text = render_markdown(plan)
    assert "| Window | Sat 01:00-05:00 Europe/Berlin (4h) |" in text
    assert "needs 1 window opening" in text or "window openings" in text
    assert "### Provider commands" in text and "cp-up cp-1 v1.35.4" in text and "node-up w-1 v1.36.0" in text
    blue_green = render_markdown(plan_for(demo_like(), spec(strategy=Strategy.BLUE_GREEN)))
    assert "blue-green: a new pool" in blue_green and "the old nodes stay (cordoned)" in blue_green


def test_nothing_to_do() -> None:
    text = render_markdown(plan_for(demo_like(), spec(target="1.34.2")))
    assert "Nothing to do" in text and "No worker needs an upgrade." in text


def test_cell() -> None:
    assert cell("a | b\nc") == "a \\| b c"
