"""What validation needs from a cluster (`overhaul.kube.validate_cluster.KubeValidateCluster`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

TEST_NAMESPACE = "overhaul-validate"
TEST_IMAGE = "registry.k8s.io/pause:3.10"


class ValidationCluster(Protocol):
    def apiserver_version(self) -> str:
        """kube-apiserver's version (`/version`'s gitVersion)."""
        ...

    def list_nodes(self) -> Sequence[Mapping[str, Any]]: ...

    def list_pods(self) -> Sequence[Mapping[str, Any]]: ...

    def list_budgets(self) -> Sequence[Mapping[str, Any]]: ...

    def run_test_pod(self, namespace: str, image: str, timeout: float) -> str:
        """Creates a pod (and its namespace when missing), waits until it is Ready, deletes it;
        "" when it went so, else what went wrong. The pod is deleted whatever happened."""
        ...
