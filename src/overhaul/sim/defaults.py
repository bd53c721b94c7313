"""Defaulting, as the apiserver applies it on create and update (the fields kubectl and controllers read)."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from typing import Any

JSONDict = dict[str, Any]


def _container(c: JSONDict) -> None:
    image = str(c.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    pinned = "@" in tag or (":" in tag and not tag.endswith(":latest"))
    c.setdefault("imagePullPolicy", "IfNotPresent" if pinned else "Always")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def pod_spec(spec: JSONDict) -> None:
    """Defaults of a PodSpec (also inside templates)."""
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _container(c)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if "serviceAccountName" not in spec and "serviceAccount" in spec:
        spec["serviceAccountName"] = spec["serviceAccount"]


def _template(obj: JSONDict) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        spec = template.setdefault("spec", {})
        if isinstance(spec, dict):
            pod_spec(spec)


def qos_class(spec: JSONDict) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits."""
    containers = [
        c for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if isinstance(c, dict)
    ]
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in lim or req.get(name, lim.get(name)) != lim.get(name):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    if spec.get("serviceAccountName") is None:
        spec["serviceAccountName"] = "default"
        spec["serviceAccount"] = "default"
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    tolerations = spec.setdefault("tolerations", [])
    present = {t.get("key") for t in tolerations if isinstance(t, dict)}
    # The DefaultTolerationSeconds admission plugin's two tolerations.
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if key not in present:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def pod_initial_status(obj: JSONDict) -> None:
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}


def deployment(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def replicaset(obj: JSONDict) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def statefulset(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _template(obj)


def daemonset(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)


def job(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("spec", {}).setdefault("restartPolicy", "Never")
        _job_selector(obj, spec, template)
    _template(obj)


def _job_selector(obj: JSONDict, spec: JSONDict, template: JSONDict) -> None:
    """Without manualSelector the apiserver selects the Job's pods by its uid and labels the template
    (generateSelectorIfNeeded); a Job without labels takes the template's (SetDefaults_Job)."""
    meta = obj.get("metadata") or {}
    uid, name = meta.get("uid"), meta.get("name")
    if spec.get("manualSelector") is not True and uid and name:
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for prefix in ("batch.kubernetes.io/", ""):
            labels.setdefault(f"{prefix}controller-uid", uid)
            labels.setdefault(f"{prefix}job-name", name)
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    if not meta.get("labels") and (template.get("metadata") or {}).get("labels"):
        meta["labels"] = dict(template["metadata"]["labels"])


class ServiceIPs:
    """Hands out ClusterIPs from 10.96.0.0/12, as the default service CIDR."""

    def __init__(self) -> None:
        self._net = ipaddress.ip_network("10.96.0.0/12")
        self._next = 10

    def allocate(self) -> str:
        self._next += 1
        return str(self._net.network_address + self._next)


def service(obj: JSONDict, ips: ServiceIPs) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = ips.allocate()
    if spec.get("clusterIP") and spec.get("clusterIP") != "None":
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def namespace(obj: JSONDict) -> None:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def secret(obj: JSONDict) -> None:
    obj.setdefault("type", "Opaque")
    # stringData is write-only: decoding folds it into data (base64), overriding the same keys.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def pdb(obj: JSONDict) -> None:
    obj.setdefault("spec", {})


ON_CREATE: dict[tuple[str, str], Callable[[JSONDict], None]] = {
    ("", "Pod"): pod,
    ("apps", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replicaset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("batch", "Job"): job,
    ("", "Namespace"): namespace,
    ("", "Secret"): secret,
    ("policy", "PodDisruptionBudget"): pdb,
}

# Defaults that apply to updates too (an update may replace the whole spec).
ON_UPDATE: dict[tuple[str, str], Callable[[JSONDict], None]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replicaset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("batch", "Job"): job,
    ("", "Pod"): pod,
    ("", "Secret"): secret,
}
