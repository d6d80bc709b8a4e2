"""Geocoding never blocks a write: a job row in the same transaction, worked off afterwards.

``enqueue_geocode`` adds a ``geocode_job`` row when a location is created or changed. After
the commit the worker (``GeoWorker``, a background thread of the server) geocodes those
locations; ``sociale-kaart geo geocode`` does the same from the command line. When the online
geocoder is unreachable the offline chain still answers (a coarser point) and the job stays,
with exponential backoff, to be upgraded to an exact address later. A location whose
coordinates or wijk changed is sent to the search index through the search outbox.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.models import utcnow
from app.geo.geocoding import Geocoder, GeoPrecision
from app.geo.locate import geocode_location
from app.geo.models import GeocodeJob
from app.indexing.service import enqueue_location
from app.locations.models import Location

logger = logging.getLogger(__name__)

PENDING = "geocode_pending"
BATCH = 50
MAX_BACKOFF = timedelta(hours=6)
SessionFactory = Callable[[], Session]


def enqueue_geocode(*, session: Session, location_id: uuid.UUID) -> None:
    """Record that this location must be (re)geocoded, in the caller's transaction."""
    session.add(GeocodeJob(location_id=location_id))
    pending: set[uuid.UUID] = session.info.setdefault(PENDING, set())
    pending.add(location_id)


@dataclass
class GeocodeReport:
    done: int = 0
    retry_later: int = 0  # the online geocoder was unreachable; the offline chain answered
    by_precision: dict[str, int] = field(default_factory=dict)

    def count(self, precision: GeoPrecision | None) -> None:
        key = precision.value if precision else "geen"
        self.by_precision[key] = self.by_precision.get(key, 0) + 1


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** min(attempts, 10)), MAX_BACKOFF)


def geocode_one(
    *,
    session: Session,
    location: Location,
    geocoder: Geocoder | None,
    report: GeocodeReport,
    deferred: bool = False,
) -> bool:
    """Geocode one location in the caller's transaction; True when the online geocoder could
    not be asked (unreachable, or ``deferred`` after it failed) and must be asked later."""
    outcome = geocode_location(session=session, location=location, geocoder=geocoder)
    if outcome.changed:
        enqueue_location(session=session, location_id=location.id)
    report.count(outcome.precision)
    if outcome.error is not None or deferred:
        report.retry_later += 1
        return True
    report.done += 1
    return False


def process_jobs(
    *,
    sessions: SessionFactory,
    geocoder: Geocoder | None,
    only: Sequence[uuid.UUID] | None = None,
    limit: int = 10_000,
) -> GeocodeReport:
    """Work off due jobs (or only those of these locations). After the first failure of the
    online geocoder the rest of the run uses the offline chain and keeps the jobs for later."""
    report = GeocodeReport()
    handled = 0
    online = geocoder
    while handled < limit:
        with sessions() as session:
            statement = select(GeocodeJob).where(col(GeocodeJob.next_attempt_at) <= utcnow())
            if only is not None:
                statement = statement.where(col(GeocodeJob.location_id).in_(list(only)))
            statement = statement.order_by(col(GeocodeJob.id)).limit(min(BATCH, limit - handled))
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            jobs = list(session.exec(statement))
            if not jobs:
                break
            retry: set[uuid.UUID] = set()
            for location_id in dict.fromkeys(j.location_id for j in jobs):
                location = session.get(Location, location_id)
                if location is None:
                    continue
                needs_retry = geocode_one(
                    session=session,
                    location=location,
                    geocoder=online,
                    report=report,
                    deferred=online is None and geocoder is not None,
                )
                if needs_retry:
                    retry.add(location_id)
                    if online is not None:
                        logger.warning("geocoder %s unreachable; offline chain used", online.name)
                    online = None
            for job in jobs:
                if job.location_id in retry:
                    job.attempts += 1
                    job.next_attempt_at = utcnow() + _backoff(job.attempts)
                    job.last_error = "geocoder niet bereikbaar; offline keten gebruikt"
                    session.add(job)
                else:
                    session.execute(delete(GeocodeJob).where(col(GeocodeJob.id) == job.id))
            session.commit()
            handled += len(jobs)
    return report


class GeoWorker:
    """Geocodes locations in the background after the commit that changed them."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        geocoder: Geocoder | None,
        on_changed: Callable[[], object] | None = None,
        retry_interval_s: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.retry_interval_s = retry_interval_s
        self.geocoder = geocoder
        self.on_changed = on_changed
        self._queue: queue.Queue[list[uuid.UUID] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def after_commit(self, session: Session) -> None:
        pending: set[uuid.UUID] = session.info.pop(PENDING, set())
        if pending:
            self.submit(pending)

    def submit(self, location_ids: Iterable[uuid.UUID]) -> None:
        self._queue.put(list(location_ids))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="geocode", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def run_pending(self, timeout_s: float = 0.0) -> GeocodeReport:
        """Work off what was submitted (tests and the CLI call this instead of the thread)."""
        report = GeocodeReport()
        while True:
            try:
                item = self._queue.get(timeout=timeout_s) if timeout_s else self._queue.get_nowait()
            except queue.Empty:
                return report
            if item is None:
                return report
            part = process_jobs(sessions=self.sessions, geocoder=self.geocoder, only=item)
            report.done += part.done
            report.retry_later += part.retry_later
            for key, n in part.by_precision.items():
                report.by_precision[key] = report.by_precision.get(key, 0) + n
            if self.on_changed is not None:
                self.on_changed()

    def _loop(self) -> None:
        """Submitted locations at once; every ``retry_interval_s`` the jobs that are due (a
        geocoder that was down, a server that stopped before it got to them)."""
        while True:
            try:
                item: list[uuid.UUID] | None = self._queue.get(timeout=self.retry_interval_s)
            except queue.Empty:
                item = []
            if item is None:
                return
            try:
                process_jobs(sessions=self.sessions, geocoder=self.geocoder, only=item or None)
                if self.on_changed is not None:
                    self.on_changed()
            except Exception:
                logger.exception("geocoding failed; the job stays and is retried")
