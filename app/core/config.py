"""Settings, read from environment variables (and an optional `.env` file)."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Self

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_ADMIN_KEYS = frozenset(
    {"", "changeme", "change-me", "dev-admin-key", "secret", "admin"}
)
MIN_ADMIN_KEY_LENGTH = 32
PLACEHOLDER_SECRET_KEYS = PLACEHOLDER_ADMIN_KEYS | {"dev-secret-key-change-me", "dev-secret-key"}
MIN_SECRET_KEY_LENGTH = 32
_GENERATE_HINT = "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
_ORIGIN = re.compile(r"^https?://[^\s/?#@]+$")


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


# Where a placeholder SECRET_KEY is refused (as ADMIN_API_KEY: everywhere but development).
SECRET_KEY_REQUIRED_IN = frozenset({Environment.production, Environment.test})


class SearchBackendName(StrEnum):
    embedded = "embedded"
    meilisearch = "meilisearch"


class SearchFallback(StrEnum):
    none = "none"  # search answers 503 while the search engine is unavailable
    database = "database"  # a slower, simpler search straight on the database (docs/reliability.md)


class GeocoderName(StrEnum):
    none = "none"  # offline chain only: PC6 > PC4 > kern centroid
    pdok = "pdok"  # PDOK Locatieserver first (needs internet)


class Settings(BaseSettings):
    # hide_input_in_errors: a refused start-up must not print the input (keys, DATABASE_URL).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = Environment.development
    # repr=False: a PostgreSQL URL carries the database password; keep it out of repr/logs.
    database_url: str = Field(default="sqlite:///./var/sociale-kaart.db", repr=False)
    search_backend: SearchBackendName = SearchBackendName.embedded
    search_index_path: str = "./var/search-index.db"
    meili_url: str | None = None
    meili_api_key: SecretStr | None = None
    meili_index: str = "services"
    search_timeout_s: float = Field(default=5.0, gt=0)  # per call to Meilisearch
    search_drain_interval_s: float = 30.0
    # What search does while the engine is down: 503 (default) or a database-backed fallback.
    search_fallback: SearchFallback = SearchFallback.none
    # The fallback keeps public listings in memory (refreshed every minute); above this many
    # it stays off and search answers 503 (a national index needs a highly available engine).
    search_fallback_max_documents: int = Field(default=20_000, gt=0)
    # After a failure the engine is not asked again for this long: searches answer at once
    # (503 or fallback) instead of each waiting for SEARCH_TIMEOUT_S.
    search_circuit_open_s: float = Field(default=10.0, ge=0)
    # Public search requests per client per minute, per server process, counted in memory
    # under a salted hash of the client address that is never stored (0 = no limit).
    search_max_per_client_per_minute: int = Field(default=120, ge=0)
    # Whole answers of anonymous searches, per server process, served again while the index
    # and the reference tables are unchanged (app/search_api/answers.py; 0 = off).
    search_answer_cache_mb: int = Field(default=32, ge=0)
    # How long a process trusts its in-memory copy of the taxonomy slugs, gemeenten, wijken,
    # kernen and postcodes that search filters are checked against, for changes made by
    # another process (its own changes count at once; app/indexing/reference.py).
    search_reference_max_age_s: float = Field(default=60.0, gt=0)
    geocoder: GeocoderName = GeocoderName.none
    pdok_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    pdok_timeout_s: float = 5.0
    pdok_min_interval_s: float = 0.2  # polite: at most 5 requests per second
    admin_api_key: SecretStr = SecretStr("dev-admin-key")
    # Signs access tokens; refused outside development when it is a placeholder or too short.
    secret_key: SecretStr = SecretStr("dev-secret-key-change-me")
    # Larger request bodies are answered with 413 (problem+json).
    max_request_body_bytes: int = Field(default=1_048_576, gt=0)
    # Origins (scheme://host[:port]) that may call write endpoints from a browser. Public
    # GET/HEAD/OPTIONS stay open to every origin. Env: comma-separated or a JSON list.
    cors_write_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_contact_name: str = "sociale-kaart"
    api_contact_email: str = "sociale-kaart@example.nl"
    api_contact_url: str = "https://github.com/sociale-kaart/sociale-kaart"
    # --- e-mail (app/notifications/service.py; docs/operations.md "E-mail") ---
    # Unset: off in development (`make run` never mails), on in test and production.
    smtp_enabled: bool | None = None
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "sociale-kaart <noreply@example.nl>"
    # Where the web application runs: the links in invitation and password-reset mails.
    public_base_url: str = "http://127.0.0.1:8000"
    # --- end e-mail ---
    # --- freshness (app/freshness; docs/operations.md "Actualiteit (freshness)") ---
    # Older than this (days since assured_date, else created_at): verificatie-nodig + reminder.
    freshness_max_age_days: int = Field(default=365, gt=0)
    # Then this long (and at least this long after the reminder): verlopen (hidden).
    freshness_grace_days: int = Field(default=60, ge=0)
    # How often the server runs it (0: never; use `sociale-kaart freshness run`).
    freshness_interval_s: float = Field(default=3600.0, ge=0)
    # --- end freshness ---
    # --- resident feedback (app/feedback; docs/operations.md "Meldingen van inwoners") ---
    # Per voorziening per hour (counted in the database).
    feedback_max_per_hour: int = Field(default=10, gt=0)
    # Per client address per hour and per server process (in memory only, salted hash).
    feedback_max_per_client_per_hour: int = Field(default=20, gt=0)
    # --- end resident feedback ---
    # --- retention (app/privacy; docs/privacy.md "Bewaartermijnen") ---
    # The text and the redactie's note of resident feedback are erased this many days after
    # it was handled (open feedback: after this many days since it came in).
    feedback_text_retention_days: int = Field(default=365, ge=1, le=3650)
    # Audit events older than this lose who did it (actor_id) and personal values in
    # changes (e-mail addresses, names, phone numbers); what happened and when stays.
    audit_actor_retention_days: int = Field(default=730, ge=1, le=3650)
    # How often the server runs the retention job, in seconds (0 = only by hand: sociale-kaart
    # privacy retention).
    retention_interval_s: float = Field(default=86400.0, ge=0)
    # --- end retention ---
    # --- referrals (app/referrals; docs/privacy.md) ---
    # Fernet keys (urlsafe base64, 32 bytes), comma-separated: the first encrypts, all decrypt
    # (key rotation: put the new key first, run `sociale-kaart referrals rotate-key`, then drop
    # the old one). Required in production; in development and test derived from SECRET_KEY.
    field_encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, repr=False
    )
    # Personal data of a closed referral is erased this many days after closure.
    referral_retention_days: int = Field(default=90, ge=1, le=3650)
    referral_purge_interval_s: float = Field(default=3600.0, ge=0)
    # Anonymous search counts for the monitor are written every this many seconds (0 = only
    # at shutdown).
    insights_flush_interval_s: float = Field(default=60.0, ge=0)
    # --- end referrals ---
    # --- web pages (app/web; docs/web.md) ---
    # The pages read the public API: in-process by default, or another deployment's /api/v1.
    web_api_url: str | None = None
    web_municipality: str = "uithoorn"  # the gemeente whose wijken the filters offer
    web_site_name: str = "Sociale kaart Uithoorn"
    # Theming (NL Design System style tokens): colours as #rrggbb, logo as a URL or a path
    # under /static/ (served locally: the pages load nothing from third parties).
    web_primary_color: str = Field(default="#00587a", pattern=r"^#[0-9a-fA-F]{6}$")
    web_primary_text_color: str = Field(default="#ffffff", pattern=r"^#[0-9a-fA-F]{6}$")
    web_logo_url: str | None = None
    # Sites that may show the embeddable widget in an iframe (CSP frame-ancestors); * = any.
    web_widget_ancestors: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    # --- end web pages ---

    @field_validator("field_encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("field_encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for number, key in enumerate(value, start=1):
            try:
                Fernet(key.get_secret_value().encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise ValueError(
                    f"FIELD_ENCRYPTION_KEYS: key {number} is not a Fernet key "
                    "(32 bytes, urlsafe base64)"
                ) from None
        return value

    @field_validator("web_widget_ancestors", mode="before")
    @classmethod
    def _split_ancestors(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_write_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list | tuple):
            return value
        origins = []
        for item in value:
            origin = str(item).strip().rstrip("/").lower()
            if not origin:
                continue
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f"CORS_WRITE_ORIGINS: {origin!r} is not an origin; list exact origins "
                    "such as https://beheer.gemeente.nl ('*' is not allowed for writes)"
                )
            origins.append(origin)
        return origins

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Self:
        if self.environment is Environment.development:
            return self
        problems = []
        key = self.admin_api_key.get_secret_value()
        if key.strip().lower() in PLACEHOLDER_ADMIN_KEYS or len(key) < MIN_ADMIN_KEY_LENGTH:
            problems.append(
                "ADMIN_API_KEY must be set to a random value of at least "
                f"{MIN_ADMIN_KEY_LENGTH} characters outside development {_GENERATE_HINT}"
            )
        secret = self.secret_key.get_secret_value()
        if self.environment in SECRET_KEY_REQUIRED_IN and (
            secret.strip().lower() in PLACEHOLDER_SECRET_KEYS or len(secret) < MIN_SECRET_KEY_LENGTH
        ):
            problems.append(
                "SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in {self.environment.value} {_GENERATE_HINT}"
            )
        elif self.environment in SECRET_KEY_REQUIRED_IN and secret == key:
            problems.append("SECRET_KEY must differ from ADMIN_API_KEY")
        if self.environment is Environment.production and not self.field_encryption_keys:
            problems.append(
                "FIELD_ENCRYPTION_KEYS must be set in production (generate one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        if self.search_backend is SearchBackendName.meilisearch and not self.meili_url:
            problems.append("SEARCH_BACKEND=meilisearch requires MEILI_URL")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
