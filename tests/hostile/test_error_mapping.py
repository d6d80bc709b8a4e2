"""SQLite's "database is locked" during a write is a lost race (409), not "database down".

tests/hostile/test_concurrent_updates.py provokes the race for real, but whether SQLite's
lock or SQLAlchemy's version check catches the loser depends on timing; this pins the mapping.
"""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.core.errors import install_error_handlers
from tests.hostile import assert_dutch_problem


def _app(code: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    def fail() -> None:
        orig = sqlite3.OperationalError("database is locked")
        orig.sqlite_errorcode = code
        raise OperationalError("UPDATE organization ...", {}, orig)

    app.add_api_route("/x", fail, methods=["GET", "PATCH"])
    return app


@pytest.mark.parametrize("code", [5, 517])  # SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT
def test_a_locked_write_is_a_409(code: int) -> None:
    client = TestClient(_app(code), raise_server_exceptions=False)
    body = assert_dutch_problem(client.patch("/x"), 409)
    assert body["title"] == "Gegevens zijn intussen gewijzigd"


def test_a_locked_read_is_still_a_503() -> None:
    client = TestClient(_app(5), raise_server_exceptions=False)
    response = client.get("/x")
    assert_dutch_problem(response, 503)
    assert response.headers["Retry-After"]


def test_other_database_errors_are_still_a_503() -> None:
    client = TestClient(_app(14), raise_server_exceptions=False)  # SQLITE_CANTOPEN
    assert_dutch_problem(client.patch("/x"), 503)
