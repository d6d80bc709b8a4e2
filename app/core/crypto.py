"""Field-level encryption of personal data at rest (referrals: docs/privacy.md).

Fernet (AES-128-CBC with HMAC-SHA256: authenticated, with a timestamp) from the
``cryptography`` package; ``MultiFernet`` decrypts with any configured key and encrypts with
the first, which is how keys rotate:

1. put a new key first in ``FIELD_ENCRYPTION_KEYS`` (keep the old ones after it) and restart;
2. run ``sociale-kaart referrals rotate-key`` — every stored value is re-encrypted with it;
3. remove the old key.

Without configured keys (development and tests only; production refuses to start) one key is
derived from ``SECRET_KEY`` with HKDF, so a development database stays readable.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.config import Settings

_INFO = b"sociale-kaart field encryption v1"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


class FieldCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("FieldCipher needs at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise DecryptionError(
                "stored value cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, token: str | None) -> str | None:
        """The same value, encrypted with the first (newest) key."""
        if token is None:
            return None
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError) as exc:
            raise DecryptionError(
                "stored value cannot be decrypted with the configured keys"
            ) from exc


def derived_key(secret: str) -> bytes:
    """A Fernet key derived from a secret (development and tests only)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


def cipher_for(settings: Settings) -> FieldCipher:
    keys = tuple(k.get_secret_value() for k in settings.field_encryption_keys)
    return _cipher(keys, settings.secret_key.get_secret_value())


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...], secret: str) -> FieldCipher:
    if keys:
        return FieldCipher([k.encode("ascii") for k in keys])
    return FieldCipher([derived_key(secret)])
