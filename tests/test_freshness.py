"""Actualiteit (T10): with a shifted clock a listing goes verificatie-nodig (reminder by e-mail
to a real local SMTP server) and then verlopen (hidden, out of the index); "de gegevens kloppen
nog" brings it back. On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.service import create_user
from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.models import utcnow
from app.freshness.service import (
    REMINDER_KIND,
    FreshnessReport,
    FreshnessWorker,
    local_date,
    run,
)
from app.indexing.engine import SearchEngine
from app.indexing.service import run_after_commit as sync_search
from app.municipalities.models import Municipality
from app.notifications.models import Notification
from app.notifications.service import NotificationSender
from app.organizations.models import Organization
from app.services.models import Service
from tests.conftest import _session_on, make_settings
from tests.test_api_write import add_amstelveen, make_org, make_service
from tests.test_authorization import token_for
from tests.test_onboarding import Mailbox, mail_settings

API = "/api/v1"
Headers = dict[str, str]
BASE_URL = make_settings().public_base_url.rstrip("/")
ASSURED = date(
    2024, 3, 1
)  # due (12 months) on 2025-03-01, verlopen from 2025-05-01 at the earliest


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- a local SMTP server (as in tests/test_onboarding.py) ---------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


def no_sessions() -> Session:
    raise AssertionError("tests pass their session")


@pytest.fixture
def sender(smtp_server: tuple[Mailbox, int]) -> NotificationSender:
    return NotificationSender(settings=mail_settings(smtp_server[1]), sessions=no_sessions)


# --- helpers ------------------------------------------------------------------------------------


def settings() -> Settings:
    return make_settings()  # FRESHNESS_MAX_AGE_DAYS=365, FRESHNESS_GRACE_DAYS=60


def engine_of(client: TestClient) -> SearchEngine:
    search: SearchEngine = client.app.state.search  # type: ignore[attr-defined]
    return search


def freshness(client: TestClient, db: Session, now: datetime) -> FreshnessReport:
    """One run at ``now``, committed, then the search outbox sent (as the server's job does)."""
    report = run(session=db, settings=settings(), now=now)
    db.commit()
    sync_search(db, engine_of(client))
    return report


def found(client: TestClient, q: str) -> list[str]:
    response = client.get(f"{API}/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


def status_of(db: Session, slug: str) -> str:
    db.expire_all()
    return db.exec(select(Service.admission_status).where(Service.slug == slug)).one()


def reminders(db: Session) -> list[Notification]:
    db.expire_all()
    return list(
        db.exec(
            select(Notification)
            .where(Notification.kind == REMINDER_KIND)
            .order_by(col(Notification.id))
        )
    )


def uithoorn_id(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


def org_id(db: Session, slug: str) -> uuid.UUID:
    return db.exec(select(Organization.id).where(Organization.slug == slug)).one()


def add_provider(db: Session, organization: uuid.UUID, email: str, *, active: bool = True) -> Any:
    user = create_user(
        session=db,
        email=email,
        display_name="Anna Aanbieder",
        role=Role.provider,
        municipality_ids=[uithoorn_id(db)],
        organization_ids=[organization],
    )
    user.is_active = active
    db.add(user)
    db.commit()
    return user


def provider_headers(db: Session, organization: uuid.UUID, user_id: uuid.UUID) -> Headers:
    return token_for(
        Role.provider,
        municipality_ids=[uithoorn_id(db)],
        organization_ids=[organization],
        user_id=user_id,
    )


def set_created_at(db: Session, slug: str, moment: datetime) -> None:
    db.execute(update(Service).where(col(Service.slug) == slug).values(created_at=moment))
    db.commit()


# --- the whole cycle ----------------------------------------------------------------------------


def test_stale_listing_is_flagged_reminded_hidden_and_restored_by_a_confirmation(
    client: TestClient,
    admin: Headers,
    db: Session,
    sender: NotificationSender,
    mailbox: Mailbox,
) -> None:
    make_org(client, admin, email="info@samensterk.example.nl")
    organization = org_id(db, "stichting-samen-sterk")
    anna = add_provider(db, organization, "anna@samensterk.example.nl")
    make_service(
        client,
        admin,
        slug="fietsen",
        name="Fietsenmakerij Zonnebloem",
        assured_date=ASSURED.isoformat(),
    )
    assert found(client, "fietsenmakerij") == ["fietsen"]

    # Not yet 12 months old: nothing happens.
    assert freshness(client, db, at(date(2025, 3, 1))) == FreshnessReport()

    # Older than 12 months: verificatie-nodig, still public and searchable; one reminder.
    first = freshness(client, db, at(date(2025, 3, 10)))
    assert (first.overdue, first.verification_needed, first.expired) == (1, 1, 0)
    assert (first.reminded, first.reminders, first.without_recipient) == (1, 1, 0)
    shown = client.get(f"{API}/services/fietsen")
    assert shown.status_code == 200
    assert shown.json()["admission_status"] == "verificatie-nodig"
    assert found(client, "fietsenmakerij") == ["fietsen"]
    [row] = reminders(db)
    assert row.recipient == "anna@samensterk.example.nl"  # the provider, not the org's address

    assert sender.send_pending(session=db).sent == 1
    [message] = mailbox.messages
    assert mailbox.recipients == [["anna@samensterk.example.nl"]]
    assert message["Subject"] == "Kloppen uw gegevens nog? Sociale kaart Uithoorn"
    body = message.get_content()
    assert "Beste Anna Aanbieder," in body
    assert "Fietsenmakerij Zonnebloem" in body
    assert "meer dan 12 maanden niet gecontroleerd" in body
    assert f"{BASE_URL}/beheer/voorzieningen/fietsen?municipality=uithoorn" in body
    assert "Wat moet u doen?" in body
    assert "vóór 9 mei 2025" in body  # 60 days after the reminder
    assert "De gegevens kloppen nog" in body

    # At most one reminder per period.
    again = freshness(client, db, at(date(2025, 3, 11)))
    assert (again.overdue, again.verification_needed, again.reminders, again.expired) == (
        1,
        0,
        0,
        0,
    )
    assert len(reminders(db)) == 1

    # Still within the grace period after the reminder.
    assert freshness(client, db, at(date(2025, 5, 8))).expired == 0
    assert status_of(db, "fietsen") == "verificatie-nodig"

    # Grace period over: verlopen, hidden and out of the index; no new reminder.
    expired = freshness(client, db, at(date(2025, 5, 9)))
    assert (expired.expired, expired.reminders, expired.verification_needed) == (1, 0, 0)
    assert status_of(db, "fietsen") == "verlopen"
    assert client.get(f"{API}/services/fietsen").status_code == 404
    assert client.get(f"{API}/services").json()["total"] == 0
    assert found(client, "fietsenmakerij") == []
    assert len(reminders(db)) == 1
    # A hidden listing is left alone by later runs.
    assert freshness(client, db, at(date(2025, 9, 1))) == FreshnessReport()

    # The provider says the data is still correct: toegelaten, today, searchable again.
    confirmed = client.post(
        f"{API}/services/fietsen/confirm",
        json={"note": "Openingstijden nagekeken."},
        headers=provider_headers(db, organization, anna.id),
    )
    assert confirmed.status_code == 200, confirmed.text
    detail = confirmed.json()
    assert detail["admission_status"] == "toegelaten"
    assert detail["assured_date"] == local_date(utcnow()).isoformat()
    assert confirmed.headers["ETag"] == f'"{detail["version"]}"'
    assert detail["professional"] is None  # a provider is no professional
    db.expire_all()
    service = db.exec(select(Service).where(Service.slug == "fietsen")).one()
    assert service.verification_reminded_at is None
    assert client.get(f"{API}/services/fietsen").status_code == 200
    assert found(client, "fietsenmakerij") == ["fietsen"]
    events = db.exec(select(AuditEvent).where(AuditEvent.resource_id == str(service.id))).all()
    notes = [e for e in events if "confirmation_note" in e.changes]
    assert [(e.actor_id, e.changes["confirmation_note"]) for e in notes] == [
        (anna.id, [None, "Openingstijden nagekeken."])
    ]
    # Fresh again: a run a day later changes nothing.
    assert freshness(client, db, utcnow() + timedelta(days=1)) == FreshnessReport()


def test_a_listing_without_assured_date_counts_from_when_it_was_added(
    client: TestClient, admin: Headers, db: Session
) -> None:
    make_org(client, admin, email="info@samensterk.example.nl")
    make_service(client, admin, slug="zonder-datum", name="Zonder datum")
    make_service(client, admin, slug="nieuw", name="Nieuw", assured_date="2025-01-10")
    make_service(client, admin, slug="concept", name="Concept", admission_status="concept")
    added = at(date(2024, 1, 10))
    set_created_at(db, "zonder-datum", added)
    set_created_at(db, "concept", at(date(2020, 1, 10)))
    assert freshness(client, db, added + timedelta(days=365)) == FreshnessReport()  # 12 months
    report = freshness(client, db, added + timedelta(days=366))
    assert (report.overdue, report.verification_needed) == (1, 1)
    assert status_of(db, "zonder-datum") == "verificatie-nodig"
    assert status_of(db, "nieuw") == "toegelaten"  # its own date counts, not created_at
    assert status_of(db, "concept") == "concept"  # not public: not the run's business


def test_an_old_listing_still_gets_the_whole_grace_period_after_its_reminder(
    client: TestClient, admin: Headers, db: Session
) -> None:
    """Imported data can be years old: it is not hidden at the first run."""
    make_org(client, admin, email="info@samensterk.example.nl")
    make_service(client, admin, slug="oud", name="Oud", assured_date="2019-10-01")
    first = freshness(client, db, at(date(2025, 6, 1)))
    assert (first.verification_needed, first.expired, first.reminders) == (1, 0, 1)
    assert "vóór 31 juli 2025" in reminders(db)[0].body
    assert freshness(client, db, at(date(2025, 7, 30))).expired == 0
    assert freshness(client, db, at(date(2025, 7, 31))).expired == 1
    assert status_of(db, "oud") == "verlopen"


def test_reminders_go_to_active_providers_else_to_the_organisation(
    client: TestClient, admin: Headers, db: Session
) -> None:
    make_org(client, admin, name="Stichting Twee", email="info@twee.example.nl")
    make_org(client, admin, name="Stichting Adres", email="info@adres.example.nl")
    make_org(client, admin, name="Stichting Niemand")
    twee = org_id(db, "stichting-twee")
    add_provider(db, twee, "een@twee.example.nl")
    add_provider(db, twee, "twee@twee.example.nl")
    add_provider(db, twee, "weg@twee.example.nl", active=False)
    add_provider(db, org_id(db, "stichting-adres"), "weg@adres.example.nl", active=False)
    old = {"assured_date": "2023-01-01"}
    make_service(client, admin, organization="stichting-twee", slug="a", name="Aanbod A", **old)
    make_service(client, admin, organization="stichting-twee", slug="b", name="Aanbod B", **old)
    make_service(client, admin, organization="stichting-adres", slug="c", name="Aanbod C", **old)
    make_service(client, admin, organization="stichting-niemand", slug="d", name="Aanbod D", **old)

    report = freshness(client, db, at(date(2025, 1, 15)))
    assert (report.overdue, report.verification_needed, report.reminded) == (4, 4, 4)
    assert (report.reminders, report.without_recipient) == (3, 1)
    mails = {m.recipient: m for m in reminders(db)}
    assert set(mails) == {"een@twee.example.nl", "twee@twee.example.nl", "info@adres.example.nl"}
    both = mails["een@twee.example.nl"].body
    assert "Aanbod A" in both  # one mail per organisation
    assert "Aanbod B" in both
    assert "Deze voorzieningen zijn" in both
    assert "Beste medewerker van Stichting Adres," in mails["info@adres.example.nl"].body
    assert status_of(db, "d") == "verificatie-nodig"  # flagged even without anyone to tell


def test_a_new_period_brings_a_new_reminder(
    client: TestClient, admin: Headers, db: Session
) -> None:
    make_org(client, admin, email="info@samensterk.example.nl")
    make_service(client, admin, slug="jaarlijks", name="Jaarlijks", assured_date="2023-01-01")
    assert freshness(client, db, at(date(2024, 1, 10))).reminders == 1
    # An editor corrects the date by hand (no confirmation): the old reminder stays, but it
    # belongs to the previous period.
    response = client.patch(
        f"{API}/services/jaarlijks",
        json={"assured_date": "2024-01-20", "admission_status": "toegelaten"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert freshness(client, db, at(date(2024, 6, 1))) == FreshnessReport()
    later = freshness(client, db, at(date(2025, 1, 25)))
    assert (later.verification_needed, later.reminders) == (1, 1)
    assert len(reminders(db)) == 2


# --- confirming ---------------------------------------------------------------------------------


def test_who_may_confirm(client: TestClient, admin: Headers, db: Session) -> None:
    make_org(client, admin)
    make_org(client, admin, name="Stichting Anders")
    make_service(client, admin, slug="weg", admission_status="verlopen", assured_date="2020-01-01")
    make_service(client, admin, slug="concept", name="Concept", admission_status="concept")
    ours = org_id(db, "stichting-samen-sterk")
    other = org_id(db, "stichting-anders")
    url = f"{API}/services/weg/confirm"

    assert client.post(url).status_code == 401  # anonymous
    stranger = token_for(
        Role.provider, municipality_ids=[uithoorn_id(db)], organization_ids=[other]
    )
    refused = client.post(url, headers=stranger)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    professional = token_for(Role.professional, municipality_ids=[uithoorn_id(db)])
    assert client.post(url, headers=professional).status_code == 403
    add_amstelveen(db)
    amstelveen = db.exec(select(Municipality.id).where(Municipality.slug == "amstelveen")).one()
    assert (
        client.post(url, headers=token_for(Role.editor, municipality_ids=[amstelveen])).status_code
        == 403
    )
    assert status_of(db, "weg") == "verlopen"

    too_long = client.post(url, json={"note": "x" * 1001}, headers=admin)
    assert too_long.status_code == 422
    unknown = client.post(url, json={"opmerking": "?"}, headers=admin)
    assert unknown.status_code == 422
    assert client.post(f"{API}/services/bestaat-niet/confirm", headers=admin).status_code == 404

    editor = token_for(Role.editor, municipality_ids=[uithoorn_id(db)])
    confirmed = client.post(url, headers=editor)  # no body at all
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["admission_status"] == "toegelaten"
    assert confirmed.json()["professional"] is not None  # editors see those fields

    provider = token_for(Role.provider, municipality_ids=[uithoorn_id(db)], organization_ids=[ours])
    kept = client.post(f"{API}/services/concept/confirm", json={}, headers=provider)
    assert kept.status_code == 200, kept.text
    # Only verificatie-nodig and verlopen come back: a concept stays a concept.
    assert kept.json()["admission_status"] == "concept"
    assert kept.json()["assured_date"] == local_date(utcnow()).isoformat()


# --- the server's job and the command line ------------------------------------------------------


def test_the_servers_job_commits_and_sends_the_outboxes(
    client: TestClient,
    admin: Headers,
    db: Session,
    sender: NotificationSender,
    mailbox: Mailbox,
) -> None:
    conn = db.get_bind()  # the test's transaction, shared with the client
    assert isinstance(conn, Connection)
    make_org(client, admin, email="info@samensterk.example.nl")
    make_service(client, admin, slug="fietsen", name="Fietsenmakerij", assured_date="2023-01-01")
    make_service(client, admin, slug="weg", name="Wegwerpservice", assured_date="2023-01-01")
    db.execute(
        update(Service)
        .where(col(Service.slug) == "weg")
        .values(
            admission_status="verificatie-nodig",
            verification_reminded_at=at(date(2024, 1, 5)),
        )
    )
    db.commit()
    sender.sessions = lambda: _session_on(conn)
    worker = FreshnessWorker(
        settings=settings(),
        sessions=lambda: _session_on(conn),
        after_commit=[lambda s: sync_search(s, engine_of(client)), sender.after_commit],
        clock=lambda: at(date(2024, 3, 15)),
    )
    report = worker.run_once()
    assert (report.verification_needed, report.expired, report.reminders) == (1, 1, 1)
    assert found(client, "fietsenmakerij") == ["fietsen"]
    assert found(client, "wegwerpservice") == []  # the after-commit hook sent the change
    assert sender.send_pending().sent == 1  # woken by the hook; here called directly
    assert mailbox.recipients == [["info@samensterk.example.nl"]]
    # No thread without an interval; start and stop are safe.
    idle = FreshnessWorker(
        settings=settings().model_copy(update={"freshness_interval_s": 0}),
        sessions=lambda: _session_on(conn),
    )
    idle.start()
    idle.stop()


def summary(output: str) -> dict[str, int]:
    lines = [line.strip().rsplit(":", 1) for line in output.splitlines() if line.startswith("  ")]
    return {label: int(count) for label, count in lines}


def test_the_command_line(run_cli: Any, tmp_path: Path) -> None:
    from app.core.config import get_settings
    from app.core.db import build_engine
    from app.municipalities.service import (
        load_municipality,
        read_municipality_file,
        shipped_municipality_path,
    )

    assert summary(run_cli("freshness", "run").output) == {
        "te lang niet gecontroleerd": 0,
        "naar verificatie-nodig": 0,
        "naar verlopen": 0,
        "herinnering(en) klaargezet": 0,
        "voorziening(en) herinnerd": 0,
    }
    engine = build_engine(get_settings().database_url)
    with Session(engine) as session:
        municipality = load_municipality(
            session=session,
            config=read_municipality_file(shipped_municipality_path("uithoorn")),
        ).municipality
        organization = Organization(
            municipality_id=municipality.id,
            slug="stichting",
            name="Stichting",
            email="info@stichting.example.nl",
            admission_status="toegelaten",
        )
        session.add(organization)
        session.flush()
        session.add(
            Service(
                municipality_id=municipality.id,
                organization_id=organization.id,
                slug="oud",
                name="Oud aanbod",
                admission_status="toegelaten",
                assured_date=date(2020, 1, 1),
            )
        )
        session.commit()

    dry = run_cli("freshness", "run", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "proefrun: niets opgeslagen" in dry.output
    assert summary(dry.output)["naar verificatie-nodig"] == 1
    real = run_cli("freshness", "run")
    assert real.exit_code == 0, real.output
    assert summary(real.output) == {
        "te lang niet gecontroleerd": 1,
        "naar verificatie-nodig": 1,
        "naar verlopen": 0,
        "herinnering(en) klaargezet": 1,
        "voorziening(en) herinnerd": 1,
    }
    assert "E-mail staat uit" in real.output  # development: mail waits in the outbox
    again = summary(run_cli("freshness", "run").output)
    assert (again["naar verificatie-nodig"], again["herinnering(en) klaargezet"]) == (0, 0)
    with Session(engine) as session:
        assert session.exec(select(Service.admission_status)).one() == "verificatie-nodig"
        assert session.exec(select(Notification.recipient)).all() == ["info@stichting.example.nl"]
    engine.dispose()
