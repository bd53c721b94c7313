"""core/v1 Events as the cluster's components record them (what `kubectl describe` and `get events` show)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overhaul.sim.clock import rfc3339
from overhaul.sim.cluster import WriteOptions
from overhaul.sim.metadata import random_suffix

if TYPE_CHECKING:
    from overhaul.sim.cluster import Cluster

JSONDict = dict[str, Any]


def record_event(
    cluster: Cluster,
    involved: JSONDict,
    reason: str,
    message: str,
    component: str,
    event_type: str = "Normal",
    host: str = "",
) -> None:
    """Writes an Event about `involved` (a stored object) in its namespace (or `default`)."""
    rt = cluster.registry.get("", "v1", "events")
    if rt is None:
        return
    meta = involved.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    now = cluster.clock.now()
    source: JSONDict = {"component": component}
    if host:
        source["host"] = host
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'unknown')}.{random_suffix(16)}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": source,
        "firstTimestamp": rfc3339(now),
        "lastTimestamp": rfc3339(now),
        "eventTime": None,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    cluster.create(rt, namespace, event, WriteOptions.system(component))
