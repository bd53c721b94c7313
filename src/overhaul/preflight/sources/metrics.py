"""`apiserver_requested_deprecated_apis` from the API server's /metrics: deprecated API versions that
clients requested since the server started (a gauge of 1 per group, version, resource and
subresource, with the `removed_release` the server announces).

The metric names resources (`ingresses`), the removed-API table kinds (`Ingress`): the kind is
found in the table by plural, then in the cluster's discovery, else the resource name stays.
"""

from __future__ import annotations

from collections.abc import Iterable

from overhaul.domain.cluster import ObjectRef, ServedResource
from overhaul.knowledge import apis
from overhaul.preflight.input import METRICS, ApiUsage

METRIC = "apiserver_requested_deprecated_apis"


class MetricsError(ValueError):
    """/metrics text that is not in the Prometheus text format."""


def plural_of(kind: str) -> str:
    """The resource name the API gives a kind: `Ingress` → `ingresses`, `NetworkPolicy` →
    `networkpolicies`, `Endpoints` → `endpoints`."""
    lower = kind.lower()
    if lower.endswith("endpoints"):
        return lower
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def _kind(group: str, version: str, resource: str, served: Iterable[ServedResource]) -> str:
    for entry in apis.removed_apis():
        gvk = entry.gvk
        if gvk.group == group and gvk.version == version and plural_of(gvk.kind) == resource:
            return gvk.kind
    for r in served:
        if r.group == group and r.version == version and r.name == resource:
            return r.kind
    return resource


def requested_deprecated_apis(text: str, served: Iterable[ServedResource] = ()) -> list[ApiUsage]:
    """The deprecated API versions requested, as usages with source `metrics` (subresources fold
    into their resource)."""
    from prometheus_client.parser import text_string_to_metric_families  # deferred: only with a live cluster

    known = tuple(served)
    found: dict[tuple[str, str, str], ApiUsage] = {}
    # An apiserver's /metrics runs to tens of megabytes: parse only the lines of this metric.
    relevant = "".join(line + "\n" for line in text.splitlines() if METRIC in line)
    try:
        families = list(text_string_to_metric_families(relevant))
    except (ValueError, TypeError, IndexError) as err:
        raise MetricsError(f"/metrics is not in the Prometheus text format: {err}") from None
    for family in families:
        if family.name != METRIC:
            continue
        for sample in family.samples:
            if sample.name != METRIC or sample.value <= 0:
                continue
            labels = sample.labels
            group, version, resource = (
                labels.get("group", ""),
                labels.get("version", ""),
                labels.get("resource", ""),
            )
            if not version or not resource:
                continue
            api_version = f"{group}/{version}" if group else version
            key = (group, version, resource)
            if key not in found:
                ref = ObjectRef(api_version, _kind(group, version, resource, known), "", "")
                found[key] = ApiUsage(ref, METRICS, labels.get("removed_release") or None)
    return list(found.values())
