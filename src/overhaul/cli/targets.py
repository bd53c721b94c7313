"""The target version and the cluster to judge it against, as `preflight` and `plan` read them."""

from __future__ import annotations

from pathlib import Path

from overhaul.cli.errors import EXIT_USAGE, fail
from overhaul.domain.cluster import ClusterView
from overhaul.domain.version import Version, VersionError
from overhaul.knowledge import releases


def parse_target(text: str) -> Version:
    """`--to V`: a version of a known Kubernetes release, or exit 2."""
    try:
        target = Version.parse(text)
    except VersionError as err:
        fail(f"--to: {err}", EXIT_USAGE)
    if not releases.is_known(target):
        known = releases.releases()
        fail(
            f"--to {text}: Kubernetes {target.major}.{target.minor} is not a known release "
            f"(known: {known[0].minor} to {known[-1].minor})",
            EXIT_USAGE,
        )
    return target


def refuse_downgrade(target: Version, cluster: ClusterView) -> None:
    """Exit 2 when the target is older than what the cluster runs (a downgrade)."""
    current = cluster.server.version
    if current is None:
        return
    older_minor = target.minor_key < current.minor_key
    older_patch = (
        target.minor_key == current.minor_key
        and target.patch is not None
        and current.patch is not None
        and target.patch < current.patch
    )
    if older_minor or older_patch:
        fail(f"--to {target}: the cluster already runs {current}; a downgrade is not an upgrade", EXIT_USAGE)


def load_snapshot(path: Path) -> ClusterView:
    """`--from-snapshot FILE`: the cluster as a snapshot saw it, or exit 2."""
    from overhaul.kube.snapshot import SnapshotError, load_snapshot_view  # deferred: loads only when used

    try:
        return load_snapshot_view(path)
    except SnapshotError as err:
        fail(f"--from-snapshot: {err}", EXIT_USAGE)
