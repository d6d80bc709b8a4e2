"""Graceful degradation (issue 9, item 3): the search engine stops in the middle of a test.

Search answers a 503 problem within a bounded time (or, with SEARCH_FALLBACK=database, a
slower search on the database), writes keep succeeding through the outbox, /health/ready
says "degraded" with the backlog, and everything catches up when the engine is back.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.indexing.engine import SearchEngine
from app.indexing.fallback import DatabaseFallback
from app.indexing.models import SearchOutbox
from search.embedded import EmbeddedBackend
from search.meili import MeilisearchBackend
from search.types import SearchQuery

API = "/api/v1"
SEARCH = f"{API}/search"
BOUND_S = 3.0  # "bounded": the timeout (0.5 s below) plus generous slack for a busy machine


def engine_of(client: TestClient) -> SearchEngine:
    search: SearchEngine = client.app.state.search  # type: ignore[attr-defined]
    return search


def backlog(db: Session) -> int:
    db.expire_all()
    return int(db.exec(select(func.count()).select_from(SearchOutbox)).one())


def slugs(response: Any) -> list[str]:
    return [item["slug"] for item in response.json()["items"]]


def timed_get(client: TestClient, url: str, **params: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = client.get(url, params=params)
    return response, time.perf_counter() - started


def assert_unavailable_problem(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Retry-After"] == "30"
    assert response.json()["title"]  # a Dutch title, not a stack trace
    assert "Search-Fallback" not in response.headers


def rename_service(client: TestClient, admin: dict[str, str], slug: str, name: str) -> None:
    response = client.patch(f"{API}/services/{slug}", json={"name": name}, headers=admin)
    assert response.status_code == 200, response.text


class Switch:
    """Takes the embedded index's file away (its location is now under a file) and back."""

    def __init__(self, backend: EmbeddedBackend, blocker: Path) -> None:
        self.backend = backend
        self.good = backend.path
        self.blocker = blocker
        blocker.write_text("the index cannot live under a file")

    def down(self) -> None:
        self.backend.path = self.blocker / "search-index.db"

    def up(self) -> None:
        self.backend.path = self.good


@pytest.fixture
def index_switch(demo_client: TestClient, tmp_path: Path) -> Iterator[Switch]:
    backend = engine_of(demo_client).backend
    assert isinstance(backend, EmbeddedBackend)
    switch = Switch(backend, tmp_path / "not-a-directory")
    yield switch
    switch.up()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections but never answers (a hung engine)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def point_at_meilisearch(search: SearchEngine, port: int) -> None:
    search._backend = MeilisearchBackend(  # the engine moves mid-test
        url=f"http://127.0.0.1:{port}", api_key=None, timeout_s=0.5, analyzer=search.analyzer
    )


def test_embedded_file_unavailable_mid_test(
    demo_client: TestClient, demo_db: Session, admin: dict[str, str], index_switch: Switch
) -> None:
    assert slugs(demo_client.get(SEARCH, params={"q": "schuldhulp"}))  # the engine works
    search = engine_of(demo_client)
    index_switch.down()  # the file is gone

    response, took = timed_get(demo_client, SEARCH, q="schuldhulp")
    assert_unavailable_problem(response)
    assert took < BOUND_S
    suggest = demo_client.get(f"{API}/search/suggest", params={"q": "schu"})
    assert suggest.status_code == 200  # themes still come from the database

    slug = slugs(demo_client.get(f"{API}/services", params={"per_page": 1}))[0]
    rename_service(demo_client, admin, slug, "Zwaluwstaartadvies")  # acknowledged...
    assert demo_client.get(f"{API}/services/{slug}").json()["name"] == "Zwaluwstaartadvies"
    assert backlog(demo_db) == 1  # ...and waiting in the outbox
    ready = demo_client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["search"] == "unavailable"
    assert ready.json()["checks"]["search_backlog"] == "1"

    index_switch.up()  # the engine is back; it rests until a send succeeds (or 10 s pass)
    assert search.resting
    assert_unavailable_problem(demo_client.get(SEARCH, params={"q": "schuldhulp"}))
    report = search.drain(retry_now=True)  # the drain loop's next run
    assert (report.sent, report.remaining) == (1, 0)
    assert not search.resting
    assert slugs(demo_client.get(SEARCH, params={"q": "zwaluwstaartadvies"})) == [slug]
    assert demo_client.get("/health/ready").json()["status"] == "ok"


def test_the_rest_ends_by_itself(
    demo_client: TestClient, index_switch: Switch, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = engine_of(demo_client)
    index_switch.down()
    assert demo_client.get(SEARCH, params={"q": "sport"}).status_code == 503
    index_switch.up()
    assert demo_client.get(SEARCH, params={"q": "sport"}).status_code == 503  # resting
    later = time.monotonic() + search.settings.search_circuit_open_s + 1
    monkeypatch.setattr(search, "clock", lambda: later)
    assert demo_client.get(SEARCH, params={"q": "sport"}).status_code == 200


def test_meilisearch_on_a_closed_port(
    demo_client: TestClient, demo_db: Session, admin: dict[str, str], closed_port: int
) -> None:
    search = engine_of(demo_client)
    point_at_meilisearch(search, closed_port)

    response, took = timed_get(demo_client, SEARCH, q="mantelzorg")
    assert_unavailable_problem(response)
    assert took < BOUND_S
    hsds = demo_client.get("/hsds/services", params={"search": "mantelzorg"})
    assert hsds.status_code == 503
    assert hsds.headers["content-type"].startswith("application/problem+json")
    page = demo_client.get("/zoeken", params={"q": "mantelzorg"})
    assert page.status_code in (200, 503)  # the residents' page explains, never a 500
    assert "probeer" in page.text.lower()

    slug = slugs(demo_client.get(f"{API}/services", params={"per_page": 1}))[0]
    rename_service(demo_client, admin, slug, "Kwikstaartkoffie")
    assert backlog(demo_db) >= 1
    ready = demo_client.get("/health/ready").json()
    assert ready["status"] == "degraded"
    assert ready["checks"]["search"] == "unavailable"
    assert int(ready["checks"]["search_backlog"]) >= 1


def test_a_hung_engine_answers_within_the_timeout_then_at_once(
    demo_client: TestClient, demo_db: Session, admin: dict[str, str], silent_port: int
) -> None:
    search = engine_of(demo_client)
    point_at_meilisearch(search, silent_port)

    first, took = timed_get(demo_client, SEARCH, q="dagbesteding")
    assert_unavailable_problem(first)
    assert took < BOUND_S  # SEARCH_TIMEOUT_S (0.5 s here), not forever
    assert search.resting
    durations = []
    for _ in range(5):  # the engine rests: no request waits for the timeout again
        response, took = timed_get(demo_client, SEARCH, q="dagbesteding")
        assert_unavailable_problem(response)
        durations.append(took)
    assert max(durations) < 0.5

    slug = slugs(demo_client.get(f"{API}/services", params={"per_page": 1}))[0]
    started = time.perf_counter()
    rename_service(demo_client, admin, slug, "Roodborstspreekuur")
    assert time.perf_counter() - started < 0.5  # the write does not wait for the engine
    assert backlog(demo_db) == 1


# --- the database fallback (SEARCH_FALLBACK=database) ----------------------------------------


def enable_fallback(search: SearchEngine, max_documents: int = 20_000) -> DatabaseFallback:
    search.fallback = DatabaseFallback(
        sessions=search.sessions, analyzer=lambda: search.analyzer, max_documents=max_documents
    )
    return search.fallback


FILTERS: list[dict[str, Any]] = [
    {},
    {"theme": "geld-en-schulden"},
    {"theme": ["mantelzorg", "eenzaamheid-en-ontmoeting"]},
    {"age": 8},
    {"place": "de-kwakel"},
    {"postcode": "1422", "radius_km": 2, "sort": "distance"},
    {"page": 2, "per_page": 10},
]


def test_fallback_gives_the_engines_answer_for_filters(
    demo_client: TestClient, index_switch: Switch
) -> None:
    search = engine_of(demo_client)
    expected = []
    for params in FILTERS:
        response = demo_client.get(SEARCH, params=params)
        assert response.status_code == 200, (params, response.text)
        assert "Search-Fallback" not in response.headers
        expected.append(response.json())
    index_switch.down()
    enable_fallback(search)
    for params, engine_answer in zip(FILTERS, expected, strict=True):
        response = demo_client.get(SEARCH, params=params)
        assert response.status_code == 200, (params, response.text)
        assert response.headers["Search-Fallback"] == "database"
        answer = response.json()
        assert answer["total"] == engine_answer["total"], params
        assert answer["facets"] == engine_answer["facets"], params
        assert [i["slug"] for i in answer["items"]] == [
            i["slug"] for i in engine_answer["items"]
        ], params
        if "postcode" in params:
            assert [i["distance_km"] for i in answer["items"]] == [
                i["distance_km"] for i in engine_answer["items"]
            ]


@pytest.mark.parametrize("q", ["schuldhulp", "mantelzorg", "dementie", "eenzaam", "voedselbank"])
def test_fallback_finds_by_words(demo_client: TestClient, index_switch: Switch, q: str) -> None:
    search = engine_of(demo_client)
    engine_hits = set(slugs(demo_client.get(SEARCH, params={"q": q, "per_page": 100})))
    index_switch.down()
    enable_fallback(search)
    response = demo_client.get(SEARCH, params={"q": q, "per_page": 100})
    assert response.status_code == 200
    assert response.headers["Search-Fallback"] == "database"
    fallback_hits = slugs(response)
    assert fallback_hits, q  # it finds something
    assert set(fallback_hits) <= engine_hits, q  # and only what the engine finds too
    assert response.json()["total"] == len(fallback_hits)


def test_fallback_keeps_hidden_listings_hidden_and_sees_writes(
    demo_client: TestClient, admin: dict[str, str], index_switch: Switch
) -> None:
    search = engine_of(demo_client)
    fallback = enable_fallback(search)
    index_switch.down()
    slug = slugs(demo_client.get(f"{API}/services", params={"per_page": 1}))[0]
    rename_service(demo_client, admin, slug, "Ijsvogeluurtje")
    assert slugs(demo_client.get(SEARCH, params={"q": "ijsvogeluurtje"})) == [slug]
    hide = demo_client.patch(
        f"{API}/services/{slug}", json={"admission_status": "aanvullen"}, headers=admin
    )
    assert hide.status_code == 200
    fallback.forget()  # (normally: at most a minute later)
    assert slugs(demo_client.get(SEARCH, params={"q": "ijsvogeluurtje"})) == []


def test_fallback_stays_off_above_its_limit(demo_client: TestClient, index_switch: Switch) -> None:
    index_switch.down()
    enable_fallback(engine_of(demo_client), max_documents=10)  # the demo has 96 listings
    assert_unavailable_problem(demo_client.get(SEARCH, params={"q": "sport"}))


def test_fallback_memory_search_matches_the_engine_on_filters_directly(
    demo_client: TestClient,
) -> None:
    """The same comparison without HTTP, on the query object: facets over every field."""
    search = engine_of(demo_client)
    fallback = enable_fallback(search)
    query = SearchQuery(facets=("themes", "target_groups", "places"), per_page=200)
    engine_result = search.backend.search(query)
    memory_result = fallback.search(query)
    assert memory_result.total == engine_result.total == 96
    assert memory_result.facets == engine_result.facets
