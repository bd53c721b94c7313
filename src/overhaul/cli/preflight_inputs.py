"""The I/O of `overhaul preflight`: manifest files and stdin, and what a live cluster offers besides
its objects (readiness text, metrics, Helm release Secrets). The parsing is preflight's."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overhaul.cli.errors import EXIT_USAGE, fail
from overhaul.domain.cluster import ClusterView
from overhaul.preflight.input import ApiUsage, SourceProblem, manifest_source
from overhaul.preflight.sources.helm import HELM_LABEL_SELECTOR, scan_releases
from overhaul.preflight.sources.manifests import ManifestError, manifest_usages, parse_manifests
from overhaul.preflight.sources.metrics import MetricsError, requested_deprecated_apis

if TYPE_CHECKING:
    from overhaul.kube.client import ApiClient

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


def note(message: str) -> None:
    print(f"overhaul: {message}", file=sys.stderr)


def manifest_files(path: Path) -> Iterator[Path]:
    """A file as given; a directory's YAML and JSON files, recursively, hidden ones left out."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            relative = child.relative_to(path).parts
            if (
                child.is_file()
                and child.suffix.lower() in MANIFEST_SUFFIXES
                and not any(part.startswith(".") for part in relative)
            ):
                yield child
    elif path.exists():
        yield path
    else:
        fail(f"--manifests {path}: no such file or directory", EXIT_USAGE)


def read_manifests(paths: list[str]) -> list[ApiUsage]:
    """The API usage of every manifest given (files, directories, `-` for stdin); exit 2 on a
    file that cannot be read or parsed."""
    usages: list[ApiUsage] = []
    for given in paths:
        if given == STDIN:
            usages.extend(_parse(sys.stdin.read(), STDIN))
            continue
        for file in manifest_files(Path(given)):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                fail(
                    f"--manifests {file}: cannot read it: {getattr(err, 'strerror', None) or err}", EXIT_USAGE
                )
            usages.extend(_parse(text, str(file)))
    return usages


def _parse(text: str, origin: str) -> list[ApiUsage]:
    try:
        objects = parse_manifests(text, origin)
    except ManifestError as err:
        fail(f"malformed manifest {err}", EXIT_USAGE)
    return manifest_usages(objects, manifest_source(origin))


@dataclass
class LiveExtras:
    """What a live cluster offers besides its objects; each part may be missing (RBAC, 404)."""

    readyz: str | None = None
    usages: list[ApiUsage] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)


def read_live_extras(client: ApiClient, view: ClusterView) -> LiveExtras:
    """/readyz?verbose, the deprecated-API metric and the Helm releases. A part that cannot be read
    is noted on stderr and skipped; an unreachable cluster still raises (exit 1)."""
    from overhaul.kube.errors import ApiError  # deferred with the HTTP stack

    extras = LiveExtras()
    try:
        extras.readyz = client.health_text("/readyz")
    except ApiError as err:
        note(f"note: /readyz not read ({err}); control-plane readiness checks skipped")
    try:
        extras.usages.extend(requested_deprecated_apis(client.get_text("/metrics"), view.api_resources))
    except ApiError as err:
        note(f"note: /metrics not read ({err}); apiserver_requested_deprecated_apis not checked")
    except MetricsError as err:
        note(f"note: {err}; apiserver_requested_deprecated_apis not checked")
    try:
        secrets = _helm_secrets(client)
        usages, problems = scan_releases(secrets)
        extras.usages.extend(usages)
        extras.problems.extend(problems)
    except ApiError as err:
        note(f"note: Helm release Secrets not read ({err}); Helm releases not scanned")
    return extras


def _helm_secrets(client: ApiClient) -> list[dict[str, Any]]:
    """The Secrets of deployed Helm revisions, all namespaces (labels narrow the list server-side)."""
    secrets: list[dict[str, Any]] = []
    selector = f"{HELM_LABEL_SELECTOR},status=deployed"
    for page in client.list_pages("/api/v1/secrets", {"labelSelector": selector}):
        if page.restarted:
            secrets = []
        secrets.extend(page.items)
    return secrets
