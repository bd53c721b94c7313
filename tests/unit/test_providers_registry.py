"""Picking a provider by name, and every provider fitting the engine's port."""

from __future__ import annotations

import pytest

from overhaul.domain.version import Version
from overhaul.engine.ports import NodeTarget, NodeUpgrader
from overhaul.providers.base import ProviderConfigError
from overhaul.providers.exec import ExecUpgrader
from overhaul.providers.kubeadm import KubeadmUpgrader
from overhaul.providers.registry import create_provider, describe_providers, provider_names
from overhaul.providers.sim import SimUpgrader


class NoApi:
    """Stands in for the API client where no request is made (dry runs)."""

    def get(self, path: str, params: object = None) -> dict[str, object]:
        raise AssertionError("no request expected")

    def patch(
        self, path: str, body: object, patch_type: str = "merge", params: object = None
    ) -> dict[str, object]:
        raise AssertionError("no request expected")

    def watch(self, path: str, resource_version: str, params: object = None, **kwargs: object) -> object:
        raise AssertionError("no request expected")


def test_names_and_descriptions() -> None:
    assert provider_names() == ("sim", "exec", "kubeadm")
    assert set(describe_providers()) == {"sim", "exec", "kubeadm"}


def test_providers_are_created_from_their_settings() -> None:
    assert isinstance(create_provider("exec", {"worker": "up {node}"}), ExecUpgrader)
    assert isinstance(create_provider("kubeadm", {"name": "kubeadm", "user": "ops"}), KubeadmUpgrader)
    assert isinstance(create_provider("sim", api=NoApi()), SimUpgrader)  # type: ignore[arg-type]


def test_bad_choices_are_one_line_errors() -> None:
    with pytest.raises(ProviderConfigError, match="unknown provider 'eks' \\(known: sim, exec, kubeadm\\)"):
        create_provider("eks")
    with pytest.raises(ProviderConfigError, match="needs a connection to the cluster"):
        create_provider("sim")
    with pytest.raises(ProviderConfigError, match="unknown setting worker"):
        create_provider("sim", {"worker": "x"}, api=NoApi())  # type: ignore[arg-type]
    with pytest.raises(ProviderConfigError, match="name 'exec', not 'kubeadm'"):
        create_provider("kubeadm", {"name": "exec"})


def test_every_provider_is_the_engine_port_and_dry_runs_name_their_actions() -> None:
    target = NodeTarget("cp-1", "control-plane", "zone-a", "10.0.0.1")
    version = Version.parse("1.35.0")
    upgraders: list[NodeUpgrader] = [
        create_provider("exec", {"worker": "up {node}"}),
        create_provider("kubeadm"),
        create_provider("sim", api=NoApi()),  # type: ignore[arg-type]
    ]
    for upgrader in upgraders:
        outcome = upgrader.upgrade(target, version, first_control_plane=True, timeout=1, dry_run=True)
        assert outcome.ok and outcome.dry_run and outcome.actions, upgrader.name
    sim = upgraders[2].upgrade(target, version, timeout=1, dry_run=True)
    assert list(sim.actions) == [
        'PATCH /api/v1/nodes/cp-1 (merge) {"metadata":{"annotations":'
        '{"upgrade.overhaul.io/kubelet-version":"v1.35.0"}}}',
        "WATCH /api/v1/nodes?fieldSelector=metadata.name=cp-1 until upgrade.overhaul.io/state=done, "
        "kubeletVersion=v1.35.0, Ready=True",
        "GET /api/v1/namespaces/kube-system/pods/kube-apiserver-cp-1 until v1.35.0",
    ]
