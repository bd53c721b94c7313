"""The release table: complete for 1.16-1.37, consistent, sourced, and agreeing with the known facts."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from overhaul.domain.version import Version
from overhaul.knowledge import releases
from overhaul.knowledge.releases import UnknownReleaseError


def v(text: str) -> Version:
    return Version.parse(text)


def test_every_minor_from_1_16_to_1_37_is_present_once() -> None:
    minors = [r.minor for r in releases.releases()]
    assert minors == [Version(1, m) for m in range(16, 38)]


def test_dates_are_ordered() -> None:
    table = releases.releases()
    for r in table:
        assert r.released < r.end_of_support, r.minor
    for older, newer in itertools.pairwise(table):
        assert older.released < newer.released, newer.minor
        assert older.end_of_support < newer.end_of_support, newer.minor


def test_support_periods_are_about_fourteen_months_since_1_19() -> None:
    months = releases.support_months()
    assert months == 14
    for r in releases.releases():
        if r.minor >= Version(1, 19):
            days = (r.end_of_support - r.released).days
            assert 395 <= days <= 520, (r.minor, days)


def test_latest_patches_belong_to_their_minor() -> None:
    checked = releases.provenance().checked
    for r in releases.releases():
        if r.latest_patch is not None:
            assert (r.latest_patch.major, r.latest_patch.minor) == r.minor.minor_key
            assert r.latest_patch.patch is not None
            assert r.latest_patch_final or r.latest_patch_as_of is not None, r.minor
        else:
            assert not r.latest_patch_final
        if r.end_of_support > checked:  # still open on the day the data was checked
            assert not r.latest_patch_final, r.minor


def test_every_fact_names_a_source_or_says_unconfirmed() -> None:
    sources = releases.provenance().sources
    assert all(url.startswith("https://") for url in sources.values())
    for r in releases.releases():
        assert set(r.evidence) >= {"released", "end_of_support"}, r.minor
        assert set(r.evidence) <= set(releases.FIELDS), r.minor
        if r.latest_patch is not None:
            assert "latest_patch" in r.evidence, r.minor
        for field, key in r.evidence.items():
            assert key == "unconfirmed" or key in sources, (r.minor, field, key)


def test_provenance_date() -> None:
    assert releases.provenance().checked == dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    ("minor", "released", "end_of_support"),
    [
        ("1.30", None, "2025-07-15"),
        ("1.31", None, "2025-11-11"),
        ("1.32", "2024-12-11", None),
        ("1.34", None, "2026-10-27"),
        ("1.35", None, "2027-02-28"),
        ("1.36", "2026-04-22", "2027-06-28"),
        ("1.37", "2026-08-26", "2027-10-28"),
    ],
)
def test_agrees_with_the_starting_facts(minor: str, released: str | None, end_of_support: str | None) -> None:
    r = releases.release(minor)
    if released:
        assert r.released == dt.date.fromisoformat(released)
    if end_of_support:
        assert releases.end_of_support(minor) == dt.date.fromisoformat(end_of_support)


def test_lookups_accept_any_version_spelling() -> None:
    assert releases.release("v1.34.2").minor == Version(1, 34)
    assert releases.release(v("1.34.2")) is releases.release("1.34")
    assert releases.is_known("1.16")
    assert releases.is_known("v1.37.1")
    assert not releases.is_known("1.15")
    assert not releases.is_known("1.38")


def test_unknown_minor_raises() -> None:
    with pytest.raises(UnknownReleaseError, match=r"1\.38 is not in the release table"):
        releases.release("1.38")


def test_latest_minor() -> None:
    assert releases.latest_minor() == Version(1, 37)
    assert releases.latest_minor(on=dt.date(2026, 5, 1)) == Version(1, 36)
    assert releases.latest_minor(on=dt.date(2026, 8, 26)) == Version(1, 37)
    with pytest.raises(UnknownReleaseError):
        releases.latest_minor(on=dt.date(2019, 1, 1))


def test_supported_minors_on_a_day() -> None:
    # 1.34 reached its end of support on 2026-10-27.
    assert releases.supported_minors(dt.date(2026, 11, 27)) == (v("1.35"), v("1.36"), v("1.37"))
    assert releases.is_supported("1.34", dt.date(2026, 10, 27))
    assert not releases.is_supported("1.34", dt.date(2026, 10, 28))


def test_unconfirmed_fields_are_exposed() -> None:
    assert releases.release("1.33").unconfirmed == frozenset({"end_of_support"})
    assert releases.release("1.34").unconfirmed == frozenset()
