"""Kubernetes minor releases: when each came out, when its patch support ends, its latest patch.

The facts live in data/releases.yaml, with the source each one was confirmed at.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from overhaul.domain.version import Version
from overhaul.knowledge import _data

_FILE = "releases.yaml"
FIELDS = ("released", "end_of_support", "latest_patch")


class UnknownReleaseError(KeyError):
    """A minor the release table does not know."""


@dataclass(frozen=True)
class Release:
    minor: Version  # patch is None
    released: dt.date
    end_of_support: dt.date
    latest_patch: Version | None
    latest_patch_final: bool  # True when the branch is closed and this is its last patch
    latest_patch_as_of: dt.date | None  # for open branches: the date the latest patch was seen
    evidence: dict[str, str]  # field -> source key in the file's `source`, or "unconfirmed"
    note: str

    @property
    def unconfirmed(self) -> frozenset[str]:
        """Fields whose value was not found at a source (taken from the project's starting facts)."""
        return frozenset(f for f, key in self.evidence.items() if key == "unconfirmed")

    def supported_on(self, day: dt.date) -> bool:
        return self.released <= day <= self.end_of_support


def _parse(raw: dict[str, object], where: str) -> Release:
    evidence = _data.mapping(raw.get("evidence", {}), f"{where}.evidence")
    return Release(
        minor=_data.minor(_data.version(raw.get("minor"), f"{where}.minor")),
        released=_data.date(raw.get("released"), f"{where}.released"),
        end_of_support=_data.date(raw.get("end_of_support"), f"{where}.end_of_support"),
        latest_patch=_data.optional_version(raw.get("latest_patch"), f"{where}.latest_patch"),
        latest_patch_final=_data.flag(raw.get("latest_patch_final", False), f"{where}.latest_patch_final"),
        latest_patch_as_of=_data.optional_date(raw.get("latest_patch_as_of"), f"{where}.latest_patch_as_of"),
        evidence={str(k): _data.text(v, f"{where}.evidence.{k}") for k, v in evidence.items()},
        note=_data.optional_text(raw.get("note"), f"{where}.note") or "",
    )


@functools.cache
def _table() -> dict[Version, Release]:
    document = _data.load(_FILE)
    parsed = [
        _parse(dict(raw), f"{_FILE} releases[{i}]")
        for i, raw in enumerate(_data.entries(document.get("releases"), f"{_FILE} releases"))
    ]
    table = {r.minor: r for r in sorted(parsed, key=lambda r: r.minor)}
    if len(table) != len(parsed):
        raise _data.KnowledgeDataError(f"{_FILE}: a minor is listed twice")
    return table


def provenance() -> _data.Provenance:
    return _data.provenance(_FILE)


def support_months() -> int:
    """Roughly how long a minor gets patches (since 1.19)."""
    return _data.integer(_data.load(_FILE).get("support_months"), f"{_FILE} support_months")


def releases() -> tuple[Release, ...]:
    """Every known minor, oldest first."""
    return tuple(_table().values())


def is_known(minor: Version | str) -> bool:
    return _data.minor(minor) in _table()


def release(minor: Version | str) -> Release:
    key = _data.minor(minor)
    try:
        return _table()[key]
    except KeyError:
        known = releases()
        raise UnknownReleaseError(
            f"Kubernetes {key} is not in the release table (it knows {known[0].minor} to {known[-1].minor})"
        ) from None


def end_of_support(minor: Version | str) -> dt.date:
    return release(minor).end_of_support


def latest_minor(on: dt.date | None = None) -> Version:
    """The newest minor in the table, or the newest already released on `on`."""
    candidates = [r for r in releases() if on is None or r.released <= on]
    if not candidates:
        raise UnknownReleaseError(f"no Kubernetes minor in the table was released by {on}")
    return candidates[-1].minor


def is_supported(minor: Version | str, on: dt.date) -> bool:
    return release(minor).supported_on(on)


def supported_minors(on: dt.date) -> tuple[Version, ...]:
    """The minors still receiving patches on that day, oldest first."""
    return tuple(r.minor for r in releases() if r.supported_on(on))
