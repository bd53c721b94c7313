"""The preflight report as data: the stable JSON shape of PRODUCT.md, and JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from overhaul.domain.cluster import ClusterView
from overhaul.domain.findings import Finding, Severity, summarize
from overhaul.domain.version import Version, VersionError


def _plain(version_text: str) -> str:
    """`v1.34.2` → `1.34.2` (suffixes such as `-eks-1` dropped); unparseable text as given, minus a `v`."""
    try:
        return str(Version.parse(version_text))
    except VersionError:
        return version_text.removeprefix("v")


@dataclass(frozen=True)
class PreflightReport:
    target: Version
    apiserver: str | None  # "1.34.2"; None without a cluster
    kubelets: dict[str, int]  # {"1.34.2": 12}
    findings: Sequence[Finding]
    checks: Sequence[str]  # the check ids that ran

    @classmethod
    def of(
        cls, target: Version, cluster: ClusterView | None, findings: Sequence[Finding], checks: Sequence[str]
    ) -> PreflightReport:
        apiserver = (
            _plain(cluster.server.git_version) if cluster is not None and cluster.server.git_version else None
        )
        kubelets: dict[str, int] = {}
        if cluster is not None:
            for version, n in cluster.kubelet_versions().items():
                key = _plain(version) if version else "unknown"
                kubelets[key] = kubelets.get(key, 0) + n
        return cls(target, apiserver, dict(sorted(kubelets.items())), findings, checks)

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.findings)

    @property
    def blocking(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": str(self.target),
            "current": {"apiserver": self.apiserver, "kubelets": self.kubelets},
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }

    def to_junit(self) -> str:
        return junit_xml(self.findings, self.checks, f"overhaul preflight --to {self.target}")


def _line(f: Finding) -> str:
    subject = str(f.object) or "cluster"
    return f"[{f.severity.value}] {subject} ({f.source}): {f.message}" + (
        f" Remedy: {f.remedy}" if f.remedy else ""
    )


def junit_xml(findings: Iterable[Finding], checks: Sequence[str], suite: str) -> str:
    """One testcase per check id; a check with blocking findings fails (one failure element listing
    them); warnings and infos go to the testcase's system-out."""
    by_check: dict[str, list[Finding]] = {c: [] for c in checks}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    failed = sum(1 for fs in by_check.values() if any(f.severity is Severity.BLOCKING for f in fs))
    root = ET.Element("testsuites", name="overhaul", tests=str(len(by_check)), failures=str(failed))
    test_suite = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(by_check)), failures=str(failed), errors="0", skipped="0"
    )
    for check, fs in by_check.items():
        case = ET.SubElement(test_suite, "testcase", classname="overhaul.preflight", name=check)
        blocking = [f for f in fs if f.severity is Severity.BLOCKING]
        others = [f for f in fs if f.severity is not Severity.BLOCKING]
        if blocking:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(blocking)} blocking finding{'s' if len(blocking) != 1 else ''}",
                type="blocking",
            )
            failure.text = "\n".join(_line(f) for f in blocking)
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(_line(f) for f in others)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
