"""Resident feedback ("klopt er iets niet?"): anonymous reports without personal data, rate
limits that store no address, and the redactie's queue; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import Role, UserAccount
from app.accounts.service import create_user
from app.core.models import utcnow
from app.core.ratelimit import ClientRateLimiter
from app.feedback.models import FeedbackCategory, FeedbackStatus, ServiceFeedback
from app.feedback.schemas import FeedbackCreate
from app.feedback.service import THANK_YOU, create
from app.municipalities.models import Municipality
from app.services.models import Service
from tests.test_api_write import add_amstelveen, make_org, make_service
from tests.test_authorization import token_for

API = "/api/v1"
Headers = dict[str, str]
MESSAGE = "De openingstijden op dinsdag kloppen niet meer."


def api_of(client: TestClient) -> FastAPI:
    api: FastAPI = next(
        r.app
        for r in client.app.routes  # type: ignore[attr-defined]
        if getattr(r, "path", "") == API
    )
    return api


def report(client: TestClient, slug: str, **body: Any) -> Any:
    payload = {"category": "tijden", "message": MESSAGE, **body}
    return client.post(f"{API}/services/{slug}/feedback", json=payload)


def municipality_id(db: Session, slug: str) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == slug)).one()


def stored(db: Session) -> list[ServiceFeedback]:
    db.expire_all()
    return list(
        db.exec(
            select(ServiceFeedback).order_by(
                col(ServiceFeedback.created_at), col(ServiceFeedback.id)
            )
        )
    )


@pytest.fixture
def koffie(client: TestClient, admin: Headers) -> dict[str, Any]:
    make_org(client, admin)
    return make_service(client, admin, slug="koffie", admission_status="toegelaten")


def editor_of(db: Session, municipality: uuid.UUID, email: str = "redactie@example.nl") -> Headers:
    user = create_user(
        session=db,
        email=email,
        display_name="Rita Redactie",
        role=Role.editor,
        municipality_ids=[municipality],
    )
    db.commit()
    return token_for(Role.editor, municipality_ids=[municipality], user_id=user.id)


# --- residents ----------------------------------------------------------------------------------


def test_an_anonymous_report_is_stored_without_personal_data(
    client: TestClient, koffie: dict[str, Any], db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = report(client, "koffie", category="contactgegevens", message=f"  {MESSAGE}  ")
    assert response.status_code == 201, response.text
    assert response.json() == {"detail": THANK_YOU}
    assert "Location" not in response.headers
    [row] = stored(db)
    assert row.service_id == uuid.UUID(koffie["id"])
    assert row.municipality_id == municipality_id(db, "uithoorn")
    assert (row.category, row.message, row.status) == ("contactgegevens", MESSAGE, "open")
    assert (row.handled_at, row.handled_by_id, row.note) == (None, None, None)
    # Nothing about the sender: no column for it, no address in memory or in the logs.
    assert set(ServiceFeedback.model_fields) == {
        "id",
        "service_id",
        "municipality_id",
        "category",
        "message",
        "status",
        "created_at",
        "handled_at",
        "handled_by_id",
        "note",
    }
    limiter = api_of(client).state.feedback_limiter
    assert len(limiter) == 1
    assert all("testclient" not in key for key in limiter.stored_keys())
    assert "testclient" not in caplog.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Klopt nie"}, "body.message"),  # 9 characters
        ({"message": "   kort     "}, "body.message"),  # spaces do not count
        ({"message": "x" * 1001}, "body.message"),
        ({"category": "telefoon"}, "body.category"),
        ({"category": None}, "body.category"),
        ({"email": "ik@example.nl"}, "body.email"),  # no personal data asked (or accepted)
        ({"name": "Jan"}, "body.name"),
    ],
)
def test_invalid_reports_are_422(
    client: TestClient, koffie: dict[str, Any], db: Session, body: dict[str, Any], field: str
) -> None:
    response = report(client, "koffie", **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert stored(db) == []


def test_a_report_of_exactly_10_or_1000_characters_is_fine(
    client: TestClient, koffie: dict[str, Any]
) -> None:
    assert report(client, "koffie", message="Klopt niet").status_code == 201
    assert report(client, "koffie", message="x" * 1000).status_code == 201


def test_only_public_listings_take_reports(
    client: TestClient, admin: Headers, koffie: dict[str, Any], db: Session
) -> None:
    make_service(client, admin, slug="concept", admission_status="concept")
    make_service(client, admin, slug="weg", admission_status="verlopen")
    make_service(client, admin, slug="herzien", admission_status="verificatie-nodig")
    make_org(client, admin, name="Stichting Nog Niet", admission_status="ingediend")
    make_service(client, admin, slug="org-niet-openbaar", organization="stichting-nog-niet")
    for slug in ("concept", "weg", "org-niet-openbaar", "bestaat-niet"):
        response = report(client, slug)
        assert response.status_code == 404, (slug, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert report(client, "herzien").status_code == 201  # still public while re-verified
    assert [r.service_id for r in stored(db)] == [
        db.exec(select(Service.id).where(Service.slug == "herzien")).one()
    ]


def test_at_most_n_reports_per_listing_per_hour(
    client: TestClient, admin: Headers, koffie: dict[str, Any], db: Session
) -> None:
    for _ in range(10):  # FEEDBACK_MAX_PER_HOUR
        assert report(client, "koffie").status_code == 201
    refused = report(client, "koffie")
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert "afgelopen uur" in refused.json()["detail"]
    assert len(stored(db)) == 10
    make_service(client, admin, slug="thee", name="Theeochtend")
    assert report(client, "thee").status_code == 201  # another listing is not affected
    # An hour later the listing takes reports again.
    db.execute(update(ServiceFeedback).values(created_at=utcnow() - timedelta(minutes=61)))
    db.commit()
    assert report(client, "koffie").status_code == 201


def test_at_most_n_reports_per_client_per_hour_without_keeping_the_address(
    client: TestClient, admin: Headers, koffie: dict[str, Any]
) -> None:
    make_service(client, admin, slug="thee", name="Theeochtend")
    api_of(client).state.feedback_limiter = ClientRateLimiter(limit=3)
    assert report(client, "koffie").status_code == 201
    assert report(client, "thee").status_code == 201
    assert report(client, "koffie").status_code == 201
    refused = report(client, "thee")
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert "veel meldingen" in refused.json()["detail"]
    limiter: ClientRateLimiter = api_of(client).state.feedback_limiter
    assert len(limiter) == 1
    assert all("testclient" not in key and len(key) == 64 for key in limiter.stored_keys())


def test_the_client_limiter_forgets_after_an_hour() -> None:
    now = [1000.0]
    limiter = ClientRateLimiter(limit=2, max_clients=3, clock=lambda: now[0])
    assert limiter.retry_after("192.0.2.1") is None
    limiter.record("192.0.2.1")
    limiter.record("192.0.2.1")
    assert limiter.retry_after("192.0.2.1") == 3600
    assert limiter.retry_after("192.0.2.2") is None  # another client
    now[0] += 1800
    assert limiter.retry_after("192.0.2.1") == 1800
    now[0] += 1800
    assert limiter.retry_after("192.0.2.1") is None
    limiter.record("192.0.2.3")  # the expired entry is dropped
    assert len(limiter) == 1
    for n in range(10, 20):  # memory stays bounded: the clients quiet for longest go first
        limiter.record(f"192.0.2.{n}")
    assert len(limiter) == 3
    assert not any("192.0.2" in key for key in limiter.stored_keys())


def test_rows_older_than_an_hour_do_not_count(
    client: TestClient, koffie: dict[str, Any], db: Session
) -> None:
    service = db.exec(select(Service).where(Service.slug == "koffie")).one()
    data = FeedbackCreate(category=FeedbackCategory.times, message=MESSAGE)
    for _ in range(10):
        create(
            session=db,
            service=service,
            data=data,
            max_per_hour=10,
            now=utcnow() - timedelta(hours=2),
        )
    db.commit()
    assert report(client, "koffie").status_code == 201


# --- the redactie's queue -----------------------------------------------------------------------


def test_editors_work_off_the_queue_oldest_first(
    client: TestClient, admin: Headers, koffie: dict[str, Any], db: Session
) -> None:
    make_service(client, admin, slug="thee", name="Theeochtend")
    service = {s.slug: s for s in db.exec(select(Service))}
    start = utcnow() - timedelta(days=3)
    for n, (slug, category) in enumerate(
        [("thee", "beschrijving"), ("koffie", "tijden"), ("koffie", "bestaat-niet-meer")]
    ):
        create(
            session=db,
            service=service[slug],
            data=FeedbackCreate(category=FeedbackCategory(category), message=f"{MESSAGE} ({n})"),
            max_per_hour=10,
            now=start + timedelta(hours=n),
        )
    db.commit()
    editor = editor_of(db, municipality_id(db, "uithoorn"))

    queue = client.get(f"{API}/feedback", headers=editor)
    assert queue.status_code == 200, queue.text
    body = queue.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 20)
    assert [(i["service"]["slug"], i["category"]) for i in body["items"]] == [
        ("thee", "beschrijving"),
        ("koffie", "tijden"),
        ("koffie", "bestaat-niet-meer"),
    ]
    first = body["items"][0]
    assert first["service"] == {"slug": "thee", "name": "Theeochtend"}
    assert first["municipality"] == {"slug": "uithoorn", "name": "Uithoorn"}
    assert first["message"] == f"{MESSAGE} (0)"
    assert (first["status"], first["handled_at"], first["note"]) == ("open", None, None)

    paged = client.get(f"{API}/feedback", params={"per_page": 2, "page": 2}, headers=editor)
    assert [i["message"] for i in paged.json()["items"]] == [f"{MESSAGE} (2)"]
    assert paged.json()["total"] == 3

    handled = client.patch(
        f"{API}/feedback/{first['id']}",
        json={"status": "opgelost", "note": "Beschrijving aangepast."},
        headers=editor,
    )
    assert handled.status_code == 200, handled.text
    done = handled.json()
    assert (done["status"], done["note"]) == ("opgelost", "Beschrijving aangepast.")
    assert done["handled_at"] is not None
    editor_id = db.exec(
        select(UserAccount.id).where(UserAccount.email == "redactie@example.nl")
    ).one()
    assert done["handled_by_id"] == str(editor_id)
    row = db.get(ServiceFeedback, uuid.UUID(first["id"]))
    assert row is not None
    db.refresh(row)
    assert (row.handled_by_id, row.status) == (editor_id, "opgelost")
    assert row.handled_at is not None

    open_now = client.get(f"{API}/feedback", params={"status": "open"}, headers=editor).json()
    assert [i["category"] for i in open_now["items"]] == ["tijden", "bestaat-niet-meer"]
    resolved = client.get(f"{API}/feedback", params={"status": "opgelost"}, headers=editor).json()
    assert [i["id"] for i in resolved["items"]] == [first["id"]]

    # The admin key acts without an account: handled, but by nobody in particular.
    second = open_now["items"][0]["id"]
    dismissed = client.patch(
        f"{API}/feedback/{second}", json={"status": "afgewezen"}, headers=admin
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["handled_by_id"]) == ("afgewezen", None)
    assert dismissed.json()["note"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "open"}, 422),  # reopening is not a way of handling
        ({"status": "gedaan"}, 422),
        ({"note": "zonder status"}, 422),
        ({"status": "opgelost", "note": "x" * 2001}, 422),
    ],
)
def test_handling_needs_a_valid_outcome(
    client: TestClient, koffie: dict[str, Any], db: Session, body: dict[str, Any], status: int
) -> None:
    assert report(client, "koffie").status_code == 201
    [row] = stored(db)
    editor = editor_of(db, municipality_id(db, "uithoorn"))
    response = client.patch(f"{API}/feedback/{row.id}", json=body, headers=editor)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_report_is_404(client: TestClient, db: Session) -> None:
    editor = editor_of(db, municipality_id(db, "uithoorn"))
    response = client.patch(
        f"{API}/feedback/{uuid.uuid4()}", json={"status": "opgelost"}, headers=editor
    )
    assert response.status_code == 404
    unknown = client.get(f"{API}/feedback", params={"municipality": "atlantis"}, headers=editor)
    assert unknown.status_code == 404


def test_an_editor_of_another_municipality_neither_sees_nor_handles(
    client: TestClient, admin: Headers, koffie: dict[str, Any], db: Session
) -> None:
    add_amstelveen(db)
    make_org(client, admin, municipality="amstelveen", name="Stichting Amstel")
    make_service(
        client,
        admin,
        municipality="amstelveen",
        organization="stichting-amstel",
        slug="amstel-koffie",
        themes=[],
        target_groups=[],
    )
    assert report(client, "koffie").status_code == 201
    assert report(client, "amstel-koffie").status_code == 201
    ours, theirs = (
        next(r for r in stored(db) if r.municipality_id == municipality_id(db, slug))
        for slug in ("uithoorn", "amstelveen")
    )
    uithoorn_editor = editor_of(db, municipality_id(db, "uithoorn"))
    amstelveen_editor = editor_of(db, municipality_id(db, "amstelveen"), "amstel@example.nl")

    mine = client.get(f"{API}/feedback", headers=uithoorn_editor).json()
    assert [i["id"] for i in mine["items"]] == [str(ours.id)]
    other = client.get(f"{API}/feedback", headers=amstelveen_editor).json()
    assert [i["id"] for i in other["items"]] == [str(theirs.id)]
    everything = client.get(f"{API}/feedback", headers=admin).json()
    assert everything["total"] == 2

    refused = client.get(
        f"{API}/feedback", params={"municipality": "uithoorn"}, headers=amstelveen_editor
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    patched = client.patch(
        f"{API}/feedback/{ours.id}", json={"status": "afgewezen"}, headers=amstelveen_editor
    )
    assert patched.status_code == 403, patched.text
    db.refresh(ours)
    assert ours.status == FeedbackStatus.open.value

    # An editor without any municipality of these sees an empty queue.
    stranger = token_for(Role.editor, municipality_ids=[uuid.uuid4()])
    assert client.get(f"{API}/feedback", headers=stranger).json()["total"] == 0


@pytest.mark.parametrize("role", [Role.provider, Role.professional])
def test_providers_and_professionals_have_no_queue(
    client: TestClient, koffie: dict[str, Any], db: Session, role: Role
) -> None:
    assert report(client, "koffie").status_code == 201
    [row] = stored(db)
    organization_ids = list(db.exec(select(Service.organization_id)))
    headers = token_for(
        role, municipality_ids=[municipality_id(db, "uithoorn")], organization_ids=organization_ids
    )
    assert client.get(f"{API}/feedback", headers=headers).status_code == 403
    response = client.patch(
        f"{API}/feedback/{row.id}", json={"status": "opgelost"}, headers=headers
    )
    assert response.status_code == 403
    assert client.get(f"{API}/feedback").status_code == 401  # anonymous
