"""Discovery documents: /version, /api, /apis and the resource list of each group version."""

from __future__ import annotations

import base64
import hashlib
import platform
from typing import Any

from overhaul.sim.resources import ResourceRegistry, ResourceType

JSONDict = dict[str, Any]

SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "eviction": ["create"],
    "binding": ["create"],
    "finalize": ["update"],
}
# Subresources whose kind lives in another group version.
SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale"),
    "eviction": ("policy", "v1", "Eviction"),
    "binding": ("", "v1", "Binding"),
}


def version_info(git_version: str, build_date: str) -> JSONDict:
    """The /version body a kube-apiserver of `git_version` returns."""
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(max(0, int(minor) - 1)),
        "gitVersion": git_version,
        "gitCommit": hashlib.sha1(git_version.encode()).hexdigest(),
        "gitTreeState": "clean",
        "buildDate": build_date,
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": f"linux/{_arch()}",
    }


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine or "amd64")


def api_versions(server_address: str) -> JSONDict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(name: str, versions: list[str]) -> JSONDict:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry: ResourceRegistry) -> JSONDict:
    groups = [_group_doc(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: ResourceRegistry, group: str) -> JSONDict | None:
    versions = registry.group_versions().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def _storage_version_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _resource_entries(rt: ResourceType) -> list[JSONDict]:
    entry: JSONDict = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entry["storageVersionHash"] = _storage_version_hash(rt)
    out = [entry]
    for sub in rt.subresources:
        sub_entry: JSONDict = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
        if sub in SUBRESOURCE_KINDS:
            g, v, k = SUBRESOURCE_KINDS[sub]
            if g:
                sub_entry["group"] = g
            sub_entry["version"] = v
            sub_entry["kind"] = k
        else:
            sub_entry["kind"] = rt.kind
        sub_entry["verbs"] = SUBRESOURCE_VERBS.get(sub, ["get"])
        out.append(sub_entry)
    return out


def api_resource_list(registry: ResourceRegistry, group: str, version: str) -> JSONDict | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[JSONDict] = []
    for rt in types:
        resources.extend(_resource_entries(rt))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
