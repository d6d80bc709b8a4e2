"""Two editors PATCH one listing at the same moment with the same If-Match.

tests/test_concurrency.py checks the sequential case (a stale ETag is 412, a missing one 428)
inside one rolled-back transaction. Here the requests really race, on a database of their own
(no shared test transaction): exactly one wins, the other is refused — 412 when it reads the
row after the winner committed, 409 when both passed the If-Match check and SQLAlchemy's
version check in the UPDATE caught the loser — and the stored row is wholly the winner's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from app.main import create_app
from tests.conftest import ADMIN_KEY, _seed, make_settings, migrated_database
from tests.hostile import assert_dutch_problem

API = "/api/v1"
KEY = {"Authorization": f"Bearer {ADMIN_KEY}"}
ROUNDS = 8


@pytest.fixture
def own_client(backend: str, tmp_path: Path) -> Iterator[TestClient]:
    with migrated_database(backend, tmp_path) as url:
        engine = build_engine(url)
        try:
            _seed(engine, demo=False)
            settings = make_settings(url, index_path=str(tmp_path / "index.db"))
            search = SearchEngine(settings=settings, engine=engine)
            app = create_app(settings, engine=engine, search=search, background_sync=False)
            with TestClient(app, raise_server_exceptions=False) as client:
                yield client
        finally:
            engine.dispose()


def _race(client: TestClient, url: str, etag: str, bodies: list[dict[str, Any]]) -> list[Any]:
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def patch(i: int) -> None:
        barrier.wait()
        results[i] = client.patch(url, json=bodies[i], headers={**KEY, "If-Match": etag})

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_one_of_two_racing_patches_wins_and_nothing_is_half_written(
    own_client: TestClient,
) -> None:
    org = own_client.post(
        f"{API}/organizations",
        json={
            "municipality": "uithoorn",
            "name": "Stichting Race",
            "admission_status": "toegelaten",
        },
        headers=KEY,
    )
    assert org.status_code == 201, org.text
    url = f"{API}/organizations/{org.json()['slug']}"
    for round_ in range(ROUNDS):
        read = own_client.get(url, headers=KEY)
        etag, version = read.headers["ETag"], read.json()["version"]
        bodies = [
            {"alternate_name": f"A{round_}", "description": f"Beschrijving van A, ronde {round_}"},
            {"alternate_name": f"B{round_}", "description": f"Beschrijving van B, ronde {round_}"},
        ]
        results = _race(own_client, url, etag, bodies)
        statuses = sorted(r.status_code for r in results)
        assert statuses[0] == 200, [r.text for r in results]
        assert statuses[1] in (409, 412), [r.text for r in results]
        loser = next(r for r in results if r.status_code != 200)
        assert_dutch_problem(loser, loser.status_code)
        winner = bodies[[r.status_code for r in results].index(200)]

        stored = own_client.get(url, headers=KEY).json()
        assert stored["version"] == version + 1  # exactly one write
        assert stored["alternate_name"] == winner["alternate_name"]
        assert stored["description"] == winner["description"]  # not a mix of both
