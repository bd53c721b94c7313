"""The drain engine's access to a cluster (`engine.drain.ports.DrainCluster`) over the API.

Requests are the ones kubectl drain sends (a strategic merge patch of `spec.unschedulable`,
policy/v1 Evictions, pod lists by `spec.nodeName`), except that pods are followed with one
list-then-watch per node instead of a GET per pod per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from overhaul.domain.eviction import MULTIPLE_BUDGETS_MESSAGE, EvictionOutcome, EvictionResult
from overhaul.kube.client import ApiClient, resource_path
from overhaul.kube.errors import (
    ApiError,
    Conflict,
    Forbidden,
    KubeError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unreachable,
)
from overhaul.kube.reflector import Reflector, WatchEvent

JSON = dict[str, Any]
Sink = Callable[[str, Mapping[str, Any]], None]  # (ADDED | MODIFIED | DELETED, object)

_NAMESPACE_TERMINATING = "NamespaceTerminating"
_WRITE_ATTEMPTS = 6
_DISRUPTION_BUDGET = "DisruptionBudget"


class KubeDrainCluster:
    """Implements the drain port with an `ApiClient`."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    # ----- nodes

    def node(self, name: str) -> JSON | None:
        try:
            return self.client.get(resource_path("", "v1", "nodes", name=name))
        except NotFound:
            return None

    def nodes(self, label_selector: str) -> list[JSON]:
        try:
            items, _ = self.client.list_all("/api/v1/nodes", {"labelSelector": label_selector})
        except ApiError as err:
            if err.code == 400:
                raise ValueError(err.status_message or str(err)) from err
            raise
        return items

    def set_unschedulable(self, name: str, unschedulable: bool) -> None:
        # What `kubectl cordon` sends; `null` rather than false removes the field, as kubectl does.
        # The patch names no resourceVersion, so a conflict or a server error is passing and the
        # patch is sent again (the client already resends what the server refused with Retry-After).
        body = {"spec": {"unschedulable": True if unschedulable else None}}
        path = resource_path("", "v1", "nodes", name=name)
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                self.client.patch(path, body, patch_type="strategic")
                return
            except (Conflict, ApiError, Unreachable) as err:
                passing = isinstance(err, Conflict | Unreachable) or err.code in (429, 500, 502, 503, 504)
                if not passing or attempt == _WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(min(0.2 * 2**attempt, 3.0))

    def check_pod_selector(self, selector: str) -> None:
        """Raises ValueError if the API server refuses the label selector."""
        if not selector:
            return
        try:
            self.client.get("/api/v1/pods", {"labelSelector": selector, "limit": 1})
        except ApiError as err:
            if err.code == 400:
                raise ValueError(err.status_message or str(err)) from err
            raise

    # ----- pods

    def daemonset_exists(self, namespace: str, name: str) -> bool | str:
        try:
            self.client.get(resource_path("apps", "v1", "daemonsets", namespace, name))
        except NotFound:
            return False
        except KubeError as err:
            return str(err)
        return True

    def evict(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult:
        body: JSON = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        options = _delete_options(grace_seconds, dry_run)
        if options:
            body["deleteOptions"] = options
        path = resource_path("", "v1", "pods", namespace, name) + "/eviction"
        try:
            self.client.post(path, body)
        except KubeError as err:
            return eviction_result(err)
        return EvictionResult(EvictionOutcome.EVICTED)

    def delete_pod(
        self, namespace: str, name: str, uid: str, grace_seconds: int | None, dry_run: bool = False
    ) -> EvictionResult:
        body: JSON = {"apiVersion": "v1", "kind": "DeleteOptions", **_delete_options(grace_seconds, dry_run)}
        if uid:  # never delete a newer pod that took the name
            body["preconditions"] = {"uid": uid}
        try:
            self.client.delete(resource_path("", "v1", "pods", namespace, name), body)
        except Conflict:
            return EvictionResult(EvictionOutcome.GONE, "the pod was replaced")
        except KubeError as err:
            return eviction_result(err)
        return EvictionResult(EvictionOutcome.EVICTED)

    # ----- watches

    def watch_pods(self, node: str, pod_selector: str, sink: Sink) -> Reflector:
        return Reflector(
            self.client,
            "/api/v1/pods",
            field_selector=f"spec.nodeName={node}",
            label_selector=pod_selector or None,
            on_event=_forward(sink),
        ).start()

    def watch_budgets(self, sink: Sink) -> Reflector:
        return Reflector(self.client, "/apis/policy/v1/poddisruptionbudgets", on_event=_forward(sink)).start()


def _forward(sink: Sink) -> Callable[[WatchEvent], None]:
    def on_event(event: WatchEvent) -> None:
        sink(event.type, event.object)

    return on_event


def _delete_options(grace_seconds: int | None, dry_run: bool) -> JSON:
    options: JSON = {}
    if grace_seconds is not None:
        options["gracePeriodSeconds"] = grace_seconds
    if dry_run:
        options["dryRun"] = ["All"]
    return options


def eviction_result(err: KubeError) -> EvictionResult:
    """What an error answer to an eviction (or a pod DELETE) means for the drain."""
    if isinstance(err, NotFound):
        return EvictionResult(EvictionOutcome.GONE, err.status_message)
    if isinstance(err, TooManyRequests):
        budget = any(c.reason == _DISRUPTION_BUDGET for c in err.causes)
        text = _status_text(err)
        if budget or "disruption budget" in text.lower():
            return EvictionResult(EvictionOutcome.BLOCKED, text, err.retry_after)
        return EvictionResult(EvictionOutcome.THROTTLED, text, err.retry_after)
    if isinstance(err, Forbidden):
        if any(c.reason == _NAMESPACE_TERMINATING for c in err.causes):
            return EvictionResult(EvictionOutcome.NAMESPACE_TERMINATING, _status_text(err))
        return EvictionResult(EvictionOutcome.FAILED, _status_text(err))
    if isinstance(err, Unauthorized):
        return EvictionResult(EvictionOutcome.FAILED, _status_text(err))
    if isinstance(err, ApiError):
        text = _status_text(err)
        if err.code == 500 and MULTIPLE_BUDGETS_MESSAGE in text:
            return EvictionResult(EvictionOutcome.MULTIPLE_BUDGETS, text)
        if err.code in (500, 502, 503, 504) or err.code == 409:
            return EvictionResult(EvictionOutcome.TRANSIENT, text, err.retry_after)
        return EvictionResult(EvictionOutcome.FAILED, text)
    if isinstance(err, Unreachable):
        return EvictionResult(EvictionOutcome.TRANSIENT, str(err))
    return EvictionResult(EvictionOutcome.FAILED, str(err))


def _status_text(err: ApiError) -> str:
    causes = "; ".join(c.message for c in err.causes if c.message and c.message != err.status_message)
    text = err.status_message or str(err)
    return f"{text} ({causes})" if causes else text
