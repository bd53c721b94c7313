"""Request counters in the apiserver's Prometheus format, labelled by client too."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class ApiMetrics:
    """`apiserver_request_total` by verb, group, version, resource, subresource, scope, code and client;
    `apiserver_requested_deprecated_apis`, 1 per deprecated resource version requested since start."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, "
            "resource, scope, component, HTTP response code and client (user agent product).",
            [
                "verb",
                "dry_run",
                "group",
                "version",
                "resource",
                "subresource",
                "scope",
                "component",
                "code",
                "client",
            ],
            registry=self.registry,
        )
        self.watchers = Gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, "
            "resource, scope and component.",
            ["verb", "group", "version", "resource", "subresource", "scope", "component"],
            registry=self.registry,
        )
        self.deprecated = Gauge(
            "apiserver_requested_deprecated_apis",
            "[STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, "
            "resource, subresource, and removed_release.",
            ["group", "version", "resource", "subresource", "removed_release"],
            registry=self.registry,
        )
        self.objects = Gauge(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind.",
            ["resource"],
            registry=self.registry,
        )

    def count(
        self,
        verb: str,
        group: str,
        version: str,
        resource: str,
        subresource: str,
        scope: str,
        code: int,
        client: str,
        dry_run: bool = False,
    ) -> None:
        self.requests.labels(
            verb,
            "All" if dry_run else "",
            group,
            version,
            resource,
            subresource,
            scope,
            "apiserver",
            str(code),
            client,
        ).inc()

    def requested_deprecated(
        self, group: str, version: str, resource: str, subresource: str, removed_release: str
    ) -> None:
        """A request reached a deprecated resource version (any verb, any answer, as the apiserver counts)."""
        self.deprecated.labels(group, version, resource, subresource, removed_release).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def client_of(user_agent: str) -> str:
    """The product of a user agent: `kubectl/v1.32.2 (linux/amd64) kubernetes/abc` → `kubectl`."""
    product = user_agent.split(" ", 1)[0].split("/", 1)[0].strip()
    return product or "unknown"
