"""Picks a node upgrader by name, from the settings a plan file or the command line gives.

create_provider("exec", {"worker": "upgrade-node.sh {node} {version}"})
create_provider("kubeadm", {"user": "ubuntu", "package_manager": "apt"})
create_provider("sim", api=client)      # client: an overhaul.kube.client.ApiClient
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from overhaul.providers.base import Provider, ProviderConfigError, check_keys
from overhaul.providers.exec import ExecUpgrader
from overhaul.providers.kubeadm import KubeadmUpgrader
from overhaul.providers.sim import NodeApi, SimUpgrader

Factory = Callable[[Mapping[str, Any], NodeApi | None], Provider]


def _sim(config: Mapping[str, Any], api: NodeApi | None) -> Provider:
    check_keys("sim", config, ("name",))
    if api is None:
        raise ProviderConfigError("provider sim needs a connection to the cluster")
    return SimUpgrader(api)


def _exec(config: Mapping[str, Any], api: NodeApi | None) -> Provider:
    return ExecUpgrader.from_config(config)


def _kubeadm(config: Mapping[str, Any], api: NodeApi | None) -> Provider:
    return KubeadmUpgrader.from_config(config)


PROVIDERS: Mapping[str, tuple[Factory, str]] = {
    "sim": (_sim, "the embedded cluster's node agent, through a Node annotation"),
    "exec": (_exec, "your own command per node (command templates)"),
    "kubeadm": (_kubeadm, "the kubeadm upgrade procedure over ssh"),
}


def provider_names() -> tuple[str, ...]:
    return tuple(PROVIDERS)


def describe_providers() -> dict[str, str]:
    return {name: text for name, (_, text) in PROVIDERS.items()}


def create_provider(
    name: str, config: Mapping[str, Any] | None = None, *, api: NodeApi | None = None
) -> Provider:
    """The provider `name` with its settings (`config`; a `name` key in it must agree). Unknown
    providers and bad settings raise ProviderConfigError with a one-line message."""
    settings = dict(config or {})
    if settings.get("name", name) != name:
        raise ProviderConfigError(f"provider settings name {settings['name']!r}, not {name!r}")
    entry = PROVIDERS.get(name)
    if entry is None:
        raise ProviderConfigError(f"unknown provider {name!r} (known: {', '.join(PROVIDERS)})")
    factory, _ = entry
    return factory(settings, api)
