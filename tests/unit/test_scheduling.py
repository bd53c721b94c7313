"""The scheduler's filters case by case, its messages, and the controller's binding and retries."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overhaul.sim.clock import VirtualClock
from overhaul.sim.cluster import PATCH_MERGE, Cluster, DeleteOptions, WriteOptions
from overhaul.sim.controllers.runtime import ControllerManager
from overhaul.sim.controllers.scheduler import SchedulerController
from overhaul.sim.nodes import make_node, node_ip
from overhaul.sim.quantity import QuantityError, milli_or_zero, parse_milli
from overhaul.sim.scheduling import (
    REASON_AFFINITY,
    REASON_UNSCHEDULABLE,
    NodeFacts,
    NodeScores,
    Rejection,
    Taint,
    Toleration,
    filter_node,
    find_and_pick,
    find_feasible,
    fit_error_message,
    insufficient_resources,
    match_expression,
    matches_node_selector,
    matches_required_affinity,
    node_facts,
    node_taints,
    nodes_to_find,
    pick_node,
    pod_facts,
    pod_requests,
    prefilter_node_names,
    untolerated_taint,
)

JSONDict = dict[str, Any]
GI = 1024**3 * 1000
MI = 1024**2 * 1000


# ----- quantities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "milli"),
    [
        ("100m", 100),
        ("1", 1000),
        ("0.5", 500),
        (".5", 500),
        ("2.", 2000),
        ("+1", 1000),
        ("-1", -1000),
        ("1k", 1_000_000),
        ("1M", 10**6 * 1000),
        ("1G", 10**9 * 1000),
        ("1E", 10**18 * 1000),
        ("1Ki", 1024 * 1000),
        ("500Mi", 500 * MI),
        ("1Gi", GI),
        ("1.5Gi", 3 * GI // 2),
        ("1e3", 1_000_000),
        ("1E3", 1_000_000),
        ("1e-3", 1),
        ("2.5e2", 250_000),
        ("0.1m", 1),  # finer than a milli-unit rounds up
        ("0", 0),
    ],
)
def test_quantities_parse_to_milli_units(text: str, milli: int) -> None:
    assert parse_milli(text) == milli


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1Gb", "1 Gi", "Gi", "1e", "1ki", "--1"])
def test_malformed_quantities_are_rejected(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_milli(text)


def test_quantity_fields_tolerate_numbers_and_garbage() -> None:
    assert milli_or_zero(2) == 2000
    assert milli_or_zero("250m") == 250
    assert milli_or_zero(None) == 0
    assert milli_or_zero("lots") == 0


@given(st.integers(min_value=0, max_value=10**12))
def test_suffixes_scale_exactly(n: int) -> None:
    assert parse_milli(f"{n}m") == n
    assert parse_milli(f"{n}Ki") == n * 1024 * 1000
    assert parse_milli(f"{n}k") == n * 1000 * 1000
    assert parse_milli(f"{n}e2") == n * 100 * 1000


# ----- requests -----------------------------------------------------------------------------


def _container(cpu: str | None = None, memory: str | None = None, **extra: Any) -> JSONDict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": "c", "image": "nginx", "resources": {"requests": requests}, **extra}


def test_requests_sum_containers_and_take_the_largest_init_step() -> None:
    spec = {
        "containers": [_container("100m", "64Mi"), _container("200m")],
        "initContainers": [_container("500m", "16Mi"), _container("50m", "1Gi")],
    }
    assert pod_requests(spec) == {"cpu": 500, "memory": GI}


def test_sidecars_add_to_everything_after_them() -> None:
    spec = {
        "containers": [_container("100m")],
        "initContainers": [_container("50m", restartPolicy="Always"), _container("300m")],
    }
    # Init step: sidecar 50m + 300m = 350m; running: 100m + 50m = 150m.
    assert pod_requests(spec) == {"cpu": 350}


def test_limits_stand_in_for_missing_requests_and_overhead_adds() -> None:
    spec = {
        "containers": [
            {"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "250m"}}}
        ],
        "overhead": {"cpu": "10m"},
    }
    assert pod_requests(spec) == {"cpu": 260, "memory": GI}


def test_scoring_counts_default_requests_for_containers_without_any() -> None:
    facts = pod_facts({"spec": {"containers": [{"name": "a"}, _container("1")]}})
    assert facts.requests == {"cpu": 1000}
    assert facts.nonzero_cpu == 1100
    assert facts.nonzero_memory == 2 * 200 * MI


# ----- resources and pod count --------------------------------------------------------------


def _node(**kw: Any) -> NodeFacts:
    alloc = {"cpu": 4000, "memory": 16 * GI, "ephemeral-storage": 100 * GI, "pods": 110_000}
    alloc.update(kw.pop("allocatable", {}))
    return NodeFacts(name=kw.pop("name", "n1"), allocatable=alloc, **kw)


def _pod(**spec: Any) -> JSONDict:
    spec.setdefault("containers", [_container("100m", "128Mi")])
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": spec}


def test_resources_fit_until_allocatable_minus_requested() -> None:
    node = _node()
    pod = pod_facts(_pod(containers=[_container("1", "4Gi")]))
    assert insufficient_resources(pod, node) == []
    node.add_pod(pod_facts(_pod(containers=[_container("3", "12Gi")])))
    assert insufficient_resources(pod, node) == []  # exactly full is a fit
    assert filter_node(pod, node) is None
    node.add_pod(pod_facts(_pod(containers=[_container("1m")])))
    assert insufficient_resources(pod, node) == ["Insufficient cpu"]
    node.add_pod(pod_facts(_pod(containers=[{"name": "c", "resources": {"requests": {"memory": "1"}}}])))
    assert insufficient_resources(pod, node) == ["Insufficient cpu", "Insufficient memory"]
    assert filter_node(pod, node) == Rejection(("Insufficient cpu", "Insufficient memory"), resolvable=True)


def test_ephemeral_storage_and_extended_resources_are_checked() -> None:
    pod = pod_facts(
        _pod(
            containers=[
                {
                    "name": "c",
                    "resources": {"requests": {"ephemeral-storage": "200Gi", "nvidia.com/gpu": "1"}},
                }
            ]
        )
    )
    assert insufficient_resources(pod, _node()) == [
        "Insufficient ephemeral-storage",
        "Insufficient nvidia.com/gpu",
    ]
    assert (
        insufficient_resources(
            pod, _node(allocatable={"ephemeral-storage": 300 * GI, "nvidia.com/gpu": 1000})
        )
        == []
    )


def test_pod_count_is_checked_even_without_requests() -> None:
    pod = pod_facts(_pod(containers=[{"name": "c"}]))
    node = _node(allocatable={"pods": 2000})
    node.add_pod(pod)
    assert insufficient_resources(pod, node) == []
    node.add_pod(pod)
    assert insufficient_resources(pod, node) == ["Too many pods"]
    rejection = filter_node(pod, node)
    assert rejection == Rejection(("Too many pods",), resolvable=True)


# ----- unschedulable, taints and tolerations ------------------------------------------------


def test_unschedulable_nodes_reject_unless_tolerated() -> None:
    node = _node(unschedulable=True)
    assert filter_node(pod_facts(_pod()), node) == Rejection((REASON_UNSCHEDULABLE,))
    tolerating = _pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}])
    assert filter_node(pod_facts(tolerating), node) is None
    everything = _pod(tolerations=[{"operator": "Exists"}])
    assert filter_node(pod_facts(everything), node) is None


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"),
    [
        (Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v", "NoSchedule"), True),
        (Toleration("k", "Equal", "other", "NoSchedule"), Taint("k", "v", "NoSchedule"), False),
        (Toleration("k", "", "v", ""), Taint("k", "v", "NoExecute"), True),  # empty operator is Equal
        (Toleration("k", "Exists", "", ""), Taint("k", "anything", "NoSchedule"), True),
        (Toleration("k", "Exists", "", "NoExecute"), Taint("k", "", "NoSchedule"), False),
        (Toleration("other", "Exists", "", ""), Taint("k", "", "NoSchedule"), False),
        (Toleration("", "Exists", "", ""), Taint("k", "v", "NoExecute"), True),  # empty key: all taints
        (Toleration("", "Exists", "", "NoSchedule"), Taint("k", "v", "NoExecute"), False),
        (Toleration("k", "Equal", "", ""), Taint("k", "", "NoSchedule"), True),
        (Toleration("k", "Bogus", "v", ""), Taint("k", "v", "NoSchedule"), False),
    ],
)
def test_toleration_matching(toleration: Toleration, taint: Taint, tolerated: bool) -> None:
    assert toleration.tolerates(taint) is tolerated


def test_first_untolerated_taint_is_reported_and_prefer_no_schedule_is_ignored() -> None:
    taints = (
        Taint("soft", "", "PreferNoSchedule"),
        Taint("a", "1", "NoSchedule"),
        Taint("b", "", "NoExecute"),
    )
    assert untolerated_taint(taints, ()) == Taint("a", "1", "NoSchedule")
    assert untolerated_taint(taints, (Toleration("a", "Exists"),)) == Taint("b", "", "NoExecute")
    assert untolerated_taint(taints, (Toleration("a", "Exists"), Toleration("b", "Exists"))) is None
    node = _node(taints=(Taint("dedicated", "gpu", "NoSchedule"),))
    assert filter_node(pod_facts(_pod()), node) == Rejection(
        ("node(s) had untolerated taint {dedicated: gpu}",)
    )


def test_node_facts_keep_only_filtering_taints() -> None:
    obj = make_node("cp", "v1.34.2", "2025-01-01T00:00:00Z", "10.0.0.1", control_plane=True)
    obj["spec"]["taints"].append({"key": "soft", "effect": "PreferNoSchedule"})
    assert node_facts(obj).taints == (Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule"),)


@pytest.mark.parametrize(
    ("ready", "key"),
    [("False", "node.kubernetes.io/not-ready"), ("Unknown", "node.kubernetes.io/unreachable")],
)
def test_not_ready_nodes_carry_the_lifecycle_taint(ready: str, key: str) -> None:
    obj = make_node("w", "v1.34.2", "2025-01-01T00:00:00Z", "10.0.0.2")
    for c in obj["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"] = ready
    assert node_taints(obj) == (Taint(key, "", "NoSchedule"),)
    facts = node_facts(obj)
    # The DefaultTolerationSeconds tolerations are NoExecute only: a NotReady node is no target.
    defaulted = _pod(
        tolerations=[{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]
    )
    assert filter_node(pod_facts(defaulted), facts) == Rejection(
        (f"node(s) had untolerated taint {{{key}: }}",)
    )
    assert filter_node(pod_facts(_pod(tolerations=[{"operator": "Exists"}])), facts) is None


def test_ready_nodes_get_no_synthesized_taint() -> None:
    obj = make_node("w", "v1.34.2", "2025-01-01T00:00:00Z", "10.0.0.2")
    assert node_taints(obj) == ()


# ----- node selector and affinity -----------------------------------------------------------


def test_node_selector_needs_every_label() -> None:
    labels = {"disk": "ssd", "zone": "a"}
    assert matches_node_selector({}, labels)
    assert matches_node_selector({"disk": "ssd"}, labels)
    assert not matches_node_selector({"disk": "ssd", "zone": "b"}, labels)
    assert not matches_node_selector({"gpu": "true"}, labels)
    node = _node(labels=labels)
    assert filter_node(pod_facts(_pod(nodeSelector={"disk": "hdd"})), node) == Rejection((REASON_AFFINITY,))


@pytest.mark.parametrize(
    ("expr", "value", "matched"),
    [
        ({"operator": "In", "values": ["a", "b"]}, "a", True),
        ({"operator": "In", "values": ["a", "b"]}, "c", False),
        ({"operator": "In", "values": ["a"]}, None, False),
        ({"operator": "NotIn", "values": ["a"]}, "b", True),
        ({"operator": "NotIn", "values": ["a"]}, "a", False),
        ({"operator": "NotIn", "values": ["a"]}, None, True),  # an absent label is not in the set
        ({"operator": "Exists"}, "", True),
        ({"operator": "Exists"}, None, False),
        ({"operator": "DoesNotExist"}, None, True),
        ({"operator": "DoesNotExist"}, "x", False),
        ({"operator": "Gt", "values": ["5"]}, "6", True),
        ({"operator": "Gt", "values": ["5"]}, "5", False),
        ({"operator": "Lt", "values": ["5"]}, "4", True),
        ({"operator": "Lt", "values": ["5"]}, "x", False),
        ({"operator": "Gt", "values": ["5", "6"]}, "7", False),
        ({"operator": "Gt", "values": ["5"]}, None, False),
        ({"operator": "Near", "values": ["5"]}, "5", False),
    ],
)
def test_match_expression_operators(expr: JSONDict, value: str | None, matched: bool) -> None:
    assert match_expression(expr, value) is matched


def test_affinity_terms_are_ored_and_their_requirements_anded() -> None:
    labels = {"zone": "a", "disk": "ssd"}
    ssd_in_b = {
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b"]},
            {"key": "disk", "operator": "In", "values": ["ssd"]},
        ]
    }
    in_a = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    assert not matches_required_affinity([ssd_in_b], "n1", labels)
    assert matches_required_affinity([ssd_in_b, in_a], "n1", labels)
    assert matches_required_affinity(None, "n1", labels)
    assert not matches_required_affinity([], "n1", labels)
    assert not matches_required_affinity([{}], "n1", labels)  # an empty term selects nothing


def test_affinity_match_fields_select_by_node_name() -> None:
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    not_name = {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}
    other_field = {"matchFields": [{"key": "spec.podCIDR", "operator": "In", "values": ["x"]}]}
    assert matches_required_affinity([by_name], "n1", {})
    assert not matches_required_affinity([by_name], "n2", {})
    assert matches_required_affinity([not_name], "n2", {})
    assert not matches_required_affinity([other_field], "n1", {})


def test_affinity_in_a_pod_filters_nodes() -> None:
    pod = _pod(
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}
                    ]
                }
            }
        }
    )
    facts = pod_facts(pod)
    assert filter_node(facts, _node(labels={"gen": "4"})) is None
    assert filter_node(facts, _node(labels={"gen": "3"})) == Rejection((REASON_AFFINITY,))


def test_prefilter_pins_node_names_only_when_every_term_does() -> None:
    pinned = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}
    narrowed = {
        "matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["a", "b"]},
            {"key": "metadata.name", "operator": "In", "values": ["b", "c"]},
        ]
    }
    labelled = {"matchExpressions": [{"key": "x", "operator": "Exists"}]}
    assert prefilter_node_names(None) is None
    assert prefilter_node_names([pinned]) == {"a", "b"}
    assert prefilter_node_names([narrowed]) == {"b"}
    assert prefilter_node_names([pinned, labelled]) is None


# ----- messages and sampling ----------------------------------------------------------------


def test_fit_error_message_reads_like_kube_scheduler() -> None:
    taint = Rejection(("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",))
    cordoned = Rejection((REASON_UNSCHEDULABLE,))
    assert fit_error_message(3, [taint, cordoned, cordoned]) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
        "scheduling."
    )


def test_fit_error_message_counts_each_resource_reason() -> None:
    full = Rejection(("Insufficient cpu", "Insufficient memory"), resolvable=True)
    cpu = Rejection(("Insufficient cpu",), resolvable=True)
    assert fit_error_message(2, [full, cpu]) == (
        "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are "
        "available: 2 No preemption victims found for incoming pod."
    )
    assert fit_error_message(1, [cpu], preempt_never=True) == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    )
    assert fit_error_message(0, []) == "no nodes available to schedule pods"


def test_nodes_to_find_follows_the_adaptive_percentage() -> None:
    assert nodes_to_find(50) == 50
    assert nodes_to_find(100) == 100
    assert nodes_to_find(1000) == 420  # 50 - 1000/125 = 42 %
    assert nodes_to_find(5000) == 500  # 10 %
    assert nodes_to_find(20000) == 1000  # floor of 5 %
    assert nodes_to_find(5000, percentage=2) == 100  # never below 100
    assert nodes_to_find(5000, cap=100) == 100
    assert nodes_to_find(40, cap=100) == 40


def test_pick_node_prefers_the_emptiest_node() -> None:
    pod = pod_facts(_pod())
    busy, idle = _node(name="busy"), _node(name="idle")
    busy.add_pod(pod_facts(_pod(containers=[_container("2", "8Gi")])))
    assert pick_node(pod, [busy, idle], {}, {}, 2, 1).name == "idle"
    assert pick_node(pod, [_node(name="first"), _node(name="second")], {}, {}, 2, 1).name == "first"


def test_pick_node_spreads_an_owners_replicas_before_filling_empty_nodes() -> None:
    owned = pod_facts({**_pod(), "metadata": {"ownerReferences": [{"uid": "rs", "controller": True}]}})
    assert owned.owner == "rs"
    busy, idle = _node(name="busy", zone="a"), _node(name="idle", zone="a")
    busy.add_pod(pod_facts(_pod(containers=[_container("2", "8Gi")])))
    # A replica already on the idle node outweighs the busy node's load.
    assert pick_node(owned, [busy, idle], {"idle": 1}, {"a": 1}, 2, 1).name == "busy"
    other_zone = _node(name="other", zone="b")
    other_zone.add_pod(pod_facts(_pod(containers=[_container("2", "8Gi")])))
    assert pick_node(owned, [idle, other_zone], {"busy": 1}, {"a": 1}, 3, 2).name == "other"


def test_find_feasible_stops_once_enough_nodes_fit() -> None:
    pod = pod_facts(_pod())
    cordoned = _node(name="c", unschedulable=True)
    nodes = [cordoned, _node(name="a"), _node(name="b"), _node(name="d")]
    feasible, rejections, processed = find_feasible(pod, nodes, 2)
    assert [n.name for n in feasible] == ["a", "b"]
    assert rejections == [Rejection((REASON_UNSCHEDULABLE,))]
    assert processed == 3


@settings(max_examples=200, deadline=None)
@given(
    loads=st.lists(
        st.tuples(
            st.integers(0, 4),  # cpu already requested, in whole cores
            st.integers(0, 16),  # memory already requested, in GiB
            st.booleans(),  # cordoned
            st.sampled_from(["a", "b", "c", None]),  # zone
        ),
        min_size=1,
        max_size=30,
    ),
    wanted=st.integers(1, 12),
    owned=st.booleans(),
    replicas=st.dictionaries(st.integers(0, 29), st.integers(1, 3), max_size=6),
    request=st.sampled_from(["100m", "1", "3"]),
)
def test_find_and_pick_chooses_as_find_feasible_then_pick_node(
    loads: list[tuple[int, int, bool, str | None]],
    wanted: int,
    owned: bool,
    replicas: dict[int, int],
    request: str,
) -> None:
    nodes = []
    for i, (cpu, memory, cordoned, zone) in enumerate(loads):
        node = _node(name=f"n{i}", unschedulable=cordoned, zone=zone)
        if cpu or memory:
            node.add_pod(pod_facts(_pod(containers=[_container(str(cpu), f"{memory}Gi")])))
        nodes.append(node)
    body = _pod(containers=[_container(request, "1Gi")])
    if owned:
        body["metadata"]["ownerReferences"] = [{"uid": "rs", "controller": True}]
    pod = pod_facts(body)
    on_node = {f"n{i}": n for i, n in replicas.items() if i < len(loads)}
    in_zone: dict[str, int] = {}
    for i, n in replicas.items():
        zone = loads[i][3] if i < len(loads) else None
        if zone is not None:
            in_zone[zone] = in_zone.get(zone, 0) + n
    zones = len({z for *_, z in loads if z is not None})
    # A second, different pod and the first again: the nodes keep the scores last computed on them.
    other = pod_facts(_pod(containers=[_container("250m", "3Gi")]))
    for facts in (pod, other, pod):
        feasible, rejections, processed = find_feasible(facts, nodes, wanted)
        expected = pick_node(facts, feasible, on_node, in_zone, len(nodes), zones) if feasible else None
        chosen, fused_rejections, fused_processed = find_and_pick(
            facts, nodes, wanted, on_node, in_zone, len(nodes), zones
        )
        assert chosen is expected
        assert (fused_rejections, fused_processed) == (rejections, processed)
        if chosen is not None:
            chosen.add_pod(facts)  # the node changed: what was kept of its score no longer holds


@settings(max_examples=150, deadline=None)
@given(
    loads=st.lists(
        st.tuples(
            st.integers(0, 4),  # cpu already requested, in whole cores
            st.booleans(),  # cordoned
            st.sampled_from(["a", "b", "c", None]),  # zone
        ),
        min_size=1,
        max_size=60,
    ),
    start=st.integers(0, 59),
    wanted=st.integers(1, 40),
    owned=st.booleans(),
    replicas=st.dictionaries(st.integers(0, 59), st.integers(1, 3), max_size=6),
    changes=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 3)), max_size=8),
)
def test_node_scores_choose_as_find_feasible_then_pick_node(
    loads: list[tuple[int, bool, str | None]],
    start: int,
    wanted: int,
    owned: bool,
    replicas: dict[int, int],
    changes: list[tuple[int, int]],
) -> None:
    nodes = []
    for i, (cpu, cordoned, zone) in enumerate(loads):
        node = _node(name=f"n{i:02}", unschedulable=cordoned, zone=zone)
        if cpu:
            node.add_pod(pod_facts(_pod(containers=[_container(str(cpu), "1Gi")])))
        nodes.append(node)
    scores = NodeScores(nodes)
    body = _pod(containers=[_container("1", "1Gi")])
    if owned:
        body["metadata"]["ownerReferences"] = [{"uid": "rs", "controller": True}]
    pods = [pod_facts(body), pod_facts(_pod(containers=[_container("250m", "3Gi")]))]
    on_node = {f"n{i:02}": n for i, n in replicas.items() if i < len(loads)}
    in_zone: dict[str, int] = {}
    for i, n in replicas.items():
        zone = loads[i][2] if i < len(loads) else None
        if zone is not None:
            in_zone[zone] = in_zone.get(zone, 0) + n
    zones = len({z for *_, z in loads if z is not None})
    first = start % len(nodes)
    # Each round reads the verdicts the rounds before kept, after some nodes changed.
    for round_changes in ([], changes, changes[:2]):
        for at, cores in round_changes:
            if at < len(nodes) and cores:
                nodes[at].add_pod(pod_facts(_pod(containers=[_container(str(cores), "1Gi")])))
                scores.changed(nodes[at].name)
        for facts in pods:
            rotation = nodes[first:] + nodes[:first]
            feasible, rejections, processed = find_feasible(facts, rotation, wanted)
            expected = pick_node(facts, feasible, on_node, in_zone, len(nodes), zones) if feasible else None
            chosen, got_rejections, got_processed = scores.find_and_pick(
                facts, first, wanted, on_node, in_zone, zones
            )
            assert chosen is expected
            assert got_processed == processed
            if expected is None:
                assert got_rejections == rejections


# ----- the controller -----------------------------------------------------------------------


class Harness:
    """A cluster with only the scheduler running, in virtual time."""

    def __init__(self) -> None:
        self.cluster = Cluster(clock=VirtualClock())
        self.manager = ControllerManager(self.cluster)
        self.scheduler = SchedulerController(self.cluster)
        self.manager.add(self.scheduler)
        pods = self.cluster.registry.get("", "v1", "pods")
        nodes = self.cluster.registry.get("", "v1", "nodes")
        assert pods is not None and nodes is not None
        self.pods, self.nodes = pods, nodes

    def cordon(self, name: str) -> None:
        patch = {"spec": {"unschedulable": True}}
        self.cluster.patch(self.nodes, None, name, PATCH_MERGE, patch, WriteOptions.system("test"))

    def node(self, name: str, cpu: str = "4", pods: str = "110", **kw: Any) -> JSONDict:
        index = len(self.cluster.store.collection(("", "nodes")).items)
        obj = make_node(name, "v1.34.2", self.cluster.now(), node_ip(index), cpu=cpu, pods=pods, **kw)
        self.cluster.load(obj)
        return obj

    def pod(self, name: str, cpu: str = "100m", namespace: str = "default", **spec: Any) -> None:
        spec.setdefault("containers", [_container(cpu, "64Mi")])
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        owner = spec.pop("owner", None)
        if owner:
            body["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": owner,
                    "uid": owner,
                    "controller": True,
                }
            ]
        self.cluster.create(self.pods, namespace, body, WriteOptions.system("test"))

    def get(self, name: str, namespace: str = "default") -> JSONDict:
        stored = self.cluster.store.get(("", "pods"), namespace, name)
        assert stored is not None
        return stored.obj

    def events(self, reason: str) -> list[JSONDict]:
        return [s.obj for s in self.cluster.store.list(("", "events"))[0] if s.obj["reason"] == reason]

    def run(self, seconds: float = 0.0) -> None:
        self.manager.run_for(seconds)


def _scheduled(pod: JSONDict) -> JSONDict:
    found = [c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"]
    assert len(found) == 1
    return found[0]


def test_binds_a_pending_pod_with_spec_node_name_and_pod_scheduled() -> None:
    h = Harness()
    h.node("w1")
    h.pod("web")
    h.run()
    pod = h.get("web")
    assert pod["spec"]["nodeName"] == "w1"
    assert _scheduled(pod)["status"] == "True"


def test_unschedulable_pod_reports_once_and_waits() -> None:
    h = Harness()
    h.node("cp", control_plane=True)
    h.node("w1")
    h.node("w2")
    h.cordon("w1")
    h.cordon("w2")
    h.pod("web")
    h.run(30)
    pod = h.get("web")
    assert "nodeName" not in pod["spec"]
    cond = _scheduled(pod)
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
        "scheduling."
    )
    events = h.events("FailedScheduling")
    assert len(events) == 1
    assert events[0]["type"] == "Warning"
    assert events[0]["source"]["component"] == "default-scheduler"
    assert events[0]["message"] == cond["message"]


def test_unschedulable_pod_is_retried_when_a_node_arrives() -> None:
    h = Harness()
    h.pod("web")
    h.run(5)
    assert _scheduled(h.get("web"))["message"] == "no nodes available to schedule pods"
    h.node("w1")
    h.run(1.5)
    assert h.get("web")["spec"]["nodeName"] == "w1"


def test_unschedulable_pod_is_retried_when_room_is_freed() -> None:
    h = Harness()
    h.node("w1", cpu="1")
    h.pod("first", cpu="800m")
    h.run()
    h.pod("second", cpu="800m")
    h.run(10)
    assert "nodeName" not in h.get("second")["spec"]
    assert "1 Insufficient cpu" in _scheduled(h.get("second"))["message"]
    h.cluster.delete(h.pods, "default", "first", DeleteOptions(grace_period_seconds=0))
    h.run(1.5)
    assert h.get("second")["spec"]["nodeName"] == "w1"


def test_pod_count_limits_binding() -> None:
    h = Harness()
    h.node("w1", pods="2")
    for i in range(3):
        h.pod(f"p{i}", cpu="10m")
    h.run()
    bound = [i for i in range(3) if h.get(f"p{i}")["spec"].get("nodeName")]
    assert len(bound) == 2
    assert "Too many pods" in h.events("FailedScheduling")[0]["message"]


def test_replicas_of_one_owner_spread_over_nodes_and_zones() -> None:
    h = Harness()
    for i, zone in enumerate(("zone-a", "zone-a", "zone-b", "zone-c")):
        h.node(f"w{i}", zone=zone)
    h.pod("other", cpu="2")  # makes one node fuller, which least-allocated alone would avoid
    h.run()
    for i in range(3):
        h.pod(f"rs-{i}", owner="rs-uid")
    h.run()
    nodes = [h.get(f"rs-{i}")["spec"]["nodeName"] for i in range(3)]
    assert len(set(nodes)) == 3
    zones = {h.scheduler.nodes[n].zone for n in nodes}
    assert zones == {"zone-a", "zone-b", "zone-c"}


def test_daemonset_style_pinned_pod_reports_the_prefilter() -> None:
    h = Harness()
    h.node("w1")
    h.node("w2")
    h.node("w3", control_plane=True)
    h.pod(
        "ds-pod",
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w3"]}]}
                    ]
                }
            }
        },
    )
    h.run()
    assert _scheduled(h.get("ds-pod"))["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling."
    )


def test_other_schedulers_pods_and_bound_pods_are_left_alone() -> None:
    h = Harness()
    h.node("w1")
    h.pod("custom", schedulerName="my-scheduler")
    h.pod("preset", nodeName="elsewhere")
    h.run()
    assert "nodeName" not in h.get("custom")["spec"]
    assert h.get("preset")["spec"]["nodeName"] == "elsewhere"
    assert h.events("FailedScheduling") == []


# ----- property: never beyond allocatable ---------------------------------------------------

_nodes = st.lists(
    st.tuples(st.integers(1, 8), st.integers(1, 16), st.integers(1, 6), st.booleans()),
    min_size=1,
    max_size=5,
)
_pods = st.lists(
    st.tuples(
        st.sampled_from(["0", "100m", "250m", "1", "1500m", "3"]),
        st.sampled_from(["0", "64Mi", "1Gi", "6Gi"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(nodes=_nodes, pods=_pods, churn=st.integers(0, 5))
def test_scheduler_never_binds_beyond_allocatable(
    nodes: list[tuple[int, int, int, bool]], pods: list[tuple[str, str]], churn: int
) -> None:
    h = Harness()
    for i, (cpu, mem, count, cordoned) in enumerate(nodes):
        h.node(f"n{i}", cpu=str(cpu), memory=f"{mem}Gi", pods=str(count))
        if cordoned:
            h.cordon(f"n{i}")
    for j, (cpu, mem) in enumerate(pods):
        h.pod(f"p{j}", containers=[_container(cpu, mem)])
    h.run(3)
    for j in range(min(churn, len(pods))):
        h.cluster.delete(h.pods, "default", f"p{j}", DeleteOptions(grace_period_seconds=0))
    h.run(3)
    facts = {}
    used: dict[str, list[JSONDict]] = {}
    for stored in h.cluster.store.list(("", "pods"))[0]:
        node = stored.obj["spec"].get("nodeName")
        if node:
            used.setdefault(node, []).append(stored.obj)
    for stored in h.cluster.store.list(("", "nodes"))[0]:
        node_obj = stored.obj
        name = node_obj["metadata"]["name"]
        facts[name] = node_facts(node_obj)
        placed = used.get(name, [])
        if node_obj["spec"].get("unschedulable"):
            assert placed == []
        alloc = facts[name].allocatable
        assert len(placed) <= alloc["pods"] // 1000
        for resource in ("cpu", "memory"):
            assert sum(pod_facts(p).requests.get(resource, 0) for p in placed) <= alloc[resource]
        for p in placed:
            facts[name].add_pod(pod_facts(p))
    # And nothing left pending would have fitted anywhere.
    for stored in h.cluster.store.list(("", "pods"))[0]:
        if not stored.obj["spec"].get("nodeName"):
            pending = pod_facts(stored.obj)
            assert all(filter_node(pending, n) is not None for n in facts.values())
