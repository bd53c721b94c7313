"""Reading the packaged data files: YAML from importlib.resources, their provenance, typed fields."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from overhaul.domain.version import Version, VersionError


class KnowledgeDataError(ValueError):
    """A packaged data file that does not have the shape its loader expects."""


@dataclass(frozen=True)
class Provenance:
    """Where a data file's facts come from and when they were last checked there."""

    sources: Mapping[str, str]  # a short key (used by entries' `evidence`) -> URL
    checked: dt.date

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(self.sources.values())


@functools.cache
def load(name: str) -> Mapping[str, Any]:
    """The parsed document `data/<name>`; read once per process."""
    text = importlib.resources.files("overhaul.knowledge").joinpath("data", name).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise KnowledgeDataError(f"{name}: expected a mapping at the top level")
    return document


def provenance(name: str) -> Provenance:
    document = load(name)
    raw = document.get("source")
    if isinstance(raw, str):
        sources = {"source": raw}
    elif isinstance(raw, list) and raw and all(isinstance(u, str) for u in raw):
        sources = {f"source-{i}": u for i, u in enumerate(raw)}
    elif isinstance(raw, dict) and raw and all(isinstance(u, str) for u in raw.values()):
        sources = {str(k): v for k, v in raw.items()}
    else:
        raise KnowledgeDataError(f"{name}: `source` must be a URL, a list of URLs or a mapping of URLs")
    return Provenance(sources, date(document.get("checked"), f"{name}: checked"))


def mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise KnowledgeDataError(f"{where}: expected a mapping")
    return value


def entries(value: object, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise KnowledgeDataError(f"{where}: expected a list")
    return [mapping(item, f"{where}[{i}]") for i, item in enumerate(value)]


def text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise KnowledgeDataError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def optional_text(value: object, where: str) -> str | None:
    return None if value is None else text(value, where)


def integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise KnowledgeDataError(f"{where}: expected an integer, got {value!r}")
    return value


def optional_integer(value: object, where: str) -> int | None:
    return None if value is None else integer(value, where)


def flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise KnowledgeDataError(f"{where}: expected true or false, got {value!r}")
    return value


def date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise KnowledgeDataError(f"{where}: expected a YYYY-MM-DD date, got {value!r}")


def optional_date(value: object, where: str) -> dt.date | None:
    return None if value is None else date(value, where)


def version(value: object, where: str) -> Version:
    # Minors must be quoted in YAML: an unquoted 1.20 is the float 1.2.
    if not isinstance(value, str):
        raise KnowledgeDataError(f"{where}: expected a quoted version string, got {value!r}")
    try:
        return Version.parse(value)
    except VersionError as exc:
        raise KnowledgeDataError(f"{where}: {exc}") from exc


def optional_version(value: object, where: str) -> Version | None:
    return None if value is None else version(value, where)


def minor(value: Version | str) -> Version:
    """The minor of a version given as `1.36`, `v1.36.2` or a Version: patch dropped."""
    parsed = Version.parse(value) if isinstance(value, str) else value
    return Version(parsed.major, parsed.minor)
