"""The typed search contract shared by every backend.

Filters are a small expression tree, never raw strings from users. Array fields match when
any element matches (Meilisearch semantics). Both backends return one result shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

Scalar: TypeAlias = str | int | float | bool


@dataclass(frozen=True)
class Eq:
    field: str
    value: Scalar


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    """``gte <= field <= lte`` (either bound optional)."""

    field: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class And:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    item: Filter


Filter: TypeAlias = Eq | In | Range | Exists | And | Or | Not


def all_of(*items: Filter | None) -> Filter | None:
    present = tuple(i for i in items if i is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lng: float


@dataclass(frozen=True)
class GeoRadius:
    center: GeoPoint
    radius_m: float


class SortOrder(StrEnum):
    relevance = "relevance"
    name = "name"
    distance = "distance"


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filter: Filter | None = None
    geo_radius: GeoRadius | None = None
    geo_point: GeoPoint | None = None  # for distance (sort and distance per hit) without a radius
    sort: SortOrder = SortOrder.relevance
    facets: tuple[str, ...] = ()
    page: int = 1
    per_page: int = 20

    @property
    def point(self) -> GeoPoint | None:
        return self.geo_radius.center if self.geo_radius else self.geo_point


@dataclass
class Hit:
    id: str
    document: dict[str, Any]
    distance_m: float | None = None
    # field -> HTML-escaped text with <mark>…</mark> around matches
    highlight: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # True when the answer came from the database fallback, not from the engine
    fallback: bool = False


@dataclass(frozen=True)
class IndexStats:
    documents: int


class SearchUnavailableError(RuntimeError):
    """The search engine cannot be reached or refused the request."""
