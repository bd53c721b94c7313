"""`/readyz?verbose` (and `/livez?verbose`, `/healthz?verbose`) text: one line per check.

    [+]ping ok
    [-]etcd failed: reason withheld
    readyz check failed

A plain `ok` (what a server answers without `verbose`) means every check passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^\[(?P<mark>[+-])\](?P<name>\S+)\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class HealthCheck:
    name: str  # e.g. etcd, poststarthook/start-apiextensions-controllers
    ok: bool
    detail: str  # "ok", "failed: reason withheld", ...


def parse_readyz(text: str) -> list[HealthCheck]:
    """The checks a verbose health endpoint lists; a text with no check lines gives one overall
    check named `readyz`, ok when the text is `ok` or says the check passed."""
    checks = []
    for raw in text.splitlines():
        m = _LINE.match(raw.strip())
        if m:
            checks.append(HealthCheck(m["name"], m["mark"] == "+", m["rest"].strip()))
    if checks:
        return checks
    body = text.strip()
    ok = body == "ok" or body.endswith("check passed")
    return [HealthCheck("readyz", ok, body.splitlines()[0][:200] if body else "empty answer")]
