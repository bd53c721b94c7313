"""`version-skew` of the control plane: kube-apiserver instances against each other, and
kube-controller-manager and kube-scheduler against them, from the static pods' image tags."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from overhaul.domain.cluster import image_tag
from overhaul.domain.convert import ViewBuilder, server_version
from overhaul.domain.findings import Severity
from overhaul.domain.version import Version
from overhaul.kube.snapshot import load_snapshot_view
from overhaul.preflight.versions import control_plane_version, upgrade_path_check, version_skew
from tests.unit.preflight_views import cluster, data, node, of, static_pods, workers


def control_plane(*per_node: dict[str, str] | str, kubelet: str = "v1.34.2", **view: Any) -> Any:
    """Control-plane nodes cp-1, cp-2, ... with static pods at the given version (or versions per
    component), plus two workers."""
    nodes = [node(f"cp-{i + 1}", control_plane=True, kubelet=kubelet) for i in range(len(per_node))]
    pods = []
    for i, versions in enumerate(per_node):
        if isinstance(versions, str):
            pods += static_pods(f"cp-{i + 1}", version=versions)
        else:
            pods += static_pods(f"cp-{i + 1}", version="v1.34.2", versions=versions)
    return cluster([*nodes, *workers(2, kubelet=kubelet)], pods, **view)


def names(findings: Any) -> set[str]:
    return {f.object.name for f in findings}


# ----------------------------------------------------------------------------------- the view


def test_image_tags() -> None:
    assert image_tag("registry.k8s.io/kube-apiserver:v1.34.2") == "v1.34.2"
    assert image_tag("my.registry:5000/kube-scheduler:v1.33.1@sha256:abc") == "v1.33.1"
    assert image_tag("my.registry:5000/kube-scheduler") == ""
    assert image_tag("kube-scheduler@sha256:abc") == ""


def _mirror_pod(component: str, node_name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{component}-{node_name}",
            "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.mirror": "abc"},
        },
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": component, "image": image}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_control_plane_components_come_from_the_mirror_pods() -> None:
    builder = ViewBuilder()
    builder.add(_mirror_pod("kube-apiserver", "cp-1", "registry.k8s.io/kube-apiserver:v1.34.2"))
    builder.add(_mirror_pod("etcd", "cp-1", "registry.k8s.io/etcd:3.6.5-0"))
    not_mirror = _mirror_pod("kube-scheduler", "cp-1", "registry.k8s.io/kube-scheduler:v1.34.2")
    del not_mirror["metadata"]["annotations"]
    builder.add(not_mirror)
    view = builder.build(server_version({"major": "1", "minor": "34", "gitVersion": "v1.34.2"}))
    assert [(c.component, c.node_name, c.version) for c in view.control_plane_components] == [
        ("etcd", "cp-1", None),  # etcd's own version is not a Kubernetes one
        ("kube-apiserver", "cp-1", Version(1, 34, 2)),
    ]
    apiserver = view.pod("kube-system", "kube-apiserver-cp-1")
    assert apiserver is not None and apiserver.images == ("registry.k8s.io/kube-apiserver:v1.34.2",)


def test_a_snapshot_written_before_images_were_read_still_gives_them(tmp_path: Path) -> None:
    """Snapshots hold pods whole: an older one (same format version) yields the components too."""
    items = [
        _mirror_pod("kube-apiserver", "cp-1", "registry.k8s.io/kube-apiserver:v1.34.2"),
        _mirror_pod("kube-controller-manager", "cp-1", "registry.k8s.io/kube-controller-manager:v1.35.0"),
    ]
    document = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {},
        "overhaulSnapshot": 1,
        "takenAt": "2026-05-01T10:00:00Z",
        "server": {"major": "1", "minor": "34", "gitVersion": "v1.34.2"},
        "apiResources": [],
        "items": items,
        "apiUsage": [],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    view = load_snapshot_view(path)
    [finding] = version_skew(data(view))
    assert finding.object.name == "kube-controller-manager-cp-1" and "newer" in finding.message


# ------------------------------------------------------------------------------------------ now


def test_quiet_when_the_control_plane_matches() -> None:
    assert version_skew(data(control_plane("v1.34.2", "v1.34.2", "v1.34.2"))) == []


def test_quiet_without_versioned_images() -> None:
    view = cluster([node("cp-1", control_plane=True)], static_pods("cp-1"))  # no images at all
    assert version_skew(data(view)) == []


def test_a_controller_manager_and_scheduler_newer_than_an_apiserver_block() -> None:
    # cp-2 went to 1.35 while cp-1's apiserver is still 1.34: its controller-manager and scheduler
    # may talk to the 1.34 apiserver, which they must never be newer than.
    view = control_plane("v1.34.2", "v1.35.0")
    found = version_skew(data(view))
    assert names(of(found, Severity.BLOCKING)) == {"kube-controller-manager-cp-2", "kube-scheduler-cp-2"}
    [kcm] = [f for f in found if f.object.name == "kube-controller-manager-cp-2"]
    assert "newer than kube-apiserver 1.34 (on cp-1)" in kcm.message
    assert kcm.object.kind == "Pod" and kcm.object.namespace == "kube-system"


def test_a_scheduler_two_minors_behind_blocks() -> None:
    found = version_skew(data(control_plane({"kube-scheduler": "v1.32.7"})))
    [finding] = found
    assert finding.severity is Severity.BLOCKING and finding.object.name == "kube-scheduler-cp-1"
    assert "2 minors older than kube-apiserver 1.34" in finding.message and "1.34" in finding.remedy


def test_ha_apiservers_two_minors_apart_block() -> None:
    view = control_plane(
        {"kube-apiserver": "v1.33.5", "kube-controller-manager": "v1.33.5", "kube-scheduler": "v1.33.5"},
        {"kube-apiserver": "v1.35.0", "kube-controller-manager": "v1.35.0", "kube-scheduler": "v1.35.0"},
        kubelet="v1.33.5",
    )
    found = of(version_skew(data(view)), Severity.BLOCKING)
    [ha] = [f for f in found if f.object.name == "kube-apiserver-cp-1"]
    assert "HA control plane at most 1 minor apart" in ha.message
    assert "kube-apiserver-cp-2" not in names(found)


def test_kubelets_are_judged_against_every_apiserver() -> None:
    view = control_plane("v1.34.2", "v1.35.0")
    view_nodes = [*view.nodes[:-1], node("new", kubelet="v1.35.1")]
    found = version_skew(data(replace(view, nodes=tuple(view_nodes))))
    [kubelet] = [f for f in found if f.object.name == "new"]
    assert kubelet.severity is Severity.BLOCKING and "newer than the API server 1.34" in kubelet.message


# ------------------------------------------------------------------------------ on the way


def test_a_scheduler_one_minor_behind_warns_before_the_next_hop() -> None:
    view = control_plane({"kube-scheduler": "v1.33.9"})
    [finding] = version_skew(data(view, target="1.35"))
    assert finding.severity is Severity.WARNING and finding.object.name == "kube-scheduler-cp-1"
    assert "reaches 1.35" in finding.message and "to 1.34 before" in finding.remedy
    # A patch upgrade has no hop: nothing to say.
    assert version_skew(data(view, target="1.34.5")) == []


def test_the_path_starts_at_the_oldest_apiserver() -> None:
    # /version may answer from either apiserver of a half-upgraded control plane.
    view = control_plane("v1.34.2", "v1.35.0", version="v1.35.0")
    assert control_plane_version(data(view)) == Version(1, 34, 2)
    [path] = upgrade_path_check(data(view, target="1.35"))
    assert "1.34 → 1.35" in path.message
