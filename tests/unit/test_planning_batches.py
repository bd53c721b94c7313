"""PDB-aware batches over the capacity model: budgets, room, zones, caps, and the properties that no
batch breaks a PDB or exceeds capacity (replayed independently from what each batch records)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.domain.cluster import ClusterView, NodeView, PodView, Resources, Taint, WorkloadView
from overhaul.domain.fit import placement_reason
from overhaul.planning import budgets
from overhaul.planning.batches import Batch, commit, form_batch, form_batches
from overhaul.planning.capacity import ClusterModel, moves, stays
from tests.unit.preflight_views import GI, MI, app, cluster, node, pdb, pod

ZONE = "topology.kubernetes.io/zone"


def zoned(name: str, zone: str, **options: object) -> NodeView:
    return node(name, labels={ZONE: zone}, **options)  # type: ignore[arg-type]


def model_of(view: ClusterView) -> ClusterModel:
    return ClusterModel(view.nodes, {n.name: list(view.pods_on(n.name)) for n in view.nodes})


def batches_of(
    view: ClusterView, cap: int, *, by_zone: bool = False, order: Iterable[str] | None = None
) -> list[Batch]:
    pdbs_of = budgets.pdb_keys_by_pod(view)
    names = list(order) if order is not None else [n.name for n in view.nodes]
    return form_batches(
        model_of(view),
        names,
        cap,
        budgets.allowances(view, pdbs_of),
        pdbs_of,
        version="v1.36.0",
        in_place=True,
        by_zone=by_zone,
    )


def nodes_of(found: list[Batch]) -> list[list[str]]:
    return [b.nodes for b in found]


# ----- the budgets


def test_allowances_follow_the_disruption_controller() -> None:
    workloads, pods = app("a", "web", 4, ["w-1", "w-2"])
    view = cluster(
        [node("w-1"), node("w-2")],
        pods,
        workloads,
        [
            pdb("a", "max-1", "web", max_unavailable=1),
            pdb("a", "max-pct", "web", max_unavailable="30%"),  # 1.2 rounded up: 2
            pdb("a", "min-3", "web", min_available=3),
            pdb("a", "min-pct", "web", min_available="60%"),  # 2.4 rounded up: 3 must stay
            pdb("a", "min-all", "web", min_available=4),
            pdb("a", "bad", "web", max_unavailable="x%"),
        ],
    )
    assert budgets.allowances(view) == {
        "a/max-1": 1,
        "a/max-pct": 2,
        "a/min-3": 1,
        "a/min-pct": 1,
        "a/min-all": 0,
        "a/bad": 0,
    }


def test_pdbs_by_pod_match_selectors_with_expressions() -> None:
    workloads, pods = app("a", "web", 2, ["w-1"])
    expr = replace(
        pdb("a", "expr", "web"),
        selector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
    )
    view = cluster([node("w-1")], pods, workloads, [expr, pdb("b", "other-ns", "web")])
    by_pod = budgets.pdb_keys_by_pod(view)
    assert set(by_pod) == {p.key for p in pods}
    assert all(keys == ("a/expr",) for keys in by_pod.values())


# ----- forming batches


def test_nodes_sharing_a_tight_budget_never_drain_together() -> None:
    workloads, pods = app("a", "db", 3, ["w-1", "w-2", "w-3"])
    view = cluster(
        [node("w-1"), node("w-2"), node("w-3"), node("w-4")],
        pods,
        workloads,
        [pdb("a", "db", "db", max_unavailable=1)],
    )
    found = batches_of(view, cap=4)
    assert nodes_of(found) == [["w-1", "w-4"], ["w-2"], ["w-3"]]


def test_a_looser_budget_lets_more_nodes_go_at_once() -> None:
    workloads, pods = app("a", "web", 6, [f"w-{i}" for i in range(1, 7)])
    view = cluster(
        [node(f"w-{i}") for i in range(1, 7)],
        pods,
        workloads,
        [pdb("a", "web", "web", max_unavailable="50%")],
    )
    found = batches_of(view, cap=10)
    assert found[0].nodes == ["w-1", "w-2", "w-3"]  # 3 of 6 pods at once
    # Their pods moved onto w-4..w-6 (the others were cordoned), 2 on each now: the model keeps them
    # there, as the scheduler does not rebalance, so two of those nodes would evict 4 > 3 at once.
    assert nodes_of(found)[1:] == [["w-4"], ["w-5"], ["w-6"]]


def test_the_cap_limits_a_batch() -> None:
    view = cluster([node(f"w-{i}") for i in range(1, 6)])
    assert nodes_of(batches_of(view, cap=2)) == [["w-1", "w-2"], ["w-3", "w-4"], ["w-5"]]


def test_batches_stay_in_one_zone() -> None:
    view = cluster([zoned("a-1", "a"), zoned("a-2", "a"), zoned("b-1", "b"), zoned("b-2", "b")])
    order = ["a-1", "a-2", "b-1", "b-2"]
    assert nodes_of(batches_of(view, cap=4, by_zone=True, order=order)) == [["a-1", "a-2"], ["b-1", "b-2"]]
    assert nodes_of(batches_of(view, cap=4, by_zone=False, order=order)) == [order]


def test_capacity_limits_a_batch_to_what_the_rest_can_hold() -> None:
    # Each node runs 3 one-core pods of a 4-core allocatable: one node's pods fit in the others' spare
    # core each, two nodes' do not.
    nodes = [node(f"w-{i}", cpu=4000) for i in range(1, 5)]
    workloads: list[WorkloadView] = []
    pods: list[PodView] = []
    for name in ("a", "b", "c"):
        w, p = app("a", name, 4, [n.name for n in nodes], cpu=1000)
        workloads += w
        pods += p
    view = cluster(nodes, pods, workloads)
    found = batches_of(view, cap=4)
    assert all(len(b.nodes) == 1 for b in found), nodes_of(found)
    assert all(not b.unplaced for b in found)


def test_a_node_over_a_budget_alone_goes_alone_with_a_note() -> None:
    workloads, pods = app("a", "db", 2, ["w-1"])
    view = cluster([node("w-1"), node("w-2")], pods, workloads, [pdb("a", "db", "db", max_unavailable=1)])
    found = batches_of(view, cap=2)
    assert nodes_of(found) == [["w-1"], ["w-2"]]
    assert found[0].over_budget == {"a/db": 1}


def test_pods_with_no_room_anywhere_are_reported() -> None:
    gpu = Taint("gpu", "true", "NoSchedule")
    workloads, pods = app("a", "web", 1, ["w-1"])
    view = cluster([node("w-1"), node("w-2", taints=[gpu])], pods, workloads)
    found = batches_of(view, cap=2)
    assert nodes_of(found)[0] == ["w-1"]
    assert [p.name for p in found[0].unplaced] == ["web-0"]


def test_bare_pods_are_not_placed_but_reported() -> None:
    bare = pod("default", "debug", node="w-1")
    view = cluster([node("w-1"), node("w-2")], [bare])
    found = batches_of(view, cap=1)
    assert [p.key for p in found[0].bare] == ["default/debug"]
    assert found[0].placed == {}


def test_daemonset_and_mirror_pods_stay() -> None:
    ds = WorkloadView(
        "DaemonSet", "kube-system", "proxy", "ds-1", 2, 2, 2, 2, {"matchLabels": {"app": "proxy"}}
    )
    pods = [
        pod("kube-system", f"proxy-{n}", node=n, owner=ds, labels={"app": "proxy"}) for n in ("w-1", "w-2")
    ]
    model = model_of(cluster([node("w-1"), node("w-2")], pods, [ds]))
    assert model.moving_pods("w-1") == []
    batch = form_batch(model, ["w-1", "w-2"], 2, {}, {})
    assert batch.nodes == ["w-1", "w-2"]


def test_moved_pods_go_to_freshly_upgraded_nodes_first() -> None:
    workloads, pods = app("a", "web", 3, ["w-1", "w-2", "w-3"])
    view = cluster([node("w-1"), node("w-2"), node("w-3")], pods, workloads)
    model = model_of(view)
    first = form_batch(model, ["w-1"], 1, {}, {})
    assert set(first.placed) <= {"w-2", "w-3"}
    commit(model, first, version="v1.36.0", in_place=True)
    second = form_batch(model, ["w-2"], 1, {}, {})
    assert set(second.placed) == {"w-1"}  # back empty: the scheduler's first choice


# ----- properties


@st.composite
def clusters(draw: st.DrawFn) -> ClusterView:
    """Small random clusters: workers over zones, apps of a few replicas with budgets of every kind,
    requests that sometimes make room tight, a taint now and then."""
    count = draw(st.integers(2, 9))
    zones = draw(st.integers(1, 3))
    nodes = [
        node(
            f"w-{i}",
            cpu=draw(st.sampled_from([2000, 4000])),
            memory=8 * GI,
            pods=draw(st.sampled_from([5, 110])),
            labels={ZONE: f"z{i % zones}"},
            taints=[Taint("dedicated", "x", "NoSchedule")] if draw(st.integers(0, 9)) == 0 else [],
        )
        for i in range(count)
    ]
    names = [n.name for n in nodes]
    workloads: list[WorkloadView] = []
    pods: list[PodView] = []
    pdbs = []
    for a in range(draw(st.integers(0, 6))):
        replicas = draw(st.integers(1, 5))
        spots = draw(st.lists(st.sampled_from(names), min_size=1, max_size=replicas))
        w, p = app(
            "ns", f"app{a}", replicas, spots, cpu=draw(st.sampled_from([100, 500, 900])), memory=256 * MI
        )
        workloads += w
        pods += p
        budget = draw(st.sampled_from(["none", "max1", "max50", "min1", "minall", "min50"]))
        if budget == "max1":
            pdbs.append(pdb("ns", f"app{a}", f"app{a}", max_unavailable=1))
        elif budget == "max50":
            pdbs.append(pdb("ns", f"app{a}", f"app{a}", max_unavailable="50%"))
        elif budget == "min1":
            pdbs.append(pdb("ns", f"app{a}", f"app{a}", min_available=1))
        elif budget == "minall":
            pdbs.append(pdb("ns", f"app{a}", f"app{a}", min_available=replicas))
        elif budget == "min50":
            pdbs.append(pdb("ns", f"app{a}", f"app{a}", min_available="50%"))
    return cluster(nodes, pods, workloads, pdbs)


def _reference_allowance(view: ClusterView, key: str) -> int:
    """The disruption controller's arithmetic, written out again for the check."""
    the_pdb = next(p for p in view.pdbs if p.key == key)
    selected = [
        p
        for p in view.pods
        if p.namespace == the_pdb.namespace and p.labels.get("app") == the_pdb.selector["matchLabels"]["app"]
    ]  # type: ignore[index]
    expected = max(
        len(selected),
        sum(
            {
                view.top_controller(p).uid: view.top_controller(p).replicas
                for p in selected
                if view.top_controller(p)
            }.values()
        ),
    )  # type: ignore[union-attr]
    if the_pdb.max_unavailable is not None:
        value = the_pdb.max_unavailable
        return int(value) if isinstance(value, int) else -(-int(value[:-1]) * expected // 100)
    value = the_pdb.min_available
    needed = value if isinstance(value, int) else -(-int(str(value)[:-1]) * expected // 100)
    return max(0, expected - needed)


@settings(max_examples=150, deadline=None)
@given(view=clusters(), cap=st.integers(1, 5), by_zone=st.booleans())
def test_no_batch_breaks_a_pdb_or_exceeds_capacity(view: ClusterView, cap: int, by_zone: bool) -> None:
    """Replays every batch from what it records, with bookkeeping of its own: where each pod is, and
    what room each node has."""
    found = batches_of(view, cap, by_zone=by_zone)
    where = {p.key: p.node_name for p in view.pods}
    pods_by_key = {p.key: p for p in view.pods}
    nodes = {n.name: n for n in view.nodes}
    allowances = {p.key: _reference_allowance(view, p.key) for p in view.pdbs}
    pdb_of = {p.key: [b.key for b in view.pdbs_for(p)] for p in view.pods}
    upgraded: list[str] = []
    for batch in found:
        assert 1 <= len(batch.nodes) <= cap
        if by_zone:
            assert len({nodes[n].zone for n in batch.nodes}) == 1
        evicted = [
            key for key, node_name in where.items() if node_name in batch.nodes and moves(pods_by_key[key])
        ]
        assert sorted(evicted) == sorted(p.key for ps in batch.evicted.values() for p in ps)
        # PDBs: within every allowance, unless the batch is a node that alone exceeds one.
        counts = Counter(k for key in evicted for k in pdb_of[key])
        if len(batch.nodes) > 1:
            assert all(n <= allowances[k] for k, n in counts.items()), (batch.nodes, counts)
        # Capacity: every placed pod goes to an eligible node outside the batch, within its room.
        for target, placed in batch.placed.items():
            assert target not in batch.nodes
            for placed_pod in placed:
                assert placement_reason(placed_pod, nodes[target]) is None
                where[placed_pod.key] = target
        for target in batch.placed:
            held = [pods_by_key[k] for k, n in where.items() if n == target and not pods_by_key[k].finished]
            total = Resources()
            for held_pod in held:
                total += held_pod.requests
            assert total.fits_in(nodes[target].allocatable), target
            assert len(held) <= nodes[target].allocatable_pods
        placed_keys = {p.key for ps in batch.placed.values() for p in ps}
        unplaced = {p.key for p in batch.unplaced}
        with_owner = {k for k in evicted if pods_by_key[k].owner is not None}
        assert placed_keys | unplaced == with_owner
        if unplaced:
            assert len(batch.nodes) == 1
        for key in evicted:
            if key not in placed_keys:
                where[key] = ""  # deleted (bare) or Pending
        upgraded.extend(batch.nodes)
    # Every node exactly once; the pods that stay never moved.
    assert sorted(upgraded) == sorted(nodes)
    assert all(where[p.key] == p.node_name for p in view.pods if stays(p))
