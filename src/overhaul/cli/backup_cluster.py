"""The backup package's cluster ports (`overhaul.backup.ports`) over the kube API client.

The backup package may not import the kube adapter (adapters depend only on the domain), so this
thin wiring lives with the commands that use it: `backup`, `restore`, and later `apply`, which
takes a backup before acting.
"""

from __future__ import annotations

from collections.abc import Iterator

from overhaul.backup.errors import ObjectExists, ObjectRejected
from overhaul.backup.ports import JSON, ClusterIdentity, Page, ServedApis
from overhaul.domain.cluster import ServedResource
from overhaul.kube.client import ApiClient, resource_path
from overhaul.kube.errors import ApiError, Conflict, NotFound, Unauthorized

PAGE_SIZE = 500  # kubectl's --chunk-size


def _path(resource: ServedResource, namespace: str | None, name: str = "") -> str:
    return resource_path(resource.group, resource.version, resource.name, namespace, name)


def _rejected(err: ApiError) -> ObjectRejected:
    return ObjectRejected(f"{err.status_message or err.reason or 'refused'} ({err.code})", err.code)


class KubeBackupCluster:
    """`ClusterWriter` for one API server. Failures that concern one object (409, 422, 403 on a
    kind, ...) become ObjectExists/ObjectRejected; losing the cluster (unreachable, 401) propagates
    as the kube error it is."""

    def __init__(self, client: ApiClient, *, page_size: int = PAGE_SIZE) -> None:
        self.client = client
        self.page_size = page_size

    def identity(self) -> ClusterIdentity:
        version = self.client.version()
        return ClusterIdentity(
            self.client.server, self.client.connection.context or "", str(version.get("gitVersion") or "")
        )

    def discover(self) -> ServedApis:
        found = self.client.discover()
        return ServedApis(found.resources, found.preferred_resources(), found.failed)

    def list_pages(self, resource: ServedResource, namespace: str | None) -> Iterator[Page]:
        pages = self.client.list_pages(_path(resource, namespace), limit=self.page_size, prefetch=True)
        for page in pages:
            yield Page(page.items, page.restarted)

    def get(self, resource: ServedResource, namespace: str | None, name: str) -> JSON | None:
        try:
            return self.client.get(_path(resource, namespace, name))
        except NotFound:
            return None

    def create(
        self, resource: ServedResource, namespace: str | None, body: JSON, *, dry_run: bool = False
    ) -> JSON:
        params = {"dryRun": "All"} if dry_run else None
        try:
            return self.client.post(_path(resource, namespace), body, params)
        except Conflict as err:
            if err.reason == "AlreadyExists":
                raise ObjectExists(str(err)) from err
            raise _rejected(err) from err
        except Unauthorized:
            raise
        except ApiError as err:
            raise _rejected(err) from err

    def replace(
        self, resource: ServedResource, namespace: str | None, name: str, body: JSON, *, dry_run: bool = False
    ) -> JSON:
        params = {"dryRun": "All"} if dry_run else None
        try:
            return self.client.put(_path(resource, namespace, name), body, params)
        except Unauthorized:
            raise
        except ApiError as err:
            raise _rejected(err) from err
