"""A kubeadm-style control plane: static pods per control-plane node, the version /version reports,
and the kube-system add-ons (kube-proxy, the kindnet CNI, CoreDNS) a kubeadm cluster runs.

The static pods are the kubelet's: it creates their mirror pods (kube-system/<component>-<node>) and
replaces them when a node upgrade changes the manifests. A client of an HA cluster reaches one of the
kube-apiservers behind a load balancer, so /version rotates among the Ready ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

JSONDict = dict[str, Any]

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
REGISTRY = "registry.k8s.io"
CLUSTER_CIDR = "10.224.0.0/11"
SERVICE_CIDR = "10.96.0.0/12"
DNS_SERVICE_IP = "10.96.0.10"
KINDNET_IMAGE = "docker.io/kindest/kindnetd:v20250512-df8de77b"

# kubeadm's pairing of etcd and CoreDNS with a Kubernetes minor (cmd/kubeadm/app/constants,
# SupportedEtcdVersion and CoreDNSVersion, as of the newest patch releases known on 2025-12-01).
ETCD_VERSIONS = {
    28: "3.5.9-0",
    29: "3.5.10-0",
    30: "3.5.15-0",
    31: "3.5.24-0",
    32: "3.5.24-0",
    33: "3.5.24-0",
    34: "3.6.5-0",
    35: "3.6.6-0",
    36: "3.6.9-0",
}
COREDNS_VERSIONS = {
    28: "v1.10.1",
    29: "v1.11.1",
    30: "v1.11.1",
    31: "v1.11.3",
    32: "v1.11.3",
    33: "v1.12.0",
    34: "v1.12.1",
    35: "v1.13.1",
    36: "v1.13.1",
}
# kubeadm's resource requests for its static pods.
_REQUESTS = {
    "etcd": {"cpu": "100m", "memory": "100Mi"},
    "kube-apiserver": {"cpu": "250m"},
    "kube-controller-manager": {"cpu": "200m"},
    "kube-scheduler": {"cpu": "100m"},
}


def minor_of(version: str) -> int:
    parts = version.lstrip("v").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _paired(table: dict[int, str], version: str) -> str:
    """kubeadm's rule: the entry for the minor, else the nearest one."""
    minor = minor_of(version)
    nearest = min(table, key=lambda m: (abs(m - minor), -m))
    return table[nearest]


def image_for(component: str, version: str) -> str:
    if component == "etcd":
        return f"{REGISTRY}/etcd:{_paired(ETCD_VERSIONS, version)}"
    return f"{REGISTRY}/{component}:{version}"


def is_mirror_pod(pod: JSONDict) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def is_control_plane(node: JSONDict) -> bool:
    return CONTROL_PLANE_LABEL in ((node.get("metadata") or {}).get("labels") or {})


def static_pod_name(component: str, node: str) -> str:
    return f"{component}-{node}"


def _command(component: str, ip: str) -> list[str]:
    if component == "kube-apiserver":
        return [
            "kube-apiserver",
            f"--advertise-address={ip}",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--etcd-servers=https://127.0.0.1:2379",
            "--secure-port=6443",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ]
    if component == "kube-controller-manager":
        return [
            "kube-controller-manager",
            "--allocate-node-cidrs=true",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--kubeconfig=/etc/kubernetes/controller-manager.conf",
            "--leader-elect=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--use-service-account-credentials=true",
        ]
    if component == "kube-scheduler":
        return ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"]
    return [
        "etcd",
        f"--advertise-client-urls=https://{ip}:2379",
        "--data-dir=/var/lib/etcd",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379",
        "--name={node}",
    ]


def static_pod(component: str, node: JSONDict, version: str, seen: str) -> JSONDict:
    """The mirror pod of one static pod, as a kubelet posts it for its manifest file."""
    meta = node.get("metadata") or {}
    node_name = str(meta.get("name") or "")
    ip = node_ip(node)
    command = [arg.replace("{node}", node_name) for arg in _command(component, ip)]
    container = {
        "name": component,
        "image": image_for(component, version),
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "resources": {"requests": dict(_REQUESTS[component])},
    }
    spec = {
        "containers": [container],
        "hostNetwork": True,
        "nodeName": node_name,
        "priority": 2000001000,
        "priorityClassName": "system-node-critical",
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
    }
    config_hash = hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    annotations = {
        "kubernetes.io/config.hash": config_hash,
        MIRROR_ANNOTATION: config_hash,
        "kubernetes.io/config.seen": seen,
        "kubernetes.io/config.source": "file",
    }
    if component == "kube-apiserver":
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = f"{ip}:6443"
    elif component == "etcd":
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = f"https://{ip}:2379"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": static_pod_name(component, node_name),
            "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": node_name,
                    "uid": str(meta.get("uid") or ""),
                    "controller": True,
                }
            ],
        },
        "spec": spec,
    }


def node_ip(node: JSONDict) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == "InternalIP":
            return str(address.get("address") or "")
    return ""


def pod_image(pod: JSONDict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("image") or "")


def pod_version(pod: JSONDict) -> str:
    """The version in a static pod's image tag (kube-apiserver:v1.34.2 → v1.34.2)."""
    return pod_image(pod).split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]


class ApiServers:
    """The kube-apiservers a client reaches behind the load balancer, per control-plane node."""

    def __init__(self, fallback: str) -> None:
        self.fallback = fallback
        self._by_node: dict[str, tuple[str, bool]] = {}
        self._turn = 0

    def observe(self, node: str, version: str, ready: bool) -> None:
        self._by_node[node] = (version, ready)

    def forget(self, node: str) -> None:
        self._by_node.pop(node, None)

    def version_on(self, node: str) -> str | None:
        entry = self._by_node.get(node)
        return entry[0] if entry else None

    def served_version(self) -> str:
        """Round-robin over the Ready apiservers; with none Ready, what one of them last ran."""
        entries = sorted(self._by_node.items())
        ready = [version for _, (version, ok) in entries if ok]
        if not ready:
            return entries[0][1][0] if entries else self.fallback
        self._turn += 1
        return ready[self._turn % len(ready)]


# ----- kube-system add-ons ------------------------------------------------------------------


def _service_account(name: str) -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "kube-system"},
    }


def _node_env(*names: tuple[str, str]) -> list[JSONDict]:
    return [{"name": n, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": p}}} for n, p in names]


def kube_proxy(version: str) -> JSONDict:
    labels = {"k8s-app": "kube-proxy"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "kube-proxy",
                            "image": f"{REGISTRY}/kube-proxy:{version}",
                            "command": [
                                "/usr/local/bin/kube-proxy",
                                "--config=/var/lib/kube-proxy/config.conf",
                                "--hostname-override=$(NODE_NAME)",
                            ],
                            "env": _node_env(("NODE_NAME", "spec.nodeName")),
                            "securityContext": {"privileged": True},
                        }
                    ],
                    "hostNetwork": True,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def kindnet() -> JSONDict:
    labels = {"app": "kindnet", "k8s-app": "kindnet", "tier": "node"}
    resources = {"cpu": "100m", "memory": "50Mi"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kindnet", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": {"app": "kindnet"}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "kindnet-cni",
                            "image": KINDNET_IMAGE,
                            "env": [
                                *_node_env(("HOST_IP", "status.hostIP"), ("POD_IP", "status.podIP")),
                                {"name": "POD_SUBNET", "value": CLUSTER_CIDR},
                            ],
                            "resources": {"requests": dict(resources), "limits": dict(resources)},
                            "securityContext": {"capabilities": {"add": ["NET_RAW", "NET_ADMIN"]}},
                        }
                    ],
                    "hostNetwork": True,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "serviceAccountName": "kindnet",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def coredns(version: str) -> JSONDict:
    labels = {"k8s-app": "kube-dns"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "coredns",
                            "image": f"{REGISTRY}/coredns/coredns:{_paired(COREDNS_VERSIONS, version)}",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                            ],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"}},
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "70Mi"},
                                "limits": {"memory": "170Mi"},
                            },
                        }
                    ],
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {
                                            "matchExpressions": [
                                                {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}
                                            ]
                                        },
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"},
                    ],
                },
            },
        },
    }


def kube_dns_service() -> JSONDict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {
                "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
            },
        },
        "spec": {
            "clusterIP": DNS_SERVICE_IP,
            "selector": {"k8s-app": "kube-dns"},
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }


def kube_system_objects(version: str) -> list[JSONDict]:
    """The add-ons of a kubeadm cluster at `version`: kube-proxy and kindnet DaemonSets, the CoreDNS
    Deployment and its kube-dns Service, with their ServiceAccounts (pods come from the controllers)."""
    return [
        _service_account("kube-proxy"),
        _service_account("kindnet"),
        _service_account("coredns"),
        kube_proxy(version),
        kindnet(),
        coredns(version),
        kube_dns_service(),
    ]
