"""`removed-api` (blocking) and `deprecated-api` (warning): API versions the target no longer serves,
or serves but has announced it will remove.

The apiserver converts stored objects, so a live object listed at apps/v1 says nothing about what
its owner sends; it is judged by the apiVersion the clients used, as the object records it:

- the `kubectl.kubernetes.io/last-applied-configuration` annotation (what `kubectl apply` last
  sent) and the most recent managedFields write by a client (server-side apply leaves no
  annotation; the control plane's own controllers are not clients) are the user's current
  source: an old version there blocks;
- an older managedFields entry alone is a warning naming its manager: such entries stay behind
  for years after the source moved on, and are the main source of false alarms of other tools
  (entries of the control plane's own controllers are ignored: they follow the server).

Manifests and Helm releases are the source itself, so their apiVersion is judged directly; the
apiserver's `apiserver_requested_deprecated_apis` metric says a client called a deprecated
version. Custom resources are judged against their CRD's versions (not served, or deprecated).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from overhaul.domain.apis import ApiVersionError, GroupVersionKind
from overhaul.domain.cluster import ClusterView, CrdView, ManagedFieldsEntry, ObjectApiUsage, ObjectRef
from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version, VersionError
from overhaul.knowledge import apis
from overhaul.knowledge.apis import ApiStatus
from overhaul.preflight.input import LIVE, METRICS, ApiUsage, PreflightInput

REMOVED_API = "removed-api"
DEPRECATED_API = "deprecated-api"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
# Field managers of the control plane itself: never the user's source of an object.
SYSTEM_MANAGERS = frozenset(
    {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "cloud-controller-manager",
    }
)


@dataclass(frozen=True)
class Verdict:
    """What the target does with one kind at one apiVersion."""

    status: ApiStatus
    what: str  # "extensions/v1beta1 Deployment is not served since Kubernetes 1.16"
    remedy: str  # "use apps/v1" / the table's notes


def _table_verdict(gvk: GroupVersionKind, target: Version) -> Verdict | None:
    verdict = apis.status_at(gvk, target=target)
    entry = verdict.entry
    if verdict.ok or entry is None:
        return None
    if verdict.replacement is not None:
        use = f"use {verdict.replacement.api_version}"
    elif entry.replacement is not None:
        use = f"use {entry.replacement.api_version} (itself removed later; see the migration guide)"
    else:
        use = entry.notes or "no replacement API exists; remove the object or its feature"
    if verdict.status is ApiStatus.REMOVED:
        what = f"{gvk} is not served since Kubernetes {entry.removed_in}"
    else:
        since = f" since {entry.deprecated_in}" if entry.deprecated_in is not None else ""
        what = f"{gvk} is deprecated{since} and removed in Kubernetes {entry.removed_in}"
    return Verdict(verdict.status, what, use)


class CrdVersions:
    """The served and deprecated versions of the cluster's custom resources, by (group, kind)."""

    def __init__(self, crds: Iterable[CrdView]) -> None:
        self._by_kind: dict[tuple[str, str], CrdView] = {(c.group, c.names.kind): c for c in crds}

    def verdict(self, gvk: GroupVersionKind) -> Verdict | None:
        crd = self._by_kind.get((gvk.group, gvk.kind))
        if crd is None:
            return None
        version = next((v for v in crd.versions if v.name == gvk.version), None)
        served = ", ".join(crd.served_versions) or "none"
        if version is None or not version.served:
            return Verdict(
                ApiStatus.REMOVED,
                f"{gvk} is not served by its CustomResourceDefinition {crd.name} (served: {served})",
                f"use a served version ({served})",
            )
        if version.deprecated:
            warning = f" ({version.deprecation_warning})" if version.deprecation_warning else ""
            newer = ", ".join(v for v in crd.served_versions if v != gvk.version) or "none"
            return Verdict(
                ApiStatus.DEPRECATED,
                f"{gvk} is deprecated by its CustomResourceDefinition {crd.name}{warning}",
                f"use another served version ({newer})",
            )
        return None


class Judge:
    """Verdicts per (apiVersion, kind), memoized: the same few pairs recur across many objects."""

    def __init__(self, target: Version, crds: CrdVersions) -> None:
        self.target = target
        self.crds = crds
        self._seen: dict[tuple[str, str], Verdict | None] = {}

    def __call__(self, api_version: str, kind: str) -> Verdict | None:
        key = (api_version, kind)
        if key not in self._seen:
            self._seen[key] = self._judge(api_version, kind)
        return self._seen[key]

    def _judge(self, api_version: str, kind: str) -> Verdict | None:
        try:
            gvk = GroupVersionKind.of(api_version, kind)
        except ApiVersionError:
            return None
        return self.crds.verdict(gvk) or _table_verdict(gvk, self.target)


def _finding(
    verdict: Verdict, severity: Severity | None, ref: ObjectRef, source: str, message: str, remedy: str
) -> Finding:
    removed = verdict.status is ApiStatus.REMOVED
    return Finding(
        check=REMOVED_API if removed else DEPRECATED_API,
        severity=severity or (Severity.BLOCKING if removed else Severity.WARNING),
        message=message,
        remedy=remedy,
        object=ref,
        source=source,
    )


# ------------------------------------------------------------------------------------ live objects


def _latest(entries: tuple[ManagedFieldsEntry, ...]) -> ManagedFieldsEntry | None:
    """The most recent managedFields write by a client (by time; on a tie, or without times, the
    last listed). The control plane's own controllers are left out: they always write the current
    version (status, revision annotations) and would otherwise always be the most recent."""
    clients = [(i, e) for i, e in enumerate(entries) if e.manager not in SYSTEM_MANAGERS]
    if not clients:
        return None
    return max(clients, key=lambda pair: (pair[1].time or "", pair[0]))[1]


def _write(entry: ManagedFieldsEntry) -> str:
    when = f", {entry.time}" if entry.time else ""
    return f"{entry.manager or 'an unnamed manager'} ({entry.operation or 'write'}{when})"


def _live_findings(usage: ObjectApiUsage, judge: Judge) -> Iterator[Finding]:
    ref = usage.ref
    name = f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
    latest = _latest(usage.managed_fields)
    # apiVersion -> how the user's current source is known to use it
    current: dict[str, list[str]] = {}
    if usage.last_applied_api_version:
        current.setdefault(usage.last_applied_api_version, []).append(
            "its last-applied-configuration annotation (what `kubectl apply` last sent)"
        )
    if latest is not None and latest.api_version:
        current.setdefault(latest.api_version, []).append(f"its most recent write, by {_write(latest)}")
    for api_version, where in current.items():
        verdict = judge(api_version, ref.kind)
        if verdict is None:
            continue
        message = f"{name} uses {api_version} according to {' and '.join(where)}: {verdict.what}."
        remedy = (
            "Update the source that applies this object (manifest, chart or tool): "
            f"{verdict.remedy}, and apply it again; the stored object itself is converted by the API server."
        )
        yield _finding(
            verdict, None, ObjectRef(api_version, ref.kind, ref.namespace, ref.name), LIVE, message, remedy
        )
    stale: dict[str, list[ManagedFieldsEntry]] = {}
    for entry in usage.managed_fields:
        if entry.manager in SYSTEM_MANAGERS:
            continue  # the control plane writes with its own, current versions
        if entry is not latest and entry.api_version and entry.api_version not in current:
            stale.setdefault(entry.api_version, []).append(entry)
    for api_version, entries in stale.items():
        verdict = judge(api_version, ref.kind)
        if verdict is None:
            continue
        writers = ", ".join(_write(e) for e in entries)
        managers = ", ".join(sorted({e.manager or "an unnamed manager" for e in entries}))
        newest = (
            f" (the most recent write uses {latest.api_version})" if latest and latest.api_version else ""
        )
        message = f"{name}: an older write by {writers} used {api_version}{newest}: {verdict.what}."
        remedy = (
            f"If {managers} still writes this object, fix it ({verdict.remedy}); if not, nothing to do: "
            "stale managedFields entries are harmless."
        )
        severity = Severity.WARNING if verdict.status is ApiStatus.REMOVED else Severity.INFO
        yield _finding(
            verdict,
            severity,
            ObjectRef(api_version, ref.kind, ref.namespace, ref.name),
            LIVE,
            message,
            remedy,
        )


def _stored_version_findings(crd: CrdView) -> Iterator[Finding]:
    """status.storedVersions naming a version the CRD no longer serves, or no longer lists: objects
    may still be stored in etcd at it. A CRD update that drops the version from spec.versions is
    rejected while it is listed there (`must appear in spec.versions`), and objects stored at a
    version that is gone from spec.versions cannot be read back."""
    listed = {v.name: v for v in crd.versions}
    storage = crd.storage_version or "the storage version"
    plural = f"{crd.names.plural}.{crd.group}" if crd.names.plural else crd.name
    for stored in crd.stored_versions:
        version = listed.get(stored)
        if version is not None and version.served:
            continue
        gone = version is None
        message = f"CustomResourceDefinition {crd.name} lists {stored} in status.storedVersions, " + (
            "but spec.versions no longer has it: objects still stored at it cannot be read."
            if gone
            else "a version it no longer serves: objects may still be stored at it, and the CRD "
            f"update that removes {stored} (a chart or operator upgrade) will be rejected."
        )
        remedy = (
            f"Migrate the stored {crd.names.kind or 'custom resource'} objects to {storage} "
            "(kube-storage-version-migrator, or rewrite each object: "
            f"`kubectl get {plural} -A -o json | kubectl replace -f -`), then remove "
            f"{stored} from status.storedVersions (`kubectl patch crd {crd.name} --subresource=status "
            f'--type=json -p \'[{{"op":"replace","path":"/status/storedVersions","value":'
            f'["{storage}"]}}]\'`).'
        )
        yield Finding(
            check=REMOVED_API,
            severity=Severity.BLOCKING if gone else Severity.WARNING,
            message=message,
            remedy=remedy,
            object=ObjectRef(CRD_API_VERSION, "CustomResourceDefinition", "", crd.name),
            source=LIVE,
        )


def _crd_findings(crds: Iterable[CrdView]) -> Iterator[Finding]:
    for crd in crds:
        yield from _stored_version_findings(crd)
        for version in crd.versions:
            if not (version.served and version.deprecated):
                continue
            others = ", ".join(v for v in crd.served_versions if v != version.name) or "none"
            warning = f": {version.deprecation_warning}" if version.deprecation_warning else ""
            yield Finding(
                check=DEPRECATED_API,
                severity=Severity.WARNING,
                message=f"CustomResourceDefinition {crd.name} marks {crd.group}/{version.name} "
                f"{crd.names.kind} deprecated{warning}.",
                remedy=f"Move clients and manifests of {crd.names.kind} to another served version ({others}) "
                "before the CRD's owner stops serving it.",
                object=ObjectRef(CRD_API_VERSION, "CustomResourceDefinition", "", crd.name),
                source=LIVE,
            )


# --------------------------------------------------------------------- manifests, Helm and metrics


def _declared_findings(usage: ApiUsage, judge: Judge, target: Version) -> Finding | None:
    ref = usage.ref
    verdict = judge(ref.api_version, ref.kind)
    if verdict is None and usage.removed_in:
        verdict = _reported_verdict(ref, usage.removed_in, target)
    if verdict is None and usage.source == METRICS:
        verdict = _deprecated_by_server(ref)
    if verdict is None:
        return None
    if usage.source == METRICS:
        message = (
            f"A client requested {ref.api_version} {ref.kind} since the API server started "
            f"(apiserver_requested_deprecated_apis): {verdict.what}."
        )
        remedy = (
            "Find the client (audit log, or apiserver_request_total by client) and update it: "
            f"{verdict.remedy}."
        )
    else:
        message = f"{ref} is written as {ref.api_version}: {verdict.what}."
        remedy = f"Change its apiVersion: {verdict.remedy}."
    return _finding(verdict, None, ref, usage.source, message, remedy)


def _reported_verdict(ref: ObjectRef, removed_in: str, target: Version) -> Verdict | None:
    """The apiserver's own word (the metric's removed_release) for an API the table does not know."""
    try:
        removal = Version.parse(removed_in)
    except VersionError:
        return None
    removed = (target.major, target.minor) >= (removal.major, removal.minor)
    state = "not served since" if removed else "removed in"
    what = f"{ref.api_version} {ref.kind} is {state} Kubernetes {removal}"
    return Verdict(
        ApiStatus.REMOVED if removed else ApiStatus.DEPRECATED,
        what,
        "use the version the migration guide names",
    )


def _deprecated_by_server(ref: ObjectRef) -> Verdict:
    """A version the metric lists without a removal release: the server calls it deprecated (that is
    why the metric has it) and announces no removal, e.g. v1 Endpoints since 1.33."""
    return Verdict(
        ApiStatus.DEPRECATED,
        f"{ref.api_version} {ref.kind} is deprecated (the API server announces no removal release)",
        "use its replacement (the API server's deprecation warning names it)",
    )


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _all_findings(data: PreflightInput) -> list[Finding]:
    cluster: ClusterView | None = data.cluster
    crds = CrdVersions(cluster.crds if cluster is not None else ())
    judge = Judge(data.target, crds)
    found: list[Finding] = []
    if cluster is not None:
        seen: set[tuple[object, ...]] = set()
        for usage in cluster.api_usage:
            ref = usage.ref
            key = (ref.kind, ref.namespace, ref.name, usage.last_applied_api_version, usage.managed_fields)
            if key in seen:
                continue  # one object listed under two groups (events, old ingresses)
            seen.add(key)
            found.extend(_live_findings(usage, judge))
        found.extend(_crd_findings(cluster.crds))
    for declared in data.usages:
        finding = _declared_findings(declared, judge, data.target)
        if finding is not None:
            found.append(finding)
    for problem in data.problems:
        found.append(
            Finding(
                check=REMOVED_API,
                severity=Severity.WARNING,
                message=f"{problem.message}; it was skipped and not scanned for removed APIs.",
                remedy="Check the release with `helm history` and `helm get manifest`; scan its "
                "manifest with --manifests.",
                object=ObjectRef(),
                source=problem.source,
            )
        )
    return _dedupe(found)


def _shared(data: PreflightInput) -> list[Finding]:
    found = data.memo.get(REMOVED_API)
    if not isinstance(found, list):
        found = data.memo[REMOVED_API] = _all_findings(data)
    return found


def removed_api(data: PreflightInput) -> list[Finding]:
    """Objects, manifests, Helm releases and clients using API versions the target does not serve."""
    return [f for f in _shared(data) if f.check == REMOVED_API]


def deprecated_api(data: PreflightInput) -> list[Finding]:
    """API versions the target still serves but that are deprecated (built-in or by their CRD)."""
    return [f for f in _shared(data) if f.check == DEPRECATED_API]
