"""The order a restore creates objects in, as a rank table (lightkube's `sort_objects` idea).

Whatever another object needs comes before it: CustomResourceDefinitions (then the restore waits until
they are Established, or their custom resources would be refused), Namespaces, cluster-wide classes,
storage, the Secrets and ConfigMaps pods mount, the ServiceAccounts pods run as and the RBAC that
gives them rights, quotas and limits that admission applies to pods, Services (so pods get their
environment variables), then workloads, then everything else (custom resources, PDBs, Ingresses...).
Admission webhooks and aggregated APIs come last: created earlier, they would intercept the rest
while the workloads that answer them are not running yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

JSON = dict[str, Any]

# (API group, kind) -> rank; lower ranks are created first.
RANKS: dict[tuple[str, str], int] = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): 0,
    ("", "Namespace"): 1,
    ("storage.k8s.io", "StorageClass"): 2,
    ("storage.k8s.io", "CSIDriver"): 2,
    ("scheduling.k8s.io", "PriorityClass"): 2,
    ("node.k8s.io", "RuntimeClass"): 2,
    ("networking.k8s.io", "IngressClass"): 2,
    ("", "PersistentVolume"): 3,
    ("", "PersistentVolumeClaim"): 4,
    ("", "Secret"): 5,
    ("", "ConfigMap"): 5,
    ("", "ServiceAccount"): 6,
    ("rbac.authorization.k8s.io", "ClusterRole"): 7,
    ("rbac.authorization.k8s.io", "Role"): 7,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): 8,
    ("rbac.authorization.k8s.io", "RoleBinding"): 8,
    ("", "ResourceQuota"): 9,
    ("", "LimitRange"): 9,
    ("", "Service"): 10,
    ("", "Endpoints"): 10,
    ("apps", "Deployment"): 11,
    ("apps", "StatefulSet"): 11,
    ("apps", "DaemonSet"): 11,
    ("apps", "ReplicaSet"): 11,
    ("", "ReplicationController"): 11,
    ("batch", "Job"): 11,
    ("batch", "CronJob"): 11,
    ("", "Pod"): 11,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): 13,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): 13,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): 13,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): 13,
    ("apiregistration.k8s.io", "APIService"): 13,
}
REST = 12  # everything not in the table: custom resources, PDBs, Ingresses, HPAs, NetworkPolicies...
CRD_RANK = RANKS[("apiextensions.k8s.io", "CustomResourceDefinition")]

# Kinds a restore never creates, and why.
NOT_RESTORED: dict[tuple[str, str], str] = {
    ("", "Node"): "nodes register themselves through their kubelets",
    ("", "Event"): "events are a record of the past",
    ("events.k8s.io", "Event"): "events are a record of the past",
}


def group_of(api_version: str) -> str:
    group, _, _ = api_version.rpartition("/")
    return group


def rank(api_version: str, kind: str) -> int:
    return RANKS.get((group_of(api_version), kind), REST)


def not_restored(api_version: str, kind: str) -> str | None:
    return NOT_RESTORED.get((group_of(api_version), kind))


T = TypeVar("T", bound=JSON)
Level = tuple[int, int]  # (rank, how many owners up the chain are restored with it)
Identity = tuple[str, str, str, str]  # (group, kind, namespace, name)


def _identity(obj: JSON) -> Identity:
    meta = obj.get("metadata") or {}
    return (
        group_of(str(obj.get("apiVersion") or "")),
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def levels(objects: Sequence[JSON]) -> list[Level]:
    """Each object's (rank, depth). An object whose owner (`ownerReferences`) is restored with it
    comes after that owner: at the owner's rank if that is later, one depth further down; so the
    restore can point the reference at the owner's new uid."""
    index = {_identity(o): i for i, o in enumerate(objects)}
    memo: dict[int, Level] = {}

    def level(i: int, seen: frozenset[int]) -> Level:
        if i in memo:
            return memo[i]
        obj = objects[i]
        _, _, namespace, _ = _identity(obj)
        found: Level = (rank(str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")), 0)
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
            if not isinstance(ref, dict):
                continue
            key = (group_of(str(ref.get("apiVersion") or "")), str(ref.get("kind") or ""))
            name = str(ref.get("name") or "")
            owner = index.get((*key, namespace, name), index.get((*key, "", name)))
            if owner is not None and owner not in seen:
                owner_rank, owner_depth = level(owner, seen | {owner})
                found = max(found, (owner_rank, owner_depth + 1))
        memo[i] = found
        return found

    return [level(i, frozenset({i})) for i in range(len(objects))]


def waves(objects: Iterable[T]) -> list[tuple[Level, list[T]]]:
    """The objects in the order to create them, cut into waves: by rank, owners before what they
    own, then by kind, namespace and name. A wave may be created concurrently; the next starts
    when it is done."""
    items = list(objects)
    keyed = sorted(zip(levels(items), items, strict=True), key=lambda pair: (pair[0], _identity(pair[1])[1:]))
    out: list[tuple[Level, list[T]]] = []
    for lvl, obj in keyed:
        if not out or out[-1][0] != lvl:
            out.append((lvl, []))
        out[-1][1].append(obj)
    return out


def sort_objects(objects: Iterable[T]) -> list[T]:
    """The objects in the order to create them (the waves, one after the other)."""
    return [obj for _, wave in waves(objects) for obj in wave]
