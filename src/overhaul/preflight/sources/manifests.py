"""Kubernetes objects in manifest text: what apiVersion and kind each one is written with.

Accepts what `kubectl apply -f` accepts: multi-document YAML (Helm-rendered output with its
`# Source:` comments included), JSON (one object, or an array), and `kind: List` (or any
`*List` with `items`), nested. Documents that are not Kubernetes objects (no apiVersion and no
kind: a values.yaml, a CI file) are skipped; malformed YAML or JSON is a ManifestError naming
the origin and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from overhaul.domain.apis import ApiVersionError, GroupVersion
from overhaul.domain.cluster import ObjectRef
from overhaul.preflight.input import ApiUsage

try:  # libyaml is much faster on large renders; the pure-Python loader does the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Kinds that are never namespaced, so a Helm release's namespace is not theirs.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


class ManifestError(ValueError):
    """Manifest text that is not valid YAML/JSON, or an object with a malformed apiVersion."""

    def __init__(self, origin: str, line: int | None, problem: str) -> None:
        where = f"{origin}:{line}" if line is not None else origin
        super().__init__(f"{where}: {problem}")
        self.origin = origin
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ManifestObject:
    api_version: str
    kind: str
    namespace: str
    name: str
    line: int | None  # 1-based line of the document (or list) it was found in

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.api_version, self.kind, self.namespace, self.name)


def _documents(text: str, origin: str) -> Iterator[tuple[Any, int | None]]:
    """(document, 1-based line where it starts) for each document of the text."""
    if text.lstrip().startswith(("{", "[")):
        yield from _json_documents(text, origin)
        return
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else None
            yield loader.construct_document(node), line
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        if "{{" in text:
            problem += " (an unrendered Helm template? render it with `helm template` first)"
        raise ManifestError(
            origin, mark.line + 1 if mark is not None else None, f"invalid YAML: {problem}"
        ) from None
    except yaml.YAMLError as err:
        raise ManifestError(origin, None, f"invalid YAML: {err}") from None
    finally:
        loader.dispose()


def _json_documents(text: str, origin: str) -> Iterator[tuple[Any, int | None]]:
    """One JSON value, or several one after the other (as some tools stream them)."""
    decoder = json.JSONDecoder()
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return
        try:
            value, after = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise ManifestError(origin, err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
        yield value, text.count("\n", 0, position) + 1
        position = after


def _objects(doc: Any, line: int | None, origin: str) -> Iterator[ManifestObject]:
    if isinstance(doc, list):  # a JSON array of objects
        for item in doc:
            yield from _objects(item, line, origin)
        return
    if not isinstance(doc, Mapping):
        return  # empty documents, scalars: not objects
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            yield from _objects(item, line, origin)
        return
    if api_version is None and kind is None:
        return  # not a Kubernetes object (values.yaml, Chart.yaml, a CI file)
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        raise ManifestError(
            origin, line, f"an object needs a string apiVersion and kind (got {api_version!r}, {kind!r})"
        )
    try:
        GroupVersion.parse(api_version)
    except ApiVersionError as err:
        raise ManifestError(origin, line, str(err)) from None
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    namespace = meta.get("namespace") or ""
    yield ManifestObject(api_version, kind, str(namespace), str(name), line)


def parse_manifests(text: str, origin: str) -> list[ManifestObject]:
    """The Kubernetes objects of one file's (or stdin's, or a release's) text; `origin` names it in errors."""
    found: list[ManifestObject] = []
    for doc, line in _documents(text, origin):
        found.extend(_objects(doc, line, origin))
    return found


def manifest_usages(
    objects: list[ManifestObject], source: str, default_namespace: str = ""
) -> list[ApiUsage]:
    """The objects as API usages of `source`; namespaced objects without a namespace get
    `default_namespace` (a Helm release's)."""
    usages = []
    for obj in objects:
        namespace = obj.namespace
        if not namespace and default_namespace and obj.kind not in CLUSTER_SCOPED_KINDS:
            namespace = default_namespace
        usages.append(ApiUsage(ObjectRef(obj.api_version, obj.kind, namespace, obj.name), source))
    return usages
