"""Server-side field validation (`fieldValidation=Strict|Warn|Ignore`), as kube-apiserver does it.

kubectl 1.29+ sends `fieldValidation=Strict` on create, replace, apply and patch, so a typo in a
manifest must come back as the apiserver's 400 "strict decoding error" rather than being dropped.

Two walking rules, because the apiserver has two decoders:
- built-in kinds are decoded into Go structs: a field is unknown when the struct lacks it, and a
  schema with neither `properties` nor `additionalProperties` (RawExtension, FieldsV1, JSON) takes
  anything;
- custom resources are *pruned* by their structural schema: an object schema without `properties`
  drops every field unless it says `x-kubernetes-preserve-unknown-fields`, and that flag keeps the
  unknown fields of its own level only (declared properties below it are still pruned).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from overhaul.sim.schemas import SchemaSet, ref_name

JSONDict = dict[str, Any]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_TYPE_META = ("apiVersion", "kind")
_GVK_EXT = "x-kubernetes-group-version-kind"
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_EMBEDDED = "x-kubernetes-embedded-resource"


def unknown_fields(
    obj: JSONDict,
    schema_root: JSONDict,
    schemas: SchemaSet | None,
    *,
    pruning: bool | None = None,
) -> list[str]:
    """Paths of the fields `schema_root` does not declare, in document order (`.spec.foo`).

    `schema_root` is a built-in definition (from `schemas.definitions`) or a CRD version's
    `openAPIV3Schema`. `pruning` picks the custom-resource rules; by default they apply to schemas
    without `x-kubernetes-group-version-kind`, i.e. CRD schemas. `schemas` resolves `$ref`s and
    ObjectMeta; without it, referenced schemas and `metadata` accept anything.
    """
    if pruning is None:
        pruning = _GVK_EXT not in schema_root
    out: list[str] = []
    if not isinstance(obj, dict):
        return out
    root, _ = _resolve(schema_root, schemas)
    if root is None:
        return out
    if pruning and not isinstance(root.get("properties"), dict):
        # A CRD version without a schema is served as {"type": "object"}: the apiserver prunes
        # nothing for those (preserveUnknownFields), and we cannot tell them apart.
        root = {**root, _PRESERVE: True}
    _walk_resource(obj, root, schemas, "", out, pruning=pruning)
    return out


def drop_fields(obj: JSONDict, paths: list[str]) -> None:
    """Removes the fields at `paths` (as `unknown_fields` reports them) from `obj`, in place.

    What the apiserver stores without them: decoding into a Go struct drops unknown fields, and a
    custom resource's structural schema prunes them, under `Warn` and `Ignore` alike.
    """
    for path in paths:
        _drop(obj, path)


def _drop(node: Any, path: str) -> None:
    while path:
        if isinstance(node, dict) and path.startswith("."):
            rest = path[1:]
            # Keys may hold dots themselves: take the longest key the path continues from.
            key = max(
                (k for k in node if rest == k or rest.startswith((k + ".", k + "["))), key=len, default=None
            )
            if key is None:
                return
            if rest == key:
                del node[key]
                return
            node, path = node[key], rest[len(key) :]
        elif isinstance(node, list) and path.startswith("["):
            end = path.find("]")
            index = int(path[1:end]) if end > 1 and path[1:end].isdigit() else -1
            if not 0 <= index < len(node):
                return
            node, path = node[index], path[end + 1 :]
        else:
            return


def _resolve(schema: JSONDict, schemas: SchemaSet | None) -> tuple[JSONDict | None, bool]:
    """Follows `$ref`s and single-element `allOf`s: (schema, whether a `$ref` was followed).

    The schema is None when a reference cannot be followed (then anything is accepted below).
    """
    followed = False
    for _ in range(64):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if schemas is None:
                return None, True
            try:
                target = schemas.definitions.get(ref_name(ref))
            except ValueError:
                return None, True
            if target is None:
                return None, True
            schema, followed = target, True
            continue
        all_of = schema.get("allOf")
        if (
            isinstance(all_of, list)
            and len(all_of) == 1
            and isinstance(all_of[0], dict)
            and not any(k in schema for k in ("properties", "items", "additionalProperties"))
        ):
            # OpenAPI 3 documents wrap a $ref with siblings in allOf; the structure is the member's.
            schema = all_of[0]
            continue
        return schema, followed
    return None, followed


def _object_meta(schemas: SchemaSet | None) -> JSONDict | None:
    return schemas.definitions.get(OBJECT_META) if schemas is not None else None


def _walk_resource(
    obj: JSONDict, schema: JSONDict, schemas: SchemaSet | None, path: str, out: list[str], *, pruning: bool
) -> None:
    """A whole object (top level, or an embedded resource): type and object metadata are always known."""
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    meta = _object_meta(schemas)
    for key, value in obj.items():
        sub_path = f"{path}.{key}"
        if key == "metadata":
            if meta is not None:
                # ObjectMeta is a Go struct even inside custom resources: struct rules below it.
                _walk(value, meta, schemas, sub_path, out, pruning=False)
            continue
        if key in _TYPE_META:
            continue
        sub = props.get(key)
        if isinstance(sub, dict):
            _walk(value, sub, schemas, sub_path, out, pruning=pruning)
        elif not _accepts_unknown(schema, pruning):
            out.append(sub_path)


def _accepts_unknown(schema: JSONDict, pruning: bool) -> bool:
    """Whether unknown keys at this object level are kept (rather than reported)."""
    if schema.get(_PRESERVE) is True:
        return True
    extra = schema.get("additionalProperties")
    if extra is True or isinstance(extra, dict):
        return True
    if pruning:
        return False
    # Go structs with no declared fields are free-form values (RawExtension, FieldsV1, JSON, ...).
    return not isinstance(schema.get("properties"), dict)


def _walk(
    value: Any, schema: JSONDict, schemas: SchemaSet | None, path: str, out: list[str], *, pruning: bool
) -> None:
    resolved, followed = _resolve(schema, schemas)
    if resolved is None:
        return
    if followed:
        # Only built-in definitions have references: Go struct rules from here on.
        pruning = False
    if isinstance(value, dict):
        if resolved.get(_EMBEDDED) is True:
            _walk_resource(value, resolved, schemas, path, out, pruning=pruning)
            return
        props = resolved.get("properties")
        extra = resolved.get("additionalProperties")
        if isinstance(props, dict):
            keep = _accepts_unknown(resolved, pruning)
            for key, item in value.items():
                sub = props.get(key)
                if isinstance(sub, dict):
                    _walk(item, sub, schemas, f"{path}.{key}", out, pruning=pruning)
                elif not keep:
                    out.append(f"{path}.{key}")
        elif isinstance(extra, dict):
            for key, item in value.items():
                _walk(item, extra, schemas, f"{path}.{key}", out, pruning=pruning)
        elif not _accepts_unknown(resolved, pruning):
            out.extend(f"{path}.{key}" for key in value)
    elif isinstance(value, list):
        items = resolved.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _walk(item, items, schemas, f"{path}[{i}]", out, pruning=pruning)


def _field(path: str) -> str:
    # The apiserver's field paths have no leading dot ("spec.foo").
    return path[1:] if path.startswith(".") else path


def strict_decoding_error(fields: list[str]) -> str:
    """`strict decoding error: unknown field "spec.a", unknown field "spec.b"`.

    Alone, this is the message of the 400 for JSON and merge patches with unknown fields.
    """
    return "strict decoding error: " + ", ".join(f'unknown field "{_field(f)}"' for f in fields)


def strict_error_message(kind: str, version: str, fields: list[str], builtin: bool = True) -> str:
    """The 400 BadRequest message of a create/replace with unknown fields under `fieldValidation=Strict`.

    `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown
    field "spec.foo"`. Custom resources get the same message from the apiserver (its create and
    update handlers wrap the pruning result in the same strict decoding error), so `builtin` does
    not change it; `.spec.foo: field not declared in schema` is server-side apply's wording.
    """
    del builtin  # same wording for both; kept so callers need not care
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {strict_decoding_error(fields)}'


def _warning_text(text: str) -> str:
    # RFC 7234 quoted-string as the apiserver writes it: escape quote and backslash, no controls.
    escaped = []
    for ch in text:
        if ch in ('"', "\\"):
            escaped.append("\\" + ch)
        elif ch.isprintable() or ch == " ":
            escaped.append(ch)
        else:
            escaped.append(" ")
    return '"' + "".join(escaped) + '"'


def warn_fields_header(fields: list[str]) -> list[str]:
    """`Warning` header values for `fieldValidation=Warn`, one per field.

    `299 - "unknown field \\"spec.foo\\""`: the apiserver's warning code, no agent, quoted text.
    """
    return ["299 - " + _warning_text(f'unknown field "{_field(f)}"') for f in fields]


def strict_patch_invalid(patch: Any, fields: list[str]) -> tuple[str, JSONDict]:
    """The 422 Invalid of a strategic merge patch with unknown fields under `fieldValidation=Strict`.

    Returns (Status message, Status details). The apiserver reports the patch it decoded, printed
    the Go way (kubectl shows `The request is invalid: patch: Invalid value: "map[...]": ...`).
    """
    body = f"Invalid value: {_go_quote(_go_value(patch))}: {strict_decoding_error(fields)}"
    message = f' "" is invalid: patch: {body}'
    details: JSONDict = {"causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]}
    return message, details


def _go_value(value: Any) -> str:
    """Go's `%+v` of a decoded JSON value (maps print sorted: `map[a:1 b:[x y]]`)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(x: float) -> str:
    """Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06 up."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    exp10 = len(digit_tuple) + exponent - 1  # position of the first digit
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 < 0:
        return f"{prefix}0.{'0' * (-exp10 - 1)}{digits}"
    whole = digits[: exp10 + 1].ljust(exp10 + 1, "0")
    frac = digits[exp10 + 1 :]
    return f"{prefix}{whole}.{frac}" if frac else f"{prefix}{whole}"


def _go_quote(text: str) -> str:
    """Go's strconv.Quote."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
