"""What an exported object keeps, and which objects an export leaves to their makers."""

from __future__ import annotations

from typing import Any

from overhaul.backup.cleaning import clean, controller_of, skip_reason, status_is_data

JSON = dict[str, Any]

META = {
    "name": "x",
    "namespace": "ns",
    "uid": "u-1",
    "resourceVersion": "42",
    "generation": 3,
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "managedFields": [{"manager": "kubectl"}],
    "selfLink": "/api/v1/...",
    "labels": {"app": "x"},
    "annotations": {"note": "kept"},
    "finalizers": ["example.com/keep"],
}


def test_server_set_metadata_and_status_go_the_rest_stays() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": dict(META),
        "spec": {"replicas": 2},
        "status": {"x": 1},
    }
    out = clean("apps", "Deployment", obj)
    assert out["metadata"] == {
        "name": "x",
        "namespace": "ns",
        "labels": {"app": "x"},
        "annotations": {"note": "kept"},
        "finalizers": ["example.com/keep"],
    }
    assert out["spec"] == {"replicas": 2} and "status" not in out
    assert obj["metadata"]["uid"] == "u-1"  # the input is not changed


def test_status_kept_when_it_is_data() -> None:
    obj = {"metadata": {"name": "g"}, "status": {"color": "blue"}}
    assert clean("example.com", "Gadget", obj, keep_status=True)["status"] == {"color": "blue"}


def test_pod_loses_node_priority_and_injected_token_volume() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "nodeName": "worker-1",
            "priority": 1000,
            "priorityClassName": "high",
            "volumes": [
                {"name": "kube-api-access-abcde", "projected": {"sources": [{"serviceAccountToken": {}}]}},
                {"name": "data", "emptyDir": {}},
            ],
            "containers": [
                {
                    "name": "c",
                    "volumeMounts": [
                        {
                            "name": "kube-api-access-abcde",
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        },
                        {"name": "data", "mountPath": "/data"},
                    ],
                },
                {"name": "d", "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/x"}]},
            ],
        },
    }
    spec = clean("", "Pod", pod)["spec"]
    assert "nodeName" not in spec and "priority" not in spec and spec["priorityClassName"] == "high"
    assert spec["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert "volumeMounts" not in spec["containers"][1]


def test_service_loses_allocated_ips_unless_headless() -> None:
    service = {
        "metadata": {"name": "s"},
        "spec": {"clusterIP": "10.96.0.11", "clusterIPs": ["10.96.0.11"], "ports": []},
    }
    assert clean("", "Service", service)["spec"] == {"ports": []}
    headless = {"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}}
    assert clean("", "Service", headless)["spec"] == {"clusterIP": "None", "clusterIPs": ["None"]}


def test_persistent_volume_claim_ref_loses_uid() -> None:
    pv = {
        "metadata": {"name": "pv"},
        "spec": {"claimRef": {"name": "data", "namespace": "ns", "uid": "u", "resourceVersion": "9"}},
    }
    assert clean("", "PersistentVolume", pv)["spec"]["claimRef"] == {"name": "data", "namespace": "ns"}


def test_job_loses_its_generated_selector_unless_manual() -> None:
    labels = {
        "app": "report",
        "controller-uid": "u",
        "batch.kubernetes.io/controller-uid": "u",
        "job-name": "j",
    }
    job = {
        "metadata": {"name": "j", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
            "template": {"metadata": {"labels": dict(labels)}},
        },
    }
    out = clean("batch", "Job", job)
    assert "selector" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "report"}
    assert out["metadata"]["labels"] == {"app": "report"}
    manual = {
        "metadata": {"name": "m"},
        "spec": {"manualSelector": True, "selector": {"matchLabels": {"a": "b"}}},
    }
    assert clean("batch", "Job", manual)["spec"]["selector"] == {"matchLabels": {"a": "b"}}


def test_what_is_left_to_its_maker() -> None:
    owned = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "controller": True}]}}
    assert controller_of(owned) == {"kind": "ReplicaSet", "name": "rs", "controller": True}
    assert skip_reason("", "Pod", owned) == "owned by a controller"
    assert skip_reason("apps", "ReplicaSet", owned) == "owned by a controller"
    merely_owned = {"metadata": {"ownerReferences": [{"kind": "ConfigMap", "name": "c"}]}}
    assert skip_reason("", "ConfigMap", merely_owned) is None
    mirror = {
        "metadata": {
            "annotations": {"kubernetes.io/config.mirror": "abc"},
            "ownerReferences": [{"kind": "Node", "name": "n", "controller": True}],
        }
    }
    assert skip_reason("", "Pod", mirror) == "mirror pod"
    token = {"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"}
    assert skip_reason("", "Secret", token) == "service-account token"
    assert skip_reason("", "Secret", {"metadata": {"name": "s"}, "type": "Opaque"}) is None


def test_status_is_data_only_without_a_status_subresource() -> None:
    crd: JSON = {
        "spec": {
            "versions": [
                {"name": "v1", "subresources": {"status": {}}},
                {"name": "v1beta1"},
            ]
        }
    }
    assert status_is_data(crd, "v1") is False
    assert status_is_data(crd, "v1beta1") is True
    assert status_is_data(crd, "v2") is False
