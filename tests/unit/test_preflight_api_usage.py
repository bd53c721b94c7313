"""`removed-api` and `deprecated-api`: live objects judged by the apiVersion their clients used (the
last-applied annotation and the managedFields writes, never the version they are listed at),
manifests, Helm releases, the apiserver metric, and custom resources against their CRDs."""

from __future__ import annotations

from dataclasses import replace

from overhaul.domain.cluster import CrdVersion, CrdView, ObjectRef
from overhaul.domain.findings import Severity
from overhaul.preflight.api_usage import deprecated_api, removed_api
from overhaul.preflight.input import METRICS, ApiUsage, SourceProblem
from tests.unit.preflight_views import cluster, crd, data, named, usage

OLD = "2021-03-02T10:00:00Z"
NEW = "2026-04-01T10:00:00Z"


def test_the_last_applied_annotation_blocks() -> None:
    view = cluster(
        api_usage=[usage("apps/v1", "Deployment", "batch", "legacy", last_applied="extensions/v1beta1")]
    )
    [finding] = removed_api(data(view))
    assert finding.severity is Severity.BLOCKING
    assert finding.object == ObjectRef("extensions/v1beta1", "Deployment", "batch", "legacy")
    assert finding.source == "live"
    assert "last-applied-configuration" in finding.message and "1.16" in finding.message
    assert "apps/v1" in finding.remedy


def test_server_side_apply_without_annotation_blocks_by_its_latest_write() -> None:
    view = cluster(
        api_usage=[
            usage(
                "policy/v1",
                "PodDisruptionBudget",
                "payments",
                "api",
                managed=[
                    ("argocd", "Apply", "policy/v1beta1", NEW),
                    ("kube-controller-manager", "Update", "policy/v1", "2026-04-02T00:00:00Z"),
                ],
            )
        ]
    )
    [finding] = removed_api(data(view))
    assert finding.severity is Severity.BLOCKING
    assert "argocd" in finding.message and "most recent write" in finding.message


def test_an_older_managed_fields_entry_alone_is_a_warning_naming_its_manager() -> None:
    view = cluster(
        api_usage=[
            usage(
                "apps/v1",
                "Deployment",
                "shop",
                "web",
                last_applied="apps/v1",
                managed=[
                    ("helm", "Update", "extensions/v1beta1", OLD),
                    ("kubectl-client-side-apply", "Update", "apps/v1", NEW),
                ],
            )
        ]
    )
    [finding] = removed_api(data(view))
    assert finding.severity is Severity.WARNING
    assert "helm" in finding.message and "helm" in finding.remedy


def test_objects_listed_at_a_converted_version_stay_quiet() -> None:
    """The apiserver converts: an object listed as extensions/v1beta1 says nothing about its clients."""
    view = cluster(
        api_usage=[
            usage(
                "extensions/v1beta1",
                "Ingress",
                "shop",
                "web",
                managed=[("kubectl-client-side-apply", "Update", "networking.k8s.io/v1", NEW)],
            ),
            usage("apps/v1", "Deployment", "shop", "web", last_applied="apps/v1"),
        ]
    )
    assert removed_api(data(view)) == []
    assert deprecated_api(data(view)) == []


def test_control_plane_writers_are_never_the_users_source() -> None:
    view = cluster(
        api_usage=[
            usage(
                "apps/v1",
                "Deployment",
                "a",
                "b",
                managed=[("kube-controller-manager", "Update", "extensions/v1beta1", NEW)],
            )
        ]
    )
    assert removed_api(data(view)) == []


def test_one_object_listed_under_two_groups_is_reported_once() -> None:
    twice = [
        usage(gv, "Ingress", "shop", "web", last_applied="extensions/v1beta1")
        for gv in ("extensions/v1beta1", "networking.k8s.io/v1")
    ]
    assert len(removed_api(data(cluster(api_usage=twice)))) == 1


def test_manifest_and_helm_usages_are_judged_by_their_own_version() -> None:
    usages = [
        ApiUsage(ObjectRef("batch/v1beta1", "CronJob", "ops", "report"), "manifest:deploy/cron.yaml"),
        ApiUsage(ObjectRef("networking.k8s.io/v1beta1", "Ingress", "web", "site"), "helm:web/site"),
        ApiUsage(ObjectRef("batch/v1", "CronJob", "ops", "fine"), "manifest:deploy/cron.yaml"),
    ]
    found = removed_api(data(None, usages=usages))
    assert {(f.object.name, f.source, f.severity) for f in found} == {
        ("report", "manifest:deploy/cron.yaml", Severity.BLOCKING),
        ("site", "helm:web/site", Severity.BLOCKING),
    }


def test_removals_after_the_target_are_not_removals_yet() -> None:
    later = [ApiUsage(ObjectRef("networking.k8s.io/v1beta1", "ServiceCIDR", "", "x"), "manifest:a.yaml")]
    assert removed_api(data(None, usages=later, target="1.36")) == []
    assert len(removed_api(data(None, usages=later, target="1.37"))) == 1


def test_deprecated_api_fires_for_versions_still_served_at_the_target() -> None:
    cron = [ApiUsage(ObjectRef("batch/v1beta1", "CronJob", "ops", "report"), "manifest:c.yaml")]
    # A 1.22 target still serves batch/v1beta1 CronJob (deprecated in 1.21, removed in 1.25).
    [finding] = deprecated_api(data(None, usages=cron, target="1.22"))
    assert finding.severity is Severity.WARNING and "batch/v1" in finding.remedy
    assert removed_api(data(None, usages=cron, target="1.22")) == []


def test_the_metric_reports_clients_with_the_servers_removal_release() -> None:
    metric = [
        ApiUsage(ObjectRef("extensions/v1beta1", "Ingress", "", ""), METRICS),
        ApiUsage(ObjectRef("example.io/v1beta1", "gadgets", "", ""), METRICS, removed_in="1.40"),
        ApiUsage(ObjectRef("example.io/v1beta2", "gizmos", "", ""), METRICS, removed_in="1.30"),
    ]
    removed = removed_api(data(None, usages=metric))
    assert {f.object.api_version for f in removed} == {"extensions/v1beta1", "example.io/v1beta2"}
    assert all("apiserver_requested_deprecated_apis" in f.message for f in removed)
    [deprecated] = deprecated_api(data(None, usages=metric))
    assert deprecated.object.api_version == "example.io/v1beta1"


def test_a_metric_entry_without_a_removal_release_is_a_deprecation() -> None:
    # kube-apiserver 1.33+ lists requests to v1 Endpoints (deprecated, no removal planned).
    endpoints = [ApiUsage(ObjectRef("v1", "Endpoints", "", ""), METRICS)]
    [finding] = deprecated_api(data(None, usages=endpoints))
    assert finding.severity is Severity.WARNING and finding.source == METRICS
    assert "no removal release" in finding.message
    assert removed_api(data(None, usages=endpoints)) == []
    # The same version in a manifest says nothing: only the server's metric marks it deprecated.
    manifest = [ApiUsage(ObjectRef("v1", "Endpoints", "web", "site"), "manifest:ep.yaml")]
    assert deprecated_api(data(None, usages=manifest)) == []


def _gadgets(*stored: str) -> CrdView:
    gadgets = crd(
        "example.com",
        "Gadget",
        "gadgets",
        [CrdVersion("v1alpha1", served=False, storage=False), CrdVersion("v1", served=True, storage=True)],
    )
    return replace(gadgets, stored_versions=stored)


def test_a_crd_still_storing_a_version_it_no_longer_serves_warns() -> None:
    [finding] = removed_api(data(cluster(crds=[_gadgets("v1alpha1", "v1")])))
    assert finding.severity is Severity.WARNING
    assert finding.object == ObjectRef(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "gadgets.example.com"
    )
    assert "v1alpha1 in status.storedVersions" in finding.message and "no longer serves" in finding.message
    assert "storage-version-migrator" in finding.remedy and "--subresource=status" in finding.remedy
    assert '"value":["v1"]' in finding.remedy


def test_a_crd_storing_a_version_gone_from_spec_blocks() -> None:
    [finding] = removed_api(data(cluster(crds=[_gadgets("v1beta1", "v1")])))
    assert finding.severity is Severity.BLOCKING and "no longer has it" in finding.message


def test_a_crd_storing_only_served_versions_stays_quiet() -> None:
    assert removed_api(data(cluster(crds=[_gadgets("v1")]))) == []


def test_custom_resources_are_judged_against_their_crd() -> None:
    widgets = crd(
        "example.com",
        "Widget",
        "widgets",
        [
            CrdVersion("v1alpha1", served=False, storage=False),
            CrdVersion("v1beta1", served=True, storage=False, deprecated=True, deprecation_warning="use v1"),
            CrdVersion("v1", served=True, storage=True),
        ],
    )
    view = cluster(
        crds=[widgets],
        api_usage=[
            usage(
                "example.com/v1",
                "Widget",
                "a",
                "gone",
                managed=[("tool", "Update", "example.com/v1alpha1", NEW)],
            ),
            usage(
                "example.com/v1",
                "Widget",
                "a",
                "old",
                managed=[("tool", "Update", "example.com/v1beta1", NEW)],
            ),
            usage(
                "example.com/v1", "Widget", "a", "fine", managed=[("tool", "Update", "example.com/v1", NEW)]
            ),
        ],
    )
    removed, deprecated = removed_api(data(view)), deprecated_api(data(view))
    assert [f.object.name for f in removed] == ["gone"]
    assert named(deprecated, "old") and named(deprecated, "widgets.example.com")
    assert not named(removed + deprecated, "fine")


def test_a_crd_without_deprecated_versions_stays_quiet() -> None:
    view = cluster(crds=[crd("example.com", "Widget", "widgets", [CrdVersion("v1", True, True)])])
    assert deprecated_api(data(view)) == []


def test_a_broken_helm_release_is_a_warning_not_a_failure() -> None:
    problem = SourceProblem("helm:web/site", "Helm release web/site revision 3 could not be read: not gzip")
    [finding] = removed_api(data(None, problems=[problem]))
    assert finding.severity is Severity.WARNING and finding.source == "helm:web/site"
