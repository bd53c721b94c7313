"""API paths parsed the way the apiserver's request-info resolver parses them."""

from __future__ import annotations

import pytest

from overhaul.sim.api.routing import GroupPath, ResourcePath, parse_api_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/pods", ResourcePath("", "v1", "pods")),
        ("/api/v1/pods/", ResourcePath("", "v1", "pods")),
        ("/api/v1/nodes/worker-1", ResourcePath("", "v1", "nodes", name="worker-1")),
        (
            "/api/v1/nodes/worker-1/status",
            ResourcePath("", "v1", "nodes", name="worker-1", subresource="status"),
        ),
        ("/api/v1/namespaces", ResourcePath("", "v1", "namespaces")),
        ("/api/v1/namespaces/foo", ResourcePath("", "v1", "namespaces", name="foo")),
        # namespaces/NAME/status and /finalize are the namespace's subresources, not a namespace's resources.
        (
            "/api/v1/namespaces/foo/status",
            ResourcePath("", "v1", "namespaces", name="foo", subresource="status"),
        ),
        (
            "/api/v1/namespaces/foo/finalize",
            ResourcePath("", "v1", "namespaces", name="foo", subresource="finalize"),
        ),
        ("/api/v1/namespaces/foo/pods", ResourcePath("", "v1", "pods", namespace="foo")),
        ("/api/v1/namespaces/foo/pods/web-1", ResourcePath("", "v1", "pods", namespace="foo", name="web-1")),
        (
            "/api/v1/namespaces/foo/pods/web-1/eviction",
            ResourcePath("", "v1", "pods", namespace="foo", name="web-1", subresource="eviction"),
        ),
        (
            "/api/v1/namespaces/foo/pods/web-1/status",
            ResourcePath("", "v1", "pods", namespace="foo", name="web-1", subresource="status"),
        ),
        (
            "/apis/apps/v1/namespaces/shop/deployments/web/scale",
            ResourcePath("apps", "v1", "deployments", namespace="shop", name="web", subresource="scale"),
        ),
        ("/apis/apps/v1/deployments", ResourcePath("apps", "v1", "deployments")),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
            ResourcePath(
                "apiextensions.k8s.io", "v1", "customresourcedefinitions", name="widgets.example.com"
            ),
        ),
    ],
)
def test_resource_paths(path: str, expected: ResourcePath) -> None:
    assert parse_api_path(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/watch/pods", ResourcePath("", "v1", "pods", legacy_watch=True)),
        (
            "/api/v1/watch/namespaces/foo/pods",
            ResourcePath("", "v1", "pods", namespace="foo", legacy_watch=True),
        ),
        (
            "/apis/apps/v1/watch/namespaces/shop/deployments/web",
            ResourcePath("apps", "v1", "deployments", namespace="shop", name="web", legacy_watch=True),
        ),
        ("/api/v1/watch/namespaces", ResourcePath("", "v1", "namespaces", legacy_watch=True)),
        ("/api/v1/watch/namespaces/foo", ResourcePath("", "v1", "namespaces", name="foo", legacy_watch=True)),
    ],
)
def test_legacy_watch_prefix(path: str, expected: ResourcePath) -> None:
    assert parse_api_path(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/apis/apps", GroupPath("apps", None)),
        ("/apis/apps/", GroupPath("apps", None)),
        ("/apis/apps/v1", GroupPath("apps", "v1")),
        ("/apis/policy/v1", GroupPath("policy", "v1")),
        ("/api/v1", GroupPath("", "v1")),
    ],
)
def test_discovery_paths(path: str, expected: GroupPath) -> None:
    assert parse_api_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/api",  # fixed routes, answered before parsing
        "/apis",
        "/healthz",
        "/version",
        "/openapi/v3/apis/apps/v1",
        "/api/v1/watch",
        "/apis/apps/v1/watch",
        "/api/v1/namespaces/foo/pods/web-1/status/extra",
    ],
)
def test_paths_that_name_no_resource(path: str) -> None:
    assert parse_api_path(path) is None
