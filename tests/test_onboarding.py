"""Invitations and password reset by e-mail, delivered through the notification outbox to a
real local SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import (
    Invitation,
    PasswordReset,
    RefreshToken,
    Role,
    UserAccount,
)
from app.accounts.onboarding import RESET_REQUESTED
from app.accounts.security import digest
from app.accounts.service import create_user
from app.core.config import Environment, Settings
from app.core.db import build_engine
from app.core.models import utcnow
from app.main import create_app
from app.municipalities.models import Municipality
from app.municipalities.service import (
    MunicipalityConfig,
    load_municipality,
    read_municipality_file,
    shipped_municipality_path,
)
from app.notifications.models import Notification
from app.notifications.service import (
    MAX_ATTEMPTS,
    NotificationSender,
    backoff,
    enqueue_email,
    mail_enabled,
)
from tests.conftest import account, make_settings, migrated_database
from tests.test_authorization import token_for

API = "/api/v1"
PASSWORD = "lang-genoeg-wachtwoord-42"
NEW_PASSWORD = "een-heel-ander-wachtwoord-7"
BASE_URL = make_settings().public_base_url.rstrip("/")  # the links in the app's mails
Headers = dict[str, str]


# --- a local SMTP server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Mailbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


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


def mail_settings(port: int, **extra: Any) -> Settings:
    update = {
        "smtp_enabled": True,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout_s": 5.0,
        "mail_from": "Sociale kaart <noreply@kaart.example.nl>",
        **extra,
    }
    return make_settings().model_copy(update=update)


def unusable_session() -> Session:
    raise AssertionError("tests pass their session")


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


@pytest.fixture
def sender(smtp_server: tuple[Mailbox, int]) -> NotificationSender:
    """A sender pointed at the local SMTP server; tests call ``send_pending(session=db)``."""
    return NotificationSender(settings=mail_settings(smtp_server[1]), sessions=unusable_session)


def token_in(message: EmailMessage, path: str) -> str:
    body = message.get_content()
    found = re.search(re.escape(f"{BASE_URL}{path}?token=") + r"([A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1)


def outbox(db: Session) -> list[Notification]:
    db.expire_all()
    return list(db.exec(select(Notification).order_by(col(Notification.id))))


def add_organization(client: TestClient, admin: Headers, name: str = "Stichting Welzijn") -> str:
    response = client.post(
        f"{API}/organizations",
        json={"municipality": "uithoorn", "name": name, "admission_status": "toegelaten"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    slug: str = response.json()["slug"]
    return slug


def invite(client: TestClient, headers: Headers, **body: Any) -> Any:
    payload = {
        "email": "nieuw@example.nl",
        "display_name": "Nieuwe collega",
        "role": "professional",
        "municipality": "uithoorn",
        **body,
    }
    return client.post(f"{API}/invitations", json=payload, headers=headers)


def login(client: TestClient, email: str, password: str) -> Any:
    return client.post(
        f"{API}/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )


def refresh(client: TestClient, refresh_token: str) -> Any:
    return client.post(
        f"{API}/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


@pytest.fixture
def uithoorn(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


# --- the whole flow ---------------------------------------------------------------------------


def test_invite_set_password_login_refresh_revoke(
    client: TestClient, admin: Headers, db: Session, sender: NotificationSender, mailbox: Mailbox
) -> None:
    organization = add_organization(client, admin)
    created = invite(
        client,
        admin,
        email="Aanbieder@Example.nl",
        display_name="Anna Aanbieder",
        role="provider",
        organizations=[organization],
    )
    assert created.status_code == 201, created.text
    invitation = created.json()
    assert invitation["email"] == "aanbieder@example.nl"
    assert invitation["role"] == "provider"
    assert invitation["municipality"] == "uithoorn"
    assert invitation["organizations"] == [organization]
    assert invitation["accepted_at"] is None
    assert "token" not in invitation
    [row] = outbox(db)
    assert (row.kind, row.recipient, row.sent_at) == ("invitation", "aanbieder@example.nl", None)

    report = sender.send_pending(session=db)
    assert (report.sent, report.failed) == (1, 0)
    [message] = mailbox.messages
    assert mailbox.recipients == [["aanbieder@example.nl"]]
    assert message["To"] == "aanbieder@example.nl"
    assert message["From"] == "Sociale kaart <noreply@kaart.example.nl>"
    assert "Uithoorn" in message["Subject"]
    assert message.get_content_type() == "text/plain"  # no HTML, no tracking pixels
    assert "Stichting Welzijn" in message.get_content()
    token = token_in(message, "/uitnodiging")

    [row] = outbox(db)
    assert row.sent_at is not None
    assert row.body == ""  # the one-time link is gone
    stored = db.exec(select(Invitation)).one()
    assert stored.token_hash == digest(token)  # only the hash is kept
    assert token not in repr(stored.model_dump())

    accepted = client.post(f"{API}/invitations/accept", json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    first = accepted.json()
    assert first["token_type"] == "bearer"
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.json()["role"] == "provider"
    assert me.json()["email"] == "aanbieder@example.nl"
    assert me.json()["municipalities"] == ["uithoorn"]
    assert me.json()["organizations"] == [organization]

    logged_in = login(client, "aanbieder@example.nl", PASSWORD)
    assert logged_in.status_code == 200, logged_in.text
    refreshed = refresh(client, logged_in.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    current = refreshed.json()["refresh_token"]
    assert client.post(f"{API}/auth/revoke", json={"token": current}).status_code == 204
    assert refresh(client, current).status_code == 401

    again = client.post(f"{API}/invitations/accept", json={"token": token, "password": PASSWORD})
    assert again.status_code == 400
    assert "al gebruikt" in again.json()["detail"]


# --- who may invite whom ----------------------------------------------------------------------


def add_other_municipality(db: Session) -> uuid.UUID:
    config = MunicipalityConfig.model_validate(
        {
            "code": "GM0362",
            "slug": "amstelveen",
            "name": "Amstelveen",
            "places": [{"slug": "amstelveen", "name": "Amstelveen"}],
        }
    )
    load_municipality(session=db, config=config)
    db.commit()
    return db.exec(select(Municipality.id).where(Municipality.slug == "amstelveen")).one()


def test_an_editor_invites_providers_and_professionals_of_its_own_municipality_only(
    client: TestClient, admin: Headers, db: Session, uithoorn: uuid.UUID
) -> None:
    organization = add_organization(client, admin)
    editor = token_for(Role.editor, municipality_ids=[uithoorn])
    for role in ("admin", "editor"):
        refused = invite(client, editor, role=role, email=f"{role}@example.nl")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert invite(client, editor, role="professional").status_code == 201
    provider = invite(
        client, editor, role="provider", email="p@example.nl", organizations=[organization]
    )
    assert provider.status_code == 201, provider.text
    assert invite(client, admin, role="admin", email="beheer@example.nl").status_code == 201

    no_organization = invite(client, editor, role="provider", email="q@example.nl")
    assert no_organization.status_code == 422
    unknown = invite(
        client, editor, role="provider", email="q@example.nl", organizations=["bestaat-niet"]
    )
    assert unknown.status_code == 422

    amstelveen = add_other_municipality(db)
    assert invite(client, editor, municipality="amstelveen").status_code == 403
    elsewhere = token_for(Role.editor, municipality_ids=[amstelveen])
    assert invite(client, elsewhere).status_code == 403
    # another municipality's editor cannot reach Uithoorn's organisations through its own
    across = invite(
        client, elsewhere, municipality="amstelveen", role="provider", organizations=[organization]
    )
    assert across.status_code == 422
    for headers in ({}, token_for(Role.provider, municipality_ids=[uithoorn])):
        assert invite(client, headers).status_code in (401, 403)
    assert len(outbox(db)) == 3  # only the accepted invitations were mailed


def test_an_existing_account_is_a_conflict_and_a_new_invitation_replaces_the_old(
    client: TestClient,
    admin: Headers,
    db: Session,
    uithoorn: uuid.UUID,
    sender: NotificationSender,
    mailbox: Mailbox,
) -> None:
    account(db, "bestaat@example.nl", "Bestaat al", Role.professional, uithoorn, PASSWORD)
    duplicate = invite(client, admin, email="Bestaat@Example.nl")
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"

    assert invite(client, admin).status_code == 201
    assert invite(client, admin).status_code == 201  # the mail got lost: invite again
    assert sender.send_pending(session=db).sent == 2
    old, new = (token_in(m, "/uitnodiging") for m in mailbox.messages)
    stale = client.post(f"{API}/invitations/accept", json={"token": old, "password": PASSWORD})
    assert stale.status_code == 400
    assert "verlopen" in stale.json()["detail"]
    fresh = client.post(f"{API}/invitations/accept", json={"token": new, "password": PASSWORD})
    assert fresh.status_code == 200, fresh.text


def test_unknown_expired_and_used_invitation_tokens_and_weak_passwords(
    client: TestClient, admin: Headers, db: Session, sender: NotificationSender, mailbox: Mailbox
) -> None:
    unknown = client.post(
        f"{API}/invitations/accept", json={"token": "verzonnen", "password": PASSWORD}
    )
    assert unknown.status_code == 400
    assert unknown.headers["content-type"] == "application/problem+json"

    assert invite(client, admin).status_code == 201
    sender.send_pending(session=db)
    token = token_in(mailbox.messages[0], "/uitnodiging")
    weak = client.post(f"{API}/invitations/accept", json={"token": token, "password": "kort"})
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "body.password"
    spaces = client.post(
        f"{API}/invitations/accept", json={"token": token, "password": f" {PASSWORD} "}
    )
    assert spaces.status_code == 422  # taken as typed, not silently stripped
    db.expire_all()
    assert db.exec(select(UserAccount)).first() is None

    invitation = db.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.add(invitation)
    db.commit()
    expired = client.post(f"{API}/invitations/accept", json={"token": token, "password": PASSWORD})
    assert expired.status_code == 400
    assert "verlopen" in expired.json()["detail"]
    assert db.exec(select(UserAccount)).first() is None


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_by_mail(
    client: TestClient,
    db: Session,
    uithoorn: uuid.UUID,
    sender: NotificationSender,
    mailbox: Mailbox,
) -> None:
    user = account(db, "prof@example.nl", "Huisarts", Role.professional, uithoorn, PASSWORD)
    old_session = login(client, "prof@example.nl", PASSWORD).json()

    unknown = client.post(f"{API}/auth/password-reset", json={"email": "niemand@example.nl"})
    known = client.post(f"{API}/auth/password-reset", json={"email": "Prof@Example.nl"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json() == {"detail": RESET_REQUESTED}  # no enumeration
    assert [r.recipient for r in outbox(db)] == ["prof@example.nl"]
    assert sender.send_pending(session=db).sent == 1
    [message] = mailbox.messages
    assert message["To"] == "prof@example.nl"
    assert message.get_content_type() == "text/plain"
    token = token_in(message, "/wachtwoord-herstellen")
    assert db.exec(select(PasswordReset)).one().token_hash == digest(token)

    user.failed_logins = 3  # locked out meanwhile: the reset lifts it
    user.locked_until = utcnow() + timedelta(minutes=10)
    db.add(user)
    db.commit()
    confirm = f"{API}/auth/password-reset/confirm"
    weak = client.post(confirm, json={"token": token, "password": "kort"})
    assert weak.status_code == 422
    done = client.post(confirm, json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204, done.text

    assert login(client, "prof@example.nl", NEW_PASSWORD).status_code == 200
    assert login(client, "prof@example.nl", PASSWORD).status_code == 401
    assert refresh(client, old_session["refresh_token"]).status_code == 401  # sessions ended
    db.expire_all()
    tokens = list(db.exec(select(RefreshToken).where(RefreshToken.user_id == user.id)))
    old_family = next(t for t in tokens if t.token_hash == digest(old_session["refresh_token"]))
    assert old_family.revoked_at is not None
    reused = client.post(confirm, json={"token": token, "password": "nog-een-ander-wachtwoord-9"})
    assert reused.status_code == 400
    assert reused.headers["content-type"] == "application/problem+json"


def test_password_reset_limits_expiry_and_inactive_accounts(
    client: TestClient,
    db: Session,
    uithoorn: uuid.UUID,
    sender: NotificationSender,
    mailbox: Mailbox,
) -> None:
    for email, active in (("actief@example.nl", True), ("geblokkeerd@example.nl", False)):
        user = create_user(
            session=db,
            email=email,
            display_name="Iemand",
            role=Role.professional,
            municipality_ids=[uithoorn],
            password=PASSWORD,
        )
        user.is_active = active
        db.add(user)
    db.commit()
    for _ in range(5):
        for email in ("actief@example.nl", "geblokkeerd@example.nl"):
            response = client.post(f"{API}/auth/password-reset", json={"email": email})
            assert response.status_code == 202
            assert response.json() == {"detail": RESET_REQUESTED}
    assert [r.recipient for r in outbox(db)] == ["actief@example.nl"] * 3  # at most 3 an hour
    assert sender.send_pending(session=db).sent == 3
    token = token_in(mailbox.messages[0], "/wachtwoord-herstellen")

    for reset in db.exec(select(PasswordReset)):
        reset.expires_at = utcnow() - timedelta(seconds=1)
        db.add(reset)
    db.commit()
    expired = client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert expired.status_code == 400
    unknown = client.post(
        f"{API}/auth/password-reset/confirm", json={"token": "verzonnen", "password": NEW_PASSWORD}
    )
    assert unknown.status_code == 400
    assert login(client, "actief@example.nl", PASSWORD).status_code == 200


# --- the outbox ---------------------------------------------------------------------------------


def test_smtp_down_keeps_the_mail_with_backoff(
    client: TestClient,
    admin: Headers,
    db: Session,
    sender: NotificationSender,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert invite(client, admin, email="later@example.nl").status_code == 201
    down = NotificationSender(
        settings=mail_settings(free_port()),  # nothing listens there
        sessions=unusable_session,
    )
    with caplog.at_level(logging.INFO, logger="app.notifications"):
        report = down.send_pending(session=db)  # no exception escapes
    assert (report.sent, report.failed) == (0, 1)
    [row] = outbox(db)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at > utcnow() + backoff(1) - timedelta(seconds=30)
    assert row.body  # kept for the retry
    token = re.search(r"token=([A-Za-z0-9_\-]+)", row.body)
    assert token
    assert token.group(1) not in caplog.text  # never the body or the link in the log
    assert "later@example.nl" not in caplog.text  # nor the address

    assert down.send_pending(session=db).failed == 0  # not due yet: no hammering
    assert outbox(db)[0].attempts == 1

    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert sender.send_pending(session=db).sent == 1
    [row] = outbox(db)
    assert row.sent_at is not None
    assert row.body == ""
    assert len(mailbox.messages) == 1


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1) == timedelta(minutes=1)
    assert backoff(2) == timedelta(minutes=2)
    assert backoff(5) == timedelta(minutes=16)
    assert backoff(MAX_ATTEMPTS) == timedelta(hours=6)


def test_a_refused_recipient_is_retried_and_given_up_at_last(db: Session) -> None:
    class Refusing(Mailbox):
        async def handle_RCPT(  # noqa: N802
            self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
        ) -> str:
            if address.startswith("weg@"):
                return "550 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    mailbox = Refusing()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = NotificationSender(settings=mail_settings(port), sessions=unusable_session)
        enqueue_email(db, "test", "weg@example.nl", "Onderwerp", "Geheime link")
        enqueue_email(db, "test", "er@example.nl", "Onderwerp", "Tekst")
        db.commit()
        report = sender.send_pending(session=db)
        assert (report.sent, report.failed) == (1, 1)  # one refusal does not stop the batch
        refused, delivered = outbox(db)
        assert refused.attempts == 1
        assert refused.last_error
        assert "550" in refused.last_error
        assert "weg@example.nl" not in refused.last_error
        assert delivered.sent_at is not None

        refused.attempts = MAX_ATTEMPTS - 1
        refused.next_attempt_at = utcnow()
        db.add(refused)
        db.commit()
        assert sender.send_pending(session=db).failed == 1
        refused = outbox(db)[0]
        assert refused.attempts == MAX_ATTEMPTS
        assert refused.body == ""  # given up: the link is erased
        refused.next_attempt_at = utcnow()
        db.add(refused)
        db.commit()
        assert sender.send_pending(session=db).failed == 0  # never tried again
    finally:
        controller.stop()
    assert [m["To"] for m in mailbox.messages] == ["er@example.nl"]


def test_mail_disabled_leaves_rows_pending_and_says_so_once(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    enqueue_email(db, "test", "iemand@example.nl", "Onderwerp", "Tekst")
    db.commit()
    sender = NotificationSender(
        settings=mail_settings(free_port(), smtp_enabled=False), sessions=unusable_session
    )
    with caplog.at_level(logging.INFO, logger="app.notifications"):
        assert sender.send_pending(session=db).disabled
        assert sender.send_pending(session=db).disabled
    assert caplog.text.count("e-mail is disabled") == 1
    [row] = outbox(db)
    assert (row.attempts, row.sent_at, row.body) == (0, None, "Tekst")


def test_mail_is_off_by_default_in_development_only() -> None:
    assert not mail_enabled(Settings(environment=Environment.development, smtp_enabled=None))
    assert mail_enabled(make_settings().model_copy(update={"smtp_enabled": None}))
    assert mail_enabled(Settings(environment=Environment.development, smtp_enabled=True))


def test_delivered_mail_is_purged_after_30_days(db: Session) -> None:
    now = utcnow()
    for days, sent in ((31, True), (29, True), (40, False)):
        row = enqueue_email(db, "test", "iemand@example.nl", f"{days} dagen", "")
        row.created_at = now - timedelta(days=days)
        row.sent_at = now - timedelta(days=days) if sent else None
        db.add(row)
    db.commit()
    sender = NotificationSender(settings=make_settings(), sessions=unusable_session)
    assert sender.purge(session=db) == 1
    assert [r.subject for r in outbox(db)] == ["29 dagen", "40 dagen"]  # pending mail stays


# --- the server's own loop --------------------------------------------------------------------


def test_the_server_mails_right_after_the_commit(
    backend: str, tmp_path: Path, smtp_server: tuple[Mailbox, int], admin: Headers
) -> None:
    """No test hooks: the app's sender thread delivers after the commit that enqueued."""
    mailbox, port = smtp_server
    with migrated_database(backend, tmp_path) as url:
        engine = build_engine(url)
        try:
            with Session(engine) as session:
                load_municipality(
                    session=session,
                    config=read_municipality_file(shipped_municipality_path("uithoorn")),
                )
                session.commit()
            settings = mail_settings(port).model_copy(
                update={
                    "database_url": url,
                    "search_index_path": str(tmp_path / "index.db"),
                }
            )
            app = create_app(settings, engine=engine, background_sync=True)
            with TestClient(app) as client:
                assert invite(client, admin, email="direct@example.nl").status_code == 201
                deadline = time.monotonic() + 10
                while not mailbox.messages and time.monotonic() < deadline:
                    time.sleep(0.05)
            assert [m["To"] for m in mailbox.messages] == ["direct@example.nl"]
            token_in(mailbox.messages[0], "/uitnodiging")
            with Session(engine) as session:
                row = session.exec(select(Notification)).one()
                assert row.sent_at is not None
                assert row.body == ""
        finally:
            engine.dispose()
