"""The endpoints controller in virtual time: addresses from selected pods, readiness, named ports,
headless services, services without selectors."""

from __future__ import annotations

from typing import Any

from overhaul.sim.controllers.endpoints import subsets_for
from tests.unit.workloads import Env, deployment

JSONDict = dict[str, Any]


def service(name: str = "web", selector: dict[str, str] | None = None, **spec: Any) -> JSONDict:
    body: JSONDict = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"team": "a"}},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec},
    }
    if selector is not None:
        body["spec"]["selector"] = selector
    return body


def web(replicas: int = 2, port: int = 8080) -> JSONDict:
    d = deployment("web", replicas)
    d["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": port}]
    return d


def addresses(env: Env, kind: str = "addresses") -> list[str]:
    ep = env.get("", "endpoints", "web")
    return sorted(a["targetRef"]["name"] for s in ep.get("subsets") or [] for a in s.get(kind) or [])


def test_ready_pods_become_addresses_with_resolved_named_ports() -> None:
    env = Env()
    env.create(web())
    env.create(service(selector={"app": "web"}))
    env.run(10)
    ep = env.get("", "endpoints", "web")
    assert ep["metadata"]["labels"] == {"team": "a"}
    (subset,) = ep["subsets"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    pods = {p["metadata"]["name"]: p for p in env.pods("app=web")}
    assert len(subset["addresses"]) == 2
    for address in subset["addresses"]:
        pod = pods[address["targetRef"]["name"]]
        assert address["ip"] == pod["status"]["podIP"]
        assert address["nodeName"] == pod["spec"]["nodeName"]
        assert address["targetRef"] == {
            "kind": "Pod",
            "namespace": "default",
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
        }


def test_unready_pods_are_not_ready_addresses_unless_published() -> None:
    env = Env()
    env.kubelet.ready_after = 100.0
    env.create(web())
    env.create(service(selector={"app": "web"}))
    env.run(5)
    assert addresses(env) == [] and len(addresses(env, "notReadyAddresses")) == 2
    env.create(service("all", selector={"app": "web"}, publishNotReadyAddresses=True))
    env.run(1)
    ep = env.get("", "endpoints", "all")
    assert len(ep["subsets"][0]["addresses"]) == 2
    env.run(100)
    assert len(addresses(env)) == 2


def test_pods_leave_when_deleted_or_relabelled() -> None:
    env = Env()
    env.create(web(3))
    env.create(service(selector={"app": "web"}))
    env.run(10)
    first, _second, _third = env.pods("app=web")
    env.patch("", "pods", first["metadata"]["name"], lambda p: p["metadata"]["labels"].update(app="debug"))
    env.run(10)
    names = addresses(env)
    assert first["metadata"]["name"] not in names and len(names) == 3  # a replacement joined
    env.patch("apps", "deployments", "web", lambda d: d["spec"].update(replicas=0))
    env.run(10)
    assert env.get("", "endpoints", "web").get("subsets") is None


def test_headless_services_carry_hostnames_and_the_headless_label() -> None:
    env = Env()
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    env.create(sts)
    env.create(service(selector={"app": "web"}, clusterIP="None", ports=[]))
    env.run(20)
    ep = env.get("", "endpoints", "web")
    assert ep["metadata"]["labels"] == {"team": "a", "service.kubernetes.io/headless": ""}
    (subset,) = ep["subsets"]
    assert sorted(a["hostname"] for a in subset["addresses"]) == ["web-0", "web-1"]
    assert "ports" not in subset


def test_services_without_selectors_are_left_alone_and_deleted_services_lose_endpoints() -> None:
    env = Env()
    env.create(service("manual"))
    env.run(1)
    assert env.find("", "endpoints", "manual") is None
    env.create(web())
    env.create(service(selector={"app": "web"}))
    env.run(10)
    env.delete("", "services", "web")
    env.run(1)
    assert env.find("", "endpoints", "web") is None


def test_named_ports_group_pods_by_resolved_port() -> None:
    svc = service(selector={"app": "x"})

    def pod(name: str, ip: str, port: int | None) -> JSONDict:
        ports = [{"name": "http", "containerPort": port}] if port else []
        return {
            "metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"containers": [{"name": "c", "ports": ports}]},
            "status": {"podIP": ip, "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }

    subsets, truncated = subsets_for(
        svc, [pod("a", "10.0.0.2", 8080), pod("b", "10.0.0.1", 9090), pod("c", "10.0.0.3", None)]
    )
    assert not truncated
    assert [([a["ip"] for a in s["addresses"]], s["ports"][0]["port"]) for s in subsets] == [
        (["10.0.0.2"], 8080),
        (["10.0.0.1"], 9090),
    ]
