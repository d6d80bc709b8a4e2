"""The one interface every search backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from search.types import IndexStats, SearchQuery, SearchResult

Document = dict[str, Any]


class SearchBackend(ABC):
    """A search index of public services (documents built by ``app.indexing.documents``)."""

    name: str

    @abstractmethod
    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Apply index settings (Meilisearch JSON format); before any document."""

    @abstractmethod
    def upsert(self, documents: Sequence[Document]) -> None:
        """Add or replace documents by ``id`` (idempotent)."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents; unknown ids are ignored."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def health(self) -> bool:
        """True when the engine answers."""

    @abstractmethod
    def stats(self) -> IndexStats: ...

    def version_tag(self) -> Hashable | None:
        """A cheap token that changes whenever a search could answer differently (any write,
        rebuild or settings change), for caching whole answers; None (the default) when the
        backend has none: its answers are then never cached outside it."""
        return None

    def warm_up(self) -> None:
        """Load what the first search would otherwise wait for (default: nothing)."""
        return

    @abstractmethod
    def rebuild(self, settings: dict[str, Any], batches: Iterable[Sequence[Document]]) -> int:
        """Build a fresh index (settings first), then swap it in; returns the document count."""
