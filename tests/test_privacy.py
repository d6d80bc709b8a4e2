"""Privacy (AVG): the retention job (feedback text, expired login material), its CLI and
worker, and a log test: a realistic session full of personal data leaves none of it in the
log records. On SQLite and PostgreSQL (docs/privacy.md)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import (
    Invitation,
    LoginFailure,
    PasswordReset,
    RefreshToken,
    Role,
    UserAccount,
)
from app.accounts.service import create_user
from app.audit.models import AuditEvent
from app.core.db import build_engine
from app.core.errors import install_error_handlers
from app.core.periodic import PeriodicWorker
from app.feedback.models import FeedbackCategory, ServiceFeedback
from app.feedback.schemas import FeedbackCreate
from app.feedback.service import create as create_feedback
from app.main import create_app
from app.municipalities.models import Municipality
from app.municipalities.service import (
    load_municipality,
    read_municipality_file,
    shipped_municipality_path,
)
from app.organizations.models import Organization
from app.privacy.retention import (
    BATCH,
    ERASED,
    EXPIRED_GRACE,
    LOGIN_FAILURE_KEEP,
    RetentionReport,
    enforce_retention,
)
from app.services.models import Service
from tests.conftest import ADMIN_KEY, account, make_settings, migrated_database
from tests.test_api_write import make_org, make_service
from tests.test_authorization import token_for

API = "/api/v1"
Headers = dict[str, str]
NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)  # a fixed "now" for every limit
SECOND = timedelta(seconds=1)


def uithoorn_id(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


def audit_text(db: Session) -> str:
    """Everything the audit trail holds, as one text."""
    rows = db.exec(select(AuditEvent)).all()
    return "\n".join(json.dumps(r.changes, ensure_ascii=False) for r in rows)


def audit_count(db: Session) -> int:
    return len(db.exec(select(AuditEvent.id)).all())


def set_dates(db: Session, model: Any, row_id: Any, **values: datetime | None) -> None:
    """Move a row's timestamps (a Core UPDATE: the test's own edit stays out of the trail)."""
    table = model.__table__
    db.connection().execute(sa.update(table).where(table.c.id == row_id).values(**values))


# --- the audit trail: pseudonymised after AUDIT_ACTOR_RETENTION_DAYS -----------------------------

EDITOR_EMAIL = "redacteur.jansen@gemeente.example"
CONTACT_NAME = "Marieke Oudshoorn"
CONTACT_PHONE = "06 12398765"  # as stored (normalised)
ORG_EMAIL = "info@samensterk.example"


@pytest.fixture
def trail(client: TestClient, admin: Headers, db: Session) -> datetime:
    """Audit events by a user (an editor) naming an account, an e-mail, a contact person and
    a phone number; the moment after the last one."""
    uithoorn = uithoorn_id(db)
    editor = account(
        db, EDITOR_EMAIL, "Redacteur Jansen", Role.editor, uithoorn, "Lange-Zin-Voor-Jansen-2031!"
    )
    headers = token_for(Role.editor, municipality_ids=[uithoorn], user_id=editor.id)
    org = make_org(client, admin, email=ORG_EMAIL)
    changed = client.patch(
        f"{API}/organizations/{org['slug']}",
        json={
            "description": "Samen sterk in de wijk.",
            "contacts": [{"name": CONTACT_NAME, "title": "coördinator"}],
            "phones": [{"number": CONTACT_PHONE}],
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    db.expire_all()
    return max(db.exec(select(AuditEvent.occurred_at)).all())


def _events(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(db.exec(select(AuditEvent).order_by(AuditEvent.id)).all())  # type: ignore[arg-type]


def test_audit_events_are_pseudonymised_after_the_retention_period(
    db: Session, trail: datetime
) -> None:
    settings = make_settings()
    limit = timedelta(days=settings.audit_actor_retention_days)
    before = _events(db)
    assert any(e.actor_id is not None for e in before)  # the editor's change
    for personal in (EDITOR_EMAIL, ORG_EMAIL, CONTACT_NAME, CONTACT_PHONE):
        assert personal in audit_text(db)

    now = trail + limit - SECOND  # the newest events are just inside the limit
    report = enforce_retention(session=db, settings=settings, now=now)
    due = {e.id for e in before if e.occurred_at < now - limit}
    assert report.audit_events_pseudonymised == len(due)
    assert {e.id for e in _events(db) if e.pseudonymised_at is not None} == due
    assert any(e.actor_id is not None for e in _events(db))  # the editor's: not yet
    young = [e for e in before if e.id not in due]
    assert young

    report = enforce_retention(session=db, settings=settings, now=trail + limit + SECOND)
    after = _events(db)
    assert report.audit_events_pseudonymised == len(young)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        # what happened, to which resource, when, by what kind of actor: unchanged
        assert (new.id, new.occurred_at, new.actor_type, new.action) == (
            old.id,
            old.occurred_at,
            old.actor_type,
            old.action,
        )
        assert (new.resource_type, new.resource_id, new.municipality_id) == (
            old.resource_type,
            old.resource_id,
            old.municipality_id,
        )
        assert new.actor_id is None
        assert new.pseudonymised_at is not None
        assert set(new.changes) == set(old.changes)  # which fields changed: still visible
    trail_text = audit_text(db)
    for personal in (EDITOR_EMAIL, ORG_EMAIL, CONTACT_NAME, CONTACT_PHONE):
        assert personal not in trail_text
    assert "Samen sterk in de wijk." in trail_text  # not personal: kept
    again = enforce_retention(session=db, settings=settings, now=trail + 2 * limit)
    assert again.audit_events_pseudonymised == 0  # idempotent


def test_the_trail_allows_only_the_pseudonymisation(db: Session, trail: datetime) -> None:
    del trail
    event_id = _events(db)[-1].id

    def attempt(sql: str) -> None:
        with db.begin_nested():
            db.connection().execute(sa.text(sql), {"id": event_id})

    for refused in (
        "UPDATE audit_event SET actor_id = NULL WHERE id = :id",  # without pseudonymised_at
        "UPDATE audit_event SET action = 'delete', actor_id = NULL, "
        "pseudonymised_at = CURRENT_TIMESTAMP WHERE id = :id",  # rewriting what happened
        "DELETE FROM audit_event WHERE id = :id",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            attempt(refused)
    attempt(
        "UPDATE audit_event SET actor_id = NULL, pseudonymised_at = CURRENT_TIMESTAMP "
        "WHERE id = :id"
    )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # only once
        attempt("UPDATE audit_event SET pseudonymised_at = CURRENT_TIMESTAMP WHERE id = :id")


# --- resident feedback ---------------------------------------------------------------------------

# label: (handled after (days, seconds) before the limit — None: still open, created before)
FEEDBACK_LIMIT = NOW - timedelta(days=365)


def _text(label: str) -> str:
    return f"Bel mij, Jan de Vries, op 06-11122233 of jan.devries@example.nl ({label})"


def _note(label: str) -> str:
    return f"Gebeld met mevrouw Pietersen, 020-5556677 ({label})"


@pytest.fixture
def feedback_rows(client: TestClient, admin: Headers, db: Session) -> dict[str, uuid.UUID]:
    """Feedback just inside and just outside the limit, created and handled as in real use
    (the service function, the API with a note), then moved in time."""
    make_org(client, admin)
    make_service(client, admin, slug="koffie", admission_status="toegelaten")
    service = db.exec(select(Service).where(Service.slug == "koffie")).one()
    user = create_user(
        session=db,
        email="rita@redactie.example",
        display_name="Rita Redactie",
        role=Role.editor,
        municipality_ids=[uithoorn_id(db)],
    )
    db.commit()
    editor = token_for(Role.editor, municipality_ids=[uithoorn_id(db)], user_id=user.id)
    # label: (created_at, handled_at, note?)
    plan: dict[str, tuple[datetime, datetime | None, bool]] = {
        "handled-just-outside": (
            FEEDBACK_LIMIT - timedelta(days=20),
            FEEDBACK_LIMIT - SECOND,
            True,
        ),
        "handled-at-the-limit": (FEEDBACK_LIMIT - timedelta(days=20), FEEDBACK_LIMIT, True),
        # handled recently: kept, however old the report itself is
        "handled-just-inside": (
            FEEDBACK_LIMIT - timedelta(days=200),
            FEEDBACK_LIMIT + SECOND,
            True,
        ),
        "handled-old-no-note": (FEEDBACK_LIMIT - timedelta(days=9), FEEDBACK_LIMIT - SECOND, False),
        "open-just-outside": (FEEDBACK_LIMIT - SECOND, None, False),
        "open-just-inside": (FEEDBACK_LIMIT + SECOND, None, False),
    }
    ids: dict[str, uuid.UUID] = {}
    for n, (label, (created, handled, with_note)) in enumerate(plan.items()):
        row = create_feedback(
            session=db,
            service=service,
            data=FeedbackCreate(category=list(FeedbackCategory)[n % 5], message=_text(label)),
            max_per_hour=100,
        )
        db.commit()
        ids[label] = row.id
        if handled is not None:
            body: dict[str, Any] = {"status": "opgelost" if n % 2 else "afgewezen"}
            if with_note:
                body["note"] = _note(label)
            done = client.patch(f"{API}/feedback/{row.id}", json=body, headers=editor)
            assert done.status_code == 200, done.text
        set_dates(db, ServiceFeedback, row.id, created_at=created, handled_at=handled)
    db.commit()
    db.expire_all()
    return ids


def _feedback(db: Session) -> dict[uuid.UUID, ServiceFeedback]:
    db.expire_all()
    return {r.id: r for r in db.exec(select(ServiceFeedback))}


def _statistics(db: Session) -> Counter[tuple[Any, ...]]:
    return Counter(
        (r.service_id, r.municipality_id, r.category, r.status, r.created_at, r.handled_at)
        for r in _feedback(db).values()
    )


def test_feedback_text_is_erased_after_the_retention_period(
    db: Session, feedback_rows: dict[str, uuid.UUID]
) -> None:
    statistics = _statistics(db)
    report = enforce_retention(session=db, settings=make_settings(), now=NOW)
    db.commit()
    assert report.feedback_erased == 3
    rows = _feedback(db)
    by_label = {label: rows[i] for label, i in feedback_rows.items()}
    for label in ("handled-just-outside", "open-just-outside", "handled-old-no-note"):
        assert by_label[label].message == ERASED, label
    assert by_label["handled-just-outside"].note == ERASED
    assert by_label["handled-old-no-note"].note is None  # nothing to erase: stays empty
    assert by_label["open-just-outside"].note is None
    for label in ("handled-at-the-limit", "handled-just-inside", "open-just-inside"):
        assert by_label[label].message == _text(label), label
    assert by_label["handled-at-the-limit"].note == _note("handled-at-the-limit")
    # Listing, category, status and dates stay: every count is the same.
    assert _statistics(db) == statistics


def test_erasing_is_idempotent_and_later_runs_take_what_became_due(
    db: Session, feedback_rows: dict[str, uuid.UUID]
) -> None:
    settings = make_settings()
    assert enforce_retention(session=db, settings=settings, now=NOW).feedback_erased == 3
    before = {i: (r.message, r.note) for i, r in _feedback(db).items()}
    again = enforce_retention(session=db, settings=settings, now=NOW)
    assert again == RetentionReport()
    assert {i: (r.message, r.note) for i, r in _feedback(db).items()} == before
    # Two seconds on, the rows at and just inside the limit are due too; the open one a day on.
    later = enforce_retention(session=db, settings=settings, now=NOW + 2 * SECOND)
    assert later.feedback_erased == 3
    assert all(r.message == ERASED for r in _feedback(db).values())


def test_the_retention_period_is_configurable(
    db: Session, feedback_rows: dict[str, uuid.UUID]
) -> None:
    longer = make_settings().model_copy(update={"feedback_text_retention_days": 400})
    assert enforce_retention(session=db, settings=longer, now=NOW).feedback_erased == 0
    shorter = make_settings().model_copy(update={"feedback_text_retention_days": 1})
    assert enforce_retention(session=db, settings=shorter, now=NOW).feedback_erased == 6


def test_no_audit_event_keeps_the_erased_text(
    db: Session, feedback_rows: dict[str, uuid.UUID]
) -> None:
    """Neither creating, handling (the note) nor erasing copies the text into the trail."""
    events = audit_count(db)
    assert events > 0
    enforce_retention(session=db, settings=make_settings(), now=NOW + timedelta(days=3650))
    db.commit()
    assert all(r.message == ERASED for r in _feedback(db).values())
    trail = audit_text(db)
    for personal in ("Jan de Vries", "06-11122233", "jan.devries@example.nl", "Pietersen"):
        assert personal not in trail
    assert "020-5556677" not in trail
    assert ERASED not in trail  # the erasure itself is not an audited edit either
    assert audit_count(db) == events


def test_the_redactie_still_sees_the_erased_report(
    client: TestClient, db: Session, feedback_rows: dict[str, uuid.UUID]
) -> None:
    enforce_retention(session=db, settings=make_settings(), now=NOW)
    db.commit()
    editor = token_for(Role.editor, municipality_ids=[uithoorn_id(db)])
    queue = client.get(f"{API}/feedback", params={"status": "open"}, headers=editor)
    assert queue.status_code == 200, queue.text
    items = {i["id"]: i for i in queue.json()["items"]}
    assert len(items) == 2
    erased = items[str(feedback_rows["open-just-outside"])]
    assert (erased["message"], erased["status"]) == (ERASED, "open")


def test_many_rows_are_erased_in_batches(
    client: TestClient, admin: Headers, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More rows than one batch: every one of them, none twice, in several statements."""
    monkeypatch.setattr("app.privacy.retention.BATCH", 7)
    make_org(client, admin)
    make_service(client, admin, slug="koffie", admission_status="toegelaten")
    service = db.exec(select(Service).where(Service.slug == "koffie")).one()
    old = FEEDBACK_LIMIT - timedelta(days=1)
    for n in range(23):
        db.add(
            ServiceFeedback(
                service_id=service.id,
                municipality_id=service.municipality_id,
                category="anders",
                message=f"Melding nummer {n} met tekst",
                created_at=old if n != 5 else NOW,
            )
        )
    db.commit()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    bind = db.get_bind()
    sa.event.listen(bind, "before_cursor_execute", record)
    try:
        report = enforce_retention(session=db, settings=make_settings(), now=NOW)
    finally:
        sa.event.remove(bind, "before_cursor_execute", record)
    assert report.feedback_erased == 22
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE SERVICE_FEEDBACK")]
    assert len(updates) == 4  # 7 + 7 + 7 + 1
    assert Counter(r.message == ERASED for r in _feedback(db).values()) == {True: 22, False: 1}
    assert BATCH >= 100  # the real batch size


# --- expired login material ----------------------------------------------------------------------

ENDED = NOW - EXPIRED_GRACE


def test_expired_invitations_links_sessions_and_counters_are_deleted(db: Session) -> None:
    municipality = uithoorn_id(db)
    user = create_user(
        session=db,
        email="piet@aanbieder.example",
        display_name="Piet Aanbieder",
        role=Role.provider,
        municipality_ids=[municipality],
    )
    db.commit()

    def invitation(label: str, *, expires: datetime, accepted: datetime | None) -> None:
        db.add(
            Invitation(
                email=f"{label}@uitgenodigd.example",
                display_name=f"Uitgenodigd {label}",
                role=Role.provider.value,
                municipality_id=municipality,
                token_hash=uuid.uuid4().hex,
                created_at=expires - timedelta(days=7),
                expires_at=expires,
                accepted_at=accepted,
            )
        )

    invitation("expired-outside", expires=ENDED - SECOND, accepted=None)
    invitation("expired-inside", expires=ENDED + SECOND, accepted=None)
    invitation("accepted-outside", expires=NOW, accepted=ENDED - SECOND)
    invitation("accepted-inside", expires=ENDED - timedelta(days=3), accepted=ENDED + SECOND)
    invitation("open", expires=NOW + timedelta(days=7), accepted=None)
    for label, expires in (("outside", ENDED - SECOND), ("inside", ENDED), ("open", NOW)):
        db.add(
            PasswordReset(
                user_id=user.id,
                token_hash=f"reset-{label}".ljust(64, "0"),
                created_at=expires - timedelta(hours=1),
                expires_at=expires,
                used_at=expires - timedelta(minutes=5) if label == "outside" else None,
            )
        )
        db.add(
            RefreshToken(
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash=f"refresh-{label}".ljust(64, "0"),
                created_at=expires - timedelta(days=14),
                expires_at=expires,
                revoked_at=expires - timedelta(days=1) if label == "inside" else None,
            )
        )
    for at in (NOW - LOGIN_FAILURE_KEEP - SECOND, NOW - LOGIN_FAILURE_KEEP, NOW - SECOND):
        db.add(LoginFailure(email_hash="f" * 64, at=at))
    db.commit()
    events = audit_count(db)
    # (the audit trail's own period is tested below; here it keeps every event)
    settings = make_settings().model_copy(update={"audit_actor_retention_days": 3650})

    report = enforce_retention(session=db, settings=settings, now=NOW)
    db.commit()
    assert report == RetentionReport(
        invitations_deleted=2,
        password_resets_deleted=1,
        refresh_tokens_deleted=1,
        login_failures_deleted=1,
    )
    db.expire_all()
    assert sorted(i.email.split("@")[0] for i in db.exec(select(Invitation))) == [
        "accepted-inside",
        "expired-inside",
        "open",
    ]
    assert sorted(r.token_hash.rstrip("0") for r in db.exec(select(PasswordReset))) == [
        "reset-inside",
        "reset-open",
    ]
    assert sorted(t.token_hash.rstrip("0") for t in db.exec(select(RefreshToken))) == [
        "refresh-inside",
        "refresh-open",
    ]
    assert len(db.exec(select(LoginFailure)).all()) == 2
    assert db.get(UserAccount, user.id) is not None  # the account itself stays
    # Deleting is housekeeping: no audit events (they would copy the invitee's address).
    assert audit_count(db) == events
    assert enforce_retention(session=db, settings=settings, now=NOW) == RetentionReport()


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_dry_run_changes_nothing_then_the_run_does(run_cli: Any) -> None:
    from app.core.config import get_settings
    from app.core.models import utcnow

    assert run_cli("municipality", "load", "app/municipalities/data/uithoorn.yaml").exit_code == 0
    engine = build_engine(get_settings().database_url)
    long_ago = utcnow() - timedelta(days=800)
    with Session(engine) as session:
        uithoorn = session.exec(select(Municipality)).one()
        org = Organization(municipality_id=uithoorn.id, slug="samen", name="Samen Sterk")
        session.add(org)
        session.flush()
        service = Service(
            municipality_id=uithoorn.id, organization_id=org.id, slug="koffie", name="Koffie"
        )
        session.add(service)
        session.flush()
        for n, created in enumerate((long_ago, long_ago, utcnow())):
            session.add(
                ServiceFeedback(
                    service_id=service.id,
                    municipality_id=uithoorn.id,
                    category="tijden",
                    message=f"Mail mij op kees@example.nl ({n})",
                    created_at=created,
                )
            )
        user = create_user(
            session=session,
            email="kees@gemeente.example",
            display_name="Kees",
            role=Role.editor,
            municipality_ids=[uithoorn.id],
        )
        session.add(
            RefreshToken(
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash="a" * 64,
                created_at=long_ago,
                expires_at=long_ago + timedelta(days=14),
            )
        )
        session.add(LoginFailure(email_hash="b" * 64, at=long_ago))
        session.commit()

    def stored() -> tuple[list[str], int, int]:
        with Session(engine) as session:
            messages = sorted(session.exec(select(ServiceFeedback.message)).all())
            tokens = len(session.exec(select(RefreshToken.id)).all())
            failures = len(session.exec(select(LoginFailure.id)).all())
        return messages, tokens, failures

    before = stored()
    dry = run_cli("privacy", "retention", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "proefrun" in dry.output
    lines = {
        line.split(":")[0].strip(): line.split(":")[-1].strip() for line in dry.output.splitlines()
    }
    assert lines["tekst van meldingen (na 365 dagen)"] == "2"
    assert lines["sessies (30 dagen na afloop)"] == "1"
    assert lines["mislukte inlogpogingen (na 1 dag)"] == "1"
    assert lines["uitnodigingen (30 dagen na afloop)"] == "0"
    assert stored() == before

    real = run_cli("privacy", "retention")
    assert real.exit_code == 0, real.output
    assert "gewist of verwijderd" in real.output
    messages, tokens, failures = stored()
    assert messages == sorted([ERASED, ERASED, "Mail mij op kees@example.nl (2)"])
    assert (tokens, failures) == (0, 0)
    again = run_cli("privacy", "retention")
    assert "tekst van meldingen (na 365 dagen):" in again.output
    assert again.output.count(" 0\n") == 6  # every kind: nothing left
    engine.dispose()
    get_settings.cache_clear()


# --- the worker ----------------------------------------------------------------------------------


def test_the_server_runs_the_retention_job(backend: str, tmp_path: Path) -> None:
    """No test hooks: create_app starts the worker (background_sync) and it erases old text."""
    from app.core.models import utcnow

    with migrated_database(backend, tmp_path) as url:
        engine = build_engine(url)
        try:
            with Session(engine) as session:
                load_municipality(
                    session=session,
                    config=read_municipality_file(shipped_municipality_path("uithoorn")),
                )
                uithoorn = session.exec(select(Municipality)).one()
                org = Organization(municipality_id=uithoorn.id, slug="samen", name="Samen")
                session.add(org)
                session.flush()
                service = Service(
                    municipality_id=uithoorn.id, organization_id=org.id, slug="k", name="K"
                )
                session.add(service)
                session.flush()
                row = ServiceFeedback(
                    service_id=service.id,
                    municipality_id=uithoorn.id,
                    category="anders",
                    message="Oud bericht van Jan de Vries",
                    created_at=utcnow() - timedelta(days=400),
                )
                session.add(row)
                session.commit()
                row_id = row.id
            settings = make_settings(url, index_path=str(tmp_path / "index.db")).model_copy(
                update={"retention_interval_s": 0.05}
            )
            app = create_app(settings, engine=engine, background_sync=True)
            worker = app.state.retention
            assert isinstance(worker, PeriodicWorker)
            assert worker.name == "retention"
            with TestClient(app):
                assert worker._thread is not None
                assert worker._thread.is_alive()
                deadline = time.monotonic() + 10
                message = ""
                while time.monotonic() < deadline:
                    with Session(engine) as session:
                        found = session.get(ServiceFeedback, row_id)
                        assert found is not None
                        message = found.message
                    if message == ERASED:
                        break
                    time.sleep(0.05)
            assert message == ERASED
            assert worker._thread is None  # stopped with the app
        finally:
            engine.dispose()


def test_no_worker_thread_when_the_interval_is_zero() -> None:
    settings = make_settings().model_copy(update={"retention_interval_s": 0})
    engine = build_engine("sqlite://")
    try:
        app = create_app(settings, engine=engine, background_sync=False)
        worker = app.state.retention
        worker.start()
        assert worker._thread is None
    finally:
        engine.dispose()


# --- logs ----------------------------------------------------------------------------------------

RESIDENT = {
    "name": "Jantje Smulders",
    "phone": "06 21987654",
    "email": "jantje.smulders@mail.example",
}
PROFESSIONAL_EMAIL = "dokter.verbeek@praktijk.example"
PROFESSIONAL_NAME = "Dokter Verbeek"
PROVIDER_EMAIL = "coordinator.bakker@uve.example"
PASSWORD = "geheim-wachtwoord-van-verbeek-77"
WRONG_PASSWORD = "fout-wachtwoord-met-typfout-88"
FEEDBACK_EMAIL = "melder.de.boer@post.example"
FEEDBACK_PHONE = "0297-513131"
CLIENT_IP = "198.51.100.23"
FORWARDED_IP = "203.0.113.77"
SEARCH_WORDS = "Annemiek Jongbloed schuldhulp 0612344321"
UNKNOWN_EMAIL = "onbekend.persoon@nergens.example"
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 1, "x", None, None))) | {
    "message",
    "asctime",
}


def _record_text(record: logging.LogRecord) -> str:
    """All a record carries: message, arguments, exception and stack text, extra fields."""
    parts = [str(record.msg), repr(record.args)]
    with contextlib.suppress(Exception):  # a broken record is still searched by its parts
        parts.append(record.getMessage())
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [record.exc_text or "", record.stack_info or ""]
    parts += [repr(v) for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(parts)


def test_no_personal_data_or_addresses_in_any_log_record(
    demo_client: TestClient, demo_db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger that propagates
    uithoorn = uithoorn_id(demo_db)
    cafe = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    account(demo_db, PROFESSIONAL_EMAIL, PROFESSIONAL_NAME, Role.professional, uithoorn, PASSWORD)
    provider = create_user(
        session=demo_db,
        email=PROVIDER_EMAIL,
        display_name="Coördinator Bakker",
        role=Role.provider,
        municipality_ids=[uithoorn],
        organization_ids=[cafe.organization_id],
    )
    demo_db.commit()
    secrets: list[str] = []
    forwarded = {"X-Forwarded-For": FORWARDED_IP, "X-Real-IP": FORWARDED_IP}

    # Logging in (API and web form), also with a wrong password and an unknown address.
    login = demo_client.post(
        f"{API}/auth/token",
        data={"grant_type": "password", "username": PROFESSIONAL_EMAIL, "password": PASSWORD},
        headers=forwarded,
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    professional = {"Authorization": f"Bearer {tokens['access_token']}"}
    for email, password in ((PROFESSIONAL_EMAIL, WRONG_PASSWORD), (UNKNOWN_EMAIL, PASSWORD)):
        failed = demo_client.post(
            f"{API}/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
        )
        assert failed.status_code == 401
    web_fail = demo_client.post(
        "/inloggen", data={"email": PROFESSIONAL_EMAIL, "wachtwoord": WRONG_PASSWORD}
    )
    assert web_fail.status_code == 422
    web_ok = demo_client.post(
        "/inloggen",
        data={"email": PROFESSIONAL_EMAIL, "wachtwoord": PASSWORD, "volgende": "/"},
        follow_redirects=False,
    )
    assert web_ok.status_code == 303, web_ok.text
    secrets += [c.value for c in demo_client.cookies.jar if c.value]
    demo_client.cookies.clear()
    refreshed = demo_client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    secrets += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]

    # A warm referral with the resident's name, phone and e-mail; the provider reads it.
    warm = {
        "municipality": "uithoorn",
        "service": "uve-financieel-cafe",
        "mode": "warm",
        "referrer_kind": "huisarts",
        "themes": ["geld-en-schulden"],
        "note": "Mevrouw Smulders heeft schulden bij de woningcorporatie.",
        "consent": True,
        "contact": RESIDENT,
    }
    created = demo_client.post(f"{API}/referrals", json=warm, headers=professional | forwarded)
    assert created.status_code == 201, created.text
    provider_headers = token_for(
        Role.provider,
        municipality_ids=[uithoorn],
        organization_ids=[cafe.organization_id],
        user_id=provider.id,
    )
    rid = created.json()["id"]
    assert demo_client.get(f"{API}/referrals/{rid}", headers=provider_headers).status_code == 200
    # 422s with personal data in the body (a bad phone number, a bad e-mail address).
    for contact in (
        {**RESIDENT, "phone": "bel Jantje Smulders thuis"},
        {**RESIDENT, "email": "jantje.smulders(at)mail"},
    ):
        bad = demo_client.post(
            f"{API}/referrals", json={**warm, "contact": contact}, headers=professional
        )
        assert bad.status_code == 422, bad.text

    # Resident feedback with an e-mail address and a phone number (API and web form).
    text = f"Het nummer klopt niet. Mail mij op {FEEDBACK_EMAIL} of bel {FEEDBACK_PHONE}."
    sent = demo_client.post(
        f"{API}/services/uve-financieel-cafe/feedback",
        json={"category": "contactgegevens", "message": text},
        headers=forwarded,
    )
    assert sent.status_code in (201, 202), sent.text
    too_long = demo_client.post(
        f"{API}/services/uve-financieel-cafe/feedback",
        json={"category": "contactgegevens", "message": text * 20},
    )
    assert too_long.status_code == 422
    by_ip = TestClient(demo_client.app, client=(CLIENT_IP, 50123), raise_server_exceptions=False)
    form = by_ip.post(
        "/voorzieningen/uve-financieel-cafe/melden",
        data={"categorie": "contactgegevens", "bericht": text},
        headers=forwarded,
        follow_redirects=False,
    )
    assert form.status_code == 303, form.text

    # Searching with personal words (API, web page, HSDS), also as a known client address.
    for client in (demo_client, by_ip):
        assert client.get(f"{API}/search", params={"q": SEARCH_WORDS}).status_code == 200
        assert (
            client.get("/zoeken", params={"q": SEARCH_WORDS}, headers=forwarded).status_code == 200
        )
        assert client.get("/hsds/services", params={"search": SEARCH_WORDS}).status_code < 500

    # A password reset for a known and an unknown address; logging out.
    for email in (PROFESSIONAL_EMAIL, UNKNOWN_EMAIL):
        reset = demo_client.post(f"{API}/auth/password-reset", json={"email": email})
        assert reset.status_code == 202, reset.text
    assert (
        demo_client.post(
            f"{API}/auth/revoke", json={"token": refreshed.json()["refresh_token"]}
        ).status_code
        == 204
    )

    # A race our checks cannot see: a second account with the same e-mail address at the same
    # moment ends in the database's unique violation (its real text, from this backend).
    try:
        with demo_db.begin_nested():
            demo_db.connection().execute(
                sa.insert(UserAccount.__table__).values(  # type: ignore[attr-defined]
                    id=uuid.uuid4(),
                    email=PROFESSIONAL_EMAIL,
                    display_name=PROFESSIONAL_NAME,
                    role=Role.professional.value,
                    is_active=True,
                    failed_logins=0,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    except IntegrityError as exc:
        raced = exc
    else:
        pytest.fail("the duplicate e-mail address was stored")
    racing = FastAPI()
    install_error_handlers(racing)

    @racing.post("/accept")
    def accept() -> None:
        raise raced

    assert TestClient(racing).post("/accept").status_code == 409

    records = caplog.records
    access = [r for r in records if r.name == "sociale_kaart.access"]
    assert len(access) == 22  # the capture works: each of the 22 requests above is there
    assert any("POST /api/v1/auth/token 200" in r.getMessage() for r in access)
    assert any(r.getMessage().startswith("integrity error: ") for r in records)
    forbidden = [
        RESIDENT["name"],
        "Smulders",
        RESIDENT["phone"],
        "21987654",
        RESIDENT["email"],
        PROFESSIONAL_EMAIL,
        PROFESSIONAL_NAME,
        "Verbeek",
        PROVIDER_EMAIL,
        UNKNOWN_EMAIL,
        PASSWORD,
        WRONG_PASSWORD,
        FEEDBACK_EMAIL,
        FEEDBACK_PHONE,
        "513131",
        "Annemiek",
        "Jongbloed",
        "0612344321",
        "woningcorporatie",
        CLIENT_IP,
        FORWARDED_IP,
        "testclient",
        ADMIN_KEY,
        *secrets,
    ]
    leaks = [
        (record.name, needle)
        for record in records
        for needle in forbidden
        if needle.lower() in _record_text(record).lower()
    ]
    assert leaks == [], leaks


def test_database_errors_do_not_carry_the_values(tmp_path: Path) -> None:
    """A failing statement's message (and so any logged traceback) names the statement, not
    its values (``hide_parameters``)."""
    engine = build_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (email TEXT UNIQUE)")
        conn.execute(sa.text("INSERT INTO person VALUES (:e)"), {"e": "geheim@example.nl"})
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO person VALUES (:e)"), {"e": "geheim@example.nl"})
    assert "INSERT INTO person" in str(raised.value)
    assert "geheim@example.nl" not in str(raised.value)
    engine.dispose()
