"""Finding ids for `overhaul plan --accept`: a check (`pdb-blocks-drain`, every finding of it, as
`preflight --accept` takes it) or one finding (`pdb-blocks-drain:payments/ledger`, the check and the
object's namespace/name; `check:name` for cluster-scoped objects)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from overhaul.domain.findings import Finding, Severity


def finding_id(finding: Finding) -> str:
    """The id that accepts exactly this finding (the check alone when it names no object)."""
    obj = finding.object
    if not obj.name:
        return finding.check
    return f"{finding.check}:{obj.namespace}/{obj.name}" if obj.namespace else f"{finding.check}:{obj.name}"


def check_of(accept_id: str) -> str:
    return accept_id.partition(":")[0]


def accepted(finding: Finding, ids: Iterable[str]) -> bool:
    chosen = set(ids)
    return finding.check in chosen or finding_id(finding) in chosen


def accept_findings(findings: Iterable[Finding], ids: Iterable[str]) -> list[Finding]:
    """Blocking findings whose check or id is accepted become warnings (still reported)."""
    chosen = tuple(ids)
    return [
        replace(
            f, severity=Severity.WARNING, message=f"{f.message} (accepted with --accept {_which(f, chosen)})"
        )
        if f.severity is Severity.BLOCKING and accepted(f, chosen)
        else f
        for f in findings
    ]


def _which(finding: Finding, ids: tuple[str, ...]) -> str:
    return finding.check if finding.check in ids else finding_id(finding)


CAPACITY = "capacity"


def relax_for_strategy(findings: Iterable[Finding], adds_nodes: bool) -> list[Finding]:
    """With surge or blue-green the plan adds nodes before it drains any, so preflight's capacity
    finding (drains onto the nodes there are now) does not hold: it becomes a warning."""
    if not adds_nodes:
        return list(findings)
    return [
        replace(
            f,
            severity=Severity.WARNING,
            message=f"{f.message} (not blocking: the plan adds nodes before it drains any)",
        )
        if f.check == CAPACITY and f.severity is Severity.BLOCKING
        else f
        for f in findings
    ]
