"""Kubernetes versions as users and clusters write them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


class VersionError(ValueError):
    """Text that is not a Kubernetes version."""


@dataclass(frozen=True, order=True)
class Version:
    """A Kubernetes version; `patch` is None when only the minor was given (`1.36`)."""

    major: int
    minor: int
    patch: int | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """Accepts `1.36`, `v1.36`, `1.36.2`, `v1.36.2` (and build suffixes like `v1.34.2-eks-1`)."""
        m = _VERSION.match(text.strip())
        if not m:
            raise VersionError(f"{text!r} is not a Kubernetes version (use 1.34, v1.34, 1.34.2 or v1.34.2)")
        major, minor = int(m.group(1)), int(m.group(2))
        if major != 1:
            raise VersionError(f"{text!r} is not a Kubernetes 1.x version")
        return cls(major, minor, int(m.group(3)) if m.group(3) is not None else None)

    @property
    def minor_key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def full(self) -> str:
        """`v1.36.0` style, patch 0 when none was given."""
        return f"v{self.major}.{self.minor}.{self.patch or 0}"

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"
