from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import Environment, Settings


@pytest.mark.parametrize("key", ["dev-admin-key", "changeme", "", "kort-maar-echt"])
@pytest.mark.parametrize("environment", [Environment.production, Environment.test])
def test_placeholder_admin_key_refused_outside_development(
    environment: Environment, key: str
) -> None:
    with pytest.raises(ValidationError, match="ADMIN_API_KEY"):
        Settings(environment=environment, admin_api_key=key)


def test_development_accepts_the_placeholder() -> None:
    settings = Settings(environment=Environment.development)
    assert settings.admin_api_key.get_secret_value() == "dev-admin-key"
    assert settings.database_url == "sqlite:///./var/sociale-kaart.db"
    assert settings.search_backend == "embedded"


def test_production_with_a_real_key() -> None:
    key = "k" * 40
    settings = Settings(
        environment=Environment.production,
        admin_api_key=key,
        secret_key="s" * 40,
        field_encryption_keys="q0eFXo0o7Jm0Y8m8Jtq7A6QnAqk5m1t9mK2b3yQw4xE=",
    )
    assert settings.admin_api_key.get_secret_value() == key
    assert key not in repr(settings)  # secrets are not printed


def test_meilisearch_needs_an_url() -> None:
    with pytest.raises(ValidationError, match="MEILI_URL"):
        Settings(
            environment=Environment.production,
            admin_api_key="k" * 40,
            secret_key="s" * 40,
            search_backend="meilisearch",
        )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("SEARCH_BACKEND", "meilisearch")
    monkeypatch.setenv("MEILI_URL", "http://127.0.0.1:7700")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.meili_url == "http://127.0.0.1:7700"
