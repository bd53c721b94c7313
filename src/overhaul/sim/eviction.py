"""The Eviction API (POST pods/NAME/eviction) exactly as the apiserver decides
(pkg/registry/core/pod/storage/eviction.go)."""

from __future__ import annotations

from typing import Any

from overhaul.sim import disruption, errors
from overhaul.sim.cluster import Cluster, DeleteOptions
from overhaul.sim.resources import ResourceType

JSONDict = dict[str, Any]
PDBS = ("policy", "poddisruptionbudgets")
MAX_DISRUPTED_PODS = 2000
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_PDBS = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)


def _too_many_requests(cause: str) -> errors.ApiError:
    return errors.ApiError(
        429, "TooManyRequests", TOO_MANY, {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    )


def _can_ignore_pdb(pod: JSONDict) -> bool:
    """Finished, pending or already terminating pods are deleted without a budget check."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def matching_pdbs(cluster: Cluster, pod: JSONDict) -> list[JSONDict]:
    """The PDBs of the pod's namespace whose (non-empty) selector matches its labels."""
    ns = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    out = []
    for stored in cluster.store.list(PDBS, ns)[0]:
        pdb = stored.obj
        if disruption.selector_is_empty(pdb):
            continue
        if disruption.pdb_selector(pdb).matches(labels):
            out.append(pdb)
    return out


def _success() -> JSONDict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def evict(
    cluster: Cluster, rt: ResourceType, namespace: str, name: str, body: Any, manager: str, dry_run: bool
) -> JSONDict:
    """Evicts a pod or raises the ApiError the apiserver would answer with."""
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
        raise errors.bad_request(f"not a Eviction object: {type(body).__name__}")
    body_name = (body.get("metadata") or {}).get("name")
    if body_name != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = DeleteOptions.from_body(body.get("deleteOptions") or {}, None, None)
    dry_run = dry_run or options.dry_run
    options.dry_run = dry_run
    pod = cluster.get(rt, namespace, name).obj
    if _can_ignore_pdb(pod):
        _mark_and_delete(cluster, rt, pod, options, manager)
        return _success()
    pdbs = matching_pdbs(cluster, pod)
    if len(pdbs) > 1:
        raise errors.ApiError(500, "", MULTIPLE_PDBS)
    if pdbs:
        pdb = pdbs[0]
        status = pdb.get("status") or {}
        unready = not disruption.is_pod_ready(pod)
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        healthy_enough = (
            int(status.get("currentHealthy", 0)) >= int(status.get("desiredHealthy", 0))
            and int(status.get("desiredHealthy", 0)) > 0
        )
        # An unready pod does not count as healthy: deleting it costs nothing from the budget.
        if not (unready and (policy == "AlwaysAllow" or healthy_enough)):
            _check_and_decrement(cluster, pdb, name, dry_run)
    _mark_and_delete(cluster, rt, pod, options, manager)
    return _success()


def _check_and_decrement(cluster: Cluster, pdb: JSONDict, pod_name: str, dry_run: bool) -> None:
    meta = pdb["metadata"]
    status = dict(pdb.get("status") or {})
    if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 1)):
        raise _too_many_requests(
            f"The disruption budget {meta['name']} is still being processed by the server."
        )
    allowed = int(status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise errors.forbidden(
            f'poddisruptionbudgets.policy "{meta["name"]}" is forbidden: pdb disruptions allowed is negative'
        )
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden(
            f'poddisruptionbudgets.policy "{meta["name"]}" is forbidden: DisruptedPods map too big - '
            "too many "
            "evictions not confirmed by PDB controller"
        )
    if allowed == 0:
        raise _too_many_requests(
            f"The disruption budget {meta['name']} needs {int(status.get('desiredHealthy', 0))} healthy pods "
            f"and has {int(status.get('currentHealthy', 0))} currently"
        )
    if dry_run:
        return
    status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        status["conditions"] = disruption.allowed_condition(
            0, int(status.get("observedGeneration", 0)), cluster.now(), status.get("conditions") or []
        )
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: cluster.now()}
    rt = cluster.registry.get("policy", "v1", "poddisruptionbudgets")
    assert rt is not None
    stored = cluster.store.get(PDBS, meta["namespace"], meta["name"])
    assert stored is not None
    cluster.write_status(rt, stored, status, "kube-apiserver")


def _mark_and_delete(
    cluster: Cluster, rt: ResourceType, pod: JSONDict, options: DeleteOptions, manager: str
) -> None:
    """Sets the DisruptionTarget condition (not on finished pods), then deletes the pod."""
    meta = pod["metadata"]
    if options.dry_run:
        cluster.delete(rt, meta["namespace"], meta["name"], options, manager)
        return
    phase = (pod.get("status") or {}).get("phase")
    if phase not in ("Succeeded", "Failed") and not meta.get("deletionTimestamp"):
        stored = cluster.store.get(rt.key, meta["namespace"], meta["name"])
        assert stored is not None
        status = dict(pod.get("status") or {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "EvictionByEvictionAPI",
                "message": "Eviction API: evicting",
                "lastProbeTime": None,
                "lastTransitionTime": cluster.now(),
            }
        )
        status["conditions"] = conditions
        cluster.write_status(rt, stored, status, "kube-apiserver")
    cluster.delete(rt, meta["namespace"], meta["name"], options, manager)
