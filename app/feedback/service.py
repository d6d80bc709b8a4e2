"""Resident feedback ("klopt er iets niet?"): anonymous reports on a public listing, and the
redactie's queue.

Privacy by design: a report holds the listing, a category and the resident's text; no name, no
e-mail address, no IP address is asked, stored or logged. Two rate limits, neither of which
keeps an address:

* per listing: at most ``FEEDBACK_MAX_PER_HOUR`` reports in the last hour (a count in the
  database);
* per client: at most ``FEEDBACK_MAX_PER_CLIENT_PER_HOUR`` reports per hour and server process,
  counted in memory (``ClientRateLimiter``) under an HMAC of the client address with a random
  salt that exists only in this process. Entries go after an hour; nothing is written anywhere.

Both answer 429 (problem+json) with ``Retry-After``. Functions flush, never commit.
"""

from __future__ import annotations

import math
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import UserAccount
from app.accounts.policy import require_municipality
from app.accounts.principal import Principal, PrincipalKind
from app.core.errors import NotFound, TooManyRequests
from app.core.models import utcnow
from app.core.pagination import PageParams
from app.core.ratelimit import ClientRateLimiter
from app.core.schemas import Ref
from app.feedback.models import FeedbackCategory, FeedbackStatus, ServiceFeedback
from app.feedback.schemas import FeedbackCreate, FeedbackPage, FeedbackRead, FeedbackUpdate
from app.municipalities.models import Municipality
from app.services.models import Service

WINDOW = timedelta(hours=1)
THANK_YOU = (
    "Bedankt voor uw melding! De redactie van de sociale kaart kijkt ernaar en past de gegevens "
    "aan als dat nodig is. U krijgt geen bericht terug: we hebben geen gegevens van u."
)


# --- the per-client limit (memory only) ---------------------------------------------------------


_LIMITER_LOCK = threading.Lock()


def limiter_of(state: Any, limit: int) -> ClientRateLimiter:
    """The limiter of this application (one per process), made on first use."""
    found = getattr(state, "feedback_limiter", None)
    if found is None:
        with _LIMITER_LOCK:
            found = getattr(state, "feedback_limiter", None)
            if found is None:
                found = ClientRateLimiter(limit=limit, window_s=WINDOW.total_seconds())
                state.feedback_limiter = found
    assert isinstance(found, ClientRateLimiter)
    return found


def check_client(limiter: ClientRateLimiter, address: str) -> None:
    wait = limiter.retry_after(address)
    if wait is not None:
        raise TooManyRequests(
            "U heeft het afgelopen uur veel meldingen gestuurd. Probeer het later opnieuw.",
            headers={"Retry-After": str(wait)},
        )


# --- creating -----------------------------------------------------------------------------------


def _check_service_limit(
    session: Session, service: Service, max_per_hour: int, now: datetime
) -> None:
    count, oldest = session.exec(
        select(func.count(), func.min(ServiceFeedback.created_at)).where(
            ServiceFeedback.service_id == service.id,
            col(ServiceFeedback.created_at) > now - WINDOW,
        )
    ).one()
    if count < max_per_hour:
        return
    wait = 60
    if isinstance(oldest, datetime):
        wait = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
    raise TooManyRequests(
        "Over deze voorziening kwamen het afgelopen uur al veel meldingen binnen. De redactie "
        "kijkt ernaar. Probeer het later opnieuw.",
        headers={"Retry-After": str(wait)},
    )


def create(
    *,
    session: Session,
    service: Service,
    data: FeedbackCreate,
    max_per_hour: int,
    now: datetime | None = None,
) -> ServiceFeedback:
    """A report on this (public) listing; 429 when it had ``max_per_hour`` in the last hour."""
    now = now or utcnow()
    _check_service_limit(session, service, max_per_hour, now)
    row = ServiceFeedback(
        service_id=service.id,
        municipality_id=service.municipality_id,
        category=data.category.value,
        message=data.message,
        status=FeedbackStatus.open.value,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


# --- the redactie's queue -----------------------------------------------------------------------


def _present(session: Session, rows: list[ServiceFeedback]) -> list[FeedbackRead]:
    services = {
        s.id: s
        for s in session.exec(
            select(Service).where(col(Service.id).in_({r.service_id for r in rows}))
        )
    }
    municipalities = {
        m.id: m
        for m in session.exec(
            select(Municipality).where(col(Municipality.id).in_({r.municipality_id for r in rows}))
        )
    }
    result = []
    for r in rows:
        s = services[r.service_id]
        m = municipalities[r.municipality_id]
        result.append(
            FeedbackRead(
                id=r.id,
                service=Ref(slug=s.slug, name=s.name),
                municipality=Ref(slug=m.slug, name=m.name),
                category=FeedbackCategory(r.category),
                message=r.message,
                status=FeedbackStatus(r.status),
                created_at=r.created_at,
                handled_at=r.handled_at,
                handled_by_id=r.handled_by_id,
                note=r.note,
            )
        )
    return result


def list_feedback(
    *,
    session: Session,
    principal: Principal,
    page: PageParams,
    status: FeedbackStatus,
    municipality: str | None,
) -> FeedbackPage:
    """Reports with this status in the principal's municipalities, oldest first."""
    where: list[Any] = [col(ServiceFeedback.status) == status.value]
    if municipality is not None:
        found = session.exec(select(Municipality).where(Municipality.slug == municipality)).first()
        if found is None:
            raise NotFound(f"Gemeente '{municipality}' bestaat niet.")
        require_municipality(principal, found.id)
        where.append(col(ServiceFeedback.municipality_id) == found.id)
    if not principal.all_municipalities:
        where.append(col(ServiceFeedback.municipality_id).in_(list(principal.municipality_ids)))
    total = session.exec(select(func.count()).select_from(ServiceFeedback).where(*where)).one()
    rows = list(
        session.exec(
            select(ServiceFeedback)
            .where(*where)
            .order_by(col(ServiceFeedback.created_at), col(ServiceFeedback.id))
            .offset(page.offset)
            .limit(page.per_page)
        )
    )
    return FeedbackPage(
        items=_present(session, rows), total=total, page=page.page, per_page=page.per_page
    )


def _handler(session: Session, principal: Principal) -> uuid.UUID | None:
    """The handling user's id; None for keys (and an account deleted meanwhile)."""
    if principal.kind is not PrincipalKind.user or principal.id is None:
        return None
    return principal.id if session.get(UserAccount, principal.id) is not None else None


def handle(
    *, session: Session, principal: Principal, feedback_id: uuid.UUID, data: FeedbackUpdate
) -> FeedbackRead:
    """Mark a report opgelost or afgewezen (again: the last decision counts)."""
    row = session.get(ServiceFeedback, feedback_id)
    if row is None:
        raise NotFound("Deze melding bestaat niet.")
    require_municipality(principal, row.municipality_id)
    row.status = data.status.value
    if "note" in data.model_fields_set:
        row.note = data.note
    row.handled_at = utcnow()
    row.handled_by_id = _handler(session, principal)
    session.add(row)
    session.flush()
    (read,) = _present(session, [row])
    return read
