"""The three PATCH content types kube-apiserver accepts, applied to plain JSON values.

- `application/merge-patch+json`: RFC 7386 (`json_merge_patch`).
- `application/json-patch+json`: RFC 6902, through the `jsonpatch` library (`json_patch`).
- `application/strategic-merge-patch+json`: a port of k8s.io/apimachinery
  `pkg/util/strategicpatch/patch.go` (`strategic_merge_patch`), driven by the patch metadata of the
  Kubernetes type definitions (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`).

No function mutates its inputs, and no result shares containers with them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import jsonpatch

from overhaul.sim.schemas import JSONDict, SchemaSet


class PatchError(ValueError):
    """A patch that cannot be applied; the message is fit for a 400/422 Status body."""


# Strategic merge patch directives.
_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"

# The sentinel errors of k8s.io/apimachinery/pkg/util/mergepatch.
_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return _clone(patch)
    result = _clone(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: JSONDict, patch: JSONDict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            if not isinstance(current, dict):
                current = target[key] = {}
            _merge_into(current, value)
        else:
            target[key] = _clone(value)


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902; a failing `test`, a bad path or a malformed operation raise PatchError."""
    if not isinstance(operations, list):
        raise PatchError(
            f"json: cannot unmarshal {_json_kind(operations)} into Go value of type jsonpatch.Patch"
        )
    # Both are cloned so the result shares nothing with the inputs ("add" inserts values as is).
    # Operations apply one at a time so that a failing `test` can be named as the apiserver's
    # json-patch library names it (python-json-patch's message shows Python types).
    doc = _clone(target)
    try:
        for op in _clone(operations):
            try:
                doc = jsonpatch.apply_patch(doc, [op], in_place=True)
            except jsonpatch.JsonPatchTestFailed:
                raise PatchError(f"testing value {op.get('path', '')} failed: test failed") from None
        return doc
    except PatchError:
        raise
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
        raise PatchError(str(err)) from None
    except (TypeError, KeyError, IndexError, ValueError) as err:
        raise PatchError(f"invalid JSON patch: {err}") from None


def strategic_merge_patch(target: Any, patch: Any, schemas: SchemaSet | None, definition: str | None) -> Any:
    """Applies a strategic merge patch to `target`, an object of type `definition` (e.g.
    `io.k8s.api.apps.v1.Deployment`). Without schema information for a field, maps merge and lists
    are replaced, as in a JSON merge patch."""
    if not isinstance(patch, dict):
        raise PatchError(
            f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}"
        )
    if target is None:
        original: JSONDict = {}
    elif isinstance(target, dict):
        original = _clone(target)
    else:
        raise PatchError("invalid JSON document")
    root = schemas.definitions.get(definition) if schemas is not None and definition is not None else None
    return _StrategicMerge(schemas).merge_map(original, patch, root)


@dataclass(frozen=True)
class _FieldMeta:
    """What the schema says about one field: its schema and its patch strategy and merge key."""

    schema: JSONDict | None = None
    strategy: str = ""  # "merge", "replace" or "" (maps merge, lists are replaced)
    merge_key: str = ""


_NO_META = _FieldMeta()
_Key = Callable[[Any], Hashable]


class _StrategicMerge:
    """The merge itself. `original` arguments are owned (already copies) and are changed in place;
    patch arguments are only read, and every value taken from them is rebuilt, which also drops
    the directives nested in them."""

    def __init__(self, schemas: SchemaSet | None) -> None:
        self.schemas = schemas

    # --- maps

    def merge_map(self, original: JSONDict, patch: JSONDict, schema: JSONDict | None) -> JSONDict:
        if _PATCH in patch:
            return self._map_directive(patch, schema)
        remaining = dict(patch)  # directives are popped from this as they are handled
        _apply_retain_keys(original, remaining)
        self._apply_element_orders(original, remaining, schema)
        for key, value in remaining.items():
            self._merge_field(original, key, value, schema)
        return original

    def _map_directive(self, patch: JSONDict, schema: JSONDict | None) -> JSONDict:
        directive = patch[_PATCH]
        if directive == "replace":
            rest = {k: v for k, v in patch.items() if k != _PATCH}
            return self.merge_map({}, rest, schema)
        if directive == "delete":
            return {}  # as the apiserver does: the map is emptied, its key stays
        raise PatchError(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")

    def _merge_field(self, original: JSONDict, key: str, value: Any, schema: JSONDict | None) -> None:
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            name = _directive_target(key, _DELETE_FROM_PRIMITIVE_LIST, _BAD_PRIMITIVE_LIST)
            _delete_from_primitive_list(original, name, value)
        elif value is None:
            original.pop(key, None)
        else:
            original[key] = self._merge_value(original.get(key), value, self._lookup(schema, key))

    def _merge_value(self, current: Any, value: Any, meta: _FieldMeta) -> Any:
        """The new value of a field; a current value of another type is simply replaced."""
        if isinstance(value, dict):
            keep = isinstance(current, dict) and meta.strategy != "replace"
            return self.merge_map(current if keep else {}, value, meta.schema)
        if isinstance(value, list):
            return self._merge_list_value(current if isinstance(current, list) else [], value, meta)
        return value

    # --- lists

    def _merge_list_value(self, current: list[Any], value: list[Any], meta: _FieldMeta) -> list[Any]:
        items = self._items(meta)
        if meta.strategy == "merge":
            return self._merge_list(current, value, items, meta.merge_key)
        return self._fresh_list(value, items)

    def _fresh_list(self, value: list[Any], items: JSONDict | None) -> list[Any]:
        """A replacing list, rebuilt; elements that are only list directives are dropped."""
        out: list[Any] = []
        for element in value:
            if isinstance(element, dict):
                if element.get(_PATCH) in ("delete", "replace"):
                    continue
                out.append(self.merge_map({}, element, items))
            elif isinstance(element, list):
                out.append(self._fresh_list(element, None))
            else:
                out.append(element)
        return out

    def _merge_list(
        self, original: list[Any], patch: list[Any], items: JSONDict | None, merge_key: str
    ) -> list[Any]:
        """patch.go mergeSlice: primitives are unioned, maps merged element-wise by `merge_key`."""
        if not original and not patch:
            return []
        if _element_kind(original, patch) != "map":
            merged = _dedupe(original + patch)
            return _ordered(merged, patch, original, _scalar_key)
        if not merge_key:
            raise PatchError("cannot merge lists without merge key for type object")
        kept, rest, replaced = self._special_elements(original, patch, merge_key, items)
        if replaced:
            return kept
        merged = self._merge_by_key(kept, rest, merge_key, items)
        return _ordered(merged, rest, kept, _merge_key_of(merge_key))

    def _special_elements(
        self, original: list[Any], patch: list[Any], merge_key: str, items: JSONDict | None
    ) -> tuple[list[Any], list[Any], bool]:
        """Applies `$patch: delete` elements, and `$patch: replace` (the list becomes the rest of the
        patch). Returns the original left, the plain patch elements and whether it was replaced."""
        key_of = _merge_key_of(merge_key)
        kept, rest, replace = list(original), [], False
        for element in patch:
            if _PATCH not in element:
                rest.append(element)
                continue
            directive = element[_PATCH]
            if directive == "delete":
                doomed = key_of(element)
                kept = [e for e in kept if merge_key not in e or _scalar_key(e[merge_key]) != doomed]
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                raise PatchError("merging lists cannot yet be specified in the patch")
            else:
                raise PatchError(f"unknown patch type: {_go(directive)} in map: {_go(element)}")
        if replace:
            return [self.merge_map({}, e, items) for e in rest], [], True
        return kept, rest, False

    def _merge_by_key(
        self, original: list[Any], patch: list[Any], merge_key: str, items: JSONDict | None
    ) -> list[Any]:
        """Each patch element is merged into the element with its key, or appended."""
        key_of = _merge_key_of(merge_key)
        merged = list(original)
        index: dict[Hashable, int] = {}
        for i, element in enumerate(merged):
            if merge_key in element:
                index.setdefault(_scalar_key(element[merge_key]), i)
        for element in patch:
            key = key_of(element)
            at = index.get(key)
            if at is None:
                index[key] = len(merged)
                merged.append(self.merge_map({}, element, items))
            else:
                merged[at] = self.merge_map(merged[at], element, items)
        return merged

    def _apply_element_orders(self, original: JSONDict, patch: JSONDict, schema: JSONDict | None) -> None:
        """`$setElementOrder/<field>`: merges the field's patch list now, then orders the result:
        listed elements in the listed order, interleaved with the server-only ones."""
        for directive in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
            order = patch.pop(directive)
            name = _directive_target(directive, _SET_ELEMENT_ORDER, _BAD_SET_ELEMENT_ORDER)
            if not isinstance(order, list):
                raise PatchError(_BAD_SET_ELEMENT_ORDER)
            current = _list_or_none(original, name)
            value = _list_or_none(patch, name)
            if current is None and value is None:
                continue
            meta = self._lookup(schema, name)
            _check_element_order(value or [], order, meta.merge_key)
            merged = self._merge_list_value(current or [], value, meta) if value is not None else current
            patch.pop(name, None)
            original[name] = _order_by_directive(merged or [], order, current or [], value or [], meta)

    # --- schema look-ups

    def _lookup(self, schema: JSONDict | None, name: str) -> _FieldMeta:
        if schema is None or self.schemas is None:
            return _NO_META
        sub = self.schemas.property_schema(schema, name) or self.schemas.additional_schema(schema)
        if sub is None:
            return _NO_META
        strategy = _main_strategy(sub.get("x-kubernetes-patch-strategy"))
        return _FieldMeta(sub, strategy, str(sub.get("x-kubernetes-patch-merge-key") or ""))

    def _items(self, meta: _FieldMeta) -> JSONDict | None:
        if meta.schema is None or self.schemas is None:
            return None
        return self.schemas.items_schema(meta.schema)


# --- directives


def _apply_retain_keys(original: JSONDict, patch: JSONDict) -> None:
    """`$retainKeys: [...]`: drops every key of `original` not listed; the patch must only set listed keys."""
    if _RETAIN_KEYS not in patch:
        return
    keys = patch.pop(_RETAIN_KEYS)
    if not isinstance(keys, list):
        raise PatchError(_BAD_RETAIN_KEYS)
    retained = {k for k in keys if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if key not in retained:
            raise PatchError(_BAD_RETAIN_KEYS)
    for key in [k for k in original if k not in retained]:
        del original[key]


def _delete_from_primitive_list(original: JSONDict, name: str, values: Any) -> None:
    """`$deleteFromPrimitiveList/<field>: [...]`: removes those values from the list, if it exists."""
    if not isinstance(values, list):
        raise PatchError(_BAD_PRIMITIVE_LIST)
    current = original.get(name)
    if not isinstance(current, list):
        return
    doomed = {_scalar_key(v) for v in values if _is_scalar(v)}
    original[name] = [v for v in current if not (_is_scalar(v) and _scalar_key(v) in doomed)]


def _directive_target(key: str, prefix: str, error: str) -> str:
    """The field a `<prefix>/<field>` directive is about."""
    head, sep, name = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(error)
    return name


def _list_or_none(obj: JSONDict, name: str) -> list[Any] | None:
    if name not in obj:
        return None
    value = obj[name]
    if not isinstance(value, list):
        raise PatchError(f"expected a []interface {{}}, but received a {_go_type(value)}")
    return value


def _check_element_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list must follow the `$setElementOrder` list (deletions and directives aside)."""
    if not patch_list or not order:
        return
    if merge_key:
        key_of = _merge_key_of(merge_key)
        items = [e for e in patch_list if not (isinstance(e, dict) and e.get(_PATCH) == "delete")]
    elif all(_is_scalar(v) for v in patch_list + order):
        key_of, items = _scalar_key, patch_list
    else:
        return  # maps without a merge key: nothing to compare them by
    at = 0
    for expected in order:
        while at < len(items) and isinstance(items[at], dict) and _PATCH in items[at]:
            at += 1
        if at < len(items) and key_of(items[at]) == key_of(expected):
            at += 1
    while at < len(items) and isinstance(items[at], dict) and _PATCH in items[at]:
        at += 1
    if at < len(items):
        raise PatchError(
            f"the order in patch list: {_go(patch_list)} "
            f"doesn't match {_SET_ELEMENT_ORDER} list: {_go(order)}"
        )


def _order_by_directive(
    merged: list[Any], order: list[Any], current: list[Any], patch_list: list[Any], meta: _FieldMeta
) -> list[Any]:
    kind = _element_kind(current, patch_list)
    if kind == "map":
        if not meta.merge_key:
            return merged  # maps without a merge key: nothing to order them by
        return _ordered(merged, order, current, _merge_key_of(meta.merge_key))
    if not all(_is_scalar(v) for v in order):
        raise PatchError(_BAD_SET_ELEMENT_ORDER)
    return _ordered(merged, order, current, _scalar_key)


# --- ordering (patch.go normalizeElementOrder / mergeSortedSlice)


def _ordered(merged: list[Any], order: list[Any], server: list[Any], key_of: _Key) -> list[Any]:
    """Elements named in `order` take its order; the others keep the server's. The two runs are
    interleaved: a server-only element goes first when the server list had it before the next
    ordered element, and an element the server never had goes before the server-only ones."""
    order_at = _positions(order, key_of)
    server_at = _positions(server, key_of)
    named = [e for e in merged if key_of(e) in order_at]
    others = [e for e in merged if key_of(e) not in order_at]
    last = sys.maxsize
    named.sort(key=lambda e: order_at.get(key_of(e), last))
    others.sort(key=lambda e: server_at.get(key_of(e), last))
    out: list[Any] = []
    i = j = 0
    while i < len(others) and j < len(named):
        left, right = server_at.get(key_of(others[i])), server_at.get(key_of(named[j]))
        if left is not None and right is not None and left < right:
            out.append(others[i])
            i += 1
        else:
            out.append(named[j])
            j += 1
    return out + others[i:] + named[j:]


def _positions(values: list[Any], key_of: _Key) -> dict[Hashable, int]:
    positions: dict[Hashable, int] = {}
    for i, value in enumerate(values):
        positions.setdefault(key_of(value), i)
    return positions


# --- JSON values


def _main_strategy(raw: Any) -> str:
    """The strategy besides retainKeys in `x-kubernetes-patch-strategy` ("merge,retainKeys" → merge)."""
    if not raw:
        return ""
    parts = str(raw).split(",")
    others = [p for p in parts if p != "retainKeys"]
    if len(parts) > 2 or len(others) > 1:
        raise PatchError(f"unexpected patch strategy: {parts}")
    return others[0] if others else ""


def _element_kind(*lists: list[Any]) -> str:
    """The one JSON type of all elements (patch.go sliceElementType); lists of lists are refused."""
    kind = ""
    for values in lists:
        for value in values:
            this = _json_kind(value)
            if not kind:
                if this == "array":
                    raise PatchError("lists of lists are not supported")
                kind = this
            elif this != kind:
                raise PatchError(f"list element types are not identical: {_go(list(lists))}")
    return "map" if kind == "object" else kind


def _merge_key_of(merge_key: str) -> _Key:
    def key_of(element: Any) -> Hashable:
        if not isinstance(element, dict):
            raise PatchError(f"expected a map[string]interface {{}}, but received a {_go_type(element)}")
        if merge_key not in element:
            raise PatchError(f"map: {_go(element)} does not contain declared merge key: {merge_key}")
        return _scalar_key(element[merge_key])

    return key_of


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _scalar_key(value: Any) -> Hashable:
    """A hashable identity for a JSON scalar that keeps true apart from 1 (Go compares types too)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    raise PatchError(f"cannot compare a {_go_type(value)} as a merge key or list value")


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[Hashable] = set()
    out = []
    for value in values:
        key = _scalar_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _clone(value: Any) -> Any:
    """A deep copy of a JSON value (much faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null"


def _go_type(value: Any) -> str:
    """The Go type encoding/json decodes `value` to, for messages like the apiserver's."""
    return {
        "object": "map[string]interface {}",
        "array": "[]interface {}",
        "number": "float64",
        "null": "<nil>",
    }.get(_json_kind(value), _json_kind(value))


def _go(value: Any) -> str:
    """Go's %v of a decoded JSON value (`map[a:1 b:[x y]]`), to keep messages on one line."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
