"""Retention (AVG): personal data is kept no longer than it is needed.

One periodic job, ``enforce_retention`` (the server runs it every ``RETENTION_INTERVAL_S``;
by hand: ``sociale-kaart privacy retention``):

* resident feedback: ``FEEDBACK_TEXT_RETENTION_DAYS`` after it was handled (open feedback:
  after it came in) the resident's text (``message``) and the redactie's ``note`` become
  ``ERASED``; listing, category, status and dates stay, so the counts do not change;
* expired login material that has no use any more, ``EXPIRED_GRACE`` after it ended:
  invitations (e-mail address and name of the invitee) once accepted or expired, password
  reset links and refresh tokens (sessions) once expired;
* failed-login counters (a hash of the e-mail address) after ``LOGIN_FAILURE_KEEP`` (only
  the last 15 minutes count for the rate limit);
* audit events: ``AUDIT_ACTOR_RETENTION_DAYS`` after they happened the actor (``actor_id``)
  and personal values in ``changes`` (e-mail addresses, names of accounts and contact
  persons, phone numbers) go; the event itself stays (the trail is append-only; migration
  0007 allows exactly this one update).

Every change is a Core statement on the session's connection, not an ORM flush: the audit
hooks (app/audit) do not see it, so erasing never copies the erased text, the invitee's
address or a token hash into the (append-only) audit trail. Statements work in batches of
``BATCH`` rows by primary key (``id IN (SELECT id ... LIMIT n)``), so a national database is
never loaded into memory and no statement locks millions of rows. Every condition excludes
what is already done: the job is idempotent and never touches a row younger than its limit.
Functions flush nothing and never commit; the caller (the worker, the CLI) does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

from app.accounts.models import Invitation, LoginFailure, PasswordReset, RefreshToken
from app.audit.models import AuditEvent
from app.audit.service import MASK
from app.core.config import Settings
from app.core.periodic import PeriodicWorker
from app.feedback.models import ServiceFeedback

logger = logging.getLogger(__name__)

ERASED = "[gewist na bewaartermijn]"
# Invitations, reset links and sessions are kept this long after they ended (accepted, used
# or expired): beheer can still answer "my link did not work"; the same 30 days as delivered
# mail in the notification outbox (app/notifications/service.py RETENTION).
EXPIRED_GRACE = timedelta(days=30)
# Failed logins count for 15 minutes (app/accounts/service.py FAILURE_WINDOW); a day is ample.
LOGIN_FAILURE_KEEP = timedelta(days=1)
BATCH = 1000


@dataclass
class RetentionReport:
    feedback_erased: int = 0
    invitations_deleted: int = 0
    password_resets_deleted: int = 0
    refresh_tokens_deleted: int = 0
    login_failures_deleted: int = 0
    audit_events_pseudonymised: int = 0

    @property
    def total(self) -> int:
        return sum(int(getattr(self, f.name)) for f in fields(self))


def _table(model: type[object]) -> sa.Table:
    table = getattr(model, "__table__")  # noqa: B009 - SQLModel declares it untyped
    assert isinstance(table, sa.Table)
    return table


def _in_batches(
    session: Session,
    table: sa.Table,
    due: sa.ColumnElement[bool],
    values: dict[str, object] | None = None,
) -> int:
    """Set ``values`` in (or, without values, delete) the rows matching ``due``, ``BATCH`` at
    a time; the number of rows. ``due`` must stop matching a row once it is done."""
    connection = session.connection()
    key = table.c.id
    done = 0
    while True:
        batch = sa.select(key).where(due).limit(BATCH).scalar_subquery()
        where = sa.and_(key.in_(batch), due)  # due again: a concurrent run may have done them
        statement: sa.Update | sa.Delete = (
            sa.delete(table).where(where)
            if values is None
            else sa.update(table).where(where).values(values)
        )
        count = int(connection.execute(statement).rowcount or 0)
        done += count
        if count < BATCH:
            return done


def erase_feedback_text(*, session: Session, settings: Settings, now: datetime) -> int:
    """Replace the text and the note of feedback handled (or, still open, received) more than
    ``FEEDBACK_TEXT_RETENTION_DAYS`` ago by ``ERASED``; the number of reports."""
    table = _table(ServiceFeedback)
    c = table.c
    limit = now - timedelta(days=settings.feedback_text_retention_days)
    old = sa.or_(
        sa.and_(c.handled_at.is_not(None), c.handled_at < limit),
        sa.and_(c.handled_at.is_(None), c.created_at < limit),
    )
    not_yet = sa.or_(c.message != ERASED, sa.and_(c.note.is_not(None), c.note != ERASED))
    return _in_batches(
        session,
        table,
        sa.and_(old, not_yet),
        {"message": ERASED, "note": sa.case((c.note.is_(None), sa.null()), else_=ERASED)},
    )


# Values in an audit event's ``changes`` that say who someone is: masked at pseudonymisation.
# Everywhere: e-mail addresses, names of accounts and professional phone lines; per table:
# contact persons (name, title), phone numbers (of contact persons too).
PERSONAL_EVERYWHERE = frozenset({"email", "display_name", "professional_phone"})
PERSONAL_BY_TABLE: dict[str, frozenset[str]] = {
    "contact": frozenset({"name", "title"}),
    "phone": frozenset({"number"}),
}


def _masked(resource_type: str, changes: Any) -> Any:
    if not isinstance(changes, dict):
        return changes
    personal = PERSONAL_EVERYWHERE | PERSONAL_BY_TABLE.get(resource_type, frozenset())
    return {
        key: (
            [None if v is None else MASK for v in value]
            if key in personal and isinstance(value, list)
            else MASK
            if key in personal and value is not None
            else value
        )
        for key, value in changes.items()
    }


def pseudonymise_audit_events(*, session: Session, settings: Settings, now: datetime) -> int:
    """Audit events older than ``AUDIT_ACTOR_RETENTION_DAYS``: the actor (``actor_id``) goes
    and personal values in ``changes`` are masked; what happened to which resource, when, and
    the kind of actor stay. The database allows exactly this update, once (migration 0007)."""
    table = _table(AuditEvent)
    c = table.c
    connection = session.connection()
    due = sa.and_(
        c.occurred_at < now - timedelta(days=settings.audit_actor_retention_days),
        c.pseudonymised_at.is_(None),
    )
    done = 0
    while True:
        rows = connection.execute(
            sa.select(c.id, c.resource_type, c.changes).where(due).order_by(c.id).limit(BATCH)
        ).all()
        if not rows:
            return done
        connection.execute(
            sa.update(table)
            .where(c.id == sa.bindparam("event_id"), c.pseudonymised_at.is_(None))
            .values(actor_id=None, changes=sa.bindparam("masked"), pseudonymised_at=now),
            [
                {"event_id": row.id, "masked": _masked(row.resource_type, row.changes)}
                for row in rows
            ],
        )
        done += len(rows)
        if len(rows) < BATCH:
            return done


def _ended_invitations(ended: datetime) -> sa.ColumnElement[bool]:
    c = _table(Invitation).c
    return sa.or_(
        sa.and_(c.accepted_at.is_not(None), c.accepted_at < ended),
        sa.and_(c.accepted_at.is_(None), c.expires_at < ended),
    )


def enforce_retention(*, session: Session, settings: Settings, now: datetime) -> RetentionReport:
    """Apply every retention period at ``now`` (docs/privacy.md "Bewaartermijnen"): erase old
    feedback text; delete invitations, reset links and sessions that ended more than
    ``EXPIRED_GRACE`` ago and failed-login counters older than ``LOGIN_FAILURE_KEEP``;
    pseudonymise audit events older than ``AUDIT_ACTOR_RETENTION_DAYS``."""
    ended = now - EXPIRED_GRACE
    resets, tokens, failures = (_table(m) for m in (PasswordReset, RefreshToken, LoginFailure))
    report = RetentionReport(
        feedback_erased=erase_feedback_text(session=session, settings=settings, now=now),
        invitations_deleted=_in_batches(session, _table(Invitation), _ended_invitations(ended)),
        password_resets_deleted=_in_batches(session, resets, resets.c.expires_at < ended),
        refresh_tokens_deleted=_in_batches(session, tokens, tokens.c.expires_at < ended),
        login_failures_deleted=_in_batches(
            session, failures, failures.c.at < now - LOGIN_FAILURE_KEEP
        ),
        audit_events_pseudonymised=pseudonymise_audit_events(
            session=session, settings=settings, now=now
        ),
    )
    if report.total:
        logger.info(
            "retention: %d feedback text(s) erased; deleted %d invitation(s), %d reset link(s), "
            "%d session token(s), %d failed-login counter(s); %d audit event(s) pseudonymised",
            report.feedback_erased,
            report.invitations_deleted,
            report.password_resets_deleted,
            report.refresh_tokens_deleted,
            report.login_failures_deleted,
            report.audit_events_pseudonymised,
        )
    return report


def build_retention_worker(settings: Settings, engine: Engine) -> PeriodicWorker[RetentionReport]:
    """Enforces the retention periods every ``RETENTION_INTERVAL_S`` (0 = off)."""
    return PeriodicWorker.on_engine(
        engine,
        name="retention",
        job=lambda session, now: enforce_retention(session=session, settings=settings, now=now),
        interval_s=settings.retention_interval_s,
    )
