"""What a drain is asked to do: kubectl drain's options and the ones it lacks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from overhaul.domain.durations import DurationError, parse_duration


class BlockedPolicy(Enum):
    WAIT = "wait"  # keep retrying until --timeout
    FAIL = "fail"  # give up on a node as soon as a budget can never allow its pod out
    DISABLE_EVICTION_AFTER = "disable-eviction-after"  # delete past the budget after a while


@dataclass(frozen=True, slots=True)
class OnBlocked:
    policy: BlockedPolicy = BlockedPolicy.WAIT
    after_seconds: float = 0.0  # for DISABLE_EVICTION_AFTER

    def describe(self) -> str:
        if self.policy is BlockedPolicy.DISABLE_EVICTION_AFTER:
            return f"disable-eviction-after={self.after_seconds:g}s"
        return str(self.policy.value)


def parse_on_blocked(text: str) -> OnBlocked:
    """`wait`, `fail` or `disable-eviction-after=DURATION`; raises ValueError otherwise."""
    value = text.strip()
    if value in (BlockedPolicy.WAIT.value, BlockedPolicy.FAIL.value):
        return OnBlocked(BlockedPolicy(value))
    prefix = BlockedPolicy.DISABLE_EVICTION_AFTER.value + "="
    if value.startswith(prefix):
        try:
            seconds = parse_duration(value[len(prefix) :])
        except DurationError as err:
            raise ValueError(f"--on-blocked {value!r}: {err}") from err
        return OnBlocked(BlockedPolicy.DISABLE_EVICTION_AFTER, seconds)
    raise ValueError(f"--on-blocked {text!r}: use wait, fail or disable-eviction-after=DURATION (e.g. 5m)")


@dataclass(frozen=True, slots=True)
class DrainOptions:
    """kubectl drain's flags (same names, same meaning) plus overhaul's own."""

    ignore_daemonsets: bool = False
    delete_emptydir_data: bool = False
    force: bool = False
    grace_period: int = -1  # -1: each pod's own terminationGracePeriodSeconds
    timeout: float = 0.0  # one deadline for the whole drain; 0 waits forever
    pod_selector: str = ""
    disable_eviction: bool = False  # DELETE instead of the Eviction API: bypasses every PDB
    skip_wait_for_delete_timeout: int = 0  # seconds; pods deleted longer ago than this are skipped
    dry_run: bool = False
    parallel: int = 0  # nodes drained at once; 0 = all given
    on_blocked: OnBlocked = OnBlocked()
    leave_cordoned: bool = False  # on failure, keep the nodes this run cordoned
    retry_seconds: float = 5.0  # fallback retry of a refused eviction (kubectl's fixed 5 s)
    max_in_flight: int = 32  # eviction requests outstanding at once
    transient_retries: int = 5  # retries of a request that failed for a transient reason

    @property
    def grace_seconds(self) -> int | None:
        return self.grace_period if self.grace_period >= 0 else None
