"""Provider rules on top of the upstream skew policy: EKS, GKE, AKS."""

from __future__ import annotations

import pytest

from overhaul.knowledge import providers
from overhaul.knowledge.providers import UnknownProviderError


def test_known_providers_and_their_sources() -> None:
    assert {p.name for p in providers.providers()} == {"eks", "gke", "aks"}
    sources = providers.provenance().sources
    assert all(url.startswith("https://") for url in sources.values())
    for p in providers.providers():
        assert p.control_plane_max_minor_step == 1
        assert set(p.evidence.values()) <= set(sources), p.name
        for group in p.node_groups.values():
            assert group.evidence in sources, (p.name, group.kind)
            assert group.max_newer == 0


@pytest.mark.parametrize("kind", ["managed-node-group", "fargate"])
def test_eks_managed_nodes_and_fargate_must_match_before_a_control_plane_upgrade(kind: str) -> None:
    assert providers.blocks_control_plane_upgrade("eks", kind, "1.30", "1.29")
    assert not providers.blocks_control_plane_upgrade("EKS", kind, "1.30", "v1.30.4-eks-1")
    # Between control-plane upgrades the ordinary kubelet skew applies.
    assert providers.node_skew_ok("eks", kind, "1.30", "1.27")
    assert not providers.node_skew_ok("eks", kind, "1.30", "1.26")
    assert not providers.node_skew_ok("eks", kind, "1.30", "1.31")


def test_eks_self_managed_nodes_only_follow_the_skew_policy() -> None:
    assert not providers.blocks_control_plane_upgrade("eks", "self-managed", "1.30", "1.29")
    # The next control plane (1.31) would be four minors ahead of 1.27.
    assert providers.blocks_control_plane_upgrade("eks", "self-managed", "1.30", "1.27")


@pytest.mark.parametrize("name", ["gke", "aks"])
def test_node_pools_within_two_minors_never_newer(name: str) -> None:
    assert providers.node_skew_ok(name, "node-pool", "1.30", "1.28")
    assert not providers.node_skew_ok(name, "node-pool", "1.30", "1.27")
    assert not providers.node_skew_ok(name, "node-pool", "1.30", "1.31")
    assert providers.blocks_control_plane_upgrade(name, "node-pool", "1.30", "1.28")
    assert not providers.blocks_control_plane_upgrade(name, "node-pool", "1.30", "1.29")


def test_unknown_names() -> None:
    with pytest.raises(UnknownProviderError, match="known: aks, eks, gke"):
        providers.provider("openshift")
    with pytest.raises(UnknownProviderError, match="no node-group kind"):
        providers.provider("gke").node_group("fargate")


def test_a_nodes_kind_of_node_group_comes_from_its_labels() -> None:
    eks = providers.provider("eks")
    assert eks.node_group_of({"eks.amazonaws.com/nodegroup": "ng-1"}).kind == "managed-node-group"
    assert eks.node_group_of({"eks.amazonaws.com/compute-type": "fargate"}).kind == "fargate"
    assert eks.node_group_of({"eks.amazonaws.com/compute-type": "ec2"}).kind == "self-managed"
    assert eks.node_group_of({}).kind == eks.default_node_group == "self-managed"
    gke, aks = providers.provider("gke"), providers.provider("aks")
    assert gke.node_group_of({"cloud.google.com/gke-nodepool": "pool"}).kind == "node-pool"
    assert aks.node_group_of({}).kind == "node-pool"
    assert eks.strictest_max_older is None and gke.strictest_max_older == aks.strictest_max_older == 2
    for p in providers.providers():
        assert p.default_node_group in p.node_groups
        assert all(g.node_labels for g in p.node_groups.values() if g.kind != p.default_node_group)
