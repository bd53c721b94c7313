"""Helm v3 releases, from their Secrets: the manifest of each release's latest deployed revision.

Helm stores each revision as a Secret of type `helm.sh/release.v1`, named
`sh.helm.release.v1.<release>.v<revision>` and labelled `owner=helm`, `name`, `status`,
`version`. Its `data.release` is (as every Secret's data) base64 of the stored value, which
Helm writes as base64 of gzip of the release JSON (`{"name", "namespace", "version", "info":
{"status"}, "manifest": "<rendered YAML>", ...}`); very old Helm 3 versions left out the gzip.

The revisions to read are chosen from the labels, so only one Secret per release is decoded.
Decoding runs in a bounded thread pool (zlib releases the GIL); a release that fails to decode
or parse is reported as a SourceProblem and skipped, never fatal.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from overhaul.preflight.input import ApiUsage, SourceProblem, helm_source
from overhaul.preflight.sources.manifests import ManifestError, manifest_usages, parse_manifests

HELM_SECRET_TYPE = "helm.sh/release.v1"
HELM_LABEL_SELECTOR = "owner=helm"
DEFAULT_WORKERS = 8
_SECRET_NAME = re.compile(r"^sh\.helm\.release\.v1\.(?P<name>.+)\.v(?P<revision>\d+)$")
_GZIP_MAGIC = b"\x1f\x8b"


class HelmDecodeError(ValueError):
    """A release Secret whose data is not a Helm release."""


@dataclass(frozen=True)
class ReleaseSecret:
    """One revision's Secret, as listed: which release, revision and status, and its data."""

    namespace: str
    release: str
    revision: int
    status: str  # deployed, superseded, failed, pending-upgrade, uninstalling, ...
    data: str  # data.release: base64 (the Secret encoding) of Helm's stored value

    @property
    def source(self) -> str:
        return helm_source(self.namespace, self.release)


@dataclass(frozen=True)
class HelmRelease:
    namespace: str
    name: str
    revision: int
    status: str
    manifest: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def release_secret(secret: Mapping[str, Any]) -> ReleaseSecret | None:
    """The release revision a listed Secret holds; None when it is not a Helm v3 release Secret."""
    if secret.get("type") != HELM_SECRET_TYPE:
        return None
    meta = _mapping(secret.get("metadata"))
    labels = _mapping(meta.get("labels"))
    match = _SECRET_NAME.match(str(meta.get("name") or ""))
    name = str(labels.get("name") or (match["name"] if match else ""))
    revision_text = str(labels.get("version") or (match["revision"] if match else ""))
    if not name or not revision_text.isdigit():
        return None
    data = _mapping(secret.get("data"))
    return ReleaseSecret(
        namespace=str(meta.get("namespace") or ""),
        release=name,
        revision=int(revision_text),
        status=str(labels.get("status") or ""),
        data=str(data.get("release") or ""),
    )


def latest_deployed(secrets: Iterable[ReleaseSecret]) -> list[ReleaseSecret]:
    """Per release (namespace, name), its highest deployed revision; releases with none are left out."""
    chosen: dict[tuple[str, str], ReleaseSecret] = {}
    for secret in secrets:
        if secret.status != "deployed":
            continue
        key = (secret.namespace, secret.release)
        current = chosen.get(key)
        if current is None or secret.revision > current.revision:
            chosen[key] = secret
    return [chosen[k] for k in sorted(chosen)]


def decode_release(data: str) -> dict[str, Any]:
    """The release JSON of a Secret's `data.release`."""
    try:
        stored = base64.b64decode(data, validate=True)
        raw = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError) as err:
        raise HelmDecodeError(f"data.release is not base64 of base64 ({err})") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise HelmDecodeError(f"data.release is not valid gzip ({err})") from None
    try:
        release = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HelmDecodeError(f"the release is not JSON ({err})") from None
    if not isinstance(release, dict) or not isinstance(release.get("manifest", ""), str):
        raise HelmDecodeError("the release JSON has no manifest string")
    return release


def encode_release(release: Mapping[str, Any]) -> str:
    """A Secret's `data.release` for a release JSON, as Helm writes it (for tests and fixtures)."""
    stored = base64.b64encode(gzip.compress(json.dumps(release).encode(), mtime=0))
    return base64.b64encode(stored).decode()


def _scan(secret: ReleaseSecret) -> list[ApiUsage] | SourceProblem:
    what = f"Helm release {secret.namespace}/{secret.release} revision {secret.revision}"
    try:
        release = decode_release(secret.data)
        objects = parse_manifests(str(release.get("manifest") or ""), what)
    except (HelmDecodeError, ManifestError) as err:
        return SourceProblem(secret.source, f"{what} could not be read: {err}")
    return manifest_usages(objects, secret.source, default_namespace=secret.namespace)


def scan_releases(
    secrets: Iterable[Mapping[str, Any]], workers: int = DEFAULT_WORKERS
) -> tuple[list[ApiUsage], list[SourceProblem]]:
    """The API usage of the latest deployed revision of every release among listed Secrets, and
    the releases that could not be read."""
    candidates = (release_secret(s) for s in secrets)
    chosen = latest_deployed(c for c in candidates if c is not None)
    usages: list[ApiUsage] = []
    problems: list[SourceProblem] = []
    if not chosen:
        return usages, problems
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(chosen))), thread_name_prefix="helm") as pool:
        for result in pool.map(_scan, chosen):
            if isinstance(result, SourceProblem):
                problems.append(result)
            else:
                usages.extend(result)
    return usages, problems
