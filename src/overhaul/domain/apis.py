"""API group/version/kind identities, as manifests (`apiVersion` + `kind`) and discovery write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


class ApiVersionError(ValueError):
    """Text that is not an `apiVersion` (`v1`, `apps/v1`, `networking.k8s.io/v1beta1`)."""


class Stability(StrEnum):
    """The maturity of an API version, read from its name (`v1alpha2`, `v2beta1`, `v1`)."""

    ALPHA = "alpha"
    BETA = "beta"
    GA = "ga"
    UNKNOWN = "unknown"  # a version name that does not follow the Kubernetes convention


def stability(version: str) -> Stability:
    m = _VERSION.match(version)
    if not m:
        return Stability.UNKNOWN
    return {None: Stability.GA, "alpha": Stability.ALPHA, "beta": Stability.BETA}[m.group(2)]


def version_priority(version: str) -> tuple[int, int, int, str]:
    """A sort key that orders API versions the way the apiserver prefers them: GA over beta over alpha,
    then the higher major, then the higher pre-release number (`v1` > `v2beta1` > `v1beta2` > `v1alpha1`).
    Names outside the convention sort lowest, alphabetically. Higher key = preferred."""
    m = _VERSION.match(version)
    if not m:
        return (-1, 0, 0, version)
    rank = {None: 2, "beta": 1, "alpha": 0}[m.group(2)]
    return (rank, int(m.group(1)), int(m.group(3) or 0), "")


@dataclass(frozen=True, order=True)
class GroupVersion:
    """`apps/v1`; the core group is the empty string (`v1`)."""

    group: str
    version: str

    @classmethod
    def parse(cls, api_version: str) -> GroupVersion:
        text = api_version.strip()
        group, slash, version = text.rpartition("/")
        if not _NAME.match(version) or (slash and not _NAME.match(group)):
            raise ApiVersionError(f"{api_version!r} is not an apiVersion (like v1, apps/v1 or batch/v1beta1)")
        return cls(group, version)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def stability(self) -> Stability:
        return stability(self.version)

    def kind(self, kind: str) -> GroupVersionKind:
        return GroupVersionKind(self.group, self.version, kind)

    def __str__(self) -> str:
        return self.api_version


@dataclass(frozen=True, order=True)
class GroupVersionKind:
    """One kind in one API version: what an object's `apiVersion` and `kind` name together."""

    group: str
    version: str
    kind: str

    @classmethod
    def of(cls, api_version: str, kind: str) -> GroupVersionKind:
        """From a manifest's `apiVersion` and `kind`."""
        if not kind or not kind.strip():
            raise ApiVersionError(f"an empty kind for apiVersion {api_version!r}")
        return GroupVersion.parse(api_version).kind(kind.strip())

    @property
    def group_version(self) -> GroupVersion:
        return GroupVersion(self.group, self.version)

    @property
    def api_version(self) -> str:
        return self.group_version.api_version

    @property
    def stability(self) -> Stability:
        return stability(self.version)

    def with_version(self, api_version: str) -> GroupVersionKind:
        """The same kind under another apiVersion (a replacement usually keeps the kind)."""
        return GroupVersion.parse(api_version).kind(self.kind)

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}"
