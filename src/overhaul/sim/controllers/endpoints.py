"""The endpoints controller (pkg/controller/endpoint): an Endpoints object per Service with a
selector, listing its pods' IPs (ready ones as addresses, the others as notReadyAddresses) with
the service's ports resolved against each pod (named targetPorts included).

Membership (which pods a service selects) is kept per service and updated from pod events, so a
pod change costs a selector match per service in its namespace, not a list of the namespace.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterable
from typing import Any

from overhaul.sim.cluster import DeleteOptions, WriteOptions
from overhaul.sim.controllers.podutil import PODS, is_ready, is_terminating, meta, pod_phase
from overhaul.sim.controllers.runtime import Controller
from overhaul.sim.errors import ApiError
from overhaul.sim.selectors import LabelSelector, SelectorError, label_selector_from_dict
from overhaul.sim.store import StorageKey, WatchEvent

JSONDict = dict[str, Any]
SERVICES: StorageKey = ("", "services")
ENDPOINTS: StorageKey = ("", "endpoints")
MANAGER = "kube-controller-manager"
MAX_ADDRESSES = 1000
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
HEADLESS = "service.kubernetes.io/headless"


def _view(pod: JSONDict | None) -> tuple[Any, ...] | None:
    """What of a pod its endpoints show: a change elsewhere (most status writes) is no news."""
    if pod is None:
        return None
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    return (
        (pod.get("metadata") or {}).get("labels"),
        status.get("podIP"),
        is_ready(pod),
        is_terminating(pod),
        status.get("phase"),
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
    )


def in_endpoints(pod: JSONDict, include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: it has an IP, is not being deleted, and has not finished for good."""
    if not (pod.get("status") or {}).get("podIP"):
        return False
    if is_terminating(pod) and not include_terminating:
        return False
    phase = pod_phase(pod)
    restart = (pod.get("spec") or {}).get("restartPolicy", "Always")
    if restart == "Never":
        return phase not in ("Failed", "Succeeded")
    if restart == "OnFailure":
        return phase != "Succeeded"
    return True


def find_port(pod: JSONDict, service_port: JSONDict) -> int | None:
    """The pod port a service port targets: a number as is, a name looked up in the containers."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and p.get("protocol", "TCP") == protocol:
                return int(p["containerPort"])
    return None


def subsets_for(service: JSONDict, pods: Iterable[JSONDict]) -> tuple[list[JSONDict], bool]:
    """The Endpoints subsets of a service, and whether they were truncated to 1,000 addresses."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    ports = spec.get("ports") or []
    svc_name = meta(service)["name"]
    groups: dict[tuple[Any, ...], tuple[list[JSONDict], list[JSONDict]]] = {}
    for pod in pods:
        if not in_endpoints(pod, publish):
            continue
        pm = meta(pod)
        address: JSONDict = {"ip": pod["status"]["podIP"]}
        pod_spec = pod.get("spec") or {}
        if pod_spec.get("hostname") and pod_spec.get("subdomain") == svc_name:
            address["hostname"] = pod_spec["hostname"]
        if pod_spec.get("nodeName"):
            address["nodeName"] = pod_spec["nodeName"]
        address["targetRef"] = {
            "kind": "Pod",
            "namespace": pm["namespace"],
            "name": pm["name"],
            "uid": pm["uid"],
        }
        resolved = []
        for sp in ports:
            number = find_port(pod, sp)
            if number is None:
                continue
            port: JSONDict = {"port": number, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                port["name"] = sp["name"]
            if sp.get("appProtocol"):
                port["appProtocol"] = sp["appProtocol"]
            resolved.append(port)
        if ports and not resolved:
            continue
        if not ports and spec.get("clusterIP") != "None":
            continue  # only headless services may have port-less endpoints
        key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in resolved))
        ready, not_ready = groups.setdefault(key, ([], []))
        (ready if publish or is_ready(pod) else not_ready).append(address)
    subsets = []
    total = 0
    truncated = False
    for key in sorted(groups):
        ready, not_ready = groups[key]
        subset: JSONDict = {}
        for name, addresses in (("addresses", ready), ("notReadyAddresses", not_ready)):
            addresses.sort(key=lambda a: (a["ip"], a["targetRef"]["uid"]))
            room = max(0, MAX_ADDRESSES - total)
            if len(addresses) > room:
                addresses, truncated = addresses[:room], True
            total += len(addresses)
            if addresses:
                subset[name] = addresses
        if not subset:
            continue
        resolved_ports = [
            {"name": n, "port": p, "protocol": proto} if n else {"port": p, "protocol": proto}
            for n, p, proto in key
        ]
        if resolved_ports:
            subset["ports"] = resolved_ports
        subsets.append(subset)
    return subsets, truncated


class EndpointsController(Controller):
    name = "endpoints"
    watches = (SERVICES, PODS, ENDPOINTS)

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self.selectors: dict[str, dict[str, LabelSelector]] = {}
        self.members: dict[tuple[str, str], set[str]] = {}
        self.opts = WriteOptions.system(MANAGER)

    def initial_items(self) -> Iterable[Hashable]:
        items: list[Hashable] = []
        for key in (PODS, SERVICES):
            for stored in list(self.cluster.store.collection(key).items.values()):
                items.extend(self.enqueue_for(key, WatchEvent(stored.rv, "ADDED", stored)))
        return items

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        obj = event.stored.obj
        ns, name = str(meta(obj).get("namespace") or ""), str(meta(obj)["name"])
        if key == SERVICES:
            return self._service_changed(event, ns, name)
        if key == ENDPOINTS:
            return ((ns, name),) if event.type == "DELETED" and name in self.selectors.get(ns, {}) else ()
        selectors = self.selectors.get(ns)
        if not selectors:
            return ()
        if event.type != "DELETED" and _view(obj) == _view(event.old):
            return ()
        labels = meta(obj).get("labels") or {}
        items = []
        for svc, selector in selectors.items():
            members = self.members.setdefault((ns, svc), set())
            if event.type != "DELETED" and selector.matches(labels):
                members.add(name)
                items.append((ns, svc))
            elif name in members:
                members.discard(name)
                items.append((ns, svc))
        return items

    def _service_changed(self, event: WatchEvent, ns: str, name: str) -> Iterable[Hashable]:
        obj = event.stored.obj
        spec = obj.get("spec") or {}
        selector_dict = spec.get("selector")
        known = self.selectors.setdefault(ns, {})
        if event.type == "DELETED" or not selector_dict or spec.get("type") == "ExternalName":
            known.pop(name, None)
            self.members.pop((ns, name), None)
            return ((ns, name),)
        try:
            selector = label_selector_from_dict({"matchLabels": selector_dict})
        except SelectorError:
            return ()
        if known.get(name) != selector:
            known[name] = selector
            pods = self.cluster.store.list(PODS, ns, selector)[0]
            self.members[(ns, name)] = {str(s.obj["metadata"]["name"]) for s in pods}
        return ((ns, name),)

    def reconcile(self, item: Hashable) -> float | None:
        assert isinstance(item, tuple)
        ns, name = item
        rt = self.cluster.registry.get("", "v1", "endpoints")
        assert rt is not None
        service = self.cluster.store.get(SERVICES, ns, name)
        current = self.cluster.store.get(ENDPOINTS, ns, name)
        if service is None:
            if current is not None:
                try:
                    self.cluster.delete(rt, ns, name, DeleteOptions(), MANAGER)
                except ApiError as err:
                    if err.code != 404:
                        raise
            return None
        if name not in self.selectors.get(ns, {}):
            return None  # endpoints of services without selectors are the user's
        pods = []
        for pod_name in self.members.get((ns, name), ()):
            stored = self.cluster.store.get(PODS, ns, pod_name)
            if stored is not None:
                pods.append(stored.obj)
        subsets, truncated = subsets_for(service.obj, pods)
        labels = dict(meta(service.obj).get("labels") or {})
        if (service.obj.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS] = ""
        body: JSONDict = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns},
        }
        if current is not None:
            body["metadata"] = copy.deepcopy(current.obj["metadata"])
        m = body["metadata"]
        annotations = dict(m.get("annotations") or {})
        annotations.pop(OVER_CAPACITY, None)
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        for field, value in (("labels", labels), ("annotations", annotations)):
            if value:
                m[field] = value
            else:
                m.pop(field, None)
        if subsets:
            body["subsets"] = subsets
        if current is None:
            self.cluster.create(rt, ns, body, self.opts)
        elif (
            {k: v for k, v in current.obj.items() if k != "metadata"}
            != {k: v for k, v in body.items() if k != "metadata"}
            or m.get("labels") != meta(current.obj).get("labels")
            or m.get("annotations") != meta(current.obj).get("annotations")
        ):
            self.cluster.update(rt, ns, name, body, self.opts)
        return None
