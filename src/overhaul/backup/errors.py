"""Failures of taking, verifying and restoring backups, each with a one-line message a user can act on.

None of these messages ever carries the content of an object (a Secret's data must not leak into
logs): they name objects by kind, namespace and name only.
"""

from __future__ import annotations


class BackupError(Exception):
    """Any failure of the backup package; `str(err)` is one line fit for users."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class BadOptions(BackupError):
    """Options that cannot work together or values that are not usable (a key file that is no key)."""


class BackupFailed(BackupError):
    """Taking a backup failed; whatever was written of it has been removed (or marked incomplete)."""


class EtcdError(BackupError):
    """etcd could not be reached, refused the credentials, or its snapshot failed verification."""


class BadBackup(BackupError):
    """A backup folder that is not one, is incomplete, or whose files do not match their checksums."""


class ObjectExists(BackupError):
    """Creating an object failed because one of that name exists (409 AlreadyExists)."""


class ObjectRejected(BackupError):
    """The API server refused to create or update one object (validation, admission, quota...)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code
