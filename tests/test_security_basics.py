"""HTTP hardening: security headers, CSP, body size limit, CORS, secrets in settings and logs."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core.config import Environment, Settings
from app.core.middleware import API_CSP, SecurityHeaders
from app.indexing.engine import SearchEngine
from app.main import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.test_api_read import assert_problem

API = "/api/v1"
SECRET_KEY = "test-secret-key-abcdefghijklmnopqrstuvwxyz-0123"
WRITE_ORIGIN = "https://beheer.gemeente.example"
OTHER_ORIGIN = "https://elders.example"

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "cross-origin",
    "permissions-policy": "geolocation=(), camera=(), microphone=()",
}


def assert_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


@contextmanager
def app_client(engine: Engine, **overrides: Any) -> Iterator[TestClient]:
    """An app of its own (read-only use) with settings overrides, e.g. CORS_WRITE_ORIGINS."""
    settings = make_settings().model_copy(update=overrides)
    search = SearchEngine(settings=settings, engine=engine)
    app = create_app(settings, engine=engine, search=search, background_sync=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


FIELD_KEY = "q0eFXo0o7Jm0Y8m8Jtq7A6QnAqk5m1t9mK2b3yQw4xE="  # a valid Fernet key (tests only)


def production_settings(**extra: Any) -> Settings:
    return Settings(
        environment=Environment.production,
        admin_api_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        field_encryption_keys=FIELD_KEY,
        **extra,
    )


# --- security headers ----------------------------------------------------------------------


def test_security_headers_on_a_public_get(client: TestClient) -> None:
    response = client.get(f"{API}/services")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["content-security-policy"] == API_CSP
    assert "strict-transport-security" not in response.headers  # not production


def test_security_headers_on_a_problem_404(client: TestClient) -> None:
    response = client.get(f"{API}/services/bestaat-niet")
    assert_problem(response, 404)
    assert_security_headers(response)
    assert response.headers["content-security-policy"] == API_CSP


def test_security_headers_outside_the_api(client: TestClient) -> None:
    response = client.get("/health/live")
    assert_security_headers(response)


def test_hsts_only_in_production(engine: Engine) -> None:
    settings = production_settings(
        database_url="sqlite://", search_index_path="/nonexistent/search-index.db"
    )
    app = create_app(settings, engine=engine, background_sync=False)
    with TestClient(app) as production:
        response = production.get("/health/live")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert_security_headers(response)


def test_headers_the_app_sets_are_kept() -> None:
    def framed(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    app = SecurityHeaders(Starlette(routes=[Route("/", framed)]))
    response = TestClient(app).get("/")
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_csp_of_the_api_and_of_the_docs_page(client: TestClient) -> None:
    assert client.get(f"{API}/openapi.json").headers["content-security-policy"] == API_CSP

    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200
    assert_security_headers(docs)
    csp = docs.headers["content-security-policy"]
    directives = {d.split()[0]: " ".join(d.split()[1:]) for d in csp.split(";")}
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "https://cdn.jsdelivr.net" in directives["script-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "https://cdn.jsdelivr.net" in directives["style-src"]
    assert directives["connect-src"] == "'self'"
    # every inline script of the page is allowed by its hash, and only those
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"]
    scripts = re.findall(r"<script src=\"([^\"]+)\"", docs.text)
    assert scripts
    assert all(s.startswith("https://cdn.jsdelivr.net/") for s in scripts)


# --- request body size ---------------------------------------------------------------------


def _big_organization() -> bytes:
    body = {"municipality": "uithoorn", "name": "Groot", "description": "x" * 1_100_000}
    return json.dumps(body).encode()


@pytest.mark.parametrize("path", [f"{API}/search", f"{API}/services", "/zoeken", "/hsds/services"])
def test_an_overlong_query_string_is_414(client: TestClient, path: str) -> None:
    from app.core.middleware import MAX_QUERY_STRING_BYTES

    filters = "&".join(f"theme=t{i:05d}" for i in range(MAX_QUERY_STRING_BYTES // 12 + 1))
    assert len(filters) > MAX_QUERY_STRING_BYTES
    body = assert_problem(client.get(f"{path}?{filters}"), 414)
    assert body["title"] == "Adres te lang"
    assert "16 kB" in body["detail"]
    just_under = client.get(f"{path}?q={'a' * 400}")
    assert just_under.status_code in (200, 400)  # 400: /hsds/services has no q


def test_oversized_body_with_content_length_is_413(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        f"{API}/organizations",
        content=_big_organization(),
        headers={**admin, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 413)
    assert body["title"] == "Verzoek te groot"
    assert "1024 kB" in body["detail"]
    assert body["instance"] == f"{API}/organizations"
    assert_security_headers(response)


def test_oversized_chunked_body_is_413(client: TestClient, admin: dict[str, str]) -> None:
    payload = _big_organization()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    response = client.post(
        f"{API}/organizations",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 413)
    assert body["title"] == "Verzoek te groot"
    assert "1024 kB" in body["detail"]


def test_a_chunked_body_under_the_limit_still_works(
    client: TestClient, admin: dict[str, str]
) -> None:
    payload = json.dumps(
        {"municipality": "uithoorn", "name": "Klein", "admission_status": "toegelaten"}
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = client.post(
        f"{API}/organizations",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_the_limit_is_a_setting(engine: Engine, admin: dict[str, str]) -> None:
    with app_client(engine, max_request_body_bytes=512) as small:
        response = small.post(
            f"{API}/organizations",
            content=b"{" + b" " * 600 + b"}",
            headers={**admin, "Content-Type": "application/json"},
        )
    assert "0,5 kB" in assert_problem(response, 413)["detail"]


# --- CORS ----------------------------------------------------------------------------------


def test_public_get_from_any_origin(client: TestClient) -> None:
    response = client.get(f"{API}/services", headers={"Origin": OTHER_ORIGIN})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    exposed = response.headers["access-control-expose-headers"]
    assert {"API-Version", "ETag", "Location"} <= {h.strip() for h in exposed.split(",")}


def test_preflight_for_a_public_get(client: TestClient) -> None:
    response = client.options(
        f"{API}/services",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "PATCH" not in response.headers["access-control-allow-methods"]


def test_write_preflight_from_an_unlisted_origin_gets_no_allow_headers(
    client: TestClient,
) -> None:
    response = client.options(
        f"{API}/services/iets",
        headers={
            "Origin": OTHER_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers
    assert "access-control-allow-headers" not in response.headers


def test_write_preflight_from_a_listed_origin(engine: Engine) -> None:
    with app_client(engine, cors_write_origins=[WRITE_ORIGIN]) as cors_client:
        listed = cors_client.options(
            f"{API}/services/iets",
            headers={
                "Origin": WRITE_ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
        )
        unlisted = cors_client.options(
            f"{API}/services/iets",
            headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "PATCH"},
        )
    assert listed.status_code == 204
    assert listed.headers["access-control-allow-origin"] == WRITE_ORIGIN
    assert "access-control-allow-credentials" not in listed.headers
    assert "Origin" in listed.headers["vary"]
    methods = {m.strip() for m in listed.headers["access-control-allow-methods"].split(",")}
    assert {"POST", "PATCH", "PUT", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in listed.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed
    assert "access-control-allow-origin" not in unlisted.headers


def test_write_response_carries_cors_only_for_a_listed_origin(
    engine: Engine, admin: dict[str, str]
) -> None:
    # Unauthenticated writes: the 401 is enough to see the CORS headers; nothing is written.
    with app_client(engine, cors_write_origins=[WRITE_ORIGIN]) as cors_client:
        listed = cors_client.post(f"{API}/organizations", json={}, headers={"Origin": WRITE_ORIGIN})
        unlisted = cors_client.post(
            f"{API}/organizations", json={}, headers={"Origin": OTHER_ORIGIN}
        )
    assert listed.headers["access-control-allow-origin"] == WRITE_ORIGIN
    assert "ETag" in listed.headers["access-control-expose-headers"]
    assert "Origin" in listed.headers["vary"]
    assert "access-control-allow-origin" not in unlisted.headers


def test_cors_write_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_WRITE_ORIGINS", "https://Beheer.example/, http://localhost:5173")
    assert Settings().cors_write_origins == ["https://beheer.example", "http://localhost:5173"]
    monkeypatch.setenv("CORS_WRITE_ORIGINS", '["https://beheer.example"]')
    assert Settings().cors_write_origins == ["https://beheer.example"]
    monkeypatch.setenv("CORS_WRITE_ORIGINS", "")
    assert Settings().cors_write_origins == []
    for wrong in ("*", "https://beheer.example/pad", "beheer.example"):
        monkeypatch.setenv("CORS_WRITE_ORIGINS", wrong)
        with pytest.raises(ValidationError, match="CORS_WRITE_ORIGINS"):
            Settings()


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret", ["dev-secret-key-change-me", "changeme", "", "kort-maar-echt", ADMIN_KEY]
)
def test_weak_secret_key_refused_in_production(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY") as refused:
        Settings(environment=Environment.production, admin_api_key=ADMIN_KEY, secret_key=secret)
    if secret:
        assert secret not in str(refused.value)  # the error does not echo the secret


def test_placeholder_admin_key_refused_outside_development() -> None:
    for environment in (Environment.production, Environment.test):
        with pytest.raises(ValidationError, match="ADMIN_API_KEY"):
            Settings(environment=environment, secret_key=SECRET_KEY)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment=Environment.production, search_backend="meilisearch")
    message = str(refused.value)
    assert "ADMIN_API_KEY" in message
    assert "SECRET_KEY" in message
    assert "MEILI_URL" in message
    assert "secrets.token_urlsafe" in message


def test_development_accepts_the_placeholders() -> None:
    settings = Settings(environment=Environment.development)
    assert settings.secret_key.get_secret_value() == "dev-secret-key-change-me"
    assert settings.max_request_body_bytes == 1_048_576
    assert settings.cors_write_origins == []


def test_production_with_real_secrets() -> None:
    settings = production_settings()
    assert settings.secret_key.get_secret_value() == SECRET_KEY


def test_settings_repr_hides_secrets() -> None:
    settings = production_settings(
        database_url="postgresql+psycopg://sociale_kaart:db-wachtwoord-123@db:5432/sk",
        meili_url="http://search:7700",
        meili_api_key="meili-sleutel-0123456789",
    )
    for text in (repr(settings), str(settings), f"{settings!r}"):
        assert ADMIN_KEY not in text
        assert SECRET_KEY not in text
        assert "db-wachtwoord-123" not in text
        assert "meili-sleutel-0123456789" not in text


def test_access_log_holds_no_secrets(
    client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {**admin, "X-Api-Key": SECRET_KEY, "Cookie": f"session={SECRET_KEY}"}
    client.get(f"{API}/services", headers=headers)
    client.post(f"{API}/organizations", json={"name": ""}, headers=headers)
    client.post(f"{API}/organizations", json={}, headers={"Authorization": "Bearer fout"})
    access = [r for r in caplog.records if r.name == "sociale_kaart.access"]
    assert len(access) == 3
    assert access[0].getMessage().startswith(f"GET {API}/services 200 ")
    for record in caplog.records:
        line = record.getMessage()
        assert ADMIN_KEY not in line
        assert SECRET_KEY not in line
        assert "Bearer" not in line
        assert "fout" not in line.split()  # not even a wrong key


def test_a_refused_start_does_not_print_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("ADMIN_API_KEY", "kort-maar-zichtbaar")
    monkeypatch.setenv("SECRET_KEY", "ook-kort-en-zichtbaar")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://sk:db-wachtwoord-123@db/sk")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "ADMIN_API_KEY" in message
    assert "SECRET_KEY" in message
    for secret in ("kort-maar-zichtbaar", "ook-kort-en-zichtbaar", "db-wachtwoord-123"):
        assert secret not in message
