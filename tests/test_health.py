from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings


def test_live_and_ready(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok", "checks": {}}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "search": "ok",
            "search_backend": "embedded",
            "search_backlog": "0",
        },
    }


def test_ready_reports_an_unreachable_database() -> None:
    app = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with TestClient(app) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"].startswith("unavailable")


def test_database_down_is_a_503_problem_not_a_500() -> None:
    app = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/services")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Retry-After"] == "30"


def test_root_is_the_residents_home_page_linking_the_api(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/api/v1/docs"' in response.text  # the API documentation is one link away


def test_access_log_has_no_ip_address_or_query(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sociale_kaart.access"):
        client.get("/api/v1/services?q=ik+heb+schulden", headers={"X-Forwarded-For": "203.0.113.7"})
    lines = [r.getMessage() for r in caplog.records if r.name == "sociale_kaart.access"]
    assert lines
    assert lines[-1].startswith("GET /api/v1/services 200 ")
    assert not any(
        "testclient" in line or "203.0.113.7" in line or "schulden" in line for line in lines
    )


def test_exhausted_connection_pool_is_a_503_problem(tmp_path: Path) -> None:
    from app.core.db import build_engine

    engine = build_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    app = create_app(make_settings(), engine=engine, background_sync=False)
    held = engine.connect()  # the only connection is busy
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/api/v1/services")
    finally:
        held.close()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Retry-After"] == "5"
