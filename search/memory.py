"""A plain-Python search over a list of documents: the fallback while the engine is down.

Same query object, same result shape and the same filter, geo and facet semantics as the
backends (array fields match when any element matches, a radius needs a point, distance in
metres by haversine). Text matching is deliberately simpler (docs/reliability.md,
"Zoeken als de zoekmachine uitvalt"): every query word must occur among the document's
analysed terms — its stem, a compound part or a variant — and the word typed last may be a
prefix. There is no typo tolerance and no highlighting; relevance is the number of words
found in the name, then the name. Linear in the number of documents: meant for a
municipality's few thousand listings, not for the national index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from search.analysis import Analyzer, QueryWord
from search.geo import haversine_m
from search.types import (
    And,
    Eq,
    Exists,
    Filter,
    Hit,
    In,
    Not,
    Or,
    Range,
    SearchQuery,
    SearchResult,
    SortOrder,
)

Document = dict[str, Any]


def matches(node: Filter | None, document: Document) -> bool:
    """Does the document pass the filter (Meilisearch semantics)?"""
    if node is None:
        return True
    if isinstance(node, And):
        return all(matches(item, document) for item in node.items)
    if isinstance(node, Or):
        return any(matches(item, document) for item in node.items)
    if isinstance(node, Not):
        return not matches(node.item, document)
    value = document.get(node.field)
    values = value if isinstance(value, list) else [] if value is None else [value]
    if isinstance(node, Exists):
        return bool(values)
    if isinstance(node, Eq):
        return any(_same(v, node.value) for v in values)
    if isinstance(node, In):
        return any(_same(v, wanted) for v in values for wanted in node.values)
    if isinstance(node, Range):
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        return any(
            (node.gte is None or v >= node.gte) and (node.lte is None or v <= node.lte)
            for v in numbers
        )
    raise ValueError(f"onbekend filter: {node!r}")


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return stored is wanted
    if isinstance(stored, int | float) and isinstance(wanted, int | float):
        return float(stored) == float(wanted)
    return str(stored) == str(wanted)


class MemorySearch:
    """Searches documents built exactly as for the index (``search_terms`` analysed)."""

    def __init__(self, documents: Sequence[Document], analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.documents = list(documents)
        self._terms = [frozenset(str(d.get("search_terms") or "").split()) for d in documents]
        self._name_terms = [frozenset(analyzer.terms(str(d.get("name") or ""))) for d in documents]

    def __len__(self) -> int:
        return len(self.documents)

    def search(self, query: SearchQuery) -> SearchResult:
        words = self.analyzer.query(query.text)
        point = query.point
        found: list[tuple[int, float | None]] = []
        for index, document in enumerate(self.documents):
            if not matches(query.filter, document):
                continue
            distance = None
            geo = document.get("_geo")
            if point is not None and geo is not None:
                distance = haversine_m(point, float(geo["lat"]), float(geo["lng"]))
            if query.geo_radius is not None and (
                distance is None or distance > query.geo_radius.radius_m
            ):
                continue
            if words and not all(_word_in(word, self._terms[index]) for word in words):
                continue
            found.append((index, distance))
        facets = {
            name: dict(
                Counter(
                    value
                    for index, _ in found
                    for value in _as_list(self.documents[index].get(name))
                )
            )
            for name in query.facets
        }
        found.sort(key=lambda item: self._order(item, query.sort, words))
        start = (query.page - 1) * query.per_page
        hits = [
            Hit(
                id=str(self.documents[index]["id"]),
                document=self.documents[index],
                distance_m=distance,
            )
            for index, distance in found[start : start + query.per_page]
        ]
        return SearchResult(hits=hits, total=len(found), facets=facets)

    def _order(
        self,
        item: tuple[int, float | None],
        sort: SortOrder,
        words: list[QueryWord],
    ) -> tuple[Any, ...]:
        index, distance = item
        name = str(self.documents[index].get("name_sort") or "")
        if sort is SortOrder.distance:
            return (distance is None, distance or 0.0, name)
        if sort is SortOrder.name or not words:
            return (name,)
        in_name = sum(_word_in(w, self._name_terms[index]) for w in words)
        return (-in_name, name)


def _word_in(word: QueryWord, terms: frozenset[str]) -> bool:
    if word.original in terms or word.stem in terms:
        return True
    if word.parts and all(part in terms for part in word.parts):
        return True  # a compound found as its parts ("schuldhulp" ↔ "schuld hulp")
    return word.is_last and any(
        term.startswith(word.original) or term.startswith(word.stem) for term in terms
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
