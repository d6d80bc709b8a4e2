"""Settings, read from environment variables (and an optional `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_ADMIN_KEYS = frozenset(
    {"", "changeme", "change-me", "dev-admin-key", "secret", "admin"}
)
MIN_ADMIN_KEY_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SearchBackendName(StrEnum):
    embedded = "embedded"
    meilisearch = "meilisearch"


class GeocoderName(StrEnum):
    none = "none"  # offline chain only: PC6 > PC4 > kern centroid
    pdok = "pdok"  # PDOK Locatieserver first (needs internet)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = "sqlite:///./var/sociale-kaart.db"
    search_backend: SearchBackendName = SearchBackendName.embedded
    search_index_path: str = "./var/search-index.db"
    meili_url: str | None = None
    meili_api_key: SecretStr | None = None
    meili_index: str = "services"
    search_timeout_s: float = 5.0
    search_drain_interval_s: float = 30.0
    geocoder: GeocoderName = GeocoderName.none
    pdok_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    pdok_timeout_s: float = 5.0
    pdok_min_interval_s: float = 0.2  # polite: at most 5 requests per second
    admin_api_key: SecretStr = SecretStr("dev-admin-key")
    api_contact_name: str = "sociale-kaart"
    api_contact_email: str = "sociale-kaart@example.nl"
    api_contact_url: str = "https://github.com/sociale-kaart/sociale-kaart"

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Self:
        if self.environment is Environment.development:
            return self
        key = self.admin_api_key.get_secret_value()
        if key.strip().lower() in PLACEHOLDER_ADMIN_KEYS or len(key) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(
                "ADMIN_API_KEY must be set to a random value of at least "
                f"{MIN_ADMIN_KEY_LENGTH} characters outside development "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if self.search_backend is SearchBackendName.meilisearch and not self.meili_url:
            raise ValueError("SEARCH_BACKEND=meilisearch requires MEILI_URL")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
