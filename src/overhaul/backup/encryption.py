"""Encryption of exported Secrets with Fernet (cryptography's authenticated AES-128-CBC + HMAC-SHA256).

The key file holds one Fernet key: 32 random bytes, URL-safe base64, e.g. made by
`openssl rand -base64 32 | tr '+/' '-_'`. The same file decrypts on restore.
"""

from __future__ import annotations

import binascii
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from overhaul.backup.errors import BadBackup, BadOptions

ENCRYPTED_SUFFIX = ".fernet"
SCHEME = "fernet"


def load_key(path: Path) -> bytes:
    """The Fernet key in `path`; BadOptions when it cannot be read or is not a key."""
    try:
        key = path.read_bytes().strip()
    except OSError as err:
        raise BadOptions(f"key file {path}: {err.strerror or err}") from err
    try:
        Fernet(key)
    except (ValueError, binascii.Error) as err:
        raise BadOptions(
            f"key file {path} holds no Fernet key (32 random bytes in URL-safe base64; "
            "make one with: openssl rand -base64 32 | tr '+/' '-_')"
        ) from err
    return key


def encrypt(key: bytes, data: bytes) -> bytes:
    return Fernet(key).encrypt(data)


def decrypt(key: bytes, token: bytes, what: str) -> bytes:
    try:
        return Fernet(key).decrypt(token)
    except InvalidToken as err:
        raise BadBackup(
            f"{what}: cannot decrypt it with this key (a different key, or a damaged file)"
        ) from err
