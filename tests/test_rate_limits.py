"""Per-client limits on public search (issue 9, item 4): 429 problem+json, no address kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.ratelimit import ClientRateLimit, ClientRateLimiter
from app.main import create_app, search_limit_rules
from tests.conftest import make_settings

RESIDENT = ("198.51.100.23", 40000)
NEIGHBOUR = ("203.0.113.77", 40001)


@pytest.fixture
def limited(demo_engine: Engine, demo_index: Path) -> Iterator[TestClient]:
    settings = make_settings(index_path=str(demo_index)).model_copy(
        update={"search_max_per_client_per_minute": 3}
    )
    app = create_app(settings, engine=demo_engine, background_sync=False)
    with TestClient(app, client=RESIDENT, raise_server_exceptions=False) as client:
        yield client


def limit_of(client: TestClient, path: str) -> ClientRateLimiter:
    stack = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(stack, ClientRateLimit):
        stack = stack.app
    return stack.rules[path].limiter


def test_search_over_the_limit_is_a_429_problem(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.get("/api/v1/search", params={"q": "sport"}).status_code == 200
    refused = limited.get("/api/v1/search", params={"q": "sport"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["title"] == "Te veel zoekopdrachten"
    assert "probeer het" in refused.json()["detail"]
    # another client is not affected
    with TestClient(limited.app, client=NEIGHBOUR) as neighbour:
        assert neighbour.get("/api/v1/search", params={"q": "sport"}).status_code == 200
    # other public reads are not limited
    assert limited.get("/api/v1/services").status_code == 200


def test_the_page_hsds_and_api_share_one_count(limited: TestClient) -> None:
    assert limited.get("/zoeken", params={"q": "sport"}).status_code == 200
    assert limited.get("/hsds/services", params={"search": "sport"}).status_code == 200
    assert limited.get("/api/v1/search", params={"q": "sport"}).status_code == 200
    for path in ("/zoeken", "/hsds/services", "/api/v1/search"):
        assert limited.get(path).status_code == 429


def test_a_search_page_counts_once_not_its_api_calls(limited: TestClient) -> None:
    # the page asks the API in-process (search, facets, taxonomy...): still one hit per view
    for _ in range(3):
        assert limited.get("/zoeken", params={"q": "eenzaam"}).status_code == 200
    assert limited.get("/zoeken", params={"q": "eenzaam"}).status_code == 429


def test_suggestions_have_their_own_larger_count(limited: TestClient) -> None:
    for _ in range(3):
        limited.get("/api/v1/search", params={"q": "sport"})
    assert limited.get("/api/v1/search").status_code == 429
    for _ in range(12):  # four times the search limit
        assert limited.get("/api/v1/search/suggest", params={"q": "sp"}).status_code == 200
    assert limited.get("/api/v1/search/suggest", params={"q": "sp"}).status_code == 429


def test_the_limit_keeps_no_address(limited: TestClient) -> None:
    limited.get("/api/v1/search", params={"q": "sport"})
    limiter = limit_of(limited, "/api/v1/search")
    keys = limiter.stored_keys()
    assert len(keys) == 1
    assert all(RESIDENT[0] not in key and len(key) == 64 for key in keys)  # an HMAC only


def test_the_window_moves_on() -> None:
    now = [0.0]
    limiter = ClientRateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 60  # refused: nothing recorded
    now[0] = 30.0
    assert limiter.acquire("a") == 30
    now[0] = 60.5
    assert limiter.acquire("a") is None
    now[0] = 500.0
    assert limiter.acquire("b") is None
    assert len(limiter) == 1  # "a" was forgotten


def test_zero_switches_the_search_limit_off() -> None:
    settings = make_settings().model_copy(update={"search_max_per_client_per_minute": 0})
    assert search_limit_rules(settings) == []
