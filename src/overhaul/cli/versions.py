"""Version arguments as users type them: 1.36, v1.36, 1.36.2, v1.36.2."""

from __future__ import annotations

from overhaul.cli.errors import EXIT_USAGE, fail
from overhaul.domain.version import Version, VersionError


def parse_version_option(text: str, option: str) -> str:
    """A full `vX.Y.Z` version from user input (patch 0 when omitted); exit 2 when malformed."""
    try:
        return Version.parse(text).full()
    except VersionError as err:
        fail(f"{option}: {err}", EXIT_USAGE)
