"""The version-skew rules match the published policy (kubernetes.io/releases/version-skew-policy)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overhaul.domain.version import Version
from overhaul.knowledge import skew
from overhaul.knowledge.skew import UnknownSkewRuleError

minors = st.integers(min_value=25, max_value=45)


def v(minor: int) -> Version:
    return Version(1, minor)


@given(apiserver=minors, kubelet=minors)
def test_kubelet_up_to_three_minors_older_never_newer(apiserver: int, kubelet: int) -> None:
    assert skew.kubelet_skew_ok(v(apiserver), v(kubelet)) is (0 <= apiserver - kubelet <= 3)


@pytest.mark.parametrize(
    ("apiserver", "kubelet", "ok"),
    [
        ("1.28", "1.25", True),  # three older, kubelet 1.25
        ("1.27", "1.24", False),  # kubelet < 1.25 may only be two older
        ("1.26", "1.24", True),
        ("1.26", "1.23", False),
        ("v1.36.2", "v1.33.9-eks-1", True),
        ("1.36", "1.37", False),
    ],
)
def test_kubelet_below_1_25_only_two_older(apiserver: str, kubelet: str, ok: bool) -> None:
    assert skew.kubelet_skew_ok(apiserver, kubelet) is ok


def test_allowed_kubelet_minors() -> None:
    assert skew.allowed_kubelet_minors("1.36") == (v(33), v(34), v(35), v(36))
    assert skew.allowed_kubelet_minors("1.26") == (v(24), v(25), v(26))


@given(apiserver=minors, component=minors)
def test_controller_manager_scheduler_same_or_one_older(apiserver: int, component: int) -> None:
    expected = apiserver - component in (0, 1)
    for name in (skew.KUBE_CONTROLLER_MANAGER, skew.KUBE_SCHEDULER, skew.CLOUD_CONTROLLER_MANAGER):
        assert skew.control_plane_component_skew_ok(v(apiserver), v(component), name) is expected


@given(apiserver=minors, kubectl=minors)
def test_kubectl_within_one_either_way(apiserver: int, kubectl: int) -> None:
    assert skew.kubectl_skew_ok(v(apiserver), v(kubectl)) is (abs(apiserver - kubectl) <= 1)


def test_kube_proxy() -> None:
    assert skew.kube_proxy_skew_ok("1.33", "1.30")
    assert not skew.kube_proxy_skew_ok("1.33", "1.34")
    assert not skew.kube_proxy_skew_ok("1.33", "1.29")
    # Against the kubelet on the same node: up to three either way.
    assert skew.kube_proxy_skew_ok("1.33", "1.30", kubelet_minor="1.33")
    assert skew.skew_ok(skew.KUBE_PROXY, "1.33", "1.30", relative_to=skew.KUBELET)
    assert not skew.skew_ok(skew.KUBE_PROXY, "1.34", "1.30", relative_to=skew.KUBELET)
    assert not skew.kube_proxy_skew_ok("1.26", "1.24", kubelet_minor="1.21")


def test_ha_apiservers_narrow_the_range() -> None:
    assert skew.apiservers_skew_ok(["1.30", "1.31"])
    assert not skew.apiservers_skew_ok(["1.29", "1.31"])
    # kubelet 1.31 would be newer than the 1.30 instance
    assert not skew.skew_ok(skew.KUBELET, "1.31", ["1.31", "1.30"])
    assert skew.allowed_minors(skew.KUBELET, ["1.31", "1.30"]) == (v(28), v(29), v(30))
    assert skew.allowed_minors(skew.KUBECTL, ["1.31", "1.30"]) == (v(30), v(31))
    assert skew.allowed_minors(skew.KUBELET, []) == ()


def test_control_plane_never_skips_a_minor() -> None:
    assert skew.upgrade_rules().control_plane_max_minor_step == 1
    assert skew.upgrade_rules().drain_before_minor_kubelet_upgrade
    assert skew.control_plane_step_ok("1.30", "1.31")
    assert skew.control_plane_step_ok("1.30.2", "1.30.5")
    assert not skew.control_plane_step_ok("1.30", "1.32")
    assert not skew.control_plane_step_ok("1.31", "1.30")


def test_kubelets_three_behind_block_the_next_control_plane_upgrade() -> None:
    assert skew.kubelet_blocks_control_plane_upgrade("1.34", "1.30")
    assert not skew.kubelet_blocks_control_plane_upgrade("1.34", "1.31")


def test_rule_table() -> None:
    pairs = {(r.component, r.relative_to) for r in skew.rules()}
    assert pairs == {
        ("kube-apiserver", "kube-apiserver"),
        ("kubelet", "kube-apiserver"),
        ("kube-proxy", "kube-apiserver"),
        ("kube-proxy", "kubelet"),
        ("kube-controller-manager", "kube-apiserver"),
        ("kube-scheduler", "kube-apiserver"),
        ("cloud-controller-manager", "kube-apiserver"),
        ("kubectl", "kube-apiserver"),
    }
    for r in skew.rules():
        assert r.max_older >= 0 and r.max_newer >= 0
        for exception in r.exceptions:
            assert exception.max_older <= r.max_older and exception.max_newer <= r.max_newer
    kubelet = skew.rule(skew.KUBELET)
    assert (kubelet.max_older, kubelet.max_newer) == (3, 0)
    assert kubelet.bounds(Version(1, 24)) == (2, 0)
    with pytest.raises(UnknownSkewRuleError):
        skew.rule("etcd")


def test_provenance() -> None:
    provenance = skew.provenance()
    assert "https://kubernetes.io/releases/version-skew-policy/" in provenance.urls
    assert str(provenance.checked) == "2026-11-27"
