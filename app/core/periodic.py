"""A job the server runs every N seconds in a daemon thread, in its own transaction; after
each commit the hooks send the outboxes (search, mail). Used by freshness and by the
referral retention purge."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.models import utcnow

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
AfterCommit = Callable[[Session], None]
R = TypeVar("R")


class PeriodicWorker(Generic[R]):
    def __init__(
        self,
        *,
        name: str,
        job: Callable[[Session, datetime], R],
        interval_s: float,
        sessions: SessionFactory,
        after_commit: Sequence[AfterCommit] = (),
        clock: Callable[[], datetime] = utcnow,
        first_delay_s: float = 60.0,
    ) -> None:
        self.name = name
        self.job = job
        self.interval_s = interval_s
        self.sessions = sessions
        self.after_commit = list(after_commit)
        self.clock = clock
        self.first_delay_s = first_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def on_engine(
        cls,
        engine: Engine,
        *,
        name: str,
        job: Callable[[Session, datetime], R],
        interval_s: float,
        first_delay_s: float = 60.0,
    ) -> PeriodicWorker[R]:
        """A worker whose runs each get a session of their own on ``engine``."""
        return cls(
            name=name,
            job=job,
            interval_s=interval_s,
            sessions=lambda: Session(engine, expire_on_commit=False),
            first_delay_s=first_delay_s,
        )

    def run_once(self) -> R:
        with self.sessions() as session:
            result = self.job(session, self.clock())
            session.commit()
            for hook in self.after_commit:
                try:
                    hook(session)
                except Exception:
                    logger.exception("after-commit hook of %s failed", self.name)
        return result

    def start(self) -> None:
        """No thread without an interval (0 = off); start and stop are safe to repeat."""
        if self._thread is None and self.interval_s > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        wait = min(self.first_delay_s, self.interval_s)
        while not self._stop.wait(wait):
            wait = self.interval_s
            try:
                self.run_once()
            except Exception:  # e.g. an edit won the race (StaleDataError): next round
                logger.exception("%s failed; it runs again in %.0f s", self.name, wait)
