"""The version path of an upgrade: control-plane hops and the kubelet upgrades each one needs first.

Rules, all from data/skew.yaml (and data/providers.yaml when a provider is named):

- the control plane moves at most `control_plane_max_minor_step` minors per hop (one: it can
  never skip a minor);
- before a hop to minor N, every kubelet must be allowed against N (at most 3 minors older,
  never newer); a kubelet that would fall outside is upgraded first, to the control plane's
  current minor (the newest it may run then, so that it needs the fewest later moves);
- a provider may demand more (EKS: managed node groups on the control plane's minor before each
  control-plane upgrade): `nodes_match_control_plane=True`; or allow less lag (GKE and AKS node
  pools: two minors): `kubelet_allowed`, a stricter rule checked on top of the upstream one;
- otherwise kubelets may stay behind within policy; `kubelets_after` lists the moves that bring
  the remaining ones to the target once the control plane is there.

Everything is on minors: a patch upgrade within one minor has no hop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from overhaul.domain.version import Version
from overhaul.knowledge import _data, skew


class UpgradePathError(ValueError):
    """No upgrade path: the target is older than the control plane (downgrades are not supported)."""


@dataclass(frozen=True)
class KubeletMove:
    """`nodes` kubelets upgraded from one minor to another."""

    from_minor: Version
    to_minor: Version
    nodes: int

    def __str__(self) -> str:
        plural = "s" if self.nodes != 1 else ""
        return f"{self.nodes} node{plural} {self.from_minor} → {self.to_minor}"


@dataclass(frozen=True)
class Hop:
    """One control-plane upgrade, and the kubelet upgrades that must happen before it."""

    control_plane_from: Version
    control_plane_to: Version
    kubelets_before: tuple[KubeletMove, ...] = ()


@dataclass(frozen=True)
class UpgradePath:
    current: Version  # the control plane's minor now
    target: Version  # the target minor
    hops: tuple[Hop, ...]
    kubelets_after: tuple[KubeletMove, ...]  # to the target, once the control plane is there

    @property
    def control_plane_minors(self) -> tuple[Version, ...]:
        """Every minor the control plane runs on the way, the current one first."""
        return (self.current, *(hop.control_plane_to for hop in self.hops))

    @property
    def kubelet_moves(self) -> tuple[KubeletMove, ...]:
        """Every kubelet upgrade of the path, in order."""
        return (*(m for hop in self.hops for m in hop.kubelets_before), *self.kubelets_after)

    def describe(self) -> str:
        """One line for people: `control plane 1.33 → 1.34 → 1.35; kubelets: ...`."""
        minors = " → ".join(str(m) for m in self.control_plane_minors)
        parts = [f"control plane {minors}" if self.hops else f"control plane stays on {self.current}"]
        for hop in self.hops:
            if hop.kubelets_before:
                moves = ", ".join(str(m) for m in hop.kubelets_before)
                parts.append(f"before {hop.control_plane_to}: kubelets {moves}")
        if self.kubelets_after:
            parts.append(f"then kubelets {', '.join(str(m) for m in self.kubelets_after)}")
        return "; ".join(parts)


def _kubelet_counts(
    kubelets: Mapping[Version, int] | Mapping[str, int] | Iterable[Version | str],
) -> Counter[Version]:
    counts: Counter[Version] = Counter()
    if isinstance(kubelets, Mapping):
        for version, n in kubelets.items():
            counts[_data.minor(version)] += n
    else:
        for version in kubelets:
            counts[_data.minor(version)] += 1
    return counts


def upgrade_path(
    current: Version | str,
    target: Version | str,
    kubelets: Mapping[Version, int] | Mapping[str, int] | Iterable[Version | str] = (),
    *,
    nodes_match_control_plane: bool = False,
    kubelet_allowed: Callable[[Version, Version], bool] | None = None,
) -> UpgradePath:
    """The hops from the control plane's `current` version to `target`, given the kubelet versions
    (a version → node count mapping, or one version per node). Raises UpgradePathError for a
    downgrade. `kubelet_allowed(control_plane_minor, kubelet_minor)` is a provider's stricter
    kubelet rule, if any."""
    low, high = _data.minor(current), _data.minor(target)
    if low.major != high.major or high < low:
        raise UpgradePathError(f"cannot go from {low} to {high}: the control plane cannot be downgraded")
    step = max(1, skew.upgrade_rules().control_plane_max_minor_step)
    state = _kubelet_counts(kubelets)
    hops: list[Hop] = []
    control_plane = low
    while control_plane < high:
        following = Version(control_plane.major, min(control_plane.minor + step, high.minor))
        moves: list[KubeletMove] = []
        for minor in sorted(state):
            if minor >= control_plane:
                continue  # on the control plane's minor (or, against policy, newer): nothing to do first
            behind = not skew.kubelet_skew_ok(following, minor) or (
                kubelet_allowed is not None and not kubelet_allowed(following, minor)
            )
            if behind or nodes_match_control_plane:
                moves.append(KubeletMove(minor, control_plane, state[minor]))
        for move in moves:
            state[move.to_minor] += state.pop(move.from_minor)
        hops.append(Hop(control_plane, following, tuple(moves)))
        control_plane = following
    after = tuple(KubeletMove(minor, high, state[minor]) for minor in sorted(state) if minor < high)
    return UpgradePath(low, high, tuple(hops), after)
