"""The embedded cluster's API semantics: what create, update, patch, delete, list and watch do.

This is the part of kube-apiserver behind the HTTP layer (the registry strategies): server-set
fields, defaulting, status subresources, optimistic concurrency, finalizers and graceful
deletion, namespaces, and CustomResourceDefinitions. The HTTP app and in-process callers (the
controllers, scenario loading, rehearsals) share it.
"""

from __future__ import annotations

import base64
import builtins
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from overhaul.sim import defaults, errors
from overhaul.sim.clock import Clock, rfc3339
from overhaul.sim.metadata import (
    generated_name,
    name_problem,
    new_uid,
    record_manager,
)
from overhaul.sim.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from overhaul.sim.resources import ResourceRegistry, ResourceType, crd_resource_types
from overhaul.sim.schemas import SchemaSet, load_schemas
from overhaul.sim.selectors import FieldSelector, LabelSelector
from overhaul.sim.store import StorageKey, Store, Stored, TooOldError, Watcher, WatchEvent
from overhaul.sim.validation import (
    drop_fields,
    strict_error_message,
    unknown_fields,
    warn_fields_header,
)

JSONDict = dict[str, Any]

NAMESPACES_KEY: StorageKey = ("", "namespaces")
CRDS_KEY: StorageKey = ("apiextensions.k8s.io", "customresourcedefinitions")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# Kinds whose metadata.generation tracks spec changes (custom resources too).
GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("policy", "PodDisruptionBudget"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
# Kinds whose create keeps the status the client sent (a kubelet registers its Node with status).
KEEP_STATUS_ON_CREATE = {("", "Node"), ("", "Event")}

GENERATE_NAME_ATTEMPTS = 8  # the apiserver's tries at a free generated name

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"


@dataclass
class WriteOptions:
    """What a write request asked for besides its body."""

    manager: str = "unknown"
    dry_run: bool = False
    field_validation: str = "Warn"  # the apiserver's default when the parameter is absent
    warnings: list[str] = field(default_factory=list)
    # In-process writers build well-formed objects: their writes skip the unknown-field walk.
    trusted: bool = False

    @classmethod
    def system(cls, manager: str) -> WriteOptions:
        """Writes by the cluster's own components (controllers, kubelets, scheduler)."""
        return cls(manager=manager, field_validation="Ignore", trusted=True)


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False

    @classmethod
    def from_body(
        cls, body: JSONDict | None, query_grace: str | None, query_policy: str | None
    ) -> DeleteOptions:
        body = body or {}
        pre = body.get("preconditions") or {}
        grace = body.get("gracePeriodSeconds")
        if grace is None and query_grace is not None:
            try:
                grace = int(query_grace)
            except ValueError as err:
                raise errors.bad_request(f"invalid gracePeriodSeconds {query_grace!r}") from err
        policy = body.get("propagationPolicy") or query_policy
        if body.get("orphanDependents") is True and policy is None:
            policy = "Orphan"
        return cls(
            grace_period_seconds=grace,
            propagation_policy=policy,
            precondition_uid=pre.get("uid"),
            precondition_rv=pre.get("resourceVersion"),
            dry_run="All" in (body.get("dryRun") or []),
        )


@dataclass
class ListResult:
    items: list[Stored]
    resource_version: int
    continue_token: str | None
    remaining: int | None


def encode_continue(rv: int, start_after: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_after})
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as err:
        raise errors.bad_request("continue key is not valid: illegal base64 data or JSON") from err


def _spec_part(obj: JSONDict) -> JSONDict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Cluster:
    """The API semantics over the store. Every method is synchronous and runs on one thread."""

    def __init__(
        self,
        version: str = "v1.34.2",
        clock: Clock | None = None,
        store: Store | None = None,
    ) -> None:
        self.store = store or Store()
        self.registry = ResourceRegistry()
        self.clock = clock or Clock()
        self.version = version
        major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
        self.schemas: SchemaSet = load_schemas(major, minor)
        self.service_ips = defaults.ServiceIPs()
        self._deferred: deque[Callable[[], None]] = deque()
        self._draining = False
        self._namespaces_to_empty: set[str] = set()
        self.registry_generation = 0  # bumps when CRDs change what is served (discovery caches)
        # What /version reports; the control plane's static pods replace it (see controlplane.py).
        self.version_source: Callable[[], str] | None = None
        self.store.listeners.append(self._on_change)
        for ns in SYSTEM_NAMESPACES:
            self.load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def served_version(self) -> str:
        """The gitVersion a client gets from /version (the apiserver it reached behind the LB)."""
        return self.version_source() if self.version_source is not None else self.version

    # ----- helpers -------------------------------------------------------------------------

    def resource_for(self, obj: JSONDict) -> ResourceType:
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        rt = self.registry.by_kind(group, version, str(obj.get("kind") or ""))
        if rt is None:
            raise errors.bad_request(f"no matches for kind {obj.get('kind')!r} in version {api_version!r}")
        return rt

    def now(self) -> str:
        return rfc3339(self.clock.now())

    def output(self, rt: ResourceType, stored: Stored) -> bytes:
        """The encoded object as served at `rt`'s version (custom resources may be stored at another)."""
        if stored.obj.get("apiVersion") == rt.group_version:
            return stored.raw
        return orjson.dumps({**stored.obj, "apiVersion": rt.group_version})

    def view(self, rt: ResourceType, stored: Stored) -> JSONDict:
        obj = copy.deepcopy(stored.obj)
        obj["apiVersion"] = rt.group_version
        return obj

    def _defer(self, work: Callable[[], None]) -> None:
        self._deferred.append(work)

    def _drain(self) -> None:
        """Runs follow-up work (namespace clean-up) after the operation that caused it."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._deferred:
                self._deferred.popleft()()
        finally:
            self._draining = False

    def _require(self, rt: ResourceType, namespace: str | None, name: str) -> Stored:
        stored = self.store.get(rt.key, namespace if rt.namespaced else None, name)
        if stored is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return stored

    # ----- reads -------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Stored:
        return self._require(rt, namespace, name)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> ListResult:
        start_after = None
        list_rv = self.store.rv
        if continue_token:
            list_rv, start_after = decode_continue(continue_token)
        items, last, remaining = self.store.list(
            rt.key, namespace if rt.namespaced else None, labels, fields, limit, start_after
        )
        token = encode_continue(list_rv, last) if last is not None else None
        return ListResult(items, list_rv, token, remaining)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        since_rv: int | None,
    ) -> Watcher:
        try:
            return self.store.watch(rt.key, namespace if rt.namespaced else None, labels, fields, since_rv)
        except TooOldError as err:
            raise errors.gone(str(err)) from err

    # ----- writes -------------------------------------------------------------------------

    def _check_type(self, rt: ResourceType, obj: Any) -> JSONDict:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        api_version = obj.get("apiVersion")
        if api_version and api_version != rt.group_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.group_version})"
            )
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        obj["apiVersion"] = rt.group_version
        obj["kind"] = rt.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        return obj

    def _validate_fields(self, rt: ResourceType, obj: JSONDict, opts: WriteOptions) -> None:
        if opts.trusted:
            return
        if rt.crd_schema is not None:
            root: JSONDict | None = rt.crd_schema
        else:
            name = self.schemas.definition_for(rt.group, rt.version, rt.kind)
            root = self.schemas.definitions.get(name) if name else None
        if root is None:
            return
        unknown = unknown_fields(obj, root, self.schemas)
        if not unknown:
            return
        if opts.field_validation == "Strict":
            raise errors.bad_request(strict_error_message(rt.kind, rt.version, unknown, not rt.is_custom))
        if opts.field_validation == "Warn":
            opts.warnings.extend(warn_fields_header(unknown))
        drop_fields(obj, unknown)  # decoding (or pruning) drops what the type does not declare

    def _check_namespace(self, rt: ResourceType, namespace: str | None, obj: JSONDict) -> str | None:
        meta = obj.setdefault("metadata", {})
        if not rt.namespaced:
            meta.pop("namespace", None)
            return None
        body_ns = meta.get("namespace")
        if body_ns and namespace and body_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = namespace or body_ns
        if not ns:
            raise errors.bad_request(
                "the server could not find the requested resource: namespace is required"
            )
        meta["namespace"] = ns
        return str(ns)

    def _namespace_open(self, namespace: str) -> None:
        stored = self.store.get(NAMESPACES_KEY, None, namespace)
        if stored is None:
            raise errors.not_found("", "namespaces", namespace)
        if stored.obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated",
                {
                    "name": namespace,
                    "kind": "namespaces",
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    def create(self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions) -> Stored:
        obj = self._check_type(rt, body)
        ns = self._check_namespace(rt, namespace, obj)
        self._validate_fields(rt, obj, opts)
        meta = obj["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = generated_name(str(meta["generateName"]))
                # The apiserver tries another suffix when one is taken (RetryGenerateName, GA in 1.32):
                # 5 random characters collide often among thousands of a DaemonSet's pods.
                for _ in range(GENERATE_NAME_ATTEMPTS - 1):
                    if self.store.get(rt.key, ns, str(meta["name"])) is None:
                        break
                    meta["name"] = generated_name(str(meta["generateName"]))
            else:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [
                        (
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
        name = str(meta["name"])
        problem = name_problem(name)
        if problem:
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {problem}')],
            )
        if ns is not None:
            self._namespace_open(ns)
        if self.store.get(rt.key, ns, name) is not None:
            raise errors.already_exists(rt.group, rt.plural, name)
        for drop in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(drop, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = self.now()
        gk = (rt.group, rt.kind)
        if rt.has_status and gk not in KEEP_STATUS_ON_CREATE:
            obj.pop("status", None)
        hook = defaults.ON_CREATE.get(gk)
        if hook is not None:
            hook(obj)
        if gk == ("", "Pod"):
            defaults.pod_initial_status(obj)
        elif gk == ("", "Service"):
            defaults.service(obj, self.service_ips)
        if gk in GENERATION_KINDS or rt.is_custom:
            meta["generation"] = 1
        if gk == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            self._crd_status(obj)
        record_manager(obj, opts.manager, "Update", rt.group_version, self.clock.now())
        if opts.dry_run:
            return Stored(obj=obj, raw=orjson.dumps(obj), rv=self.store.rv)
        stored = self.store.put(rt.key, obj)
        self._after_write(rt, stored)
        self._drain()
        return stored

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
        operation: str = "Update",
    ) -> Stored:
        obj = self._check_type(rt, body)
        ns = self._check_namespace(rt, namespace, obj)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        meta["name"] = name
        current = self._require(rt, ns, name)
        if subresource != "status":
            self._validate_fields(rt, obj, opts)
        want_rv = meta.get("resourceVersion")
        if want_rv and str(want_rv) != str(current.rv):
            raise errors.stale_conflict(rt.group, rt.plural, name)
        old = current.obj
        new = self._merge_update(rt, old, obj, subresource)
        if new == {**old}:
            return current  # a no-op write keeps the resourceVersion, as the apiserver does
        record_manager(new, opts.manager, operation, rt.group_version, self.clock.now(), subresource)
        if opts.dry_run:
            return Stored(obj=new, raw=orjson.dumps(new), rv=current.rv)
        return self._store_update(rt, new)

    def _merge_update(self, rt: ResourceType, old: JSONDict, obj: JSONDict, subresource: str) -> JSONDict:
        """The object after an update: immutable metadata kept, status or spec kept per subresource."""
        gk = (rt.group, rt.kind)
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return new
        new = obj
        meta, old_meta = new["metadata"], old["metadata"]
        for keep in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        if "managedFields" not in meta and "managedFields" in old_meta:
            meta["managedFields"] = old_meta["managedFields"]
        if rt.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        hook = defaults.ON_UPDATE.get(gk)
        if hook is not None:
            hook(new)
        if gk == ("", "Service"):
            defaults.service(new, self.service_ips)
        if "generation" in old_meta:
            changed = _spec_part(new) != _spec_part(old)
            if not rt.has_status and not changed:
                changed = new.get("status") != old.get("status")
            if changed:
                meta["generation"] = int(old_meta["generation"]) + 1
        if gk == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            self._crd_status(new, old)
            _check_stored_versions(new)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        return new

    def _store_update(self, rt: ResourceType, new: JSONDict) -> Stored:
        meta = new["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not self._graceful_pending(rt, new)
        ):
            final = self.store.remove(rt.key, meta.get("namespace"), meta["name"])
            assert final is not None
            self._after_delete(rt, final)
            self._drain()
            return final
        stored = self.store.put(rt.key, new)
        self._after_write(rt, stored)
        self._drain()
        return stored

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
    ) -> Stored:
        ns = namespace if rt.namespaced else None
        current = self.store.get(rt.key, ns, name)
        if current is None:
            if patch_type == PATCH_APPLY and subresource == "":
                # Server-side apply of a new object creates it.
                created = dict(body) if isinstance(body, dict) else body
                return self.create(rt, namespace, created, opts)
            raise errors.not_found(rt.group, rt.plural, name)
        base = self.view(rt, current)
        try:
            if patch_type == PATCH_JSON:
                patched = json_patch(base, body)
            elif patch_type == PATCH_MERGE:
                patched = json_merge_patch(base, body)
            elif patch_type in (PATCH_STRATEGIC, PATCH_APPLY):
                if patch_type == PATCH_STRATEGIC and rt.is_custom:
                    raise errors.unsupported_media_type(patch_type)
                definition = (
                    None if rt.is_custom else self.schemas.definition_for(rt.group, rt.version, rt.kind)
                )
                patched = strategic_merge_patch(base, body, self.schemas if definition else None, definition)
            else:
                raise errors.unsupported_media_type(patch_type)
        except PatchError as err:
            raise errors.ApiError(422, "Invalid", str(err)) from err
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        patched_meta = patched.setdefault("metadata", {})
        if not isinstance(patched_meta, dict):
            raise errors.bad_request("metadata must be an object")
        # A patch is conditional only when it sets a resourceVersion itself.
        explicit = _patch_rv(body) if patch_type != PATCH_JSON else None
        if explicit is None and patched_meta.get("resourceVersion") == base["metadata"].get(
            "resourceVersion"
        ):
            patched_meta.pop("resourceVersion", None)
        operation = "Apply" if patch_type == PATCH_APPLY else "Update"
        return self.update(rt, namespace, name, patched, opts, subresource, operation)

    def write_status(self, rt: ResourceType, stored: Stored, status: JSONDict, manager: str) -> Stored:
        """A controller's or kubelet's status write, based on what it read (409 if that changed).

        Stored objects are never mutated, so the new version shares its unchanged parts.
        """
        meta = stored.obj["metadata"]
        current = self.store.get(rt.key, meta.get("namespace"), meta["name"])
        if current is None:
            raise errors.not_found(rt.group, rt.plural, meta["name"])
        if current.rv != stored.rv:
            raise errors.stale_conflict(rt.group, rt.plural, meta["name"])
        if stored.obj.get("status") == status:
            return stored
        new = {**stored.obj, "metadata": dict(meta), "status": status}
        record_manager(new, manager, "Update", rt.group_version, self.clock.now(), "status")
        stored_new = self.store.put(rt.key, new)
        self._drain()
        return stored_new

    def bind_pod(self, namespace: str, name: str, node: str, manager: str = "default-scheduler") -> Stored:
        """What pods/binding does: sets spec.nodeName and PodScheduled=True in one write."""
        rt = self.registry.get("", "v1", "pods")
        assert rt is not None
        current = self._require(rt, namespace, name)
        obj = current.obj
        spec, meta = obj.get("spec") or {}, obj["metadata"]
        if spec.get("nodeName"):
            raise errors.conflict(
                "", "pods", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            )
        if meta.get("deletionTimestamp"):
            why = f"pod {name} is being deleted, cannot be assigned to a host"
            raise errors.conflict("", "pods", name, why)
        status = dict(obj.get("status") or {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None}
        conditions.append({**scheduled, "lastTransitionTime": self.now()})
        status["conditions"] = conditions
        new = {**obj, "metadata": dict(meta), "spec": {**spec, "nodeName": node}, "status": status}
        stored = self.store.put(rt.key, new)
        self._drain()
        return stored

    # ----- deletion -----------------------------------------------------------------------

    def _graceful_pending(self, rt: ResourceType, obj: JSONDict) -> bool:
        """A pod on a node stays (terminating) until its kubelet confirms it stopped."""
        if (rt.group, rt.kind) != ("", "Pod"):
            return False
        meta = obj["metadata"]
        return bool((obj.get("spec") or {}).get("nodeName")) and meta.get("deletionGracePeriodSeconds", 0) > 0

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: DeleteOptions, manager: str = ""
    ) -> Stored:
        current = self._require(rt, namespace, name)
        meta = current.obj["metadata"]
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise errors.conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {options.precondition_uid}, UID in object meta: "
                f"{meta.get('uid')}",
            )
        if options.precondition_rv and options.precondition_rv != meta.get("resourceVersion"):
            raise errors.conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {options.precondition_rv}, "
                f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
            )
        if options.dry_run:
            return current
        gk = (rt.group, rt.kind)
        obj = copy.deepcopy(current.obj)
        new_meta = obj["metadata"]
        if gk == ("", "Namespace"):
            return self._delete_namespace(rt, obj)
        grace = self._grace_period(rt, obj, options)
        # The garbage collector carries out Orphan and Foreground through these finalizers.
        before = list(new_meta.get("finalizers") or [])
        finalizers = gc_finalizers(gk, before, options.propagation_policy)
        if finalizers:
            new_meta["finalizers"] = finalizers
        else:
            new_meta.pop("finalizers", None)
        if grace > 0 or finalizers or before:
            already = new_meta.get("deletionTimestamp")
            if already and (grace == 0 or grace >= int(new_meta.get("deletionGracePeriodSeconds") or 0)):
                if finalizers == before:
                    return current
                return self._store_update(rt, obj)  # a later delete changed the policy
            new_meta["deletionTimestamp"] = rfc3339(self.clock.now() + timedelta(seconds=grace))
            new_meta["deletionGracePeriodSeconds"] = grace
            if grace == 0 and not finalizers:
                return self._remove(rt, obj)
            stored = self.store.put(rt.key, obj)
            self._after_write(rt, stored)
            self._drain()
            return stored
        return self._remove(rt, obj)

    def _remove(self, rt: ResourceType, obj: JSONDict) -> Stored:
        meta = obj["metadata"]
        final = self.store.remove(rt.key, meta.get("namespace"), meta["name"])
        if final is None:
            raise errors.not_found(rt.group, rt.plural, meta["name"])
        self._after_delete(rt, final)
        self._drain()
        return final

    def _grace_period(self, rt: ResourceType, obj: JSONDict, options: DeleteOptions) -> int:
        if (rt.group, rt.kind) != ("", "Pod"):
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0  # the apiserver deletes unscheduled and finished pods at once
        grace = options.grace_period_seconds
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
        return max(0, grace)

    def finish_pod_deletion(self, namespace: str, name: str) -> Stored | None:
        """What a kubelet does once a terminating pod's containers stopped: removes it."""
        stored = self.store.get(("", "pods"), namespace, name)
        if stored is None or not stored.obj["metadata"].get("deletionTimestamp"):
            return None
        if stored.obj["metadata"].get("finalizers"):
            return None
        rt = self.registry.get("", "v1", "pods")
        assert rt is not None
        return self._remove(rt, copy.deepcopy(stored.obj))

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        options: DeleteOptions,
    ) -> builtins.list[Stored]:
        found = self.list(rt, namespace, labels, fields).items
        out = []
        for stored in found:
            meta = stored.obj["metadata"]
            try:
                out.append(self.delete(rt, meta.get("namespace"), meta["name"], options))
            except errors.ApiError as err:
                if err.code != 404:
                    raise
        return out

    # ----- namespaces ---------------------------------------------------------------------

    def _delete_namespace(self, rt: ResourceType, obj: JSONDict) -> Stored:
        meta = obj["metadata"]
        name = meta["name"]
        if name in SYSTEM_NAMESPACES and name != "default":
            raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        if name == "default":
            raise errors.forbidden('namespaces "default" is forbidden: this namespace may not be deleted')
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = self.now()
            meta["deletionGracePeriodSeconds"] = 0
            obj["status"] = {"phase": "Terminating"}
            stored = self.store.put(rt.key, obj)
        else:
            stored = self._require(rt, None, name)
        self._schedule_namespace_cleanup(name)
        self._drain()
        return self.store.get(rt.key, None, name) or stored

    def _empty_namespace(self, namespace: str) -> None:
        """The namespace controller: deletes what the namespace holds, then the namespace."""
        remaining = 0
        for key in list(self.store.collections):
            types = self.registry.for_storage_key(key)
            if not types or not types[0].namespaced:
                continue
            rt = types[0]
            for stored in self.store.list(key, namespace)[0]:
                meta = stored.obj["metadata"]
                if not meta.get("deletionTimestamp"):
                    self.delete(rt, namespace, meta["name"], DeleteOptions(propagation_policy="Background"))
                if self.store.get(key, namespace, meta["name"]) is not None:
                    remaining += 1
        if remaining == 0:
            ns = self.store.get(NAMESPACES_KEY, None, namespace)
            if ns is not None and ns.obj["metadata"].get("deletionTimestamp"):
                self.store.remove(NAMESPACES_KEY, None, namespace)

    def _on_change(self, key: StorageKey, event: WatchEvent) -> None:
        if event.type != "DELETED" or key == NAMESPACES_KEY:
            return
        ns = event.stored.obj["metadata"].get("namespace")
        if not ns:
            return
        holder = self.store.get(NAMESPACES_KEY, None, ns)
        if holder is not None and holder.obj["metadata"].get("deletionTimestamp"):
            self._schedule_namespace_cleanup(ns)

    def _schedule_namespace_cleanup(self, namespace: str) -> None:
        if namespace in self._namespaces_to_empty:
            return
        self._namespaces_to_empty.add(namespace)

        def work() -> None:
            self._namespaces_to_empty.discard(namespace)
            self._empty_namespace(namespace)

        self._defer(work)

    # ----- custom resource definitions ----------------------------------------------------

    def _crd_status(self, crd: JSONDict, before: JSONDict | None = None) -> None:
        """The status the apiextensions apiserver keeps: `storedVersions` lists every version ever
        the storage version, in order (`before` is the object's previous state, whose list is kept:
        objects written then may still be stored at those versions until migrated)."""
        spec = crd.get("spec") or {}
        stored = list(((before or {}).get("status") or {}).get("storedVersions") or [])
        storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
        stored += [name for name in storage if name not in stored]
        now = self.now()
        crd["status"] = {
            "acceptedNames": spec.get("names") or {},
            "storedVersions": stored,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now,
                },
            ],
        }

    def _after_write(self, rt: ResourceType, stored: Stored) -> None:
        if rt.key == CRDS_KEY:
            spec = stored.obj.get("spec") or {}
            group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
            self.registry.remove_group_resource(group, plural)
            if not stored.obj["metadata"].get("deletionTimestamp"):
                for crt in crd_resource_types(stored.obj):
                    self.registry.add(crt)
            self.registry_generation += 1

    def _after_delete(self, rt: ResourceType, final: Stored) -> None:
        if rt.key == CRDS_KEY:
            spec = final.obj.get("spec") or {}
            group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
            self.registry.remove_group_resource(group, plural)
            self.store.drop_collection((group, plural))
            self.registry_generation += 1

    # ----- loading (scenarios, snapshots) -------------------------------------------------

    def load(self, obj: JSONDict) -> Stored:
        """Stores an object as given (status kept), filling only what the store needs."""
        rt = self.resource_for(obj)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", "default")
            if self.store.get(NAMESPACES_KEY, None, meta["namespace"]) is None:
                self.load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generated_name(str(meta["generateName"]))
        meta.setdefault("uid", new_uid())
        meta.setdefault("creationTimestamp", self.now())
        gk = (rt.group, rt.kind)
        if gk == ("", "Namespace"):
            defaults.namespace(obj)
        elif gk == ("", "Service"):
            defaults.service(obj, self.service_ips)
        elif gk in defaults.ON_CREATE:
            defaults.ON_CREATE[gk](obj)
            if gk == ("", "Pod") and "status" not in obj:
                defaults.pod_initial_status(obj)
        if gk in GENERATION_KINDS or rt.is_custom:
            meta.setdefault("generation", 1)
        if rt.key == CRDS_KEY:
            self._crd_status(obj, obj)  # a loaded CRD (a snapshot) keeps the versions it had stored
        stored = self.store.put(rt.key, obj)
        self._after_write(rt, stored)
        return stored


def gc_finalizers(gk: tuple[str, str], finalizers: list[str], policy: str | None) -> list[str]:
    """The finalizers after a delete with `policy` (the apiserver's deletionFinalizersForGarbageCollection):
    Orphan adds `orphan`, Foreground `foregroundDeletion`, Background neither; without a policy a
    finalizer set by an earlier delete stays, and batch/v1 Jobs orphan by default."""
    kept = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
    if policy is None:
        if "orphan" in finalizers or (gk == ("batch", "Job") and "foregroundDeletion" not in finalizers):
            policy = "Orphan"
        elif "foregroundDeletion" in finalizers:
            policy = "Foreground"
    if policy == "Orphan":
        kept.append("orphan")
    elif policy == "Foreground":
        kept.append("foregroundDeletion")
    return kept


def _patch_rv(body: Any) -> Any:
    if isinstance(body, dict):
        meta = body.get("metadata")
        if isinstance(meta, dict):
            return meta.get("resourceVersion")
    return None


def _check_stored_versions(crd: JSONDict) -> None:
    """A spec update may not drop a version objects may still be stored at (the apiextensions
    apiserver's `must appear in spec.versions`): the storage version migration comes first."""
    served = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or []}
    causes = [
        (
            f"status.storedVersions[{i}]",
            "FieldValueInvalid",
            f'Invalid value: "{v}": must appear in spec.versions',
        )
        for i, v in enumerate(crd["status"]["storedVersions"])
        if v not in served
    ]
    if causes:
        name = crd["metadata"].get("name", "")
        raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)
