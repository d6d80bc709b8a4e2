"""Search straight from the database while the search engine is down (SEARCH_FALLBACK=database).

The public listings are built into documents exactly as for the index (``DocumentBuilder``)
and searched in memory (``search.memory.MemorySearch``). The snapshot is kept for
``REFRESH_S`` seconds, so a burst of searches during an outage reads the database once a
minute, not once per request. Above ``SEARCH_FALLBACK_MAX_DOCUMENTS`` public listings the
fallback stays off: building and scanning that many documents per minute would slow the
database down exactly when the service is already degraded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlmodel import Session, func, select

from app.core.visibility import service_is_public
from app.indexing.service import iter_public_batches
from app.services.models import Service
from search.analysis import Analyzer
from search.memory import MemorySearch
from search.types import SearchQuery, SearchResult, SearchUnavailableError

logger = logging.getLogger(__name__)
REFRESH_S = 60.0


class DatabaseFallback:
    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        analyzer: Callable[[], Analyzer],
        max_documents: int,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.analyzer = analyzer
        self.max_documents = max_documents
        self.refresh_s = refresh_s
        self.clock = clock
        self._snapshot: MemorySearch | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()

    def search(self, query: SearchQuery) -> SearchResult:
        return self._current().search(query)

    def _current(self) -> MemorySearch:
        snapshot = self._snapshot
        if snapshot is not None and self.clock() - self._built_at < self.refresh_s:
            return snapshot
        with self._lock:  # one rebuild at a time; the others wait for it
            if self._snapshot is None or self.clock() - self._built_at >= self.refresh_s:
                self._snapshot = self._build()
                self._built_at = self.clock()
            return self._snapshot

    def _build(self) -> MemorySearch:
        with self.sessions() as session:
            count = session.exec(
                select(func.count()).select_from(Service).where(service_is_public())
            ).one()
        if count > self.max_documents:
            raise SearchUnavailableError(
                f"fallback off: {count} public listings > SEARCH_FALLBACK_MAX_DOCUMENTS "
                f"({self.max_documents})"
            )
        analyzer = self.analyzer()
        started = time.perf_counter()
        documents = [
            document
            for batch in iter_public_batches(sessions=self.sessions, analyzer=analyzer)
            for document in batch
        ]
        logger.warning(
            "search engine unavailable: searching %d listings from the database (built in %.0f ms)",
            len(documents),
            (time.perf_counter() - started) * 1000,
        )
        return MemorySearch(documents, analyzer)

    def forget(self) -> None:
        """Drop the snapshot (the engine is back; the next outage starts fresh)."""
        with self._lock:
            self._snapshot = None
