"""Keeping the search index in sync without losing writes.

Every change to what is public adds an outbox row in the same transaction as the change
(``enqueue``). After the commit the rows of that transaction are sent (``run_after_commit``);
whatever fails stays in the outbox and ``drain`` retries it with exponential backoff (the CLI
``sociale-kaart search drain`` and the server's background loop call it). Rows are claimed
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers can drain side by side.
Upserts are idempotent by id; a service that is no longer public is deleted from the index.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from app.core.models import utcnow
from app.indexing.documents import DocumentBuilder, taxonomy_variants
from app.indexing.models import SearchOutbox
from app.services.models import Service, ServiceAtLocation, ServiceTerm
from search.analysis import Analyzer
from search.backend import SearchBackend
from search.settings import index_settings, synonyms_from_variants

logger = logging.getLogger(__name__)

PENDING = "search_pending"
BATCH = 200
MAX_BACKOFF = timedelta(minutes=30)

SessionFactory = Callable[[], Session]


def enqueue(*, session: Session, service_ids: Iterable[uuid.UUID]) -> None:
    """Record that these services must be (re)indexed, in the caller's transaction."""
    ids = list(dict.fromkeys(service_ids))
    for service_id in ids:
        session.add(SearchOutbox(service_id=service_id))
    if ids:
        pending: set[uuid.UUID] = session.info.setdefault(PENDING, set())
        pending.update(ids)


def enqueue_organization(*, session: Session, organization_id: uuid.UUID) -> None:
    enqueue(
        session=session,
        service_ids=session.exec(
            select(Service.id).where(Service.organization_id == organization_id)
        ),
    )


def enqueue_location(*, session: Session, location_id: uuid.UUID) -> None:
    enqueue(
        session=session,
        service_ids=session.exec(
            select(ServiceAtLocation.service_id).where(ServiceAtLocation.location_id == location_id)
        ),
    )


def enqueue_terms(*, session: Session, term_ids: Iterable[uuid.UUID]) -> None:
    ids = list(term_ids)
    if ids:
        enqueue(
            session=session,
            service_ids=session.exec(
                select(ServiceTerm.service_id)
                .where(col(ServiceTerm.taxonomy_term_id).in_(ids))
                .distinct()
            ),
        )


def pending_count(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(SearchOutbox)).one())


def current_settings() -> dict[str, Any]:
    return index_settings(synonyms=synonyms_from_variants(taxonomy_variants()))


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    remaining: int = 0


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


def _claim(session: Session, *, limit: int, only: Sequence[uuid.UUID] | None) -> list[SearchOutbox]:
    statement = select(SearchOutbox).where(col(SearchOutbox.next_attempt_at) <= utcnow())
    if only is not None:
        statement = statement.where(col(SearchOutbox.service_id).in_(list(only)))
    statement = statement.order_by(col(SearchOutbox.id)).limit(limit)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement))


def sync_batch(
    *,
    session: Session,
    backend: SearchBackend,
    service_ids: Sequence[uuid.UUID],
    analyzer: Analyzer | None = None,
) -> None:
    """Send the current state of these services: upsert public ones, delete the rest."""
    documents = DocumentBuilder(session, analyzer).build(service_ids)
    upserts = [doc for doc in documents.values() if doc is not None]
    deletes = [str(sid) for sid, doc in documents.items() if doc is None]
    if upserts:
        backend.upsert(upserts)
    if deletes:
        backend.delete(deletes)


def drain(
    *,
    sessions: SessionFactory,
    backend: SearchBackend,
    limit: int = 10_000,
    only: Sequence[uuid.UUID] | None = None,
    retry_now: bool = False,
    analyzer: Analyzer | None = None,
) -> DrainReport:
    """Send pending outbox rows in batches; failures stay with a later retry time."""
    report = DrainReport()
    while report.sent + report.failed < limit:
        with sessions() as session:
            if retry_now:
                session.execute(update(SearchOutbox).values(next_attempt_at=utcnow()))
                session.commit()
                retry_now = False
            rows = _claim(session, limit=min(BATCH, limit - report.sent - report.failed), only=only)
            if not rows:
                break
            service_ids = list(dict.fromkeys(r.service_id for r in rows))
            try:
                sync_batch(
                    session=session, backend=backend, service_ids=service_ids, analyzer=analyzer
                )
            except Exception as exc:  # the engine is down or refused: keep the rows, retry later
                logger.warning("search sync failed for %d service(s): %s", len(service_ids), exc)
                for row in rows:
                    row.attempts += 1
                    row.next_attempt_at = utcnow() + _backoff(row.attempts)
                    row.last_error = str(exc)[:1000]
                    session.add(row)
                session.commit()
                report.failed += len(rows)
                break
            session.execute(
                delete(SearchOutbox).where(col(SearchOutbox.id).in_([r.id for r in rows]))
            )
            session.commit()
            report.sent += len(rows)
    with sessions() as session:
        report.remaining = pending_count(session=session)
    return report


class Syncer(Protocol):
    def sync(self, service_ids: Iterable[uuid.UUID]) -> DrainReport: ...


def run_after_commit(session: Session, engine: Syncer) -> None:
    """After a commit: send what this transaction enqueued. Never raises: on failure the
    outbox rows stay and the drain retries them."""
    pending: set[uuid.UUID] = session.info.pop(PENDING, set())
    if not pending:
        return
    try:
        engine.sync(pending)
    except Exception:
        logger.exception(
            "search sync after commit failed; the outbox keeps %d change(s)", len(pending)
        )


def iter_public_batches(
    *, sessions: SessionFactory, size: int = 500, analyzer: Analyzer | None = None
) -> Iterator[list[dict[str, Any]]]:
    """All public services as document batches (for a full reindex)."""
    with sessions() as session:
        ids = list(session.exec(select(Service.id).order_by(col(Service.id))))
        builder = DocumentBuilder(session, analyzer)
        for start in range(0, len(ids), size):
            docs = builder.build(ids[start : start + size])
            yield [d for d in docs.values() if d is not None]


def reindex(
    *,
    sessions: SessionFactory,
    backend: SearchBackend,
    progress: Callable[[int], None] | None = None,
    analyzer: Analyzer | None = None,
) -> int:
    """Build a fresh index (settings first) and swap it in; clears the outbox it covers."""
    started = utcnow()

    def batches() -> Iterator[list[dict[str, Any]]]:
        for batch in iter_public_batches(sessions=sessions, analyzer=analyzer):
            yield batch
            if progress:
                progress(len(batch))

    count = backend.rebuild(current_settings(), batches())
    with sessions() as session:
        # Rows older than the rebuild are covered by it; newer ones still need sending.
        session.execute(delete(SearchOutbox).where(col(SearchOutbox.created_at) < started))
        session.commit()
    return count
