"""The checks by id, and running them: `run_checks(input)` gives the ordered findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from overhaul.domain.findings import Finding, Severity, ordered
from overhaul.preflight import api_usage, budgets, capacity, drain, health, versions
from overhaul.preflight.input import PreflightInput

Check = Callable[[PreflightInput], list[Finding]]

# In report order: APIs, versions, disruption, capacity, health.
CHECKS: dict[str, Check] = {
    api_usage.REMOVED_API: api_usage.removed_api,
    api_usage.DEPRECATED_API: api_usage.deprecated_api,
    versions.VERSION_SKEW: versions.version_skew,
    versions.END_OF_SUPPORT: versions.end_of_support,
    versions.UPGRADE_PATH: versions.upgrade_path_check,
    budgets.PDB_BLOCKS_DRAIN: budgets.pdb_blocks_drain,
    budgets.PDB_MULTIPLE: budgets.pdb_multiple,
    drain.UNMANAGED_POD: drain.unmanaged_pod,
    drain.LOCAL_STORAGE: drain.local_storage,
    capacity.CAPACITY: capacity.capacity,
    health.NODE_NOT_READY: health.node_not_ready,
    health.POD_NOT_RUNNING: health.pod_not_running,
    health.CONTROL_PLANE_HEALTH: health.control_plane_health,
    drain.SINGLE_REPLICA: drain.single_replica,
}
CHECK_IDS = tuple(CHECKS)


class UnknownCheckError(ValueError):
    """A check id that is not one of CHECK_IDS."""


def validate_ids(ids: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(ids)
    unknown = [i for i in chosen if i not in CHECKS]
    if unknown:
        raise UnknownCheckError(
            f"unknown check {', '.join(repr(u) for u in unknown)} (checks: {', '.join(CHECK_IDS)})"
        )
    return chosen


def accept(findings: Iterable[Finding], accepted: Iterable[str]) -> list[Finding]:
    """Blocking findings of accepted checks become warnings (still reported, no longer blocking)."""
    chosen = set(accepted)
    return [
        replace(f, severity=Severity.WARNING, message=f"{f.message} (accepted with --accept {f.check})")
        if f.check in chosen and f.severity is Severity.BLOCKING
        else f
        for f in findings
    ]


def run_checks(data: PreflightInput, accepted: Iterable[str] = ()) -> list[Finding]:
    """Every check on the input, accepted checks downgraded, in report order (blocking first)."""
    found: list[Finding] = []
    for check in CHECKS.values():
        found.extend(check(data))
    return ordered(accept(found, validate_ids(accepted)))
