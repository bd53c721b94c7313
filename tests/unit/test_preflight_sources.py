"""The sources' parsers: manifests (formats, errors with file and line), Helm release Secrets, the
apiserver's deprecated-API metric."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from overhaul.preflight.input import METRICS
from overhaul.preflight.sources.helm import (
    decode_release,
    encode_release,
    latest_deployed,
    release_secret,
    scan_releases,
)
from overhaul.preflight.sources.manifests import ManifestError, manifest_usages, parse_manifests
from overhaul.preflight.sources.metrics import MetricsError, plural_of, requested_deprecated_apis

HELM_RENDERED = """---
# Source: web/templates/ingress.yaml
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: web
---
# Source: web/templates/empty.yaml
# (a template that rendered to nothing)
---
# Source: web/templates/rbac.yaml
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRole
metadata:
  name: web-reader
"""


def test_yaml_documents_with_comments_and_lines() -> None:
    objects = parse_manifests(HELM_RENDERED, "out.yaml")
    assert [(o.api_version, o.kind, o.name, o.line) for o in objects] == [
        ("networking.k8s.io/v1beta1", "Ingress", "web", 3),
        ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "web-reader", 12),
    ]


def test_lists_json_arrays_and_json_streams() -> None:
    item = {"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ops"}}
    as_list = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [item, {"apiVersion": "v1", "kind": "List", "items": [item]}],
    }
    assert len(parse_manifests(json.dumps(as_list), "l.json")) == 2
    assert len(parse_manifests(json.dumps([item, item]), "a.json")) == 2
    assert len(parse_manifests(json.dumps(item) + "\n" + json.dumps(item, indent=2), "s.json")) == 2
    assert len(parse_manifests("kind: DeploymentList\napiVersion: apps/v1\nitems: []\n", "e.yaml")) == 0


def test_non_kubernetes_yaml_is_skipped() -> None:
    assert parse_manifests("replicaCount: 3\nimage: {tag: x}\n", "values.yaml") == []
    assert parse_manifests("", "empty.yaml") == []


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n", 5, "invalid YAML"),
        ('{"apiVersion": "v1",\n "kind": }', 2, "invalid JSON"),
        ("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: a/b/c\nkind: X\n", 4, "not an apiVersion"),
        ("kind: Deployment\nmetadata: {name: x}\n", 1, "apiVersion and kind"),
        ("metadata:\n  name: {{ .Values.name }}\n", 2, "unrendered Helm template"),
    ],
)
def test_malformed_manifests_name_the_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifests(text, "deploy/app.yaml")
    assert caught.value.line == line, caught.value
    assert str(caught.value).startswith(f"deploy/app.yaml:{line}: ") and words in str(caught.value)


def test_helm_objects_take_the_release_namespace_unless_cluster_scoped() -> None:
    usages = manifest_usages(parse_manifests(HELM_RENDERED, "r"), "helm:web/site", default_namespace="web")
    assert [(u.ref.namespace, u.source) for u in usages] == [("web", "helm:web/site"), ("", "helm:web/site")]


# -------------------------------------------------------------------------------------------- Helm


def secret(
    name: str, revision: int, status: str, release: dict[str, Any] | None, *, data: str | None = None
) -> dict[str, Any]:
    return {
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{name}.v{revision}",
            "namespace": "web",
            "labels": {"owner": "helm", "name": name, "status": status, "version": str(revision)},
        },
        "data": {"release": data if data is not None else encode_release(release or {})},
    }


def test_helm_release_decoding_round_trip_and_plain_json() -> None:
    release = {"name": "site", "manifest": HELM_RENDERED}
    assert decode_release(encode_release(release))["manifest"] == HELM_RENDERED
    plain = base64.b64encode(base64.b64encode(json.dumps(release).encode())).decode()
    assert decode_release(plain)["name"] == "site"
    assert gzip.decompress(base64.b64decode(base64.b64decode(encode_release(release))))


def test_only_the_latest_deployed_revision_is_scanned() -> None:
    old = {"manifest": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\n"}
    new = {"manifest": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: new}\n"}
    failed = {"manifest": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: failed}\n"}
    secrets = [
        secret("site", 1, "superseded", old),
        secret("site", 2, "deployed", new),
        secret("site", 3, "failed", failed),
    ]
    chosen = latest_deployed(s for s in map(release_secret, secrets) if s is not None)
    assert [(c.release, c.revision) for c in chosen] == [("site", 2)]
    usages, problems = scan_releases(secrets)
    assert [u.ref.name for u in usages] == ["new"] and problems == []


def test_a_broken_release_is_reported_and_the_others_scanned() -> None:
    good = {"manifest": HELM_RENDERED}
    secrets = [
        secret("good", 1, "deployed", good),
        secret("bad", 4, "deployed", None, data="bm90IGJhc2U2NA=="),
        secret("ugly", 1, "deployed", {"manifest": "kind: [\n"}),
        {"type": "Opaque", "metadata": {"name": "unrelated"}},
    ]
    usages, problems = scan_releases(secrets, workers=2)
    assert len(usages) == 2
    assert sorted(p.source for p in problems) == ["helm:web/bad", "helm:web/ugly"]
    assert all("could not be read" in p.message for p in problems)


# ----------------------------------------------------------------------------------------- metrics

DEPRECATED = "apiserver_requested_deprecated_apis"


def sample(group: str, version: str, resource: str, removed: str, subresource: str = "") -> str:
    labels = f'group="{group}",removed_release="{removed}",resource="{resource}",subresource="{subresource}"'
    return f'{DEPRECATED}{{{labels},version="{version}"}} 1\n'


METRICS_TEXT = (
    f"# HELP {DEPRECATED} [STABLE] Gauge of deprecated APIs that have been requested\n"
    f"# TYPE {DEPRECATED} gauge\n"
    + sample("extensions", "v1beta1", "ingresses", "1.22")
    + sample("extensions", "v1beta1", "ingresses", "1.22", "status")
    + sample("example.io", "v1beta1", "gadgets", "1.40")
    + "# HELP apiserver_request_total Counter of apiserver requests\n"
    "# TYPE apiserver_request_total counter\n"
    'apiserver_request_total{code="200",verb="GET"} 12\n'
)


def test_deprecated_api_metric() -> None:
    usages = requested_deprecated_apis(METRICS_TEXT)
    assert [(u.ref.api_version, u.ref.kind, u.removed_in, u.source) for u in usages] == [
        ("extensions/v1beta1", "Ingress", "1.22", METRICS),
        ("example.io/v1beta1", "gadgets", "1.40", METRICS),
    ]


def test_metrics_that_are_not_prometheus_text_are_an_error() -> None:
    with pytest.raises(MetricsError):
        requested_deprecated_apis('apiserver_requested_deprecated_apis{group="x" 1\n')


def test_plural_of() -> None:
    kinds = {
        "Ingress": "ingresses",
        "NetworkPolicy": "networkpolicies",
        "Endpoints": "endpoints",
        "Lease": "leases",
        "Gateway": "gateways",
    }
    assert {k: plural_of(k) for k in kinds} == kinds
