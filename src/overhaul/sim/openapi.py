"""OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/<path>`), shaped like kube-apiserver's.

kubectl reads them to decide whether it may validate on the server (it looks for the
`fieldValidation` query parameter on the PATCH operation of the kind), to compute strategic
merge patches for `kubectl apply` (it wants `application/strategic-merge-patch+json` among the
PATCH content types, then reads `x-kubernetes-patch-*` from the component schemas) and for
`kubectl explain`. The component schemas come from the `kubernetes-validate` JSON schemas,
converted to OpenAPI 3.0; custom resources use their CRD's `openAPIV3Schema`.

Documents share their converted component schemas with a per-SchemaSet cache: treat them as
read-only (serialize them, do not mutate them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from overhaul.sim.resources import ResourceRegistry, ResourceType
from overhaul.sim.schemas import SchemaSet, ref_name

JSONDict = dict[str, Any]

COMPONENTS = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = _META + "ObjectMeta"
LIST_META = _META + "ListMeta"
DELETE_OPTIONS = _META + "DeleteOptions"
STATUS = _META + "Status"
PATCH = _META + "Patch"
WATCH_EVENT = _META + "WatchEvent"
API_RESOURCE_LIST = _META + "APIResourceList"
API_GROUP = _META + "APIGroup"
API_GROUP_LIST = _META + "APIGroupList"
API_VERSIONS = _META + "APIVersions"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

PATCH_TYPES_BUILTIN = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# The apiserver cannot strategic-merge custom resources (no patch metadata), so it omits that type.
PATCH_TYPES_CUSTOM = tuple(t for t in PATCH_TYPES_BUILTIN if "strategic" not in t)

# Only what the embedded cluster really serves (no protobuf, no CBOR).
_OBJECT_TYPES = ("application/json", "application/yaml")
_LIST_TYPES = ("application/json", "application/yaml", "application/json;stream=watch")
_WATCH_TYPES = ("application/json", "application/yaml", "application/json;stream=watch")

_API_VERSION_DESC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND_DESC = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer "
    "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA_DESC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA_DESC = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_FIELD_VALIDATION_DESC = (
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
    "containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown "
    "fields that are silently dropped from the object, and will ignore all but the last duplicate field "
    "that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a "
    "warning via the standard warning response header for each unknown field that is dropped from the "
    "object, and for each duplicate field that is encountered. The request will still succeed if there "
    "are no other errors, and will only persist the last of any duplicate fields. This is the default in "
    "v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be "
    "dropped from the object, or if any duplicate fields are present. The error returned from the server "
    "will contain all unknown and duplicate fields encountered."
)
_DRY_RUN_DESC = (
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized "
    "dryRun directive will result in an error response and no further processing of the request. "
    "Valid values are: - All: all dry run stages will be processed"
)
_FIELD_MANAGER_DESC = (
    "fieldManager is a name associated with the actor or entity that is making these changes. The value "
    "must be less than or 128 characters long, and only contain printable characters, as defined by "
    "https://golang.org/pkg/unicode/#IsPrint."
)
_PATCH_FIELD_MANAGER_DESC = _FIELD_MANAGER_DESC + (
    " This field is required for apply requests (application/apply-patch) but optional for non-apply "
    "patch types (JsonPatch, MergePatch, StrategicMergePatch)."
)
_FORCE_DESC = (
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by '
    "other people. Force flag must be unset for non-apply patch requests."
)
_PRETTY_DESC = (
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a "
    "browser or command-line HTTP tool (curl and wget)."
)
_NAMESPACE_DESC = "object name and auth scope, such as for teams and projects"
_LIST_PARAMS: tuple[tuple[str, str, str], ...] = (
    (
        "allowWatchBookmarks",
        "boolean",
        'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement '
        "bookmarks may ignore this flag and bookmarks are sent at the server's discretion.",
    ),
    (
        "continue",
        "string",
        "The continue option should be set when retrieving more results from the server. Since this value "
        "is server defined, clients may only use the continue value from a previous query result with "
        "identical query parameters (except for the value of continue).",
    ),
    (
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    ),
    (
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    ),
    (
        "limit",
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items exist, the server "
        "will set the `continue` field on the list metadata to a value that can be used with the same "
        "initial query to retrieve the next set of results.",
    ),
    (
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from. "
        "See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.",
    ),
    (
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls. See "
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.",
    ),
    (
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream "
        "will begin with synthetic events to produce the current state of objects in the collection.",
    ),
    (
        "timeoutSeconds",
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, regardless of any "
        "activity or inactivity.",
    ),
    (
        "watch",
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, and "
        "remove notifications. Specify resourceVersion.",
    ),
)
_DELETE_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("dryRun", "string", _DRY_RUN_DESC),
    (
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted. Value must be non-negative integer. "
        "The value zero indicates delete immediately. If this value is nil, the default grace period for "
        "the specified type will be used. Defaults to a per object value if not specified. zero means "
        "delete immediately.",
    ),
    (
        "orphanDependents",
        "boolean",
        "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the "
        'dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed '
        "from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.",
    ),
    (
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed. Either this field or OrphanDependents may "
        "be set, but not both. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - "
        "allow the garbage collector to delete the dependents in the background; 'Foreground' - a "
        "cascading policy that deletes all dependents in the foreground.",
    ),
)

# Subresource → (group, version, kind) of its body (None: the resource's own kind), its methods.
_SUBRESOURCES: dict[str, tuple[tuple[str, str, str] | None, tuple[str, ...]]] = {
    "status": (None, ("get", "put", "patch")),
    "scale": (("autoscaling", "v1", "Scale"), ("get", "put", "patch")),
    "eviction": (("policy", "v1", "Eviction"), ("post",)),
    "binding": (("", "v1", "Binding"), ("post",)),
    "finalize": (None, ("put",)),
}


# ---------------------------------------------------------------------------------------------
# Component schemas


def _openapi_type(value: Any) -> str | None:
    """JSON-schema `type` (maybe a list with "null") → the single OpenAPI 3.0 type."""
    if isinstance(value, str):
        return None if value == "null" else value
    if isinstance(value, list):
        kept = [t for t in value if t != "null"]
        return kept[0] if kept else None
    return None


def _convert(node: JSONDict, refs: set[str], *, type_meta: bool = False) -> JSONDict:
    """One JSON schema node → OpenAPI 3.0, collecting the definitions it references."""
    out: JSONDict = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type":
            t = _openapi_type(value)
            if t is not None:
                out["type"] = t
        elif key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _convert(sub, refs, type_meta=name in ("apiVersion", "kind"))
                for name, sub in value.items()
                if isinstance(sub, dict)
            }
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value, refs)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_convert(v, refs) for v in value if isinstance(v, dict)]
        elif key == "enum":
            # kubernetes-validate pins apiVersion/kind with an enum; the apiserver's documents do not.
            if not type_meta:
                out[key] = [v for v in value if v is not None]
        elif key == "x-kubernetes-group-version-kind" and isinstance(value, list):
            # kubectl's explain template compares `group` as a string: it must be present.
            out[key] = [
                {"group": g.get("group", ""), "kind": g["kind"], "version": g["version"]} for g in value
            ]
        else:
            out[key] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = ref_name(ref)
        refs.add(target)
        pointer: JSONDict = {"$ref": COMPONENTS + target}
        # OpenAPI 3.0 ignores siblings of $ref, so (like the apiserver) wrap it in allOf to keep them.
        return {"allOf": [pointer], **out} if out else pointer
    return out


class _ConvertedSet:
    """The definitions of one SchemaSet converted to OpenAPI 3.0, on demand, with their references."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self.defs: dict[str, JSONDict] = {}
        self.refs: dict[str, frozenset[str]] = {}

    def get(self, name: str) -> JSONDict | None:
        done = self.defs.get(name)
        if done is not None:
            return done
        source = self.schemas.definitions.get(name)
        if source is None:
            return None
        refs: set[str] = set()
        converted = _convert(source, refs)
        if name == INT_OR_STRING:
            # The apiserver documents IntOrString this way; explain then shows <IntOrString>.
            converted = {
                **{k: v for k, v in converted.items() if k != "oneOf"},
                "format": "int-or-string",
                "oneOf": [{"type": "integer"}, {"type": "string"}],
            }
        self.refs[name] = frozenset(refs)
        self.defs[name] = converted
        return converted

    def closure(self, roots: Iterable[str], out: dict[str, JSONDict]) -> None:
        """Adds `roots` and every definition they reference, transitively, to `out`."""
        pending = [r for r in roots if r not in out]
        while pending:
            name = pending.pop()
            if name in out:
                continue
            schema = self.get(name)
            if schema is None:
                continue
            out[name] = schema
            pending.extend(r for r in self.refs[name] if r not in out)


_CONVERTED: dict[int, _ConvertedSet] = {}


def _converted(schemas: SchemaSet) -> _ConvertedSet:
    # Keyed by identity (SchemaSet is unhashable); the entry holds the set, so the id stays unique.
    found = _CONVERTED.get(id(schemas))
    if found is None or found.schemas is not schemas:
        found = _CONVERTED[id(schemas)] = _ConvertedSet(schemas)
    return found


def _group_reversed(group: str) -> str:
    return ".".join(reversed(group.split("."))) if group else "core"


def custom_component_name(group: str, version: str, kind: str) -> str:
    """The component name the apiserver gives a custom kind: `com.example.stable.v1.CronTab`."""
    return f"{_group_reversed(group)}.{version}.{kind}"


def _type_meta_properties() -> JSONDict:
    return {
        "apiVersion": {"description": _API_VERSION_DESC, "type": "string"},
        "kind": {"description": _KIND_DESC, "type": "string"},
    }


def _gvk(group: str, version: str, kind: str) -> JSONDict:
    return {"group": group, "kind": kind, "version": version}


def _add_embedded_type_meta(node: Any) -> None:
    """Embedded resources get apiVersion/kind/metadata documented, as the apiserver does."""
    if isinstance(node, list):
        for item in node:
            _add_embedded_type_meta(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("x-kubernetes-embedded-resource") is True:
        props = node.setdefault("properties", {})
        for name, schema in (*_type_meta_properties().items(), ("metadata", {"type": "object"})):
            props.setdefault(name, schema)
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for sub in value.values():
                _add_embedded_type_meta(sub)
        elif key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            _add_embedded_type_meta(value)


def _custom_component(rt: ResourceType, schema: JSONDict | None) -> JSONDict:
    """A custom (or undocumented) kind: its CRD schema plus type and object metadata."""
    out: JSONDict = (
        copy.deepcopy(schema) if schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    _add_embedded_type_meta(out)
    out.setdefault("type", "object")
    props: JSONDict = out.setdefault("properties", {})
    props.update(_type_meta_properties())
    props["metadata"] = {"allOf": [{"$ref": COMPONENTS + OBJECT_META}], "description": _METADATA_DESC}
    out["x-kubernetes-group-version-kind"] = [_gvk(rt.group, rt.version, rt.kind)]
    return out


def _custom_list_component(rt: ResourceType, item_name: str) -> JSONDict:
    return {
        "description": f"{rt.kind}List is a list of {rt.kind}",
        "properties": {
            **_type_meta_properties(),
            "items": {
                "description": f"List of {rt.plural}. More info: "
                "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                "items": {"$ref": COMPONENTS + item_name},
                "type": "array",
            },
            "metadata": {"allOf": [{"$ref": COMPONENTS + LIST_META}], "description": _LIST_METADATA_DESC},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [_gvk(rt.group, rt.version, rt.list_kind)],
    }


# ---------------------------------------------------------------------------------------------
# Paths and operations


def _operation_id_part(s: str, capitalize_first: bool) -> str:
    """The apiserver's ToValidOperationID: drops non-letters, capitalizing the letter after each."""
    out = []
    capitalize = capitalize_first
    for i, ch in enumerate(s):
        if ch.isalpha() or ch == "_" or (i != 0 and ch.isdigit()):
            out.append(ch.upper() if capitalize else ch)
            capitalize = False
        else:
            capitalize = True
    return "".join(out)


def _group_friendly(group: str) -> str:
    """`rbac.authorization.k8s.io` → `rbacAuthorization`, `` → `core` (for tags and operation ids)."""
    return _operation_id_part(group.removesuffix(".k8s.io") if group else "core", False)


def _gv_id(group: str, version: str) -> str:
    """`AppsV1`, `CoreV1`, `RbacAuthorizationV1`, `StableExampleComV1`."""
    friendly = _group_friendly(group)
    return friendly[:1].upper() + friendly[1:] + _operation_id_part(version, True)


def _ref(name: str) -> JSONDict:
    return {"$ref": COMPONENTS + name}


def _content(types: Iterable[str], name: str) -> JSONDict:
    return {t: {"schema": _ref(name)} for t in types}


def _responses(codes: Iterable[tuple[str, str]], types: Iterable[str], name: str) -> JSONDict:
    types = tuple(types)
    out: JSONDict = {code: {"content": _content(types, name), "description": text} for code, text in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _query(name: str, type_: str, description: str) -> JSONDict:
    return {
        "description": description,
        "in": "query",
        "name": name,
        "schema": {"type": type_, "uniqueItems": True},
    }


def _path_param(name: str, description: str) -> JSONDict:
    return {
        "description": description,
        "in": "path",
        "name": name,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _write_params(*, patch: bool = False) -> list[JSONDict]:
    params = [
        _query("dryRun", "string", _DRY_RUN_DESC),
        _query("fieldManager", "string", _PATCH_FIELD_MANAGER_DESC if patch else _FIELD_MANAGER_DESC),
        _query("fieldValidation", "string", _FIELD_VALIDATION_DESC),
    ]
    if patch:
        params.append(_query("force", "boolean", _FORCE_DESC))
    return params


class _PathBuilder:
    """Builds the paths of one resource type (and its subresources) into `paths`."""

    def __init__(self, rt: ResourceType, kind_name: str, list_name: str, paths: JSONDict) -> None:
        self.rt = rt
        self.kind_name = kind_name
        self.list_name = list_name
        self.paths = paths
        self.root = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
        self.gv_id = _gv_id(rt.group, rt.version)
        self.tag = f"{_group_friendly(rt.group)}_{_operation_id_part(rt.version, False)}"
        self.scope = "Namespaced" if rt.namespaced else ""
        self.gvk = _gvk(rt.group, rt.version, rt.kind)
        self.patch_types = PATCH_TYPES_CUSTOM if rt.is_custom else PATCH_TYPES_BUILTIN

    def _op(
        self,
        verb: str,
        suffix: str,
        action: str,
        description: str,
        *,
        gvk: JSONDict | None = None,
        params: list[JSONDict] | None = None,
        body: JSONDict | None = None,
        responses: JSONDict,
    ) -> JSONDict:
        # operationId: verb + group/version + the rest (e.g. deleteAppsV1CollectionNamespacedDeployment).
        op: JSONDict = {
            "description": description,
            "operationId": f"{verb}{self.gv_id}{suffix}",
        }
        if params:
            op["parameters"] = params
        if body is not None:
            op["requestBody"] = body
        op["responses"] = responses
        op["tags"] = [self.tag]
        op["x-kubernetes-action"] = action
        op["x-kubernetes-group-version-kind"] = dict(gvk or self.gvk)
        return op

    def _path_params(self, *, named: bool, name_of: str | None = None) -> list[JSONDict]:
        params = []
        if named:
            params.append(_path_param("name", f"name of the {name_of or self.rt.kind}"))
        if self.rt.namespaced:
            params.append(_path_param("namespace", _NAMESPACE_DESC))
        params.append(_query("pretty", "string", _PRETTY_DESC))
        return params

    def build(self) -> None:
        rt = self.rt
        verbs = set(rt.verbs)
        kind = rt.kind
        ns_seg = "/namespaces/{namespace}" if rt.namespaced else ""
        collection = f"{self.root}{ns_seg}/{rt.plural}"
        item = f"{collection}/{{name}}"
        scoped = f"{self.scope}{kind}"
        body_ref = {"content": _content(("*/*",), self.kind_name), "required": True}
        patch_body = {"content": _content(self.patch_types, PATCH), "required": True}
        delete_body = {"content": _content(("*/*",), DELETE_OPTIONS)}
        list_params = [_query(n, t, d) for n, t, d in _LIST_PARAMS]

        ops: JSONDict = {}
        if "list" in verbs:
            ops["get"] = self._op(
                "list",
                scoped,
                "list",
                f"list or watch objects of kind {kind}",
                params=list_params,
                responses=_responses((("200", "OK"),), _LIST_TYPES, self.list_name),
            )
        if "create" in verbs:
            ops["post"] = self._op(
                "create",
                scoped,
                "post",
                f"create a {kind}",
                params=_write_params(),
                body=body_ref,
                responses=_responses(
                    (("200", "OK"), ("201", "Created"), ("202", "Accepted")), _OBJECT_TYPES, self.kind_name
                ),
            )
        if "deletecollection" in verbs:
            params = [_query(n, t, d) for n, t, d in (*_DELETE_PARAMS, *_LIST_PARAMS) if n != "watch"]
            ops["delete"] = self._op(
                "delete",
                f"Collection{scoped}",
                "deletecollection",
                f"delete collection of {kind}",
                params=sorted(params, key=lambda p: str(p["name"])),
                body=delete_body,
                responses=_responses((("200", "OK"),), _OBJECT_TYPES, STATUS),
            )
        if ops:
            self.paths[collection] = {**ops, "parameters": self._path_params(named=False)}

        if rt.namespaced and "list" in verbs:
            self.paths[f"{self.root}/{rt.plural}"] = {
                "get": self._op(
                    "list",
                    f"{kind}ForAllNamespaces",
                    "list",
                    f"list or watch objects of kind {kind}",
                    responses=_responses((("200", "OK"),), _LIST_TYPES, self.list_name),
                ),
                "parameters": [*list_params, _query("pretty", "string", _PRETTY_DESC)],
            }

        ops = {}
        if "get" in verbs:
            ops["get"] = self._op(
                "read",
                scoped,
                "get",
                f"read the specified {kind}",
                responses=_responses((("200", "OK"),), _OBJECT_TYPES, self.kind_name),
            )
        if "update" in verbs:
            ops["put"] = self._op(
                "replace",
                scoped,
                "put",
                f"replace the specified {kind}",
                params=_write_params(),
                body=body_ref,
                responses=_responses((("200", "OK"), ("201", "Created")), _OBJECT_TYPES, self.kind_name),
            )
        if "patch" in verbs:
            ops["patch"] = self._op(
                "patch",
                scoped,
                "patch",
                f"partially update the specified {kind}",
                params=_write_params(patch=True),
                body=patch_body,
                responses=_responses((("200", "OK"), ("201", "Created")), _OBJECT_TYPES, self.kind_name),
            )
        if "delete" in verbs:
            ops["delete"] = self._op(
                "delete",
                scoped,
                "delete",
                f"delete a {kind}",
                params=[_query(n, t, d) for n, t, d in _DELETE_PARAMS],
                body=delete_body,
                responses=_responses((("200", "OK"), ("202", "Accepted")), _OBJECT_TYPES, STATUS),
            )
        if ops:
            self.paths[item] = {**ops, "parameters": self._path_params(named=True)}

        if "watch" in verbs:
            self._watch_paths(ns_seg, scoped, list_params)
        for sub in rt.subresources:
            self._subresource(sub, item, scoped)

    def _watch_paths(self, ns_seg: str, scoped: str, list_params: list[JSONDict]) -> None:
        # Deprecated by the apiserver but still documented; kubectl does not use them.
        rt = self.rt
        responses = _responses((("200", "OK"),), _WATCH_TYPES, WATCH_EVENT)
        pretty = _query("pretty", "string", _PRETTY_DESC)
        base = f"{self.root}/watch{ns_seg}/{rt.plural}"
        list_desc = (
            f"watch individual changes to a list of {rt.kind}. deprecated: use the 'watch' parameter "
            "with a list operation instead."
        )
        self.paths[base] = {
            "get": self._op("watch", f"{scoped}List", "watchlist", list_desc, responses=responses),
            "parameters": [*self._path_params(named=False)[:-1], *list_params, pretty],
        }
        self.paths[f"{base}/{{name}}"] = {
            "get": self._op(
                "watch",
                scoped,
                "watch",
                f"watch changes to an object of kind {rt.kind}. deprecated: use the 'watch' parameter with "
                "a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
                responses=responses,
            ),
            "parameters": [*self._path_params(named=True)[:-1], *list_params, pretty],
        }
        if rt.namespaced:
            self.paths[f"{self.root}/watch/{rt.plural}"] = {
                "get": self._op(
                    "watch", f"{rt.kind}ListForAllNamespaces", "watchlist", list_desc, responses=responses
                ),
                "parameters": [*list_params, pretty],
            }

    def _subresource(self, sub: str, item: str, scoped: str) -> None:
        known = _SUBRESOURCES.get(sub)
        if known is None:
            return
        body_gvk, methods = known
        if body_gvk is None:
            name, gvk = self.kind_name, self.gvk
        else:
            name, gvk = _builtin_name(*body_gvk), _gvk(*body_gvk)
        suffix = f"{scoped}{sub[:1].upper()}{sub[1:]}"
        kind = self.rt.kind
        ops: JSONDict = {}
        object_codes = (("200", "OK"), ("201", "Created"))
        if "get" in methods:
            ops["get"] = self._op(
                "read",
                suffix,
                "get",
                f"read {sub} of the specified {kind}",
                gvk=gvk,
                responses=_responses((("200", "OK"),), _OBJECT_TYPES, name),
            )
        if "put" in methods:
            ops["put"] = self._op(
                "replace",
                suffix,
                "put",
                f"replace {sub} of the specified {kind}",
                gvk=gvk,
                params=_write_params(),
                body={"content": _content(("*/*",), name), "required": True},
                responses=_responses(object_codes, _OBJECT_TYPES, name),
            )
        if "patch" in methods:
            ops["patch"] = self._op(
                "patch",
                suffix,
                "patch",
                f"partially update {sub} of the specified {kind}",
                gvk=gvk,
                params=_write_params(patch=True),
                body={"content": _content(self.patch_types, PATCH), "required": True},
                responses=_responses(object_codes, _OBJECT_TYPES, name),
            )
        if "post" in methods:
            ops["post"] = self._op(
                "create",
                suffix,
                "post",
                f"create {sub} of a {kind}",
                gvk=gvk,
                params=_write_params(),
                body={"content": _content(("*/*",), name), "required": True},
                responses=_responses((*object_codes, ("202", "Accepted")), _OBJECT_TYPES, name),
            )
        self.paths[f"{item}/{sub}"] = {
            **ops,
            "parameters": self._path_params(named=True, name_of=gvk["kind"]),
        }


_BUILTIN_NAMES: dict[tuple[str, str, str], str] = {
    ("autoscaling", "v1", "Scale"): "io.k8s.api.autoscaling.v1.Scale",
    ("policy", "v1", "Eviction"): "io.k8s.api.policy.v1.Eviction",
    ("", "v1", "Binding"): "io.k8s.api.core.v1.Binding",
}


def _builtin_name(group: str, version: str, kind: str) -> str:
    return _BUILTIN_NAMES.get((group, version, kind), custom_component_name(group, version, kind))


# ---------------------------------------------------------------------------------------------
# Documents


def _document_paths(registry: ResourceRegistry) -> list[str]:
    out = ["api", "apis"]
    for group, versions in registry.group_versions().items():
        if not group:
            out.extend(f"api/{v}" for v in versions)
            continue
        out.append(f"apis/{group}")
        out.extend(f"apis/{group}/{v}" for v in versions)
    return out


def openapi_index(registry: ResourceRegistry, hash_of: Callable[[str], str]) -> JSONDict:
    """GET /openapi/v3: one entry per document, its URL carrying the caller's hash of it."""
    paths = {
        p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={hash_of(p)}"} for p in _document_paths(registry)
    }
    return {"paths": dict(sorted(paths.items()))}


def _info(schemas: SchemaSet) -> JSONDict:
    major, minor = schemas.minor
    return {"title": "Kubernetes", "version": f"v{major}.{minor}.0"}


def _discovery_document(
    schemas: SchemaSet, path: str, operation_id: str, description: str, schema_name: str, tag: str
) -> JSONDict:
    components: dict[str, JSONDict] = {}
    _converted(schemas).closure([schema_name], components)
    get = {
        "description": description,
        "operationId": operation_id,
        "responses": _responses((("200", "OK"),), _OBJECT_TYPES, schema_name),
        "tags": [tag],
    }
    return {
        "openapi": "3.0.0",
        "info": _info(schemas),
        "paths": {path: {"get": get}},
        "components": {"schemas": dict(sorted(components.items()))},
    }


def _group_version_document(schemas: SchemaSet, types: list[ResourceType]) -> JSONDict:
    converted = _converted(schemas)
    group, version = types[0].group, types[0].version
    components: dict[str, JSONDict] = {}
    roots = {DELETE_OPTIONS, STATUS, PATCH, API_RESOURCE_LIST}
    paths: JSONDict = {}
    gv_id = _gv_id(group, version)
    root = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    paths[f"{root}/"] = {
        "get": {
            "description": "get available resources",
            "operationId": f"get{gv_id}APIResources",
            "responses": _responses((("200", "OK"),), _OBJECT_TYPES, API_RESOURCE_LIST),
            "tags": [f"{_group_friendly(group)}_{_operation_id_part(version, False)}"],
        }
    }
    for rt in types:
        if "watch" in rt.verbs:
            roots.add(WATCH_EVENT)
        for sub in rt.subresources:
            body_gvk = _SUBRESOURCES.get(sub, (None, ()))[0]
            if body_gvk is not None:
                roots.add(_builtin_name(*body_gvk))
        builtin = None if rt.is_custom else schemas.definition_for(rt.group, rt.version, rt.kind)
        list_name: str | None = None
        if builtin is not None:
            kind_name = builtin
            list_name = schemas.definition_for(rt.group, rt.version, rt.list_kind)
            roots.add(kind_name)
        else:
            # Custom resources, and built-ins this minor's schemas lack (documented as free-form).
            kind_name = custom_component_name(rt.group, rt.version, rt.kind)
            components[kind_name] = _custom_component(rt, rt.crd_schema)
            roots.add(OBJECT_META)
        if list_name is None:
            list_name = f"{kind_name}List"
            components[list_name] = _custom_list_component(rt, kind_name)
            roots.add(LIST_META)
        else:
            roots.add(list_name)
        _PathBuilder(rt, kind_name, list_name, paths).build()
    converted.closure(sorted(roots), components)
    return {
        "openapi": "3.0.0",
        "info": _info(schemas),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items()))},
    }


def openapi_document(registry: ResourceRegistry, schemas: SchemaSet, path: str) -> JSONDict | None:
    """GET /openapi/v3/<path> (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`, `apis`); None if unknown."""
    parts = path.strip("/").split("/")
    if parts == ["api"]:
        return _discovery_document(
            schemas, "/api/", "getCoreAPIVersions", "get available API versions", API_VERSIONS, "core"
        )
    if parts == ["apis"]:
        return _discovery_document(
            schemas, "/apis/", "getAPIVersions", "get available API versions", API_GROUP_LIST, "apis"
        )
    if len(parts) == 2 and parts[0] == "apis" and parts[1]:
        group = parts[1]
        if group not in registry.group_versions():
            return None
        friendly = _group_friendly(group)
        return _discovery_document(
            schemas,
            f"/apis/{group}/",
            f"get{friendly[:1].upper()}{friendly[1:]}APIGroup",
            "get information of a group",
            API_GROUP,
            friendly,
        )
    if len(parts) == 2 and parts[0] == "api":
        group, version = "", parts[1]
    elif len(parts) == 3 and parts[0] == "apis":
        group, version = parts[1], parts[2]
    else:
        return None
    types = registry.in_group_version(group, version)
    if not types:
        return None
    return _group_version_document(schemas, types)
