"""The index build (run in its own process, so its peak RSS is its own)."""

from __future__ import annotations

import resource
import time

from app.core.config import Environment, SearchBackendName, Settings
from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from bench.common import BuildResult


def settings_for(database_url: str, index_path: str) -> Settings:
    return Settings(
        environment=Environment.development,
        database_url=database_url,
        search_backend=SearchBackendName.embedded,
        search_index_path=index_path,
        search_drain_interval_s=0,
    )


def build_index(database_url: str, index_path: str) -> BuildResult:
    """``SearchEngine.reindex()`` as ``sociale-kaart search reindex`` runs it (analyzer
    from the taxonomy and all public texts, documents in batches, generation switch)."""
    engine = build_engine(database_url)
    try:
        search = SearchEngine(settings=settings_for(database_url, index_path), engine=engine)
        started = time.perf_counter()
        documents = search.reindex()
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return BuildResult(
        documents=documents,
        seconds=seconds,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
