"""`/healthz`, `/livez` and `/readyz` as kube-apiserver answers them (k8s.io/apiserver/pkg/server/healthz),
with a fault switch to make checks fail.

- `/readyz` → `ok`; `/readyz?verbose` → one `[+]<check> ok` line per check, then `readyz check passed`;
  `?exclude=<check>` (repeatable) skips a check (`[+]<check> excluded: ok`).
- A failing check makes the answer 500 and verbose whatever was asked: `[-]<check> failed: reason
  withheld` and `readyz check failed`.
- `/readyz/<check>` answers that check alone: `ok`, or 500 `internal server error: <reason>`.

The checks are those of a kubeadm kube-apiserver of 1.33/1.34 (a shortened list of its post-start
hooks). Faults: `POST /debug/overhaul/health` with `{"etcd": false}` fails the `etcd` check (of every
endpoint that has it) until `{"etcd": true}`; `GET` shows which checks fail.
"""

from __future__ import annotations

from collections.abc import Iterable

_COMMON = ("ping", "log", "etcd")
_HOOKS = (
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/start-system-namespaces-controller",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-legacy-token-tracking-controller",
    "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/bootstrap-controller",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-discovery-controller",
    "poststarthook/kube-apiserver-autoregistration",
)
CHECKS: dict[str, tuple[str, ...]] = {
    "healthz": (*_COMMON, "kms-providers", *_HOOKS, "autoregister-completion"),
    "livez": (*_COMMON, "kms-providers", *_HOOKS, "autoregister-completion"),
    "readyz": (
        *_COMMON,
        "etcd-readiness",
        "kms-providers",
        "informer-sync",
        *_HOOKS,
        "autoregister-completion",
        "shutdown",
    ),
}
ALL_CHECKS = frozenset(name for names in CHECKS.values() for name in names)


class UnknownCheckError(ValueError):
    """A fault for a check no health endpoint has."""


class HealthChecks:
    """The health endpoints' checks and the faults injected into them."""

    def __init__(self) -> None:
        self.failing: dict[str, str] = {}  # check -> the reason (logged by a real server, withheld)

    def set(self, states: dict[str, bool]) -> None:
        """`{"etcd": False}` fails etcd, `{"etcd": True}` heals it; unknown names raise, nothing changed."""
        unknown = sorted(name for name in states if name not in ALL_CHECKS)
        if unknown:
            raise UnknownCheckError(
                f"unknown health check {', '.join(unknown)} (checks: {', '.join(sorted(ALL_CHECKS))})"
            )
        for name, healthy in states.items():
            if healthy:
                self.failing.pop(name, None)
            else:
                self.failing[name] = "injected fault (POST /debug/overhaul/health)"

    def state(self) -> dict[str, bool]:
        return {name: name not in self.failing for name in sorted(ALL_CHECKS)}

    def answer(self, path: str, verbose: bool, exclude: Iterable[str] = ()) -> tuple[int, str] | None:
        """(status, text) for `/readyz`, `/livez`, `/healthz` and `/<endpoint>/<check>`; None for any
        other path."""
        endpoint, _, single = path.strip("/").partition("/")
        checks = CHECKS.get(endpoint)
        if checks is None:
            return None
        if single:
            if single not in checks:
                return None
            reason = self.failing.get(single)
            return (500, f"internal server error: {reason}\n") if reason else (200, "ok")
        excluded = set(exclude)
        lines: list[str] = []
        failed = False
        for name in checks:
            if name in excluded:
                excluded.discard(name)
                lines.append(f"[+]{name} excluded: ok\n")
            elif name in self.failing:
                failed = True
                lines.append(f"[-]{name} failed: reason withheld\n")
            else:
                lines.append(f"[+]{name} ok\n")
        if excluded:
            quoted = ",".join(f'"{name}"' for name in sorted(excluded))
            lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
        if failed:
            return 500, "".join(lines) + f"{endpoint} check failed\n"
        if not verbose:
            return 200, "ok"
        return 200, "".join(lines) + f"{endpoint} check passed\n"
