"""The removed-API table: the migration guide's entries, the schema-derived removals, the lookups, and
the script that regenerates the generated part."""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from overhaul.domain.apis import ApiVersionError, GroupVersion, GroupVersionKind, Stability, version_priority
from overhaul.domain.version import Version
from overhaul.knowledge import apis
from overhaul.knowledge.apis import ApiStatus

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "regenerate_removed_apis.py"
DATA = ROOT / "src" / "overhaul" / "knowledge" / "data" / "removed_apis.yaml"
FLOWCONTROL = "flowcontrol.apiserver.k8s.io"


@functools.cache
def regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regenerate_removed_apis", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def schema_kinds() -> dict[int, frozenset[GroupVersionKind]]:
    """Kinds per minor in the kubernetes-validate schemas (1.25 and later)."""
    script = regen()
    return {
        minor: frozenset(script.kinds_in(path / "_definitions.json"))
        for minor, path in script.minor_dirs(script.default_schema_root())
    }


def gvk(api_version: str, kind: str) -> GroupVersionKind:
    return GroupVersionKind.of(api_version, kind)


def v(text: str) -> Version:
    return Version.parse(text)


# ------------------------------------------------------------------ the official migration guide

# The "Removed APIs" table of reference/kubernetes-facts.md, one kind per line:
# removed in, apiVersion, kind -> use instead ("none": no replacement API). "Use instead" must be
# reachable through the replacement chain (the guide names flowcontrol v1beta2 for v1beta1, itself gone).
FACTS_TABLE = """
1.16 extensions/v1beta1 NetworkPolicy -> networking.k8s.io/v1
1.16 extensions/v1beta1 DaemonSet -> apps/v1
1.16 apps/v1beta2 DaemonSet -> apps/v1
1.16 extensions/v1beta1 Deployment -> apps/v1
1.16 apps/v1beta1 Deployment -> apps/v1
1.16 apps/v1beta2 Deployment -> apps/v1
1.16 extensions/v1beta1 ReplicaSet -> apps/v1
1.16 apps/v1beta1 ReplicaSet -> apps/v1
1.16 apps/v1beta2 ReplicaSet -> apps/v1
1.16 apps/v1beta1 StatefulSet -> apps/v1
1.16 apps/v1beta2 StatefulSet -> apps/v1
1.16 extensions/v1beta1 PodSecurityPolicy -> policy/v1beta1
1.22 admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration -> admissionregistration.k8s.io/v1
1.22 admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration -> admissionregistration.k8s.io/v1
1.22 apiextensions.k8s.io/v1beta1 CustomResourceDefinition -> apiextensions.k8s.io/v1
1.22 apiregistration.k8s.io/v1beta1 APIService -> apiregistration.k8s.io/v1
1.22 authentication.k8s.io/v1beta1 TokenReview -> authentication.k8s.io/v1
1.22 authorization.k8s.io/v1beta1 LocalSubjectAccessReview -> authorization.k8s.io/v1
1.22 authorization.k8s.io/v1beta1 SelfSubjectAccessReview -> authorization.k8s.io/v1
1.22 authorization.k8s.io/v1beta1 SubjectAccessReview -> authorization.k8s.io/v1
1.22 certificates.k8s.io/v1beta1 CertificateSigningRequest -> certificates.k8s.io/v1
1.22 coordination.k8s.io/v1beta1 Lease -> coordination.k8s.io/v1
1.22 extensions/v1beta1 Ingress -> networking.k8s.io/v1
1.22 networking.k8s.io/v1beta1 Ingress -> networking.k8s.io/v1
1.22 networking.k8s.io/v1beta1 IngressClass -> networking.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1beta1 ClusterRole -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1beta1 Role -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1beta1 RoleBinding -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1alpha1 ClusterRole -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1alpha1 ClusterRoleBinding -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1alpha1 Role -> rbac.authorization.k8s.io/v1
1.22 rbac.authorization.k8s.io/v1alpha1 RoleBinding -> rbac.authorization.k8s.io/v1
1.22 scheduling.k8s.io/v1beta1 PriorityClass -> scheduling.k8s.io/v1
1.22 storage.k8s.io/v1beta1 CSIDriver -> storage.k8s.io/v1
1.22 storage.k8s.io/v1beta1 CSINode -> storage.k8s.io/v1
1.22 storage.k8s.io/v1beta1 StorageClass -> storage.k8s.io/v1
1.22 storage.k8s.io/v1beta1 VolumeAttachment -> storage.k8s.io/v1
1.25 batch/v1beta1 CronJob -> batch/v1
1.25 discovery.k8s.io/v1beta1 EndpointSlice -> discovery.k8s.io/v1
1.25 events.k8s.io/v1beta1 Event -> events.k8s.io/v1
1.25 autoscaling/v2beta1 HorizontalPodAutoscaler -> autoscaling/v2
1.25 policy/v1beta1 PodDisruptionBudget -> policy/v1
1.25 policy/v1beta1 PodSecurityPolicy -> none
1.25 node.k8s.io/v1beta1 RuntimeClass -> node.k8s.io/v1
1.26 flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema -> flowcontrol.apiserver.k8s.io/v1
1.26 flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration -> flowcontrol.apiserver.k8s.io/v1
1.26 autoscaling/v2beta2 HorizontalPodAutoscaler -> autoscaling/v2
1.27 storage.k8s.io/v1beta1 CSIStorageCapacity -> storage.k8s.io/v1
1.29 flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema -> flowcontrol.apiserver.k8s.io/v1
1.29 flowcontrol.apiserver.k8s.io/v1beta2 PriorityLevelConfiguration -> flowcontrol.apiserver.k8s.io/v1
1.32 flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema -> flowcontrol.apiserver.k8s.io/v1
1.32 flowcontrol.apiserver.k8s.io/v1beta3 PriorityLevelConfiguration -> flowcontrol.apiserver.k8s.io/v1
"""


def facts() -> list[tuple[str, str, str, str | None]]:
    rows = []
    for line in FACTS_TABLE.strip().splitlines():
        removed, api_version, kind, arrow, use_instead = line.split()
        assert arrow == "->"
        rows.append((api_version, kind, removed, None if use_instead == "none" else use_instead))
    return rows


FACTS = facts()
# In the guide but not in the facts table.
GUIDE_ONLY = {gvk("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview")}


def chain(start: GroupVersionKind) -> list[GroupVersionKind]:
    """The replacements named one after another, starting after `start`."""
    seen: list[GroupVersionKind] = []
    current = apis.replacement(start)
    while current is not None and current not in seen:
        seen.append(current)
        current = apis.replacement(current)
    return seen


def test_curated_part_is_exactly_the_migration_guide() -> None:
    curated = {e.gvk for e in apis.removed_apis() if e.curated}
    assert curated == {gvk(av, k) for av, k, _, _ in FACTS} | GUIDE_ONLY


@pytest.mark.parametrize(("api_version", "kind", "removed", "use_instead"), FACTS)
def test_agrees_with_the_migration_guide(
    api_version: str, kind: str, removed: str, use_instead: str | None
) -> None:
    entry = apis.lookup(api_version, kind)
    assert entry is not None and entry.curated
    assert entry.removed_in == v(removed)
    if use_instead is None:
        assert entry.replacement is None
    else:
        assert gvk(use_instead, kind) in chain(entry.gvk)


@pytest.mark.parametrize(
    ("api_version", "kind", "removed", "use_instead"),
    [
        ("authentication.k8s.io/v1beta1", "SelfSubjectReview", "1.33", "authentication.k8s.io/v1"),
        *[
            ("admissionregistration.k8s.io/v1beta1", kind, "1.34", "admissionregistration.k8s.io/v1")
            for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
        ],
    ],
)
def test_later_beta_removals_come_from_the_schemas(
    api_version: str, kind: str, removed: str, use_instead: str
) -> None:
    entry = apis.lookup(api_version, kind)
    assert entry is not None and not entry.curated
    assert entry.source == "kubernetes-validate schemas"
    assert entry.removed_in == v(removed)
    assert entry.replacement == gvk(use_instead, kind)


# ------------------------------------------------------------------ internal consistency


def test_every_entry_is_consistent() -> None:
    sources = apis.provenance().sources
    for entry in apis.removed_apis():
        assert entry.removed_in.patch is None
        if entry.deprecated_in is not None:
            assert entry.deprecated_in < entry.removed_in, entry.gvk
        assert entry.source in sources, entry.gvk
        if entry.replacement is not None:
            assert entry.replacement.kind == entry.gvk.kind
            assert entry.replacement != entry.gvk
            # A replacement is still served when the entry goes away.
            served = apis.status_at(entry.replacement, target=entry.removed_in)
            assert served.status is not ApiStatus.REMOVED, entry.gvk
        else:
            assert entry.notes, f"{entry.gvk}: no replacement and no note saying what to do"


def test_deprecation_sources_are_named() -> None:
    document = apis.provenance()
    for raw in yaml.safe_load(DATA.read_text(encoding="utf-8"))["curated"]:
        if raw["deprecated_in"] is not None:
            assert raw["deprecated_in_source"] in {*document.sources, "inferred"}, raw


def test_replacements_exist_in_the_schemas() -> None:
    kinds = schema_kinds()
    first = min(kinds)
    for entry in apis.removed_apis():
        if entry.replacement is None:
            continue
        minor = max(entry.removed_in.minor, first)
        replacement_removed = apis.removed_in(entry.replacement)
        if replacement_removed is not None and replacement_removed.minor <= first:
            continue  # itself gone before the schemas start (extensions -> policy/v1beta1 PodSecurityPolicy)
        assert entry.replacement in kinds[minor], f"{entry.gvk} -> {entry.replacement} not in 1.{minor}"


def test_removals_agree_with_the_schemas() -> None:
    kinds = schema_kinds()
    first = min(kinds)
    for entry in apis.removed_apis():
        removed = entry.removed_in.minor
        for minor in kinds:
            if minor >= removed:
                assert entry.gvk not in kinds[minor], f"{entry.gvk} still in 1.{minor}"
        if removed - 1 >= first:
            assert entry.gvk in kinds[removed - 1], f"{entry.gvk} not in 1.{removed - 1}"


def test_provenance() -> None:
    provenance = apis.provenance()
    assert str(provenance.checked) == "2026-11-27"
    assert "deprecation-guide" in provenance.sources
    assert all(url.startswith("https://") for url in provenance.urls)


# ------------------------------------------------------------------ lookups


def test_lookups() -> None:
    assert apis.removed_in("apps/v1beta1", "Deployment") == v("1.16")
    assert apis.deprecated_in("apps/v1beta1", "Deployment") == v("1.9")
    assert apis.replacement("apps/v1beta1", "Deployment") == gvk("apps/v1", "Deployment")
    assert apis.lookup("apps/v1", "Deployment") is None
    assert apis.removed_in("v1", "Pod") is None
    assert apis.replacement(gvk("policy/v1beta1", "PodSecurityPolicy")) is None


@pytest.mark.parametrize(
    ("api_version", "kind", "target", "status", "use_instead"),
    [
        ("apps/v1beta1", "Deployment", "1.8", ApiStatus.OK, None),
        ("apps/v1beta1", "Deployment", "1.15", ApiStatus.DEPRECATED, "apps/v1"),
        ("apps/v1beta1", "Deployment", "v1.16.3", ApiStatus.REMOVED, "apps/v1"),
        (f"{FLOWCONTROL}/v1beta1", "FlowSchema", "1.27", ApiStatus.REMOVED, f"{FLOWCONTROL}/v1beta2"),
        (f"{FLOWCONTROL}/v1beta1", "FlowSchema", "1.33", ApiStatus.REMOVED, f"{FLOWCONTROL}/v1"),
        ("extensions/v1beta1", "PodSecurityPolicy", "1.20", ApiStatus.REMOVED, "policy/v1beta1"),
        ("extensions/v1beta1", "PodSecurityPolicy", "1.30", ApiStatus.REMOVED, None),
        ("policy/v1beta1", "PodSecurityPolicy", "1.24", ApiStatus.DEPRECATED, None),
        ("apps/v1", "Deployment", "1.37", ApiStatus.OK, None),
        ("networking.k8s.io/v1alpha1", "IPAddress", "1.37", ApiStatus.REMOVED, "networking.k8s.io/v1"),
    ],
)
def test_status_at(
    api_version: str, kind: str, target: str, status: ApiStatus, use_instead: str | None
) -> None:
    verdict = apis.status_at(api_version, kind, target=target)
    assert verdict.status is status
    assert verdict.target == Version(1, Version.parse(target).minor)
    assert verdict.replacement == (gvk(use_instead, kind) if use_instead else None)
    assert verdict.ok is (status is ApiStatus.OK)


def test_removed_between() -> None:
    between = apis.removed_between("1.24", "1.26")
    assert {e.removed_in for e in between} == {v("1.25"), v("1.26")}
    assert gvk("batch/v1beta1", "CronJob") in {e.gvk for e in between}
    assert apis.removed_between("1.26", "1.26") == ()
    ordered = [e.removed_in for e in apis.removed_apis()]
    assert ordered == sorted(ordered)


def test_check_reports_only_what_needs_attention() -> None:
    used = [
        gvk("apps/v1", "Deployment"),
        gvk("batch/v1beta1", "CronJob"),
        gvk("batch/v1beta1", "CronJob"),
        gvk("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ]
    verdicts = apis.check(used, "1.25")
    assert [(x.gvk.kind, x.status) for x in verdicts] == [
        ("CronJob", ApiStatus.REMOVED),
        ("HorizontalPodAutoscaler", ApiStatus.DEPRECATED),
    ]


def test_served_but_removed() -> None:
    found = apis.served_but_removed(["policy/v1beta1", GroupVersion("apps", "v1"), "v1"], "v1.25.0")
    assert {e.gvk for e in found} == {
        gvk("policy/v1beta1", "PodDisruptionBudget"),
        gvk("policy/v1beta1", "PodSecurityPolicy"),
    }
    assert apis.served_but_removed(["policy/v1beta1"], "1.24") == ()


# ------------------------------------------------------------------ GroupVersionKind


def test_group_version_kind() -> None:
    deployment = gvk("apps/v1", "Deployment")
    assert deployment == GroupVersionKind("apps", "v1", "Deployment")
    assert deployment.api_version == "apps/v1"
    assert str(deployment) == "apps/v1 Deployment"
    assert gvk("v1", "Pod").group == ""
    assert gvk("v1", "Pod").api_version == "v1"
    assert deployment.with_version("apps/v1beta2") == GroupVersionKind("apps", "v1beta2", "Deployment")
    assert GroupVersion.parse(" networking.k8s.io/v1beta1 ").stability is Stability.BETA


@pytest.mark.parametrize("bad", ["", "/v1", "a/b/c", "apps/", "apps v1"])
def test_bad_api_versions(bad: str) -> None:
    with pytest.raises(ApiVersionError):
        GroupVersion.parse(bad)


def test_empty_kind_is_rejected() -> None:
    with pytest.raises(ApiVersionError):
        GroupVersionKind.of("v1", " ")


def test_version_priority_prefers_ga_then_beta_then_alpha() -> None:
    names = ["v1alpha1", "v1beta1", "v2beta1", "v1", "v1beta2", "v2", "custom", "v1alpha3"]
    ordered = sorted(names, key=version_priority, reverse=True)
    assert ordered == ["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha3", "v1alpha1", "custom"]
    assert GroupVersion("", "custom").stability is Stability.UNKNOWN
    assert gvk("resource.k8s.io/v1alpha3", "DeviceClass").stability is Stability.ALPHA


# ------------------------------------------------------------------ the regeneration script


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_script_reproduces_the_committed_generated_part(tmp_path: Path) -> None:
    committed = DATA.read_text(encoding="utf-8")
    assert regen().MARKER in committed
    target = tmp_path / "removed_apis.yaml"
    target.write_text(regen().split_file(committed), encoding="utf-8")  # the hand-kept part only

    first = run_script("--file", str(target))
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no curated entry disagrees with the schemas
    assert target.read_text(encoding="utf-8") == committed

    second = run_script("--file", str(target))
    assert second.returncode == 0, second.stderr
    assert target.read_text(encoding="utf-8") == committed


def test_script_check_mode(tmp_path: Path) -> None:
    target = tmp_path / "removed_apis.yaml"
    shutil.copy(DATA, target)
    assert run_script("--check", "--file", str(target)).returncode == 0
    target.write_text(target.read_text(encoding="utf-8") + "- stale: true\n", encoding="utf-8")
    stale = run_script("--check", "--file", str(target))
    assert stale.returncode == 1
    assert "out of date" in stale.stderr


def write_minor(root: Path, minor: int, kinds: list[tuple[str, str, str]], meta: bool = False) -> None:
    directory = root / f"v1.{minor}.0-local"
    directory.mkdir(parents=True)
    defs: dict[str, object] = {
        f"io.k8s.api.{group or 'core'}.{version}.{kind}": {
            "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}]
        }
        for group, version, kind in kinds
    }
    if meta:
        defs["io.k8s.apimachinery.pkg.apis.meta.v1.Status"] = {
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Status"}]
        }
    (directory / "_definitions.json").write_text(json.dumps({"$defs": defs}), encoding="utf-8")


def test_script_logic_on_a_small_schema_tree(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    write_minor(
        schemas,
        30,
        [
            ("x.io", "v1alpha1", "Thing"),
            ("x.io", "v1alpha1", "ThingList"),
            ("x.io", "v1beta1", "Gone"),
            ("x.io", "v1beta1", "Flicker"),
            ("y.io", "v1beta1", "Widget"),
        ],
        meta=True,
    )
    widget = ("y.io", "v1beta1", "Widget")
    write_minor(schemas, 31, [("x.io", "v1beta1", "Thing"), ("x.io", "v1", "Thing"), widget])
    write_minor(schemas, 32, [("x.io", "v1", "Thing"), ("x.io", "v1beta1", "Flicker"), widget])
    (tmp_path / "removed_apis.yaml").write_text(
        "source: {kubernetes-validate schemas: https://example.org}\nchecked: 2026-11-27\n"
        "curated:\n- api_version: y.io/v1beta1\n  kind: Widget\n  removed_in: '1.31'\n",
        encoding="utf-8",
    )
    script = regen()
    kinds = {m: script.kinds_in(p / "_definitions.json") for m, p in script.minor_dirs(schemas)}
    assert gvk("x.io/v1alpha1", "ThingList") not in kinds[30]  # List kinds are left out
    assert all(k.kind != "Status" for k in kinds[30])  # so are apimachinery meta types
    removed = script.removals(kinds)
    # Flicker comes back in 1.32, Thing v1 and Widget are still served: none of them is removed.
    assert removed == {
        gvk("x.io/v1alpha1", "Thing"): 31,
        gvk("x.io/v1beta1", "Gone"): 31,
        gvk("x.io/v1beta1", "Thing"): 32,
    }
    entries = script.generated_entries(kinds, [])
    assert [(e["api_version"], e["kind"], e["removed_in"], e["replacement"]) for e in entries] == [
        ("x.io/v1alpha1", "Thing", "1.31", "x.io/v1"),  # GA preferred over the beta also served in 1.31
        ("x.io/v1beta1", "Gone", "1.31", None),
        ("x.io/v1beta1", "Thing", "1.32", "x.io/v1"),
    ]
    # The curated entry says Widget went away in 1.31, but the 1.31 schemas still have it.
    result = run_script("--file", str(tmp_path / "removed_apis.yaml"), "--schemas", str(schemas))
    assert result.returncode == 0
    assert "y.io/v1beta1 Widget is still in the 1.31 schemas" in result.stderr
