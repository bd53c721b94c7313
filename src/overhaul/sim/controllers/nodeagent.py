"""The Node object through a kubelet's life: registration, a reboot for an upgrade, and the return.

The upgrade request travels as a real node agent's does (system-upgrade-controller, kured): an
annotation on the Node that the agent on that node watches. While the kubelet is down the node
shows what the node lifecycle controller makes of a silent kubelet: Ready=Unknown and the
`node.kubernetes.io/unreachable` taints. The protocol is documented in docs/sim.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from overhaul.sim.nodes import make_node, node_conditions

JSONDict = dict[str, Any]

REQUEST = "upgrade.overhaul.io/kubelet-version"
STATE = "upgrade.overhaul.io/state"
UPGRADING, DONE = "upgrading", "done"
REBOOT_SECONDS = "sim.overhaul.io/reboot-seconds"
FAIL_UPGRADE = "sim.overhaul.io/fail-upgrade"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
SILENT_REASON = "NodeStatusUnknown"
SILENT_MESSAGE = "Kubelet stopped posting node status."


def node_annotations(node: JSONDict) -> dict[str, str]:
    return dict((node.get("metadata") or {}).get("annotations") or {})


def kubelet_version(node: JSONDict) -> str:
    return str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or "")


def has_ready_condition(node: JSONDict) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(isinstance(c, dict) and c.get("type") == "Ready" for c in conditions)


def upgrade_wanted(node: JSONDict) -> str | None:
    """The version the upgrader asked for, when the node does not run it yet (or was mid-upgrade)."""
    ann = node_annotations(node)
    want = ann.get(REQUEST)
    if not want:
        return None
    if want != kubelet_version(node) or ann.get(STATE) == UPGRADING:
        return want
    return None


def with_annotation(node: JSONDict, key: str, value: str) -> JSONDict:
    meta = dict(node.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), key: value}
    meta.pop("managedFields", None)
    return {**node, "metadata": meta}


def with_taints(node: JSONDict, taints: list[JSONDict]) -> JSONDict:
    spec = dict(node.get("spec") or {})
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    return {**node, "spec": spec}


def down_taints(node: JSONDict, now: str) -> list[JSONDict]:
    """The node lifecycle controller's taints for a node whose kubelet went silent."""
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") not in (UNREACHABLE,)]
    taints.append({"key": UNREACHABLE, "effect": "NoSchedule"})
    taints.append({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now})
    return taints


def up_taints(node: JSONDict) -> list[JSONDict]:
    return [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("key") not in (UNREACHABLE, NOT_READY)
    ]


def silent_status(node: JSONDict, now: str) -> JSONDict:
    """Every condition Unknown, heartbeats frozen: what a rebooting node shows."""
    status = dict(node.get("status") or {})
    conditions = []
    for c in status.get("conditions") or []:
        conditions.append(
            {
                **c,
                "status": "Unknown",
                "reason": SILENT_REASON,
                "message": SILENT_MESSAGE,
                "lastTransitionTime": now
                if c.get("status") != "Unknown"
                else c.get("lastTransitionTime", now),
            }
        )
    status["conditions"] = conditions
    return status


def returned_status(node: JSONDict, version: str, now: str) -> JSONDict:
    """Back from the reboot: healthy conditions, the new kubelet, a new boot id."""
    status = dict(node.get("status") or {})
    status["conditions"] = node_conditions(True, now)
    info = dict(status.get("nodeInfo") or {})
    info.update(kubeletVersion=version, kubeProxyVersion=version, bootID=str(uuid.uuid4()))
    status["nodeInfo"] = info
    return status


def registered_status(node: JSONDict, version: str, now: str, ip: str) -> JSONDict:
    """A Node created without a kubelet's status (`kubectl create -f node.yaml`): what its kubelet
    posts when it starts, keeping what the object already says."""
    name = str((node.get("metadata") or {}).get("name") or "")
    template = make_node(name, version, now, ip)["status"]
    status = dict(node.get("status") or {})
    capacity = status.get("capacity") or template["capacity"]
    status["capacity"] = capacity
    status.setdefault("allocatable", dict(capacity))
    status["conditions"] = node_conditions(True, now)
    status.setdefault("addresses", template["addresses"])
    status.setdefault("daemonEndpoints", template["daemonEndpoints"])
    info = {**template["nodeInfo"], **(status.get("nodeInfo") or {})}
    info["bootID"] = info.get("bootID") or str(uuid.uuid4())
    status["nodeInfo"] = info
    return status
