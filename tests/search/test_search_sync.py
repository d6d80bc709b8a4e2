"""Sync without lost writes: outbox in the same transaction, after-commit send, drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.indexing.engine import SearchEngine
from app.indexing.models import SearchOutbox
from search.embedded import EmbeddedBackend
from tests.test_api_write import API, make_location, make_org, make_service

SEARCH = "/api/v1/search"


def found(client: TestClient, q: str) -> list[str]:
    return [item["slug"] for item in client.get(SEARCH, params={"q": q}).json()["items"]]


def backlog(db: Session) -> int:
    db.expire_all()
    return int(db.exec(select(func.count()).select_from(SearchOutbox)).one())


def engine_of(client: TestClient) -> SearchEngine:
    search: SearchEngine = client.app.state.search  # type: ignore[attr-defined]
    return search


def test_writes_are_searchable_at_once(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    make_org(client, admin)
    make_service(client, admin, slug="koffie", name="Zonnebloemkoffie in de wijk")
    assert found(client, "zonnebloemkoffie") == ["koffie"]
    assert backlog(db) == 0  # sent after the commit, outbox emptied

    client.patch(f"{API}/services/koffie", json={"name": "Theeochtend"}, headers=admin)
    assert found(client, "theeochtend") == ["koffie"]
    assert found(client, "zonnebloemkoffie") == []

    client.patch(f"{API}/services/koffie", json={"admission_status": "aanvullen"}, headers=admin)
    assert found(client, "theeochtend") == []  # not public: not in the index

    client.patch(f"{API}/services/koffie", json={"admission_status": "toegelaten"}, headers=admin)
    client.patch(
        f"{API}/organizations/stichting-samen-sterk",
        json={"admission_status": "afgewezen"},
        headers=admin,
    )
    assert found(client, "theeochtend") == []  # the organisation is no longer public

    client.patch(
        f"{API}/organizations/stichting-samen-sterk",
        json={"admission_status": "toegelaten"},
        headers=admin,
    )
    assert found(client, "theeochtend") == ["koffie"]
    client.delete(f"{API}/services/koffie", headers=admin)
    assert found(client, "theeochtend") == []


def test_location_changes_reach_the_index(client: TestClient, admin: dict[str, str]) -> None:
    make_org(client, admin)
    location = make_location(client, admin)
    make_service(client, admin, slug="koffie", locations=[location["id"]])
    near = client.get(SEARCH, params={"lat": 52.2396, "lon": 4.8290, "radius_km": 1}).json()
    assert [i["slug"] for i in near["items"]] == ["koffie"]
    client.patch(
        f"{API}/locations/{location['id']}",
        json={"latitude": 52.37, "longitude": 4.90},
        headers=admin,
    )
    near = client.get(SEARCH, params={"lat": 52.2396, "lon": 4.8290, "radius_km": 1}).json()
    assert near["items"] == []


def test_engine_down_write_succeeds_then_drain_catches_up(
    client: TestClient, admin: dict[str, str], db: Session, tmp_path: Path
) -> None:
    make_org(client, admin)
    search = engine_of(client)
    backend = search.backend
    assert isinstance(backend, EmbeddedBackend)
    good_path = backend.path
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the index cannot live under a file")
    backend.path = blocker / "index.db"  # the engine is down

    created = client.post(
        f"{API}/services", json=_service(slug="fietsmaatje", name="Fietsmaatje"), headers=admin
    )
    assert created.status_code == 201  # the write is acknowledged...
    assert client.get(f"{API}/services/fietsmaatje").status_code == 200  # ...and stored
    assert backlog(db) == 1  # ...and waits in the outbox
    down = client.get(SEARCH, params={"q": "fietsmaatje"})
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/problem+json")
    ready = client.get("/health/ready").json()
    assert ready["status"] == "degraded"
    assert ready["checks"]["search"] == "unavailable"
    assert ready["checks"]["search_backlog"] == "1"

    row = db.exec(select(SearchOutbox)).one()
    assert row.attempts == 1  # the send right after the commit failed
    assert "niet bereikbaar" in (row.last_error or "")
    report = search.drain()  # backoff: the retry is not due yet
    assert (report.sent, report.failed, report.remaining) == (0, 0, 1)
    report = search.drain(retry_now=True)  # still down: kept for later
    assert (report.sent, report.failed, report.remaining) == (0, 1, 1)

    backend.path = good_path  # the engine is back
    report = search.drain(retry_now=True)
    assert (report.sent, report.remaining) == (1, 0)
    assert found(client, "fietsmaatje") == ["fietsmaatje"]
    assert client.get("/health/ready").json()["status"] == "ok"


def test_reindex_rebuilds_from_the_database(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    make_org(client, admin)
    make_service(client, admin, slug="een", name="Buurtmoestuin")
    make_service(client, admin, slug="twee", name="Wijkmoestuin", admission_status="concept")
    search = engine_of(client)
    search.backend.upsert(
        [
            {
                "id": "stale",
                "name": "Verouderd",
                "slug": "stale",
                "name_sort": "verouderd",
                "search_terms": "verouderd",
            }
        ]
    )
    assert search.reindex() == 1
    assert search.backend.stats().documents == 1
    assert found(client, "buurtmoestuin") == ["een"]
    assert backlog(db) == 0


def _service(**extra: Any) -> dict[str, Any]:
    from tests.test_api_write import service_body

    return service_body(**extra)
