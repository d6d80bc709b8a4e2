"""Field-level encryption: authenticated, rotatable, never plain text at rest."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.core.config import Environment, Settings
from app.core.crypto import DecryptionError, FieldCipher, cipher_for, derived_key


def test_round_trip_and_ciphertext_is_not_the_text() -> None:
    cipher = FieldCipher([Fernet.generate_key()])
    token = cipher.encrypt("Jan Jansen, 06 12345678")
    assert token is not None
    assert "Jansen" not in token
    assert cipher.decrypt(token) == "Jan Jansen, 06 12345678"
    assert cipher.encrypt(None) is None
    assert cipher.decrypt(None) is None


def test_tampered_or_foreign_values_do_not_decrypt() -> None:
    cipher = FieldCipher([Fernet.generate_key()])
    token = cipher.encrypt("geheim")
    assert token is not None
    with pytest.raises(DecryptionError):
        cipher.decrypt(token[:-4] + "AAAA")
    with pytest.raises(DecryptionError):
        FieldCipher([Fernet.generate_key()]).decrypt(token)


def test_key_rotation_new_key_first_old_still_reads() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = FieldCipher([old]).encrypt("Piet")
    both = FieldCipher([new, old])
    assert both.decrypt(token) == "Piet"
    rotated = both.rotate(token)
    assert FieldCipher([new]).decrypt(rotated) == "Piet"  # the old key can go now
    with pytest.raises(DecryptionError):
        FieldCipher([old]).decrypt(rotated)


def test_settings_keys_and_development_derivation() -> None:
    key = Fernet.generate_key().decode()
    configured = cipher_for(Settings(field_encryption_keys=key))
    assert FieldCipher([key.encode()]).decrypt(configured.encrypt("x")) == "x"
    derived = cipher_for(Settings(secret_key="a-development-secret-of-some-length"))
    token = derived.encrypt("y")
    assert FieldCipher([derived_key("a-development-secret-of-some-length")]).decrypt(token) == "y"
    with pytest.raises(ValidationError, match="not a Fernet key"):
        Settings(field_encryption_keys="geen-sleutel")


def test_production_refuses_to_start_without_keys() -> None:
    with pytest.raises(ValidationError, match="FIELD_ENCRYPTION_KEYS must be set"):
        Settings(
            environment=Environment.production,
            admin_api_key="x" * 40,
            secret_key="y" * 40,
        )
