"""Request counters in the apiserver's Prometheus format, labelled by client too."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from overhaul.sim.api.deprecations import Deprecation

# kube-apiserver's buckets for `apiserver_request_duration_seconds` (k8s.io/apiserver/pkg/endpoints/metrics).
LATENCY_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0,
    20.0, 30.0, 45.0, 60.0,
)  # fmt: skip
# Long-running requests are not timed, as the apiserver's latency SLOs leave them out.
LONG_RUNNING_VERBS = frozenset({"WATCH", "CONNECT"})


@dataclass
class RequestInfo:
    """What the metrics need to know about a request once it is answered."""

    verb: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    scope: str = ""
    dry_run: bool = False
    deprecation: Deprecation | None = None  # a deprecated resource version: warn and count


class ApiMetrics:
    """`apiserver_request_total` by verb, group, version, resource, subresource, scope, code and client;
    `apiserver_request_duration_seconds`, from the request's arrival to the last byte of its answer
    handed to the connection (the latency the Kubernetes API call SLOs are stated in);
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
        self.latency = Histogram(
            "apiserver_request_duration_seconds",
            "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, "
            "version, resource, subresource, scope and component.",
            ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"],
            buckets=LATENCY_BUCKETS,
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

    def count(self, info: RequestInfo, code: int, client: str) -> None:
        self.requests.labels(*self._labels(info), str(code), client).inc()

    def observe_latency(self, info: RequestInfo, seconds: float) -> None:
        """One answered request's latency; long-running ones (watches) are not timed."""
        if info.verb not in LONG_RUNNING_VERBS:
            self.latency.labels(*self._labels(info)).observe(seconds)

    @staticmethod
    def _labels(info: RequestInfo) -> tuple[str, ...]:
        """verb, dry_run, group, version, resource, subresource, scope, component."""
        dry_run = "All" if info.dry_run else ""
        return (
            info.verb,
            dry_run,
            info.group,
            info.version,
            info.resource,
            info.subresource,
            info.scope,
            "apiserver",
        )

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
