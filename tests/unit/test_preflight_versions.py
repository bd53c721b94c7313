"""`version-skew`, `upgrade-path` and `end-of-support`."""

from __future__ import annotations

import datetime as dt

from overhaul.domain.findings import Severity
from overhaul.preflight.versions import end_of_support, upgrade_path_check, version_skew
from tests.unit.preflight_views import cluster, data, node, workers


def test_skew_quiet_when_every_kubelet_is_within_policy_now_and_after() -> None:
    view = cluster([*workers(2), node("old", kubelet="v1.32.9")])
    assert version_skew(data(view, target="1.35")) == []


def test_a_kubelet_too_old_now_blocks() -> None:
    view = cluster([*workers(2), node("ancient", kubelet="v1.30.1")])
    [finding] = version_skew(data(view))
    assert finding.severity is Severity.BLOCKING
    assert finding.object.name == "ancient" and "4 minors older" in finding.message


def test_a_kubelet_newer_than_the_apiserver_blocks() -> None:
    [finding] = version_skew(data(cluster([node("new", kubelet="v1.35.0")])))
    assert finding.severity is Severity.BLOCKING and "newer" in finding.message


def test_a_kube_proxy_out_of_policy_blocks() -> None:
    [finding] = version_skew(data(cluster([node("n", kube_proxy="v1.36.0")])))
    assert finding.severity is Severity.BLOCKING and "kube-proxy" in finding.message


def test_a_kubelet_that_would_fall_behind_after_a_step_warns() -> None:
    view = cluster([*workers(2), node("lagging-1", kubelet="v1.31.4"), node("lagging-2", kubelet="v1.31.4")])
    [finding] = version_skew(data(view, target="1.35"))
    assert finding.severity is Severity.WARNING
    assert "lagging-1, lagging-2" in finding.message and "1.34" in finding.remedy


def test_upgrade_path_lists_the_hops() -> None:
    [finding] = upgrade_path_check(data(cluster(workers(3)), target="1.36"))
    assert finding.severity is Severity.INFO
    assert "1.34 → 1.35 → 1.36" in finding.message


def test_upgrade_path_blocks_a_downgrade_and_is_quiet_without_a_cluster() -> None:
    [finding] = upgrade_path_check(data(cluster(workers(1)), target="1.33"))
    assert finding.severity is Severity.BLOCKING
    assert upgrade_path_check(data(None)) == []


def test_end_of_support_quiet_while_both_versions_are_supported() -> None:
    assert end_of_support(data(cluster(workers(1)), target="1.35", today=dt.date(2026, 5, 1))) == []


def test_end_of_support_warns_for_a_target_ending_within_90_days() -> None:
    [finding] = end_of_support(data(None, target="1.35", today=dt.date(2027, 1, 15)))
    assert finding.severity is Severity.WARNING and "2027-02-28" in finding.message


def test_end_of_support_warns_for_a_cluster_already_out_of_support() -> None:
    found = end_of_support(
        data(cluster(workers(1), version="v1.33.4"), target="1.34", today=dt.date(2026, 7, 1))
    )
    [finding] = found
    assert "1.33" in finding.message and "out of support" in finding.message
    assert "fixes" in finding.remedy


def test_end_of_support_warns_for_a_target_past_its_end() -> None:
    [finding] = end_of_support(data(None, target="1.30", today=dt.date(2026, 7, 1)))
    assert "reached its end of support" in finding.message
