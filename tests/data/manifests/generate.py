"""Writes the manifest corpus of the removed-API tests (run by hand when the removed-API table changes:
`.venv/bin/python tests/data/manifests/generate.py`; a test fails while the files are out of date).

- removed/: one object of every kind/version of `overhaul.knowledge.apis.removed_apis()`, in each
  input format `overhaul preflight --manifests` reads: multi-document YAML, a YAML `kind: List`, a
  JSON `kind: List`, a stream of JSON objects, and Helm-rendered output (in a chart-like
  subdirectory, to exercise the recursive walk);
- current/: the same objects at the version that replaces them in the newest known minor, plus
  everyday objects, in the same formats: the corpus on which preflight must find nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from overhaul.domain.apis import GroupVersionKind
from overhaul.knowledge import apis, releases

HERE = Path(__file__).resolve().parent
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingWebhookConfiguration",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceClass",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
        "ClusterCIDR",
    }
)
EVERYDAY: list[tuple[str, str]] = [
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("cert-manager.io/v1", "Certificate"),
]


def manifest(gvk: GroupVersionKind, suffix: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"{gvk.kind.lower()}-{gvk.version}{suffix}"}
    if gvk.kind not in CLUSTER_SCOPED:
        metadata["namespace"] = "legacy"
    return {"apiVersion": gvk.api_version, "kind": gvk.kind, "metadata": metadata, "spec": {}}


def removed_objects() -> list[dict[str, Any]]:
    return [
        manifest(entry.gvk, f"-{str(entry.gvk.group or 'core').replace('.', '-')}")
        for entry in apis.removed_apis()
    ]


def current_objects() -> list[dict[str, Any]]:
    newest = releases.latest_minor()
    seen: set[GroupVersionKind] = set()
    objects = []
    for entry in apis.removed_apis():
        replacement = apis.served_replacement(entry.gvk, newest)
        if replacement is not None and replacement not in seen:
            seen.add(replacement)
            objects.append(manifest(replacement))
    for api_version, kind in EVERYDAY:
        gvk = GroupVersionKind.of(api_version, kind)
        if gvk not in seen:
            seen.add(gvk)
            objects.append(manifest(gvk))
    return objects


def _yaml_stream(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def _yaml_list(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=False)


def _json_list(objects: list[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"


def _json_stream(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, indent=2) + "\n" for o in objects)


def _helm_rendered(objects: list[dict[str, Any]]) -> str:
    """As `helm template` prints a chart: a `# Source:` comment per template, empty templates too."""
    parts = []
    for i, obj in enumerate(objects):
        parts.append(f"---\n# Source: legacy/templates/{obj['kind'].lower()}.yaml\n")
        parts.append(yaml.safe_dump(obj, sort_keys=False))
        if i % 10 == 0:
            parts.append("---\n# Source: legacy/templates/NOTES-disabled.yaml\n# rendered to nothing\n")
    return "".join(parts)


FORMATS = {
    "multi-doc.yaml": _yaml_stream,
    "list.yaml": _yaml_list,
    "list.json": _json_list,
    "stream.json": _json_stream,
    "charts/legacy/rendered.yaml": _helm_rendered,
}


def corpus() -> dict[Path, str]:
    """Every file of the corpus and its content."""
    files: dict[Path, str] = {}
    for part, objects in (("removed", removed_objects()), ("current", current_objects())):
        header = f"# Generated by tests/data/manifests/generate.py: {part} API versions. Do not edit.\n"
        for name, render in FORMATS.items():
            text = render(objects)
            files[HERE / part / name] = text if name.endswith(".json") else header + text
    return files


def main() -> int:
    for path, text in corpus().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
