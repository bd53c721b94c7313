"""Which served resources an export lists: everything that can be listed and created again, at its
preferred version, less what is excluded.

`--exclude-resource` names a resource as kubectl does: `pods`, `deployments.apps`, `Deployment`, or
`widgets.example.com` (case does not matter). Events are left out by default (a record of the past,
not state), and Secrets unless asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from overhaul.domain.cluster import ServedResource

DEFAULT_EXCLUDED = ("events", "events.events.k8s.io")
NEEDED_VERBS = frozenset({"list", "create"})


def resource_key(resource: ServedResource) -> str:
    """`deployments.apps`, `pods` (the core group has no suffix)."""
    return f"{resource.name}.{resource.group}" if resource.group else resource.name


def names_of(resource: ServedResource) -> set[str]:
    """Every way a user may name `resource` on the command line (lower case)."""
    return {resource.name.lower(), resource_key(resource).lower(), resource.kind.lower()}


def is_secrets(resource: ServedResource) -> bool:
    return (resource.group, resource.name) == ("", "secrets")


@dataclass(frozen=True)
class Selection:
    chosen: tuple[ServedResource, ...]
    excluded: tuple[str, ...]  # resource keys left out, by an option or by default
    unmatched: tuple[str, ...]  # --exclude-resource values that named nothing served


def select_resources(
    preferred: Iterable[ServedResource], exclude: Iterable[str] = (), *, include_secrets: bool = False
) -> Selection:
    wanted_out = {e.strip().lower() for e in exclude if e.strip()}
    defaults = set(DEFAULT_EXCLUDED)
    chosen: list[ServedResource] = []
    excluded: list[str] = []
    matched: set[str] = set()
    for r in sorted(preferred, key=lambda r: (r.group, r.name)):
        if not r.verbs >= NEEDED_VERBS:
            continue
        hits = names_of(r) & wanted_out
        matched |= hits
        if hits or resource_key(r) in defaults or (is_secrets(r) and not include_secrets):
            excluded.append(resource_key(r))
            continue
        chosen.append(r)
    return Selection(tuple(chosen), tuple(excluded), tuple(sorted(wanted_out - matched)))
