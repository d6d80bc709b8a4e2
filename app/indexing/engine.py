"""The search engine of one process: the configured backend plus the sync loop."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import SearchBackendName, SearchFallback, Settings
from app.core.db import read_only
from app.indexing.documents import build_analyzer
from app.indexing.fallback import DatabaseFallback
from app.indexing.reference import SearchReference
from app.indexing.service import DrainReport, current_settings, drain, pending_count, reindex
from search.analysis import Analyzer
from search.backend import SearchBackend
from search.types import SearchQuery, SearchResult, SearchUnavailableError

logger = logging.getLogger(__name__)


class SearchEngine:
    """Lazily builds the backend (its analyzer needs the taxonomy from the database)."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        backend_factory: Callable[[Analyzer], SearchBackend] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions: Callable[[], Session] = lambda: Session(engine, expire_on_commit=False)
        # for what only reads (the backlog of /health/ready, the analyzer): no write lock
        reader = read_only(engine)
        self.read_sessions: Callable[[], Session] = lambda: Session(reader, expire_on_commit=False)
        # what a search's filters are checked against, in memory (app/indexing/reference.py);
        # through self.read_sessions as it is when loading (tests replace it)
        self.reference = SearchReference(
            lambda: self.read_sessions(), max_age_s=settings.search_reference_max_age_s
        )
        self._factory = backend_factory or self._default_factory
        self._backend: SearchBackend | None = None
        self._analyzer: Analyzer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.clock: Callable[[], float] = time.monotonic
        self._resting_until = 0.0
        self.fallback = (
            DatabaseFallback(
                sessions=self.sessions,
                analyzer=lambda: self.analyzer,
                max_documents=settings.search_fallback_max_documents,
            )
            if settings.search_fallback is SearchFallback.database
            else None
        )

    def _default_factory(self, analyzer: Analyzer) -> SearchBackend:
        if self.settings.search_backend is SearchBackendName.meilisearch:
            from search.meili import MeilisearchBackend

            assert self.settings.meili_url
            key = (
                self.settings.meili_api_key.get_secret_value()
                if self.settings.meili_api_key
                else None
            )
            return MeilisearchBackend(
                url=self.settings.meili_url,
                api_key=key,
                index_uid=self.settings.meili_index,
                timeout_s=self.settings.search_timeout_s,
                analyzer=analyzer,
            )
        from search.embedded import EmbeddedBackend

        return EmbeddedBackend(path=self.settings.search_index_path, analyzer=analyzer)

    @property
    def analyzer(self) -> Analyzer:
        """Built once per process from the taxonomy and the indexed texts (a reindex or a
        restart picks up new compound parts)."""
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    with self.read_sessions() as session:
                        self._analyzer = build_analyzer(session)
        return self._analyzer

    @property
    def backend(self) -> SearchBackend:
        if self._backend is None:
            analyzer = self.analyzer
            with self._lock:
                if self._backend is None:
                    backend = self._factory(analyzer)
                    backend.apply_settings(current_settings())
                    self._backend = backend
        return self._backend

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        with self._lock:
            with self.read_sessions() as session:
                self._analyzer = build_analyzer(session)
            if self._backend is not None and hasattr(self._backend, "analyzer"):
                self._backend.analyzer = self._analyzer
        return reindex(
            sessions=self.sessions, backend=self.backend, progress=progress, analyzer=self.analyzer
        )

    def search(self, query: SearchQuery) -> SearchResult:
        """The engine's answer; while it is unavailable the fallback's (SEARCH_FALLBACK) or
        ``SearchUnavailableError``. After a failure the engine rests for
        SEARCH_CIRCUIT_OPEN_S: searches answer at once instead of each waiting for a timeout."""
        if not self.resting:
            try:
                result = self.backend.search(query)
            except SearchUnavailableError as exc:
                self._resting_until = self.clock() + self.settings.search_circuit_open_s
                logger.warning("search engine unavailable: %s", exc)
                return self._fallback_search(query, exc)
            self._end_rest()
            return result
        return self._fallback_search(
            query, SearchUnavailableError("search engine resting after a failure")
        )

    def answer_tag(self) -> Hashable | None:
        """What a search's whole answer depends on besides the query, read without touching
        the database (for the answer cache, app/search_api/answers.py): the index version and
        the reference snapshot. None when an answer must not be kept or served from memory:
        the engine is resting (the fallback may answer), the backend has no cheap version
        (Meilisearch), or the reference snapshot must be loaded first."""
        if self.resting or self._backend is None:
            return None
        snapshot = self.reference.peek()
        if snapshot is None:
            return None
        try:
            version = self._backend.version_tag()
        except SearchUnavailableError:
            return None
        return None if version is None else (version, snapshot.serial)

    def _fallback_search(self, query: SearchQuery, cause: SearchUnavailableError) -> SearchResult:
        if self.fallback is None:
            raise cause
        try:
            result = self.fallback.search(query)
        except SearchUnavailableError as exc:
            raise exc from cause
        result.fallback = True
        return result

    def sync(self, service_ids: Iterable[uuid.UUID]) -> DrainReport:
        """Send what these services look like now (called right after a commit). While the
        engine rests after a failure the changes stay in the outbox for the drain loop, so a
        write does not wait for a timeout."""
        if self.resting:
            with self.read_sessions() as session:
                return DrainReport(remaining=pending_count(session=session))
        return self._observe(
            drain(
                sessions=self.sessions,
                backend=self.backend,
                only=list(service_ids),
                analyzer=self.analyzer,
            )
        )

    def drain(self, *, retry_now: bool = False) -> DrainReport:
        return self._observe(
            drain(
                sessions=self.sessions,
                backend=self.backend,
                retry_now=retry_now,
                analyzer=self.analyzer,
            )
        )

    @property
    def resting(self) -> bool:
        """Is the engine resting after a failure (SEARCH_CIRCUIT_OPEN_S)?"""
        return self.clock() < self._resting_until

    def _observe(self, report: DrainReport) -> DrainReport:
        """A failed send rests the engine; a successful one ends the rest."""
        if report.failed:
            self._resting_until = self.clock() + self.settings.search_circuit_open_s
        elif report.sent:
            self._end_rest()
        return report

    def _end_rest(self) -> None:
        if self._resting_until and self.fallback is not None:
            self.fallback.forget()
        self._resting_until = 0.0

    def backlog(self) -> int:
        with self.read_sessions() as session:
            return pending_count(session=session)

    def status(self) -> dict[str, Any]:
        try:
            healthy = self.backend.health()
        except Exception:  # a backend that cannot even be built is unavailable
            healthy = False
        return {"backend": self.backend_name, "healthy": healthy}

    @property
    def backend_name(self) -> str:
        return str(self.settings.search_backend.value)

    # background drain ----------------------------------------------------------------------

    def warm_up(self) -> None:
        """Build the backend and let it load its caches, so the first search is not slow.
        Failures are logged only: search then starts when the engine is back."""
        try:
            self.backend.warm_up()
        except Exception:
            logger.warning("search warm-up failed; the first search will try again", exc_info=True)

    def start(self) -> None:
        threading.Thread(target=self.warm_up, name="search-warm-up", daemon=True).start()
        if self._thread is None and self.settings.search_drain_interval_s > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="search-drain", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.search_drain_interval_s):
            try:
                report = self.drain()
                if report.sent or report.failed:
                    logger.info(
                        "search drain: %d sent, %d failed, %d waiting",
                        report.sent,
                        report.failed,
                        report.remaining,
                    )
            except Exception:
                logger.exception("search drain loop failed")
