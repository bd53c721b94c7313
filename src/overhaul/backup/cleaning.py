"""What an exported object keeps: what its authors wrote, not what the servers filled in.

Stripped everywhere: uid, resourceVersion, generation, creationTimestamp, deletion fields,
managedFields, selfLink, and `status` (kept only where it is data, not a report: custom resources
whose CRD serves no status subresource). Per kind, values the cluster allocated that would clash or
be refused on re-creation, as Velero's restore item actions strip them: a Pod's node and computed
priority and its injected service-account token volume; a Service's allocated ClusterIPs; a bound
PersistentVolume's claim uid; a Job's generated selector and the uid labels on its template.

Objects left out altogether: those controlled by another object (pods of a ReplicaSet, ReplicaSets
of a Deployment, ControllerRevisions, EndpointSlices, Jobs of a CronJob: their controllers make them
again), mirror pods (the kubelet's), and service-account token Secrets (the token controller's).
"""

from __future__ import annotations

import copy
from typing import Any

JSON = dict[str, Any]

SERVER_SET_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
JOB_GENERATED_LABELS = (
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
)

SKIP_CONTROLLED = "owned by a controller"
SKIP_MIRROR = "mirror pod"
SKIP_TOKEN = "service-account token"


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def controller_of(obj: JSON) -> JSON | None:
    """The ownerReference with `controller: true`, if any."""
    for ref in _dict(obj.get("metadata")).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def skip_reason(group: str, kind: str, obj: JSON) -> str | None:
    """Why an object is left out of an export (its maker recreates it), or None to keep it."""
    if (group, kind) == ("", "Pod") and MIRROR_POD_ANNOTATION in _dict(
        _dict(obj.get("metadata")).get("annotations")
    ):
        return SKIP_MIRROR  # (also controlled by its Node)
    if controller_of(obj) is not None:
        return SKIP_CONTROLLED
    if (group, kind) == ("", "Secret") and obj.get("type") == TOKEN_SECRET_TYPE:
        return SKIP_TOKEN
    return None


def clean(group: str, kind: str, obj: JSON, *, keep_status: bool = False) -> JSON:
    """A copy of `obj` without the server-set fields (see the module's docstring)."""
    out = copy.deepcopy(obj)
    meta = _dict(out.get("metadata"))
    for key in SERVER_SET_METADATA:
        meta.pop(key, None)
    if not keep_status:
        out.pop("status", None)
    fix = _BY_KIND.get((group, kind))
    if fix is not None:
        fix(out)
    return out


def _pod(obj: JSON) -> None:
    spec = _dict(obj.get("spec"))
    spec.pop("nodeName", None)  # set by the scheduler's binding
    spec.pop("priority", None)  # computed by the Priority admission plugin from priorityClassName
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        return
    injected = {
        v.get("name")
        for v in volumes
        if isinstance(v, dict) and str(v.get("name", "")).startswith(TOKEN_VOLUME_PREFIX) and "projected" in v
    }
    if not injected:
        return
    spec["volumes"] = [v for v in volumes if not (isinstance(v, dict) and v.get("name") in injected)]
    if not spec["volumes"]:
        del spec["volumes"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            if isinstance(mounts, list):
                container["volumeMounts"] = [
                    m for m in mounts if not (isinstance(m, dict) and m.get("name") in injected)
                ]
                if not container["volumeMounts"]:
                    del container["volumeMounts"]


def _service(obj: JSON) -> None:
    spec = _dict(obj.get("spec"))
    if spec.get("clusterIP") != "None":  # headless Services keep theirs: it is what they are
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)


def _persistent_volume(obj: JSON) -> None:
    claim = _dict(_dict(obj.get("spec")).get("claimRef"))
    claim.pop("uid", None)
    claim.pop("resourceVersion", None)


def _job(obj: JSON) -> None:
    spec = _dict(obj.get("spec"))
    if spec.get("manualSelector") is True:
        return
    spec.pop("selector", None)  # generated from the Job's uid: refused when sent back
    template_meta = _dict(_dict(spec.get("template")).get("metadata"))
    for labels in (_dict(template_meta.get("labels")), _dict(_dict(obj.get("metadata")).get("labels"))):
        for key in JOB_GENERATED_LABELS:
            labels.pop(key, None)


_BY_KIND = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "PersistentVolume"): _persistent_volume,
    ("batch", "Job"): _job,
}


def status_is_data(crd: JSON, version: str) -> bool:
    """True when the CRD serves `version` without a status subresource: `status` is then stored as
    written, part of the object, and an export keeps it."""
    for v in _dict(crd.get("spec")).get("versions") or []:
        if isinstance(v, dict) and v.get("name") == version:
            return "status" not in _dict(v.get("subresources"))
    return False
