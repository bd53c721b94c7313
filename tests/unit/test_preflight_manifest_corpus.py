"""The manifest corpus (tests/data/manifests): every entry of the removed-API table in every input
format is found, and nothing at all is found in the corpus of current API versions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from overhaul.domain.findings import Finding, Severity
from overhaul.domain.version import Version
from overhaul.knowledge import apis
from overhaul.preflight.api_usage import deprecated_api, removed_api
from overhaul.preflight.input import manifest_source
from overhaul.preflight.sources.manifests import manifest_usages, parse_manifests
from tests.unit.preflight_views import data

CORPUS = Path(__file__).resolve().parents[1] / "data" / "manifests"
FORMATS = ["multi-doc.yaml", "list.yaml", "list.json", "stream.json", "charts/legacy/rendered.yaml"]
TABLE = {(e.gvk.api_version, e.gvk.kind) for e in apis.removed_apis()}
NEWEST = "1.37"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_corpus", CORPUS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_is_up_to_date_with_the_table() -> None:
    expected: dict[Path, str] = generator().corpus()
    stale = [p.relative_to(CORPUS) for p, text in expected.items() if not p.exists() or p.read_text() != text]
    assert not stale, f"run tests/data/manifests/generate.py: {stale} differ"


def _scan(name: str, part: str, target: str = NEWEST) -> tuple[list[Finding], list[Finding]]:
    path = CORPUS / part / name
    usages = manifest_usages(parse_manifests(path.read_text(), str(path)), manifest_source(str(path)))
    checked = data(None, target=target, usages=usages)
    return removed_api(checked), deprecated_api(checked)


@pytest.mark.parametrize("name", FORMATS)
def test_every_removed_api_is_found_in_every_format(name: str) -> None:
    removed, _ = _scan(name, "removed")
    assert {(f.object.api_version, f.object.kind) for f in removed} == TABLE
    assert all(f.severity is Severity.BLOCKING and f.source.startswith("manifest:") for f in removed)


@pytest.mark.parametrize("target", ["1.34", "1.35", "1.36", NEWEST])
@pytest.mark.parametrize("name", FORMATS)
def test_current_api_versions_give_no_false_positive(name: str, target: str) -> None:
    assert _scan(name, "current", target) == ([], [])


def test_removals_count_only_up_to_the_target() -> None:
    removed, _ = _scan("multi-doc.yaml", "removed", "1.25")
    assert {(f.object.api_version, f.object.kind) for f in removed} == {
        (e.gvk.api_version, e.gvk.kind) for e in apis.removed_apis() if e.removed_in <= Version(1, 25)
    }
