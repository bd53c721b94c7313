"""The embedded cluster's side of preflight's live sources: health endpoints in kube-apiserver's
format (with a fault switch), and deprecated API versions (Warning header text, the gauge)."""

from __future__ import annotations

import pytest

from overhaul.domain.cluster import ServedResource
from overhaul.preflight.sources.metrics import requested_deprecated_apis
from overhaul.preflight.sources.readyz import parse_readyz
from overhaul.sim.api import deprecations
from overhaul.sim.api.health import HealthChecks, UnknownCheckError
from overhaul.sim.api.metrics import ApiMetrics

# ---------------------------------------------------------------------------------------- health


def test_readyz_verbose_lists_every_check_then_passes() -> None:
    health = HealthChecks()
    assert health.answer("/readyz", verbose=False) == (200, "ok")
    status, text = health.answer("/readyz", verbose=True) or (0, "")
    lines = text.splitlines()
    assert status == 200 and lines[:3] == ["[+]ping ok", "[+]log ok", "[+]etcd ok"]
    assert "[+]shutdown ok" in lines and lines[-1] == "readyz check passed"
    assert all(check.ok for check in parse_readyz(text))
    livez = (health.answer("/livez", verbose=True) or (0, ""))[1]
    assert livez.endswith("livez check passed\n") and "[+]shutdown ok" not in livez


def test_a_failed_check_answers_500_verbosely_even_unasked() -> None:
    health = HealthChecks()
    health.set({"etcd": False})
    status, text = health.answer("/readyz", verbose=False) or (0, "")
    assert status == 500 and "[-]etcd failed: reason withheld\n" in text
    assert text.endswith("readyz check failed\n")
    assert [c.name for c in parse_readyz(text) if not c.ok] == ["etcd"]
    assert (health.answer("/livez/etcd", verbose=False) or (0, ""))[0] == 500
    assert health.answer("/readyz/ping", verbose=False) == (200, "ok")
    health.set({"etcd": True})
    assert health.answer("/readyz", verbose=False) == (200, "ok")


def test_excluded_checks_and_unknown_ones() -> None:
    health = HealthChecks()
    health.set({"etcd": False})
    status, text = health.answer("/readyz", verbose=True, exclude=["etcd", "nope"]) or (0, "")
    assert status == 200 and "[+]etcd excluded: ok" in text
    assert 'warn: some health checks cannot be excluded: no matches for "nope"' in text
    assert health.answer("/readyz/nope", verbose=False) is None
    assert health.answer("/metrics", verbose=False) is None
    with pytest.raises(UnknownCheckError, match="unknown health check nope"):
        health.set({"nope": False})


# ------------------------------------------------------------------------------------ deprecations


def test_v1_endpoints_is_deprecated_from_1_33() -> None:
    assert deprecations.builtin("", "v1", "endpoints", "v1.32.9") is None
    found = deprecations.builtin("", "v1", "endpoints", "v1.34.2")
    assert found is not None and found.removed_release == ""
    assert found.warning == "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
    assert deprecations.builtin("", "v1", "pods", "v1.34.2") is None
    assert deprecations.warning_header('a "b"') == '299 - "a \\"b\\""'


def test_a_crd_version_is_deprecated_by_its_crd() -> None:
    crd = {
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget"},
            "versions": [
                {"name": "v1alpha1", "served": True, "deprecated": True},
                {"name": "v1beta1", "served": True, "deprecated": True, "deprecationWarning": "move on"},
                {"name": "v1", "served": True},
                {"name": "v2alpha1", "served": True},
            ],
        }
    }
    default = deprecations.custom(crd, "v1alpha1")
    assert default is not None
    assert default.warning == "example.com/v1alpha1 Widget is deprecated; use example.com/v1 Widget"
    assert deprecations.custom(crd, "v1beta1") == deprecations.Deprecation("move on", "")
    assert deprecations.custom(crd, "v1") is None


def test_the_gauge_reads_back_through_preflights_metrics_source() -> None:
    metrics = ApiMetrics()
    assert requested_deprecated_apis(metrics.render().decode()) == []
    metrics.requested_deprecated("", "v1", "endpoints", "", "")
    metrics.requested_deprecated("example.com", "v1beta1", "widgets", "status", "1.40")
    served = [ServedResource("", "v1", "endpoints", "Endpoints", True, frozenset({"list"}))]
    usages = requested_deprecated_apis(metrics.render().decode(), served)
    assert {(u.ref.api_version, u.ref.kind, u.removed_in) for u in usages} == {
        ("v1", "Endpoints", None),  # the kind from discovery
        ("example.com/v1beta1", "widgets", "1.40"),  # not discovered: the resource name stays
    }
