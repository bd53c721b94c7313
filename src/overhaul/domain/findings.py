"""Findings: what a readiness check reports, in the stable JSON shape of PRODUCT.md.

`ObjectRef` (the object a finding names) is the one of `overhaul.domain.cluster`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from overhaul.domain.cluster import ObjectRef


class Severity(StrEnum):
    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"blocking": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing a check found. `source` is live, manifest:<path>, helm:<ns>/<release> or metrics."""

    check: str
    severity: Severity
    message: str
    remedy: str = ""
    object: ObjectRef = field(default_factory=ObjectRef)
    source: str = "live"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "object": self.object.to_json(),
            "source": self.source,
            "message": self.message,
            "remedy": self.remedy,
        }


def summarize(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Blocking first, then by check, then by object, so reports are stable."""
    return sorted(
        findings,
        key=lambda f: (f.severity.rank, f.check, f.object.namespace, f.object.kind, f.object.name, f.source),
    )
