"""Server-set metadata: names, uids, timestamps, generation and managedFields."""

from __future__ import annotations

import random
import re
from datetime import datetime
from typing import Any

import orjson

from overhaul.sim.clock import rfc3339

JSONDict = dict[str, Any]

# The alphabet of generated name suffixes (k8s.io/apimachinery/pkg/util/rand): no vowels, no 0/1/3.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# Names must be unlikely to collide, not unpredictable: the apiserver draws them from math/rand too,
# and a cryptographic source costs a tenth of a pod creation at 150,000 pods.
_RANDOM = random.Random()


def random_suffix(length: int = 5) -> str:
    n = _RANDOM.randrange(len(_SUFFIX_ALPHABET) ** length)
    out = []
    for _ in range(length):
        n, r = divmod(n, len(_SUFFIX_ALPHABET))
        out.append(_SUFFIX_ALPHABET[r])
    return "".join(out)


def generated_name(prefix: str) -> str:
    return prefix[: 63 - 5] + random_suffix()


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uid() -> str:
    """A random (version 4) UUID, as the apiserver gives every object."""
    h = f"{(_RANDOM.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def name_problem(name: str) -> str | None:
    """Why `name` is not a valid DNS-1123 subdomain (the rule for most object names), or None."""
    if len(name) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    return None


def _list_item_key(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("name", "type", "uid", "containerPort", "port", "mountPath", "key"):
            if key in item:
                return "k:" + _compact({key: item[key]})
    return None


def _compact(value: Any) -> str:
    return orjson.dumps(value).decode()


# Deep enough for what readers of managedFields use (who owns which top-level fields, and the
# API version they wrote with); deeper levels cost most of a write's time at scale.
FIELDS_DEPTH = 4


def fields_v1(value: Any, depth: int = FIELDS_DEPTH) -> JSONDict:
    """A FieldsV1 set in the apiserver's shape (`f:` fields, `k:` keyed list items, `.` for self)."""
    if depth <= 0:
        return {}
    if isinstance(value, dict):
        out: JSONDict = {}
        for key, sub in value.items():
            out[f"f:{key}"] = _fields_of(sub, depth - 1) if isinstance(sub, dict | list) else {}
        return out
    if isinstance(value, list):
        out = {}
        for item in value:
            key = _list_item_key(item)
            if key is None:
                return {}
            out[key] = {".": {}, **_fields_of(item, depth - 1)}
        return out
    return {}


_FIELDS_OF: dict[int, tuple[Any, int, JSONDict]] = {}


def _fields_of(value: Any, depth: int) -> JSONDict:
    """fields_v1 of a part of an object, shared with earlier writes of the very same part (the
    containers and tolerations a workload's pods share, while each pod's own spec differs)."""
    if depth <= 0:
        return {}
    known = _FIELDS_OF.get(id(value))
    if known is not None and known[0] is value and known[1] == depth:
        return known[2]
    found = fields_v1(value, depth)
    if len(_FIELDS_OF) >= _FIELDS_CACHE_SIZE:
        _FIELDS_OF.clear()
    _FIELDS_OF[id(value)] = (value, depth, found)  # the entry keeps the part: its id stays its own
    return found


_FIELDS_CACHE: dict[bytes, JSONDict] = {}
_STATUS_FIELDS: dict[tuple[str, ...], JSONDict] = {}
_FIELDS_BY_ID: dict[tuple[tuple[str, ...], tuple[int, ...]], tuple[list[Any], JSONDict]] = {}
_FIELDS_CACHE_SIZE = 4096


def _shared_fields(value: JSONDict) -> JSONDict:
    """fields_v1 of `value`, shared with earlier writes of the same value (a workload's replicas):
    managedFields are replaced, never changed in place, so sharing the sets is safe."""
    # Replicas often share the very objects (a pod spec shared by a ReplicaSet's pods): those are
    # known by identity, without encoding them. The entry keeps the objects, so ids stay theirs.
    ident = (tuple(value), tuple(map(id, value.values())))
    known = _FIELDS_BY_ID.get(ident)
    if known is not None:
        return known[1]
    key = orjson.dumps(value)
    found = _FIELDS_CACHE.get(key)
    if found is None:
        if len(_FIELDS_CACHE) >= _FIELDS_CACHE_SIZE:
            _FIELDS_CACHE.clear()
        found = _FIELDS_CACHE[key] = fields_v1(value)
    if len(_FIELDS_BY_ID) >= _FIELDS_CACHE_SIZE:
        _FIELDS_BY_ID.clear()
    _FIELDS_BY_ID[ident] = (list(value.values()), found)
    return found


def owned_fields(obj: JSONDict, subresource: str) -> JSONDict:
    """The fields a write set: status for the status subresource, everything else otherwise."""
    if subresource == "status":
        # Status writes are the most frequent ones (kubelets, controllers): top-level fields only,
        # the same few key sets over and over, so the sets are shared.
        status = obj.get("status") or {}
        keys = tuple(status)
        found = _STATUS_FIELDS.get(keys)
        if found is None:
            if len(_STATUS_FIELDS) >= _FIELDS_CACHE_SIZE:
                _STATUS_FIELDS.clear()
            found = _STATUS_FIELDS[keys] = {"f:status": fields_v1(status, 1)}
        return found
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("labels", "annotations", "finalizers", "ownerReferences") if k in meta}
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    out = dict(_shared_fields(body))
    if kept:
        out["f:metadata"] = _shared_fields(kept)
    return out


def record_manager(
    obj: JSONDict,
    manager: str,
    operation: str,
    api_version: str,
    now: datetime,
    subresource: str = "",
) -> None:
    """Updates metadata.managedFields for a write (one entry per manager, operation, subresource)."""
    meta = obj.setdefault("metadata", {})
    entries = [e for e in meta.get("managedFields") or [] if isinstance(e, dict)]
    entry: JSONDict = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": rfc3339(now),
        "fieldsType": "FieldsV1",
        "fieldsV1": owned_fields(obj, subresource),
    }
    if subresource:
        entry["subresource"] = subresource
    for i, existing in enumerate(entries):
        if (
            existing.get("manager") == manager
            and existing.get("operation") == operation
            and existing.get("subresource", "") == subresource
        ):
            entries[i] = entry
            break
    else:
        entries.append(entry)
    meta["managedFields"] = entries


def manager_from_user_agent(user_agent: str) -> str:
    """The default field manager: the user agent up to the first `/` (as the apiserver derives it)."""
    head = user_agent.split("/", 1)[0].strip()
    return head[:128] or "unknown"
