"""The residents' search page with hostile paging and filters, and the anonymous feedback form
(the one public write) with hostile bodies: a page (200 or a 4xx page), never a 500, and a
refused report leaves no row behind."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.feedback.models import ServiceFeedback
from tests.hostile import assert_dutch_problem

SERVICE = "uve-financieel-cafe"


@pytest.mark.parametrize(
    "params",
    [
        {"pagina": "0"},
        {"pagina": "-1"},
        {"pagina": str(10**30)},
        {"pagina": "10000"},
        {"pagina": "NaN"},
        {"pagina": "1e9"},
        {"thema": "'; DROP TABLE service; --"},
        {"thema": "\x00"},
        {"wijk": "😀"},
        {"sorteer": "afstand"},
        {"postcode": "9999 ZZ"},
        {"postcode": "\u202e1422"},
        {"leeftijd": "-5"},
        {"leeftijd": str(10**30)},
    ],
    ids=str,
)
def test_search_page_with_hostile_parameters(
    demo_client: TestClient, params: dict[str, Any]
) -> None:
    response = demo_client.get("/zoeken", params=params)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("text/html")


def _feedback_count(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(ServiceFeedback)).one()


@pytest.mark.parametrize(
    "body",
    [
        {"category": "anders", "message": "Nul\x00byte in de melding"},
        {"category": "anders", "message": "x" * 100_000},
        {"category": "anders", "message": ["lijst"]},
        {"category": "anders", "message": 12},
        {"category": ["anders"], "message": "Het adres klopt niet."},
        {"category": "'; DROP TABLE service_feedback; --", "message": "Het adres klopt niet."},
        {"category": "anders", "message": "Het adres klopt niet.", "email": "a@b.nl"},
    ],
    ids=["nul", "huge", "list", "number", "category-list", "sql-category", "unknown-field"],
)
def test_hostile_feedback_is_refused_and_stores_nothing(
    demo_client: TestClient, demo_db: Session, body: dict[str, Any]
) -> None:
    before = _feedback_count(demo_db)
    response = demo_client.post(f"/api/v1/services/{SERVICE}/feedback", json=body)
    assert_dutch_problem(response, 422)
    assert _feedback_count(demo_db) == before


@pytest.mark.parametrize(
    "content", [b"[" * 10_000 + b"]" * 10_000, b'{"category": ' * 5_000, b"\xff\xfe\x00"]
)
def test_broken_feedback_bodies(demo_client: TestClient, demo_db: Session, content: bytes) -> None:
    before = _feedback_count(demo_db)
    response = demo_client.post(
        f"/api/v1/services/{SERVICE}/feedback",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert_dutch_problem(response, response.status_code)
    assert _feedback_count(demo_db) == before


def test_emoji_and_rtl_feedback_is_accepted(demo_client: TestClient, demo_db: Session) -> None:
    before = _feedback_count(demo_db)
    response = demo_client.post(
        f"/api/v1/services/{SERVICE}/feedback",
        json={"category": "anders", "message": "الهاتف لا يعمل 😀 — het nummer klopt niet"},
    )
    assert response.status_code in (200, 201, 202), response.text
    assert _feedback_count(demo_db) == before + 1
