"""ControllerRevisions: the template history of StatefulSets and DaemonSets (pkg/controller/history).

A revision stores its template as the patch the real controllers store
(`{"spec": {"template": {..., "$patch": "replace"}}}`), is named `<owner>-<hash>` and numbered;
returning to an old template moves that revision to the top instead of creating a new one
(what `kubectl rollout undo` and `rollout history` rely on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overhaul.sim.controllers.podutil import json_copy, meta, owner_reference
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey

if TYPE_CHECKING:
    from overhaul.sim.controllers.workload import WorkloadController

JSONDict = dict[str, Any]
REVISIONS: StorageKey = ("apps", "controllerrevisions")
HASH_LABEL = "controller.kubernetes.io/hash"
MAX_COLLISIONS = 10


def patch_data(owner: JSONDict) -> JSONDict:
    template = json_copy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: JSONDict) -> JSONDict:
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def number(revision: JSONDict) -> int:
    return int(revision.get("revision") or 0)


def ordered(revisions: list[JSONDict]) -> list[JSONDict]:
    return sorted(
        revisions, key=lambda r: (number(r), str(meta(r).get("creationTimestamp") or ""), meta(r)["name"])
    )


def ensure(
    controller: WorkloadController,
    owner: JSONDict,
    revisions: list[JSONDict],
    data: JSONDict,
    hash_of: Any,
    collisions: int,
) -> tuple[JSONDict, int]:
    """The revision holding `data`, created or renumbered as needed; and the collision count used.

    `hash_of(collisions)` names a new revision; a name taken by different data is a collision.
    """
    revisions = ordered(revisions)
    equal = [r for r in revisions if r.get("data") == data]
    top = max((number(r) for r in revisions), default=0)
    if equal:
        found = equal[-1]
        if revisions and meta(found)["name"] == meta(revisions[-1])["name"]:
            return found, collisions
        bumped = {**found, "metadata": dict(meta(found)), "revision": top + 1}
        return controller.update(REVISIONS, bumped).obj, collisions
    ns = str(meta(owner)["namespace"])
    labels = dict(((data["spec"]["template"].get("metadata") or {}).get("labels")) or {})
    for _ in range(MAX_COLLISIONS):
        digest = hash_of(collisions)
        name = f"{meta(owner)['name']}-{digest}"
        body: JSONDict = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {**labels, HASH_LABEL: digest},
                "ownerReferences": [owner_reference(owner)],
            },
            "data": data,
            "revision": top + 1,
        }
        try:
            return controller.create(REVISIONS, ns, body).obj, collisions
        except ApiError as err:
            if err.code != 409:
                raise
            existing = controller.get(REVISIONS, ns, name)
            if existing is not None and existing.obj.get("data") == data:
                return existing.obj, collisions
            collisions += 1
    raise ApiError(409, "Conflict", "too many revision hash collisions")


def truncate(controller: WorkloadController, revisions: list[JSONDict], live: set[str], limit: int) -> None:
    """Deletes the oldest revisions beyond `limit` that no pod and no status refers to."""
    history = [r for r in ordered(revisions) if meta(r)["name"] not in live]
    for revision in history[: max(0, len(history) - limit)]:
        controller.delete(REVISIONS, revision)
