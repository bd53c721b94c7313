"""The version path node by node: control-plane hops one minor at a time, worker rolls only when the
skew policy (or a provider's rules) needs them, the rest in one roll at the end."""

from __future__ import annotations

import pytest

from overhaul.domain.cluster import ClusterView, NodeView, Taint
from overhaul.domain.version import Version
from overhaul.knowledge import providers
from overhaul.planning.path import (
    ControlPlaneHop,
    PathError,
    WorkerRoll,
    control_plane_version,
    latest_patch,
    natural_key,
    resolve_target,
    version_plan,
)
from tests.unit.preflight_views import CONTROL_PLANE_LABEL, cluster, node, static_pods

V = Version.parse


def kubeadm_cluster(
    version: str = "v1.34.2", workers: dict[str, str] | None = None, cps: int = 3
) -> ClusterView:
    nodes: list[NodeView] = []
    pods = []
    for i in range(cps):
        name = f"cp-{i + 1}"
        nodes.append(
            node(
                name,
                kubelet=version,
                control_plane=True,
                taints=[Taint(CONTROL_PLANE_LABEL, "", "NoSchedule")],
            )
        )
        pods += static_pods(name, version=version)
    for name, kubelet in (workers or {"w-1": version, "w-2": version}).items():
        nodes.append(node(name, kubelet=kubelet))
    return cluster(nodes, pods, version=version)


def hops(plan_moves: tuple[ControlPlaneHop | WorkerRoll, ...]) -> list[tuple[str, str, list[str]]]:
    return [
        (str(m.from_version), str(m.to_version), [n.name for n in m.nodes])
        for m in plan_moves
        if isinstance(m, ControlPlaneHop)
    ]


def rolls(plan_moves: tuple[ControlPlaneHop | WorkerRoll, ...]) -> list[tuple[str, list[str], str | None]]:
    return [
        (str(m.version), [n.name for n in m.nodes], str(m.before_hop) if m.before_hop else None)
        for m in plan_moves
        if isinstance(m, WorkerRoll)
    ]


def test_two_minors_the_control_plane_steps_and_workers_jump_once() -> None:
    path = version_plan(kubeadm_cluster(), V("1.36"))
    assert path.current == V("1.34.2")
    assert path.target == V("1.36.0")  # 1.36 has no known patch yet: .0
    assert hops(path.moves) == [
        ("1.34.2", "1.35.4", ["cp-1", "cp-2", "cp-3"]),  # the latest known 1.35 patch
        ("1.35.4", "1.36.0", ["cp-1", "cp-2", "cp-3"]),
    ]
    assert rolls(path.moves) == [("1.36.0", ["w-1", "w-2"], None)]  # one roll, two minors at once
    assert isinstance(path.moves[-1], WorkerRoll)
    assert path.describe() == "control plane 1.34.2 → 1.35.4 → 1.36.0; 2 workers → 1.36.0"


def test_a_patch_upgrade_is_one_hop_within_the_minor() -> None:
    path = version_plan(kubeadm_cluster(), V("1.34"))
    assert path.target == V("1.34.7")  # the latest 1.34 patch the release table knows
    assert hops(path.moves) == [("1.34.2", "1.34.7", ["cp-1", "cp-2", "cp-3"])]
    assert rolls(path.moves) == [("1.34.7", ["w-1", "w-2"], None)]


def test_an_exact_target_is_kept_and_nothing_is_done_at_it() -> None:
    path = version_plan(kubeadm_cluster(), V("1.34.2"))
    assert path.moves == ()
    assert path.describe() == "control plane stays on 1.34.2"


def test_a_downgrade_has_no_path() -> None:
    with pytest.raises(PathError, match="cannot be downgraded"):
        version_plan(kubeadm_cluster(), V("1.33"))


def test_workers_three_minors_behind_are_rolled_before_the_hop_that_would_strand_them() -> None:
    view = kubeadm_cluster("v1.34.2", {"old-1": "v1.31.5", "old-2": "v1.31.5", "new-1": "v1.34.2"})
    path = version_plan(view, V("1.36"))
    # 1.31 is allowed against 1.34 but not 1.35: moved to the control plane's current version first.
    assert rolls(path.moves) == [
        ("1.34.2", ["old-1", "old-2"], "1.35.4"),
        ("1.36.0", ["new-1", "old-1", "old-2"], None),
    ]
    assert isinstance(path.moves[0], WorkerRoll)


def test_eks_managed_node_groups_match_the_control_plane_before_each_hop() -> None:
    mng = node("mng-1", labels={"eks.amazonaws.com/nodegroup": "ng"})
    selfm = node("self-1")
    view = cluster([mng, selfm], version="v1.34.2")
    path = version_plan(view, V("1.36"), providers.provider("eks"))
    assert hops(path.moves) == [("1.34.2", "1.35.4", []), ("1.35.4", "1.36.0", [])]  # managed: no nodes
    # The managed node group must be on 1.35 before the hop to 1.36; self-managed nodes may wait.
    assert rolls(path.moves) == [("1.35.4", ["mng-1"], "1.36.0"), ("1.36.0", ["mng-1", "self-1"], None)]


def test_gke_node_pools_may_lag_two_minors_only() -> None:
    pool = {"cloud.google.com/gke-nodepool": "default"}
    view = cluster([node("n-1", kubelet="v1.33.4", labels=pool)], version="v1.34.2")
    path = version_plan(view, V("1.36"), providers.provider("gke"))
    # 1.33 against 1.35 is two minors: fine; against 1.36 three: GKE refuses, upstream would not.
    assert rolls(path.moves) == [("1.35.4", ["n-1"], "1.36.0"), ("1.36.0", ["n-1"], None)]


def test_the_control_plane_version_is_its_oldest_apiserver() -> None:
    view = kubeadm_cluster()
    pods = [*view.pods, *static_pods("cp-9", version="v1.33.9")]
    nodes = [*view.nodes, node("cp-9", kubelet="v1.33.9", control_plane=True)]
    mixed = cluster(nodes, pods, version="v1.34.2")
    assert control_plane_version(mixed) == V("1.33.9")
    path = version_plan(mixed, V("1.35"))
    # The hop to 1.34 takes the patch 1.34 nodes already run, so they are left alone.
    assert hops(path.moves)[0] == ("1.33.9", "1.34.2", ["cp-9"])


def test_unreadable_and_newer_kubelets_are_left_out_with_a_warning() -> None:
    view = kubeadm_cluster("v1.34.2", {"w-1": "v1.34.2", "odd": "banana", "ahead": "v1.37.0"})
    path = version_plan(view, V("1.35"))
    assert rolls(path.moves) == [("1.35.4", ["w-1"], None)]
    assert any("odd" in w and "not readable" in w for w in path.warnings)
    assert any("ahead" in w and "newer" in w for w in path.warnings)


def test_target_resolution() -> None:
    assert latest_patch(V("1.35")) == V("1.35.4")
    assert latest_patch(V("1.36")) == V("1.36.0")
    assert resolve_target(V("1.36.2"), V("1.34.2")) == V("1.36.2")
    assert resolve_target(V("1.34"), V("1.34.9")) == V("1.34.9")  # never below what runs


def test_natural_order_of_node_names() -> None:
    names = ["worker-10", "worker-2", "worker-1"]
    assert sorted(names, key=natural_key) == ["worker-1", "worker-2", "worker-10"]
