"""Reads a live cluster into a ClusterView.

Each list is read page by page (500 objects), each page decoded with orjson and converted item by
item into the small values of `overhaul.domain.cluster`; the raw page is dropped before the next
one is read, so memory holds the views, never the cluster's JSON.

The API usage the removed-API check reads (`ObjectApiUsage`: last-applied apiVersion and
managedFields versions) is collected for every object of every served, listable resource, with
two exceptions, both for speed on large clusters:

- the core group ("" / v1: pods, events, secrets, configmaps, ...): it has only ever been served
  as v1, so nothing in it can have been written with a since-removed version; skipping it avoids
  reading managedFields of 150,000 pods (and reading Secrets at all);
- events.k8s.io events: many, short-lived, and the apiserver metrics source already reports
  clients still writing them with old versions.

The other resources are listed as PartialObjectMetadataList (metadata only: no spec, no status).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from overhaul.domain.cluster import ClusterView, ObjectApiUsage, ServedResource
from overhaul.domain.convert import VIEW_RESOURCES, Interner, ViewBuilder, api_usage, server_version
from overhaul.kube.client import (
    DEFAULT_PAGE_SIZE,
    METADATA_ONLY,
    ApiClient,
    Discovery,
    ListPage,
    resource_path,
)
from overhaul.kube.errors import ApiError, Forbidden, NotFound

# (group, plural) of resources whose objects are not scanned for API usage (see the module doc).
USAGE_SKIPPED = frozenset({("events.k8s.io", "events")})


@dataclass(frozen=True)
class ViewResource:
    """A resource the ClusterView is made of."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        return resource_path(self.group, self.version, self.plural)


VIEW = tuple(ViewResource(*r) for r in VIEW_RESOURCES)


def view_resources(discovery: Discovery) -> tuple[list[ViewResource], list[str]]:
    """The view's resources the server serves, and notes on those it does not."""
    served: list[ViewResource] = []
    notes: list[str] = []
    for res in VIEW:
        if discovery.resources and discovery.find(res.group, res.version, res.plural) is None:
            notes.append(f"{res.group_version} {res.plural} is not served")
        else:
            served.append(res)
    return served, notes


def usage_resources(discovery: Discovery) -> list[ServedResource]:
    """The resources (outside the view's own) whose objects are scanned for API usage."""
    own = {(r.group, r.plural) for r in VIEW}
    return [
        r
        for r in discovery.preferred_resources()
        if r.group and r.listable and (r.group, r.name) not in own and (r.group, r.name) not in USAGE_SKIPPED
    ]


def read_pages(client: ApiClient, res: ViewResource, page_size: int) -> Iterator[ListPage]:
    """The pages of one of the view's resources; a resource the server does not have yields nothing.

    Pods are prefetched: the next page is on its way while this one is converted.
    """
    try:
        yield from client.list_pages(res.path, limit=page_size, prefetch=res.plural == "pods")
    except NotFound:
        return


def scan_usage(
    client: ApiClient, resource: ServedResource, page_size: int = DEFAULT_PAGE_SIZE
) -> tuple[list[ObjectApiUsage], str | None]:
    """The API usage recorded by the objects of one resource (metadata-only list), and a note if
    the resource could not be read (403: RBAC; 404/405: gone meanwhile, not really listable)."""
    path = resource_path(resource.group, resource.version, resource.name)
    found: list[ObjectApiUsage] = []
    try:
        for page in client.list_pages(path, limit=page_size, accept=METADATA_ONLY):
            if page.restarted:
                found = []
            for item in page.items:
                usage = api_usage(item, resource.group_version, resource.kind)
                if usage is not None:
                    found.append(usage)
    except (Forbidden, NotFound) as err:
        return [], f"{resource.group_version} {resource.name}: not read for API usage: {err}"
    except ApiError as err:
        if err.code in (405, 503):
            return [], f"{resource.group_version} {resource.name}: not read for API usage: {err}"
        raise
    return found, None


def _read_view_resource(
    client: ApiClient, res: ViewResource, interner: Interner, page_size: int
) -> ViewBuilder:
    builder = ViewBuilder(interner)
    for page in read_pages(client, res, page_size):
        if page.restarted:
            builder = ViewBuilder(interner)
        builder.add_all(page.items, res.kind)
        if res.group:  # core objects are never written with removed versions (see the module doc)
            for item in page.items:
                usage = api_usage(item, res.group_version, res.kind)
                if usage is not None:
                    builder.api_usage.append(usage)
    return builder


def load_cluster_view(
    client: ApiClient,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    with_api_usage: bool = True,
    workers: int = 4,
) -> ClusterView:
    """Reads the cluster: version, discovery, nodes, pods, workloads, PDBs, namespaces, CRDs and
    (unless `with_api_usage` is False) the API usage of every object of the other resources.

    Resources are read in parallel (`workers` threads); pages of one list are sequential.
    """
    observed_at = datetime.now(UTC)
    version = server_version(client.version())
    discovery = client.discover()
    notes = [f"{gv}: discovery failed: {why}" for gv, why in discovery.failed]
    served, missing = view_resources(discovery)
    notes.extend(missing)
    interner = Interner()
    result = ViewBuilder(interner)
    # Pods first: the longest list starts first and the others fit around it.
    ordered = sorted(served, key=lambda r: r.plural != "pods")
    extra = usage_resources(discovery) if with_api_usage else []
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="overhaul-view")
    try:
        view_jobs = [pool.submit(_read_view_resource, client, res, interner, page_size) for res in ordered]
        usage_jobs = [pool.submit(scan_usage, client, r, page_size) for r in extra]
        for job in view_jobs:
            result.merge(job.result())
        for usage_job in usage_jobs:
            usages, note = usage_job.result()
            result.api_usage.extend(usages)
            if note:
                notes.append(note)
    finally:
        # On a failure, do not wait for the other lists to finish.
        pool.shutdown(wait=True, cancel_futures=True)
    if not with_api_usage:
        result.api_usage.clear()
    return result.build(version, discovery.resources, observed_at, notes)
