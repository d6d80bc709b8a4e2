"""Kept answers of anonymous searches (app/search_api/answers.py) and the in-memory reference
tables a search is checked against (app/indexing/reference.py): served again only while
nothing they depend on changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.core.db import build_engine, read_only
from app.indexing.engine import SearchEngine
from app.indexing.reference import SearchReference, written_generation
from app.insights.recorder import RECORDER, SearchRecorder
from app.main import create_app
from app.municipalities.models import Municipality, Neighbourhood
from app.search_api.answers import ANSWER_CACHE, Answer, AnswerCache
from search.caches import CacheStats
from search.embedded import EmbeddedBackend
from tests.conftest import _seed as seed
from tests.conftest import make_settings, migrated_database
from tests.search.test_degradation import rename_service

URL = "/api/v1/search"


def api_of(client: TestClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[assignment]
    api: FastAPI = next(r.app for r in app.routes if getattr(r, "path", "") == "/api/v1")  # type: ignore[attr-defined]
    return api


def answers(client: TestClient) -> CacheStats:
    cache: AnswerCache = getattr(api_of(client).state, ANSWER_CACHE)
    return cache.stats()


def engine_of(client: TestClient) -> SearchEngine:
    search: SearchEngine = client.app.state.search  # type: ignore[attr-defined]
    return search


def slugs(client: TestClient, **params: object) -> list[str]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


def warm_up(client: TestClient) -> None:
    """The first search builds the backend and loads the reference tables (the server does
    that at startup): until then there is nothing to key an answer by."""
    assert client.get(URL, params={"q": "eerste"}).status_code == 200


def test_a_repeated_search_gets_the_same_bytes_from_memory_and_is_counted(
    demo_client: TestClient,
) -> None:
    recorder: SearchRecorder = getattr(api_of(demo_client).state, RECORDER)
    warm_up(demo_client)
    first = demo_client.get(URL, params={"q": "mantelzorg", "theme": "mantelzorg"})
    assert first.status_code == 200
    assert answers(demo_client).hits == 0
    counted = recorder.pending()
    second = demo_client.get(URL, params={"q": "mantelzorg", "theme": "mantelzorg"})
    assert answers(demo_client).hits == 1
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["content-length"] == str(len(first.content))
    # the middlewares outside still answer for it
    assert second.headers["api-version"] == first.headers["api-version"]
    assert second.headers["x-content-type-options"] == "nosniff"
    # the monitor counts the search again: the tally of the theme and of all searches
    assert recorder.pending() == counted + 2


def test_another_page_or_order_of_parameters_is_another_answer(demo_client: TestClient) -> None:
    page_1 = demo_client.get(URL, params={"q": "hulp", "per_page": 2}).json()
    page_2 = demo_client.get(URL, params={"q": "hulp", "per_page": 2, "page": 2}).json()
    assert page_1["items"] != page_2["items"]
    assert answers(demo_client).hits == 0


def test_a_write_through_the_api_is_seen_at_once(
    demo_client: TestClient, admin: dict[str, str]
) -> None:
    warm_up(demo_client)
    assert slugs(demo_client, q="xylofoonles") == []
    assert slugs(demo_client, q="xylofoonles") == []  # kept: now it is in memory
    assert answers(demo_client).hits == 1
    rename_service(demo_client, admin, "voedselbank-pakket", "Xylofoonles")
    assert slugs(demo_client, q="xylofoonles") == ["voedselbank-pakket"]


def test_a_write_by_another_process_to_the_index_is_seen(
    demo_client: TestClient, tmp_path: Path
) -> None:
    assert "voedselbank-pakket" in slugs(demo_client, q="voedselbank")
    backend = engine_of(demo_client).backend
    assert isinstance(backend, EmbeddedBackend)
    other = EmbeddedBackend(path=backend.path)  # another worker: its own connection and caches
    items = demo_client.get(URL, params={"q": "voedselbank"}).json()["items"]
    other.delete([next(item["id"] for item in items if item["slug"] == "voedselbank-pakket")])
    assert "voedselbank-pakket" not in slugs(demo_client, q="voedselbank")


def test_a_token_is_checked_even_for_a_kept_answer(demo_client: TestClient) -> None:
    warm_up(demo_client)
    assert demo_client.get(URL, params={"q": "sport"}).status_code == 200
    refused = demo_client.get(
        URL, params={"q": "sport"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert refused.status_code == 401
    assert answers(demo_client).hits == 0


def test_errors_are_never_kept(demo_client: TestClient) -> None:
    warm_up(demo_client)
    for _ in range(2):
        assert demo_client.get(URL, params={"theme": "bestaat-niet"}).status_code == 422
    assert answers(demo_client).entries == 0


def test_the_fallback_answer_is_never_kept(demo_client: TestClient) -> None:
    search = engine_of(demo_client)
    warm_up(demo_client)
    assert demo_client.get(URL, params={"q": "sport"}).status_code == 200
    assert search.answer_tag() is not None
    search._resting_until = search.clock() + 60  # the engine failed a moment ago
    assert search.answer_tag() is None
    # no fallback configured: 503, not the answer kept before the failure
    assert demo_client.get(URL, params={"q": "sport"}).status_code == 503


def test_a_new_wijk_is_known_to_search_at_once(demo_client: TestClient, demo_db: Session) -> None:
    assert demo_client.get(URL, params={"neighbourhood": "nieuwe-wijk"}).status_code == 422
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    demo_db.add(Neighbourhood(municipality_id=uithoorn.id, slug="nieuwe-wijk", name="Nieuwe wijk"))
    demo_db.commit()
    response = demo_client.get(URL, params={"neighbourhood": "nieuwe-wijk"})
    assert response.status_code == 200, response.text


def test_the_answer_cache_can_be_switched_off(demo_engine: Engine, demo_index: Path) -> None:
    settings = make_settings(index_path=str(demo_index)).model_copy(
        update={"search_answer_cache_mb": 0}
    )
    app = create_app(settings, engine=demo_engine, background_sync=False)
    with TestClient(app) as client:
        warm_up(client)
        first = client.get(URL, params={"q": "sport"})
        assert client.get(URL, params={"q": "sport"}).content == first.content
        assert answers(client) == AnswerCache(0).stats()


@pytest.fixture
def own_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A database of this test alone: these tests commit (and the audit trail keeps all)."""
    with migrated_database(backend, tmp_path) as url:
        engine = build_engine(url)
        seed(engine, demo=False)
        yield engine
        engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reference_changes_of_another_process_count_after_the_max_age(
    own_engine: Engine,
) -> None:
    engine = own_engine
    clock = Clock()
    reference = SearchReference(
        lambda: Session(read_only(engine), expire_on_commit=False), max_age_s=60, clock=clock
    )
    first = reference.current()
    assert "uithoorn" in first.municipalities
    assert reference.peek() is first
    # another process adds a gemeente: plain SQL on its own connection, not seen by this one
    generation = written_generation()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO municipality (id, code, slug, name, created_at, updated_at) "
            "VALUES ('00000000000000000000000000000abc', 'GM9999', 'elders', 'Elders', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            if engine.dialect.name == "sqlite"
            else "INSERT INTO municipality (id, code, slug, name, created_at, updated_at) "
            "VALUES ('00000000-0000-0000-0000-000000000abc', 'GM9999', 'elders', 'Elders', "
            "now(), now())"
        )
    assert written_generation() == generation  # invisible to this process's tracking
    assert reference.current() is first  # trusted for max_age_s ...
    clock.now += 61
    assert reference.peek() is None
    second = reference.current()  # ... then loaded again
    assert "elders" in second.municipalities
    assert second.serial != first.serial


def test_writes_in_this_process_make_the_reference_load_again(own_engine: Engine) -> None:
    engine = own_engine
    reference = SearchReference(lambda: Session(read_only(engine), expire_on_commit=False))
    first = reference.current()
    assert "proefwijk" not in first.neighbourhoods
    with Session(engine) as session:
        uithoorn = session.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
        wijk = Neighbourhood(municipality_id=uithoorn.id, slug="proefwijk", name="Proef")
        session.add(wijk)
        session.commit()
        assert reference.peek() is None
        second = reference.current()
        assert second.neighbourhoods["proefwijk"] == frozenset({uithoorn.id})
        assert reference.peek() is second
        # a write not yet committed: a load now must not be kept after the commit/rollback
        session.add(Neighbourhood(municipality_id=uithoorn.id, slug="weg", name="Weg"))
        session.flush()
        assert reference.peek() is None
        reference.current()
        session.rollback()
        assert reference.peek() is None
        session.delete(session.get(Neighbourhood, wijk.id))
        session.commit()
    assert "proefwijk" not in reference.current().neighbourhoods
    assert first.serial != second.serial


@pytest.mark.parametrize("change", ["settings", "document"])
def test_the_index_version_changes_with_every_write(tmp_path: Path, change: str) -> None:
    backend = EmbeddedBackend(path=tmp_path / "index.db")
    backend.apply_settings({"searchableAttributes": ["name"]})
    before = backend.version_tag()
    backend.apply_settings({"searchableAttributes": ["name"]})  # the same settings again
    assert backend.version_tag() == before
    if change == "settings":
        backend.apply_settings({"searchableAttributes": ["name", "description"]})
    else:
        backend.upsert([{"id": "a", "name": "Koffie"}])
    assert backend.version_tag() != before


def test_only_answers_of_the_current_tag_are_kept() -> None:
    cache = AnswerCache(1024 * 1024)
    answer = Answer(body=b'{"total":1}', tally=None)
    assert cache.get("v1", b"q=a") is None  # v1 is now the current tag
    cache.put("v1", b"q=a", answer)
    cache.put("v1", b"q=b", answer)
    assert cache.get("v1", b"q=a") is answer
    assert cache.get("v2", b"q=a") is None  # the index changed: everything kept goes
    assert cache.stats().entries == 0
    cache.put("v1", b"q=a", answer)  # computed before the change: not kept
    assert cache.stats().entries == 0
    cache.put("v2", b"q=a", answer)
    assert cache.get("v2", b"q=a") is answer
