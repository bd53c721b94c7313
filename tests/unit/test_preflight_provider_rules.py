"""`preflight --provider`: a managed provider's stricter node rules in `version-skew` and `upgrade-path`."""

from __future__ import annotations

from overhaul.domain.findings import Severity
from overhaul.preflight.provider_skew import choose_provider, provider_names, rules_of
from overhaul.preflight.versions import upgrade_path_check, version_skew
from tests.unit.preflight_views import cluster, data, node, of

MANAGED = {"eks.amazonaws.com/nodegroup": "ng-1"}
FARGATE = {"eks.amazonaws.com/compute-type": "fargate"}
POOL = {"cloud.google.com/gke-nodepool": "default-pool"}


def test_the_provider_names_come_from_the_data() -> None:
    assert provider_names() == ("auto", "generic", "aks", "eks", "gke")
    assert rules_of("generic") is None and rules_of(None) is None
    assert rules_of("eks") is not None


def test_auto_takes_the_one_provider_the_node_labels_name() -> None:
    eks = choose_provider("auto", cluster([node("ng-a", labels=MANAGED), node("self")]))
    assert eks.name == "eks" and "Amazon EKS" in eks.note and "--provider generic" in eks.note
    assert choose_provider("auto", cluster([node("f", labels=FARGATE)])).name == "eks"
    assert choose_provider("auto", cluster([node("p", labels=POOL)]), "--rules").name == "gke"
    # No provider's labels (self-managed EKS nodes look like any others): the upstream rules.
    assert choose_provider("auto", cluster([node("plain")])) == choose_provider("generic", None)
    assert choose_provider("auto", None).name is None
    both = choose_provider("auto", cluster([node("ng-a", labels=MANAGED), node("p", labels=POOL)]), "--rules")
    assert both.name is None and "several providers (eks, gke); give --rules" in both.note
    # Given explicitly, a provider applies whatever the labels say, and says nothing.
    assert choose_provider("gke", cluster([node("ng-a", labels=MANAGED)])).note == ""
    assert choose_provider("generic", cluster([node("ng-a", labels=MANAGED)])).name is None


def test_eks_blocks_a_managed_node_group_behind_the_control_plane() -> None:
    view = cluster([node("ng-a", kubelet="v1.33.4", labels=MANAGED), node("ng-b", labels=MANAGED)])
    # Upstream, a kubelet one minor behind is fine now and after the hop to 1.35.
    assert version_skew(data(view, target="1.35")) == []
    [finding] = version_skew(data(view, target="1.35", provider="eks"))
    assert finding.severity is Severity.BLOCKING and finding.object.name == "ng-a"
    assert "Amazon EKS refuses the control-plane upgrade to 1.35" in finding.message
    assert "managed-node-group" in finding.message and "1.34 first" in finding.remedy


def test_eks_fargate_nodes_must_match_too() -> None:
    view = cluster([node("fargate-ip-10-0-0-1", kubelet="v1.33.4", labels=FARGATE)])
    [finding] = version_skew(data(view, target="1.35", provider="eks"))
    assert "fargate" in finding.message


def test_eks_is_quiet_for_self_managed_nodes_matching_groups_and_patch_upgrades() -> None:
    self_managed = cluster([node("self", kubelet="v1.33.4")])  # no EKS label: a self-managed node
    assert version_skew(data(self_managed, target="1.35", provider="eks")) == []
    on_minor = cluster([node("ng-a", kubelet="v1.34.0", labels=MANAGED)])
    assert version_skew(data(on_minor, target="1.35", provider="eks")) == []
    behind = cluster([node("ng-a", kubelet="v1.33.4", labels=MANAGED)])
    assert version_skew(data(behind, target="1.34.5", provider="eks")) == []  # no control-plane hop


def test_eks_upgrade_path_moves_managed_nodes_before_every_hop() -> None:
    view = cluster([node("ng-a", labels=MANAGED)])
    [generic] = upgrade_path_check(data(view, target="1.36"))
    assert "before 1.36" not in generic.message
    [eks] = upgrade_path_check(data(view, target="1.36", provider="eks"))
    assert "before 1.36: kubelets 1 node 1.34 → 1.35" in eks.message
    assert "Amazon EKS" in eks.message


def test_gke_allows_node_pools_two_minors_behind_not_three() -> None:
    three = cluster([node("pool-a", kubelet="v1.31.2", labels=POOL)])
    assert of(version_skew(data(three, target="1.34.5")), Severity.BLOCKING) == []
    [finding] = version_skew(data(three, target="1.34.5", provider="gke"))
    assert finding.severity is Severity.BLOCKING and "Google Kubernetes Engine" in finding.message
    assert "at most 2 minors older" in finding.message
    # Before a hop too: one finding, the blocking one (the path's later warning would repeat it).
    assert [f.severity for f in version_skew(data(three, target="1.35", provider="gke"))] == [
        Severity.BLOCKING
    ]


def test_gke_warns_of_a_pool_that_the_next_hop_would_leave_too_far_behind() -> None:
    two = cluster([node("pool-a", kubelet="v1.32.2", labels=POOL), node("pool-b", labels=POOL)])
    assert version_skew(data(two, target="1.35")) == []  # upstream: 3 behind at 1.35 is still allowed
    [finding] = version_skew(data(two, target="1.35", provider="gke"))
    assert finding.severity is Severity.WARNING and finding.object.name == "pool-a"
    assert "skew for node-pools" in finding.message and "reaches 1.35" in finding.message
    [path] = upgrade_path_check(data(two, target="1.35", provider="gke"))
    assert "before 1.35: kubelets 1 node 1.32 → 1.34" in path.message
