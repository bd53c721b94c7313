"""Validation's access to a cluster (`overhaul.validate.ports.ValidationCluster`) over the API:
lists, kube-apiserver's version, and a test pod created, run to Ready and deleted."""

from __future__ import annotations

import time
from typing import Any

from overhaul.kube.client import ApiClient
from overhaul.kube.errors import Conflict, KubeError, NotFound

JSON = dict[str, Any]


class KubeValidateCluster:
    def __init__(self, client: ApiClient, *, poll_interval: float = 0.5) -> None:
        self.client = client
        self.poll_interval = poll_interval

    def apiserver_version(self) -> str:
        return str(self.client.version().get("gitVersion") or "")

    def list_nodes(self) -> list[JSON]:
        return self.client.list_all("/api/v1/nodes")[0]

    def list_pods(self) -> list[JSON]:
        return self.client.list_all("/api/v1/pods")[0]

    def list_budgets(self) -> list[JSON]:
        return self.client.list_all("/apis/policy/v1/poddisruptionbudgets")[0]

    def run_test_pod(self, namespace: str, image: str, timeout: float) -> str:
        try:
            self.client.post(
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            )
        except Conflict:
            pass  # there already
        except KubeError as err:
            return f"could not create namespace {namespace}: {err}"
        pods = f"/api/v1/namespaces/{namespace}/pods"
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": "overhaul-validate-",
                "labels": {"app.kubernetes.io/managed-by": "overhaul"},
            },
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {
                        "name": "pause",
                        "image": image,
                        "resources": {"requests": {"cpu": "1m", "memory": "4Mi"}},
                    }
                ],
            },
        }
        try:
            created = self.client.post(pods, body)
        except KubeError as err:
            return f"could not create the test pod: {err}"
        name = str(created["metadata"]["name"])
        try:
            return self._wait_ready(f"{pods}/{name}", name, timeout)
        finally:
            try:
                self.client.delete(f"{pods}/{name}", params={"gracePeriodSeconds": "0"})
            except NotFound:
                pass
            except KubeError:
                pass  # best effort: the pod is tiny, and named for us; the next validation tries its own

    def _wait_ready(self, path: str, name: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        phase = "unknown"
        while True:
            try:
                pod = self.client.get(path)
            except KubeError as err:
                return f"pod {name} could not be read: {err}"
            status = pod.get("status") or {}
            phase = str(status.get("phase") or "Pending")
            if any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
            ):
                return ""
            if phase in ("Failed", "Succeeded"):
                return f"pod {name} ended ({phase}) instead of running"
            if time.monotonic() >= deadline:
                return f"pod {name} was not Ready after {timeout:g}s (phase {phase})"
            time.sleep(self.poll_interval)
