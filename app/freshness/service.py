"""Actualiteit (T10): every public listing is checked again at least once a year.

The *reference date* of a listing is its ``assured_date`` (when its facts were last checked). A
listing without one counts from its ``created_at``: it was checked when it was entered, so it is
due a year after that (not at once, which would flag every new listing the day it appears).

A run (``run``: ``sociale-kaart freshness run`` and the server's job every
``FRESHNESS_INTERVAL_S``) takes the clock as a parameter and looks at public listings only:

* older than ``FRESHNESS_MAX_AGE_DAYS`` (365): ``toegelaten`` becomes ``verificatie-nodig`` — still
  public, and the status is in every API answer — and the providers get one reminder by e-mail
  (notification outbox) per period: ``verification_reminded_at`` says when. The mail goes to the
  organisation's active provider accounts; without any, to the organisation's e-mail address.
* older than max age + ``FRESHNESS_GRACE_DAYS`` (60) and ``verificatie-nodig``: ``verlopen``
  (hidden, removed from the search index through the outbox) — but never sooner than
  ``FRESHNESS_GRACE_DAYS`` after the reminder. So a listing that is already that old at its first
  run (old imported data) gets the whole grace period too instead of disappearing at once.

``confirm`` (``POST /services/{slug}/confirm``, "de gegevens kloppen nog") sets ``assured_date`` to
today, clears the reminder and brings ``verificatie-nodig`` and ``verlopen`` back to
``toegelaten``. Every status change goes through the search outbox in the same transaction.
Functions flush, never commit; on PostgreSQL a run holds an advisory lock, so of several server
processes only one runs at a time (the others skip that round).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, and_, or_, text
from sqlmodel import Session, col, select

from app.accounts.models import OrganizationMember, Role, UserAccount
from app.accounts.policy import require_manage
from app.accounts.principal import principal_of
from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.models import AdmissionStatus, utcnow
from app.core.periodic import AfterCommit, PeriodicWorker, SessionFactory
from app.core.visibility import service_is_public
from app.indexing.service import enqueue
from app.municipalities.models import Municipality
from app.notifications.service import enqueue_email, public_link
from app.organizations.models import Organization
from app.services.models import Service

logger = logging.getLogger(__name__)

REMINDER_KIND = "verification_reminder"
ADVISORY_LOCK = 0x534B_4652  # pg_try_advisory_xact_lock key of a freshness run
FIRST_RUN_DELAY_S = 60.0  # the server's first run, after start-up
RESTORED = frozenset({AdmissionStatus.verificatie_nodig.value, AdmissionStatus.verlopen.value})
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def _local_zone() -> tzinfo:
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # no time zone database: dates in UTC (at most a day off)
        return UTC


LOCAL = _local_zone()


def local_date(moment: datetime) -> date:
    """The calendar date in the Netherlands at this moment."""
    return moment.astimezone(LOCAL).date()


def dutch_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def reference_date(service: Service) -> date:
    """When the listing was last checked: ``assured_date``, else the day it was added."""
    return service.assured_date or local_date(service.created_at)


@dataclass
class FreshnessReport:
    overdue: int = 0  # public listings older than the maximum age
    verification_needed: int = 0  # toegelaten -> verificatie-nodig
    expired: int = 0  # verificatie-nodig -> verlopen
    reminded: int = 0  # listings whose providers were reminded
    reminders: int = 0  # mails queued (one per recipient and organisation)
    without_recipient: int = 0  # reminded listings whose organisation has no address at all
    skipped: bool = False  # another process holds the run (PostgreSQL)
    changed: list[uuid.UUID] = field(default_factory=list)  # status changed (search outbox)


@dataclass
class _Due:
    service: Service
    deadline: date  # from this day on the listing may become verlopen


def _take_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one writer at a time anyway
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK}
        ).scalar()
    )


def run(*, session: Session, settings: Settings, now: datetime) -> FreshnessReport:
    """One freshness round at ``now`` (tests shift the clock). Flushes; the caller commits."""
    report = FreshnessReport()
    if not _take_lock(session):
        report.skipped = True
        return report
    today = local_date(now)
    max_age = timedelta(days=settings.freshness_max_age_days)
    grace = timedelta(days=settings.freshness_grace_days)
    cutoff = today - max_age  # a reference date before this day is too old
    statement = (
        select(Service)
        .where(
            service_is_public(),
            or_(
                col(Service.assured_date) < cutoff,
                and_(
                    col(Service.assured_date).is_(None),
                    col(Service.created_at) < datetime.combine(cutoff, time.min, tzinfo=LOCAL),
                ),
            ),
        )
        .order_by(col(Service.id))
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()  # an edit meanwhile waits, then gets its 412
    to_remind: dict[uuid.UUID, list[_Due]] = defaultdict(list)
    for service in session.exec(statement).all():
        report.overdue += 1
        due = reference_date(service) + max_age  # the last day it counts as checked
        changed = False
        if service.admission_status == AdmissionStatus.toegelaten.value:
            service.admission_status = AdmissionStatus.verificatie_nodig.value
            report.verification_needed += 1
            changed = True
        reminded = service.verification_reminded_at
        if reminded is None or local_date(reminded) <= due:  # not yet in this period
            service.verification_reminded_at = now
            deadline = max(due + grace + timedelta(days=1), today + grace)
            to_remind[service.organization_id].append(_Due(service, deadline))
            report.reminded += 1
        elif (
            service.admission_status == AdmissionStatus.verificatie_nodig.value
            and today > due + grace
            and today >= local_date(reminded) + grace
        ):
            service.admission_status = AdmissionStatus.verlopen.value
            report.expired += 1
            changed = True
        if changed:
            service.updated_at = now
            report.changed.append(service.id)
        session.add(service)
    session.flush()
    enqueue(session=session, service_ids=report.changed)
    for organization_id, due_list in to_remind.items():
        sent = _remind(session, settings, organization_id, due_list)
        report.reminders += sent
        if not sent:
            report.without_recipient += len(due_list)
    if report.overdue:
        logger.info(
            "freshness: %d overdue, %d -> verificatie-nodig, %d -> verlopen, %d reminder(s)",
            report.overdue,
            report.verification_needed,
            report.expired,
            report.reminders,
        )
    return report


# --- the reminder -------------------------------------------------------------------------------


def recipients(session: Session, organization: Organization) -> list[tuple[str, str | None]]:
    """(address, name) of the organisation's active provider accounts; without any, the
    organisation's own e-mail address (no name); else nobody."""
    accounts = session.exec(
        select(UserAccount)
        .join(OrganizationMember, col(OrganizationMember.user_id) == col(UserAccount.id))
        .where(
            OrganizationMember.organization_id == organization.id,
            UserAccount.role == Role.provider.value,
            col(UserAccount.is_active).is_(True),
        )
        .order_by(col(UserAccount.email))
    ).all()
    if accounts:
        return [(a.email, a.display_name) for a in accounts]
    return [(organization.email, None)] if organization.email else []


def edit_link(settings: Settings, service: Service, municipality: Municipality) -> str:
    """Where a provider checks and confirms a listing in the web application."""
    return public_link(
        settings, f"/beheer/voorzieningen/{service.slug}", municipality=municipality.slug
    )


def _period(settings: Settings) -> str:
    days = settings.freshness_max_age_days
    months = round(days / 30.44)
    return f"{months} maanden" if months >= 2 else f"{days} dagen"


def reminder_mail(
    *,
    settings: Settings,
    name: str | None,
    organization: Organization,
    municipality: Municipality,
    due: Sequence[_Due],
) -> tuple[str, str]:
    """Subject and body (Dutch, B1) of the reminder to check one organisation's listings."""
    one = len(due) == 1
    subject = f"Kloppen uw gegevens nog? Sociale kaart {municipality.name}"
    listing = "\n".join(
        f"- {d.service.name}\n"
        f"  Controleer dit vóór {dutch_date(d.deadline)}:\n"
        f"  {edit_link(settings, d.service, municipality)}"
        for d in due
    )
    body = (
        f"Beste {name or 'medewerker van ' + organization.name},\n"
        "\n"
        f"{organization.name} staat op de sociale kaart van {municipality.name}. Inwoners, "
        "huisartsen en hulpverleners zoeken daar hulp en activiteiten. Daarom is het belangrijk "
        "dat de gegevens kloppen.\n"
        "\n"
        f"{'Deze voorziening is' if one else 'Deze voorzieningen zijn'} al meer dan "
        f"{_period(settings)} niet gecontroleerd:\n"
        "\n"
        f"{listing}\n"
        "\n"
        "Wat moet u doen?\n"
        "1. Open de link en log in.\n"
        "2. Lees de gegevens na: adres, telefoon, e-mail, tijden, kosten en de beschrijving.\n"
        "3. Klopt er iets niet? Pas het aan.\n"
        "4. Kies daarna 'De gegevens kloppen nog'. Doe dat ook als u niets hoefde aan te "
        "passen.\n"
        "\n"
        "Heeft u het aanbod niet gecontroleerd vóór de datum hierboven? Dan halen we het van de "
        "sociale kaart. Het komt terug zodra u bevestigt dat de gegevens kloppen.\n"
        "\n"
        "Bestaat het aanbod niet meer? Verwijder het dan via dezelfde link.\n"
        "\n"
        "Met vriendelijke groet,\n"
        f"De redactie van de sociale kaart van {municipality.name}\n"
    )
    return subject, body


def _remind(
    session: Session, settings: Settings, organization_id: uuid.UUID, due: list[_Due]
) -> int:
    """Queue one mail per recipient for these listings of one organisation; how many."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        return 0
    municipality = session.get(Municipality, organization.municipality_id)
    assert municipality is not None
    queued = 0
    for address, name in recipients(session, organization):
        subject, body = reminder_mail(
            settings=settings,
            name=name,
            organization=organization,
            municipality=municipality,
            due=due,
        )
        enqueue_email(session, REMINDER_KIND, address, subject, body)
        queued += 1
    return queued


# --- "de gegevens kloppen nog" ------------------------------------------------------------------


def confirm(
    *, session: Session, service: Service, note: str | None, now: datetime | None = None
) -> Service:
    """A provider (of its organisation), editor or admin says the listing is still correct."""
    principal = principal_of(session)
    require_manage(
        principal,
        municipality_id=service.municipality_id,
        organization_id=service.organization_id,
    )
    now = now or utcnow()
    service.assured_date = local_date(now)
    service.verification_reminded_at = None
    if service.admission_status in RESTORED:
        service.admission_status = AdmissionStatus.toegelaten.value
    service.updated_at = now
    session.add(service)
    session.flush()
    if note:
        # The note has no column of its own: it is kept in the audit trail, next to the change.
        session.add(
            AuditEvent(
                occurred_at=now,
                actor_type=principal.kind.value,
                actor_id=principal.id,
                action="update",
                resource_type="service",
                resource_id=str(service.id),
                municipality_id=service.municipality_id,
                changes={"confirmation_note": [None, note]},
            )
        )
        session.flush()
    enqueue(session=session, service_ids=[service.id])
    return service


# --- the server's job ---------------------------------------------------------------------------


class FreshnessWorker(PeriodicWorker[FreshnessReport]):
    """Runs ``run`` every ``FRESHNESS_INTERVAL_S`` in a daemon thread (the first time a minute
    after start-up); after each commit the hooks send the search and mail outboxes."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionFactory,
        after_commit: Sequence[AfterCommit] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        super().__init__(
            name="freshness",
            job=lambda session, now: run(session=session, settings=settings, now=now),
            interval_s=settings.freshness_interval_s,
            sessions=sessions,
            after_commit=after_commit,
            clock=clock,
            first_delay_s=FIRST_RUN_DELAY_S,
        )


def build_worker(
    settings: Settings, engine: Engine, after_commit: Sequence[AfterCommit] = ()
) -> FreshnessWorker:
    return FreshnessWorker(
        settings=settings,
        sessions=lambda: Session(engine, expire_on_commit=False),
        after_commit=after_commit,
    )
