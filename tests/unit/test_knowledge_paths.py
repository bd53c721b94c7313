"""The version path: the control plane one minor at a time, kubelets upgraded only when the skew
policy (or a provider) demands it before a hop."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overhaul.domain.version import Version
from overhaul.knowledge import skew
from overhaul.knowledge.paths import KubeletMove, UpgradePathError, upgrade_path


def v(text: str) -> Version:
    return Version.parse(text)


def test_one_minor_at_a_time() -> None:
    path = upgrade_path("1.32.4", "1.35", {"v1.32.4": 5})
    assert path.control_plane_minors == (v("1.32"), v("1.33"), v("1.34"), v("1.35"))
    assert all(h.kubelets_before == () for h in path.hops)  # 1.32 kubelets are allowed against 1.35
    assert path.kubelets_after == (KubeletMove(v("1.32"), v("1.35"), 5),)


def test_kubelets_three_minors_behind_move_before_the_next_hop() -> None:
    path = upgrade_path("1.34", "1.36", {"1.31": 2, "1.34": 4})
    first, second = path.hops
    assert first.kubelets_before == (KubeletMove(v("1.31"), v("1.34"), 2),)
    assert second.kubelets_before == ()
    assert path.kubelets_after == (KubeletMove(v("1.34"), v("1.36"), 6),)


def test_a_provider_may_demand_nodes_on_the_control_planes_minor() -> None:
    path = upgrade_path("1.33", "1.35", ["1.32", "1.33"], nodes_match_control_plane=True)
    assert path.hops[0].kubelets_before == (KubeletMove(v("1.32"), v("1.33"), 1),)
    assert path.hops[1].kubelets_before == (KubeletMove(v("1.33"), v("1.34"), 2),)


def test_a_provider_may_allow_less_lag() -> None:
    def two_behind(control_plane: Version, kubelet: Version) -> bool:
        return control_plane.minor - kubelet.minor <= 2

    upstream = upgrade_path("1.34", "1.35", {"1.32": 1, "1.34": 2})
    assert upstream.hops[0].kubelets_before == ()
    stricter = upgrade_path("1.34", "1.35", {"1.32": 1, "1.34": 2}, kubelet_allowed=two_behind)
    assert stricter.hops[0].kubelets_before == (KubeletMove(v("1.32"), v("1.34"), 1),)


def test_a_patch_upgrade_has_no_hop() -> None:
    path = upgrade_path("1.34.1", "1.34.3", ["1.34.1"])
    assert path.hops == () and path.kubelets_after == ()
    assert "stays on 1.34" in path.describe()


def test_downgrades_are_refused() -> None:
    with pytest.raises(UpgradePathError):
        upgrade_path("1.35", "1.34")


minors = st.integers(min_value=20, max_value=37)


@given(
    current=minors,
    distance=st.integers(min_value=0, max_value=8),
    behind=st.lists(st.integers(min_value=0, max_value=3), max_size=6),
)
def test_path_properties(current: int, distance: int, behind: list[int]) -> None:
    """Never skips a minor; before every hop every kubelet is within policy of the new minor and
    never newer than the control plane; everything ends on the target."""
    target = current + distance
    kubelets = Counter(Version(1, current - b) for b in behind if current - b >= 20)
    path = upgrade_path(Version(1, current), Version(1, target), dict(kubelets))
    state = Counter(kubelets)
    for hop in path.hops:
        assert hop.control_plane_to.minor - hop.control_plane_from.minor == 1
        for move in hop.kubelets_before:
            assert move.to_minor == hop.control_plane_from
            state[move.to_minor] += state.pop(move.from_minor)
        for minor in state:
            assert minor <= hop.control_plane_from
            assert skew.kubelet_skew_ok(hop.control_plane_to, minor)
    assert path.control_plane_minors[-1] == Version(1, target)
    for move in path.kubelets_after:
        state[move.to_minor] += state.pop(move.from_minor)
    assert set(state) <= {Version(1, target)}
    assert sum(state.values()) == sum(kubelets.values())
