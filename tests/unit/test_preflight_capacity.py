"""`capacity` and the fit predicate it packs by: requests, pod slots, taints and tolerations,
nodeSelector and required node affinity."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.domain.cluster import NodeView, PodView, Resources, Taint, Toleration
from overhaul.domain.findings import Severity
from overhaul.domain.fit import (
    CPU,
    PODS,
    SELECTOR,
    TAINT,
    UNSCHEDULABLE,
    NodeRoom,
    pack,
    placement_reason,
    room_reason,
    summary,
    term_matches,
)
from overhaul.preflight.capacity import busiest_nodes, capacity
from tests.unit.preflight_views import GI, MI, app, cluster, data, healthy_cluster, node, pod, workers

GPU_TAINT = Taint("gpu", "true", "NoSchedule")


def test_quiet_when_the_busiest_nodes_pods_fit_elsewhere() -> None:
    assert capacity(data(healthy_cluster())) == []


def test_blocks_when_the_remaining_nodes_lack_room() -> None:
    workloads, pods = app("shop", "big", 2, ["worker-1", "worker-2"], cpu=3000)
    [finding] = capacity(data(cluster(workers(2), pods, workloads)))
    assert finding.severity is Severity.BLOCKING
    assert "Insufficient cpu" in finding.message and "big-" in finding.message


def test_free_cpu_spread_thin_does_not_hold_a_big_pod() -> None:
    """Three nodes with 1.5 cores free each (4.5 in all) cannot hold one pod of 2 cores."""
    nodes = workers(4, cpu=2000)
    filler_w, filler = app("a", "filler", 3, ["worker-2", "worker-3", "worker-4"], cpu=500)
    big_w, big = app("a", "big", 1, ["worker-1"], cpu=2000)
    [finding] = capacity(data(cluster(nodes, filler + big, filler_w + big_w)))
    assert "0/3 nodes are available: 3 Insufficient cpu" in finding.message


def test_batch_drains_several_nodes_at_once() -> None:
    workloads, pods = app("shop", "web", 3, ["worker-1", "worker-2", "worker-3"], cpu=1500)
    view = cluster(workers(3, cpu=4000), pods, workloads)
    assert capacity(data(view, batch=1)) == []
    [finding] = capacity(data(view, batch=2))
    assert "the 2 busiest nodes together" in finding.message


def test_taints_selectors_and_cordons_keep_pods_away() -> None:
    nodes = [
        node("worker-1"),
        node("gpu-1", taints=[GPU_TAINT]),
        node("cordoned", unschedulable=True),
        node("zone-b", labels={"zone": "b"}),
    ]
    workloads, pods = app("a", "picky", 1, ["worker-1"], node_selector={"zone": "a"})
    [finding] = capacity(data(cluster(nodes, pods, workloads)))
    assert TAINT in finding.message and UNSCHEDULABLE in finding.message and SELECTOR in finding.message


def test_unmanaged_and_daemon_pods_are_not_moved() -> None:
    pods = [pod("default", "bare", node="worker-1", cpu=3900)]
    assert busiest_nodes(cluster(workers(2), pods), 1) == []


def test_fit_predicate_details() -> None:
    tolerant = pod("a", "p", tolerations=[Toleration("gpu", "Exists")])
    assert placement_reason(tolerant, node("gpu-1", taints=[GPU_TAINT])) is None
    assert placement_reason(pod("a", "p"), node("n", ready=False)) is not None
    assert room_reason(Resources(100, MI), Resources(50, GI), 5) == CPU
    assert room_reason(Resources(100, MI), Resources(500, GI), 0) == PODS
    gpu_node = node("n", labels={"gpu-count": "4", "zone": "a"})
    assert term_matches(((("gpu-count", "Gt", ("2",)), ("zone", "In", ("a", "b"))), ()), gpu_node)
    assert not term_matches(((("gpu-count", "Lt", ("2",)),), ()), gpu_node)
    assert term_matches(((), (("metadata.name", "In", ("n",)),)), gpu_node)
    assert not term_matches(((), ()), gpu_node)
    assert summary({CPU: 2, TAINT: 3}, 5) == f"0/5 nodes are available: 3 {TAINT}, 2 {CPU}"


# ------------------------------------------------------------------------------------ properties

labels = st.dictionaries(st.sampled_from(["zone", "disk"]), st.sampled_from(["a", "b"]), max_size=2)


@st.composite
def nodes(draw: st.DrawFn, i: int) -> NodeView:
    return node(
        f"n{i}",
        cpu=draw(st.integers(0, 4000)),
        memory=draw(st.integers(0, 8)) * GI,
        pods=draw(st.integers(0, 4)),
        taints=[GPU_TAINT] if draw(st.booleans()) else [],
        labels=draw(labels),
        unschedulable=draw(st.booleans()),
    )


@st.composite
def pods(draw: st.DrawFn, i: int) -> PodView:
    return pod(
        "ns",
        f"p{i}",
        cpu=draw(st.integers(0, 3000)),
        memory=draw(st.integers(0, 4)) * GI,
        tolerations=[Toleration("gpu", "Exists")] if draw(st.booleans()) else [],
        node_selector=draw(labels),
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_packing_never_breaks_requests_pod_counts_or_placement_rules(draw: st.DataObject) -> None:
    node_list = [draw.draw(nodes(i)) for i in range(draw.draw(st.integers(1, 5)))]
    pod_list = [draw.draw(pods(i)) for i in range(draw.draw(st.integers(0, 12)))]
    rooms = [NodeRoom.of(n, []) for n in node_list]
    packing = pack(pod_list, rooms)
    by_key = {p.key: p for p in pod_list}
    assert len(packing.placed) + len(packing.unplaced) == len(pod_list)
    for n in node_list:
        here = [by_key[k] for k, name in packing.placed.items() if name == n.name]
        total = Resources()
        for p in here:
            total += p.requests
            assert placement_reason(p, n) is None
        assert total.fits_in(n.allocatable)
        assert len(here) <= n.allocatable_pods
    # Rooms only shrink, so a pod left out fits on no node at the end either.
    for p, _ in packing.unplaced:
        assert all(room.reason(p) is not None for room in rooms)
