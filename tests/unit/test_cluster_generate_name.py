"""generateName: a taken suffix is retried, as the apiserver does (RetryGenerateName)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from overhaul.sim import cluster as cluster_module
from overhaul.sim.cluster import Cluster, WriteOptions


def _config_map(generate_name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": generate_name}}


def test_a_taken_generated_name_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster()
    rt = cluster.registry.get("", "v1", "configmaps")
    assert rt is not None
    suffixes: Iterator[str] = iter(["aaaaa", "aaaaa", "aaaaa", "bbbbb"])
    monkeypatch.setattr(cluster_module, "generated_name", lambda prefix: prefix + next(suffixes))
    first = cluster.create(rt, "default", _config_map("cm-"), WriteOptions.system("test"))
    second = cluster.create(rt, "default", _config_map("cm-"), WriteOptions.system("test"))
    assert first.obj["metadata"]["name"] == "cm-aaaaa"
    assert second.obj["metadata"]["name"] == "cm-bbbbb"
