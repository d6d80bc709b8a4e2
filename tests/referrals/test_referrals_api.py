"""Referrals end to end through the API: a huisarts refers (warm) to the Financieel Café, the
provider follows up, the huisarts sees the outcome, the personal data is erased after the
retention period while the referral still counts; a recept stores no personal data at all."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.service import create_user
from app.audit.models import AuditEvent
from app.core.models import utcnow
from app.municipalities.models import Municipality
from app.notifications.models import Notification
from app.organizations.models import Organization
from app.referrals.models import Referral
from app.referrals.service import purge_personal_data
from app.services.models import Service
from tests.conftest import make_settings
from tests.test_authorization import token_for

Headers = dict[str, str]


@pytest.fixture
def people(demo_db: Session) -> dict[str, Any]:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    cafe = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    huisarts = create_user(
        session=demo_db,
        email="huisarts@praktijk.example",
        display_name="Dokter",
        role=Role.professional,
        municipality_ids=[uithoorn.id],
    )
    provider = create_user(
        session=demo_db,
        email="coordinator@uve.example",
        display_name="Coördinator",
        role=Role.provider,
        municipality_ids=[uithoorn.id],
        organization_ids=[cafe.organization_id],
    )
    other_org = demo_db.exec(
        select(Organization).where(Organization.id != cafe.organization_id)
    ).first()
    assert other_org is not None
    outsider = create_user(
        session=demo_db,
        email="andere@aanbieder.example",
        display_name="Ander",
        role=Role.provider,
        municipality_ids=[uithoorn.id],
        organization_ids=[other_org.id],
    )
    demo_db.commit()
    return {
        "huisarts": token_for(
            Role.professional, municipality_ids=[uithoorn.id], user_id=huisarts.id
        ),
        "provider": token_for(
            Role.provider,
            municipality_ids=[uithoorn.id],
            organization_ids=[cafe.organization_id],
            user_id=provider.id,
        ),
        "outsider": token_for(
            Role.provider,
            municipality_ids=[uithoorn.id],
            organization_ids=[other_org.id],
            user_id=outsider.id,
        ),
        "editor": token_for(Role.editor, municipality_ids=[uithoorn.id]),
    }


WARM = {
    "municipality": "uithoorn",
    "service": "uve-financieel-cafe",
    "mode": "warm",
    "referrer_kind": "huisarts",
    "themes": ["geld-en-schulden"],
    "note": "Heeft veel post liggen, belt liever 's ochtends.",
    "consent": True,
    "contact": {"name": "Jan Jansen", "phone": "06 12345678"},
}


def test_warm_referral_from_huisarts_to_provider_and_back(
    demo_client: TestClient, demo_db: Session, people: dict[str, Headers]
) -> None:
    created = demo_client.post("/api/v1/referrals", json=WARM, headers=people["huisarts"])
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["status"] == "verstuurd"
    assert referral["contact"]["name"] == "Jan Jansen"
    assert referral["reference_code"].startswith("WR-")
    assert referral["recept"] is None
    rid = referral["id"]

    # At rest: encrypted, nothing readable in the table.
    raw = demo_db.exec(text("SELECT contact_name_enc, note_enc FROM referral")).one()  # type: ignore[call-overload]
    assert "Jansen" not in raw[0]
    assert "post" not in raw[1]

    # The provider sees it in the inbox, with the contact data; the outsider does not.
    inbox = demo_client.get("/api/v1/referrals", headers=people["provider"]).json()
    assert [r["id"] for r in inbox["items"]] == [rid]
    assert inbox["items"][0]["contact"]["phone"] == "06 12345678"
    assert demo_client.get("/api/v1/referrals", headers=people["outsider"]).json()["total"] == 0
    assert (
        demo_client.get(f"/api/v1/referrals/{rid}", headers=people["outsider"]).status_code == 404
    )
    assert demo_client.get("/api/v1/referrals", headers=people["editor"]).status_code == 403
    assert demo_client.get("/api/v1/referrals").status_code == 401

    for step in ("ontvangen", "in-contact"):
        moved = demo_client.post(
            f"/api/v1/referrals/{rid}/status", json={"status": step}, headers=people["provider"]
        )
        assert moved.status_code == 200, moved.text
    back = demo_client.post(
        f"/api/v1/referrals/{rid}/status", json={"status": "ontvangen"}, headers=people["provider"]
    )
    assert back.status_code == 409
    done = demo_client.post(
        f"/api/v1/referrals/{rid}/status",
        json={"status": "afgerond", "outcome": "Komt elke dinsdag naar het café."},
        headers=people["provider"],
    )
    assert done.status_code == 200
    assert (
        demo_client.post(
            f"/api/v1/referrals/{rid}/status",
            json={"status": "in-contact"},
            headers=people["provider"],
        ).status_code
        == 409
    )
    # Only the receiving organisation changes the status.
    assert (
        demo_client.post(
            f"/api/v1/referrals/{rid}/status",
            json={"status": "afgewezen"},
            headers=people["huisarts"],
        ).status_code
        == 403
    )

    seen = demo_client.get(f"/api/v1/referrals/{rid}", headers=people["huisarts"]).json()
    assert seen["status"] == "afgerond"
    assert seen["outcome"] == "Komt elke dinsdag naar het café."
    assert [e["status"] for e in seen["events"]] == [
        "verstuurd",
        "ontvangen",
        "in-contact",
        "afgerond",
    ]

    # Each status change told the huisarts by mail, with a link and without personal data.
    mails = demo_db.exec(
        select(Notification).where(Notification.recipient == "huisarts@praktijk.example")
    ).all()
    assert len(mails) == 3
    for mail in mails:
        assert f"/verwijzingen/{rid}" in mail.body
        assert "Jansen" not in mail.body + mail.subject
        assert "0612345678" not in mail.body.replace(" ", "")
    # Every read of the personal data is in the audit trail.
    reads = demo_db.exec(
        select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.resource_id == rid)
    ).all()
    assert len(reads) >= 3
    # The audit trail never holds the personal data itself.
    for event in demo_db.exec(select(AuditEvent).where(AuditEvent.resource_id == rid)):
        assert "Jansen" not in str(event.changes)

    # After the retention period the personal data is gone; the referral still counts.
    def monthly() -> dict[str, Any]:
        insights = demo_client.get(
            "/api/v1/insights/referrals",
            params={"municipality": "uithoorn"},
            headers=people["editor"],
        )
        assert insights.status_code == 200, insights.text
        month: dict[str, Any] = insights.json()["months"][-1]
        return month

    counted = monthly()
    assert counted["total"] == 1
    assert counted["by_outcome"] == [{"key": "afgerond", "count": 1}]
    settings = make_settings()
    row = demo_db.get(Referral, uuid.UUID(rid))
    assert row is not None
    demo_db.refresh(row)
    report = purge_personal_data(
        session=demo_db,
        settings=settings,
        now=utcnow() + timedelta(days=settings.referral_retention_days + 1),
    )
    demo_db.commit()
    assert report.erased == 1
    demo_db.refresh(row)
    assert (row.contact_name_enc, row.contact_phone_enc, row.note_enc, row.outcome_enc) == (
        None,
        None,
        None,
        None,
    )
    after = demo_client.get(f"/api/v1/referrals/{rid}", headers=people["huisarts"]).json()
    assert after["personal_data_erased"] is True
    assert after["contact"] is None
    assert after["status"] == "afgerond"
    assert after["themes"] == [{"slug": "geld-en-schulden", "label": "Geld en schulden"}]
    assert monthly() == counted  # the monthly count remains


def test_recept_stores_no_personal_data(
    demo_client: TestClient, demo_db: Session, people: dict[str, Headers]
) -> None:
    recept = {k: v for k, v in WARM.items() if k not in ("note", "consent", "contact")}
    recept["mode"] = "recept"
    created = demo_client.post("/api/v1/referrals", json=recept, headers=people["huisarts"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["contact"] is None
    assert body["recept"]["service"] == "Financieel Café"
    assert body["recept"]["reference_code"] == body["reference_code"]
    row = demo_db.exec(text("SELECT * FROM referral")).mappings().one()  # type: ignore[call-overload]
    personal = (
        "note_enc",
        "contact_name_enc",
        "contact_phone_enc",
        "contact_email_enc",
        "consent_at",
    )
    assert all(row[name] is None for name in personal)
    # No mail to the organisation: the resident brings the recept along.
    assert (
        demo_db.exec(select(Notification).where(Notification.kind == "referral_received")).first()
        is None
    )
    # The organisation marks it as used, once.
    code = body["reference_code"].lower()
    used = demo_client.post(
        "/api/v1/referrals/redeem", json={"reference_code": code}, headers=people["provider"]
    )
    assert used.status_code == 200, used.text
    assert used.json()["used_at"] is not None
    assert used.json()["status"] == "in-contact"
    again = demo_client.post(
        "/api/v1/referrals/redeem", json={"reference_code": code}, headers=people["provider"]
    )
    assert again.status_code == 409
    foreign = demo_client.post(
        "/api/v1/referrals/redeem", json={"reference_code": code}, headers=people["outsider"]
    )
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"consent": False}, "toestemming"),
        ({"contact": None}, "contact"),
        ({"mode": "recept"}, "geen persoonsgegevens"),
        ({"contact": {"name": "Jan"}}, "telefoonnummer of een e-mailadres"),
        ({"service": "bestaat-niet"}, "niet (meer) op de sociale kaart"),
        ({"themes": ["onzin"]}, "onzin"),
    ],
)
def test_bad_referrals_are_refused_in_dutch(
    demo_client: TestClient, people: dict[str, Headers], change: dict[str, Any], message: str
) -> None:
    response = demo_client.post(
        "/api/v1/referrals", json={**WARM, **change}, headers=people["huisarts"]
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message in response.text


def test_a_hidden_service_cannot_be_referred_to(
    demo_client: TestClient, demo_db: Session, people: dict[str, Headers]
) -> None:
    cafe = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    cafe.admission_status = "afgewezen"
    demo_db.add(cafe)
    demo_db.commit()
    response = demo_client.post("/api/v1/referrals", json=WARM, headers=people["huisarts"])
    assert response.status_code == 422
    assert "niet (meer) op de sociale kaart" in response.json()["detail"]


def test_only_professionals_refer(demo_client: TestClient, people: dict[str, Headers]) -> None:
    assert (
        demo_client.post("/api/v1/referrals", json=WARM, headers=people["provider"]).status_code
        == 403
    )
    assert demo_client.post("/api/v1/referrals", json=WARM).status_code == 401


def test_cli_purge_and_key_rotation(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from app.core.config import get_settings
    from app.core.crypto import FieldCipher
    from app.core.db import build_engine

    old = Fernet.generate_key().decode()
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", old)
    get_settings.cache_clear()
    assert run_cli("municipality", "load", "app/municipalities/data/uithoorn.yaml").exit_code == 0
    engine = build_engine(get_settings().database_url)
    cipher = FieldCipher([old.encode()])
    with Session(engine) as session:
        uithoorn = session.exec(select(Municipality)).one()
        row = Referral(
            municipality_id=uithoorn.id,
            service_name="Financieel Café",
            referrer_kind="huisarts",
            mode="warm",
            reference_code="WR-TEST-0001",
            month=utcnow().date().replace(day=1),
            contact_name_enc=cipher.encrypt("Jan Jansen"),
            consent_at=utcnow(),
        )
        session.add(row)
        session.commit()
        rid = row.id
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{new},{old}")
    get_settings.cache_clear()
    rotated = run_cli("referrals", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    assert "1 verwijzing" in rotated.output
    with Session(engine) as session:
        stored = session.get(Referral, rid)
        assert stored is not None
        assert FieldCipher([new.encode()]).decrypt(stored.contact_name_enc) == "Jan Jansen"
        stored.status = "afgerond"
        stored.closed_at = utcnow() - timedelta(days=400)
        session.add(stored)
        session.commit()
    purged = run_cli("referrals", "purge")
    assert purged.exit_code == 0, purged.output
    assert "1 verwijzing" in purged.output
    with Session(engine) as session:
        stored = session.get(Referral, rid)
        assert stored is not None
        assert stored.contact_name_enc is None
        assert stored.erased_at is not None
    get_settings.cache_clear()


def test_no_personal_data_in_the_logs(
    demo_client: TestClient, people: dict[str, Headers], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    created = demo_client.post("/api/v1/referrals", json=WARM, headers=people["huisarts"])
    assert created.status_code == 201
    demo_client.get(f"/api/v1/referrals/{created.json()['id']}", headers=people["provider"])
    bad = demo_client.post(
        "/api/v1/referrals",
        json={**WARM, "contact": {"name": "Jan Jansen", "phone": "nummer-van-jan"}},
        headers=people["huisarts"],
    )
    assert bad.status_code == 422
    assert "nummer-van-jan" not in bad.text  # the error does not echo the value either
    for personal in ("Jansen", "12345678", "post liggen"):
        assert personal not in caplog.text
