"""Search by need and neighbourhood: API parameters → typed query → backend → response."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_json
from sqlmodel import Session

from app.core.errors import FieldError, ServiceUnavailable, Unprocessable
from app.geo.geocoding import GeoPrecision
from app.indexing.engine import SearchEngine
from app.indexing.reference import SearchReference, Snapshot
from app.search_api.schemas import (
    SearchResponse,
    Suggestion,
    SuggestionList,
)
from app.taxonomy.service import TaxonomyKey, terms_by_slug
from search.analysis import fold, tokenize
from search.types import (
    Eq,
    Filter,
    GeoPoint,
    GeoRadius,
    In,
    Range,
    SearchQuery,
    SearchUnavailableError,
    SortOrder,
    all_of,
)

DEFAULT_RADIUS_KM = 5.0
FACET_FIELDS = {
    "theme": "themes",
    "target_group": "target_groups",
    "access": "access",
    "cost": "cost",
    "neighbourhood": "neighbourhoods",
}


@dataclass
class SearchParams:
    q: str = ""
    theme: list[str] = field(default_factory=list)
    target_group: list[str] = field(default_factory=list)
    access: list[str] = field(default_factory=list)
    cost: list[str] = field(default_factory=list)
    age: int | None = None
    neighbourhood: str | None = None
    place: str | None = None
    municipality: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    sort: SortOrder = SortOrder.relevance
    page: int = 1
    per_page: int = 20


def _check_slugs(snapshot: Snapshot, params: SearchParams) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, taxonomy, slugs in (
        ("theme", TaxonomyKey.themes, params.theme),
        ("target_group", TaxonomyKey.target_groups, params.target_group),
        ("access", TaxonomyKey.access_routes, params.access),
        ("cost", TaxonomyKey.costs, params.cost),
    ):
        if not slugs:
            continue
        known = snapshot.taxonomy_slugs.get(taxonomy.value, [])
        errors += [
            FieldError(
                field=f"query.{name}", message=f"'{s}' bestaat niet. Kies uit: {', '.join(known)}."
            )
            for s in slugs
            if s not in known
        ]
    municipality_id = None
    if params.municipality:
        municipality_id = snapshot.municipalities.get(params.municipality)
        if municipality_id is None:
            errors.append(
                FieldError(
                    field="query.municipality",
                    message=f"Gemeente '{params.municipality}' bestaat niet.",
                )
            )
    for name, known_areas, value in (
        ("neighbourhood", snapshot.neighbourhoods, params.neighbourhood),
        ("place", snapshot.places, params.place),
    ):
        if value:
            municipalities = known_areas.get(value, frozenset())
            if not municipalities or (
                municipality_id is not None and municipality_id not in municipalities
            ):
                noun = "Wijk" if name == "neighbourhood" else "Kern"
                errors.append(
                    FieldError(field=f"query.{name}", message=f"{noun} '{value}' bestaat niet.")
                )
    return errors


_PC_RE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")


def resolve_postcode(reference: SearchReference, snapshot: Snapshot, postcode: str) -> GeoPoint:
    match = _PC_RE.match(postcode)
    if not match:
        raise Unprocessable(
            "Dit is geen geldige postcode.",
            errors=[
                FieldError(
                    field="query.postcode",
                    message="Gebruik 4 cijfers (1422) of 4 cijfers en 2 letters (1422 AB).",
                )
            ],
        )
    pc4, letters = match.group(1), (match.group(2) or "").upper()
    for code in ([pc4 + letters] if letters else []) + [pc4]:
        point = reference.postcode(snapshot, code)
        if point is not None:
            return point
    raise Unprocessable(
        f"Postcode {postcode.strip()} kennen we niet.",
        errors=[
            FieldError(
                field="query.postcode", message="Deze postcode staat niet in de postcodetabel."
            )
        ],
    )


def build_query(reference: SearchReference, params: SearchParams) -> SearchQuery:
    """The typed query of the API's parameters; 422 for filters that name nothing known."""
    snapshot = reference.current()
    errors = _check_slugs(snapshot, params)
    if (params.lat is None) != (params.lon is None):
        errors.append(FieldError(field="query.lat", message="Geef lat en lon samen op."))
    if params.postcode and params.lat is not None:
        errors.append(
            FieldError(
                field="query.postcode", message="Geef een postcode óf lat/lon op, niet allebei."
            )
        )
    if errors:
        raise Unprocessable(
            "Controleer de zoekopdracht: " + "; ".join(e.message for e in errors), errors=errors
        )
    point: GeoPoint | None = None
    if params.postcode:
        point = resolve_postcode(reference, snapshot, params.postcode)
    elif params.lat is not None and params.lon is not None:
        point = GeoPoint(lat=params.lat, lng=params.lon)
    if params.sort is SortOrder.distance and point is None:
        raise Unprocessable(
            "Sorteren op afstand kan alleen met een postcode of lat/lon.",
            errors=[FieldError(field="query.sort", message="Geef ook een postcode of lat/lon op.")],
        )
    if params.radius_km is not None and point is None:
        raise Unprocessable(
            "Een straal (radius_km) werkt alleen met een postcode of lat/lon.",
            errors=[
                FieldError(field="query.radius_km", message="Geef ook een postcode of lat/lon op.")
            ],
        )

    def any_of(field_name: str, values: list[str]) -> Filter | None:
        if not values:
            return None
        unique = tuple(dict.fromkeys(values))
        return Eq(field_name, unique[0]) if len(unique) == 1 else In(field_name, unique)

    age_filter = (
        all_of(Range("age_min", lte=params.age), Range("age_max", gte=params.age))
        if params.age is not None
        else None
    )
    query_filter = all_of(
        any_of("themes", params.theme),
        any_of("target_groups", params.target_group),
        any_of("access", params.access),
        any_of("cost", params.cost),
        age_filter,
        Eq("neighbourhoods", params.neighbourhood) if params.neighbourhood else None,
        Eq("places", params.place) if params.place else None,
        Eq("municipality", params.municipality) if params.municipality else None,
    )
    sort = params.sort
    if sort is SortOrder.relevance and not tokenize(params.q):
        sort = SortOrder.name  # an empty query lists its matches by name
    radius = (params.radius_km if params.radius_km is not None else DEFAULT_RADIUS_KM) * 1000
    return SearchQuery(
        text=params.q,
        filter=query_filter,
        geo_radius=GeoRadius(center=point, radius_m=radius) if point else None,
        sort=sort,
        facets=tuple(FACET_FIELDS.values()),
        page=params.page,
        per_page=params.per_page,
    )


def search(*, engine: SearchEngine, params: SearchParams) -> SearchResponse:
    """The response as a model (the endpoint sends ``search_json``: the same JSON, faster)."""
    return SearchResponse.model_validate(search_content(engine=engine, params=params))


def search_json(*, engine: SearchEngine, params: SearchParams) -> bytes:
    """The endpoint's response body: ``SearchResponse`` as JSON, built from plain dictionaries
    and encoded once (in Rust) instead of validated and serialised field by field per item.
    tests/search/test_search_api.py checks it against the model for every response it makes."""
    return to_json(search_content(engine=engine, params=params))


def search_content(*, engine: SearchEngine, params: SearchParams) -> dict[str, Any]:
    """``SearchResponse`` as plain JSON data (field order as in the model)."""
    return search_page(engine=engine, params=params)[0]


def search_page(*, engine: SearchEngine, params: SearchParams) -> tuple[dict[str, Any], bool]:
    """``search_content`` and whether the database fallback answered (SEARCH_FALLBACK)."""
    query = build_query(engine.reference, params)
    try:
        result = engine.search(query)
    except SearchUnavailableError as exc:
        raise ServiceUnavailable(
            "Zoeken lukt even niet. Probeer het over een paar minuten opnieuw.",
            headers={"Retry-After": "30"},
        ) from exc
    items = []
    for hit in result.hits:
        d = hit.document
        if hit.distance_m is not None:
            precision = GeoPrecision(d.get("geo_precision") or GeoPrecision.manual.value)
            distance: float | None = round(hit.distance_m / 1000, 2)
            precision_value: str | None = precision.value
            approximate: bool | None = precision.approximate
        else:
            distance = precision_value = approximate = None
        name = d["name"]
        summary = d.get("summary") or ""
        items.append(
            {
                "id": str(d["id"]),
                "slug": d["slug"],
                "name": name,
                "summary": summary,
                "organization": {"slug": d["organization"], "name": d["organization_name"]},
                "themes": d.get("themes") or [],
                "target_groups": d.get("target_groups") or [],
                "access": d.get("access"),
                "cost": d.get("cost"),
                "minimum_age": d.get("minimum_age"),
                "maximum_age": d.get("maximum_age"),
                "neighbourhoods": d.get("neighbourhoods") or [],
                "place": d.get("place"),
                "distance_km": distance,
                "distance_precision": precision_value,
                "distance_approximate": approximate,
                "highlight": {
                    "name": hit.highlight.get("name") or _escape(name),
                    "summary": hit.highlight.get("summary") or _escape(summary),
                },
            }
        )
    content = {
        "items": items,
        "total": result.total,
        "page": params.page,
        "per_page": params.per_page,
        "facets": {
            api: result.facets.get(index_field, {}) for api, index_field in FACET_FIELDS.items()
        },
    }
    return content, result.fallback


def _escape(text: str) -> str:
    return html.escape(text)


def suggest(*, session: Session, engine: SearchEngine, q: str, limit: int = 8) -> SuggestionList:
    """Search-as-you-type: themes whose label or lay words start with the typed words, then names."""
    words = tokenize(q)
    if not words:
        return SuggestionList(items=[])
    prefix = " ".join(words)
    items: list[Suggestion] = []
    for term in terms_by_slug(session=session, taxonomy=TaxonomyKey.themes).values():
        candidates = [term.label, *term.words]
        if any(fold(c).startswith(prefix) or f" {prefix}" in f" {fold(c)}" for c in candidates):
            items.append(Suggestion(type="theme", slug=term.slug, label=term.label))
    try:
        result = engine.search(SearchQuery(text=q, per_page=limit))
    except SearchUnavailableError:
        result = None
    if result is not None:
        items += [
            Suggestion(type="service", slug=h.document["slug"], label=h.document["name"])
            for h in result.hits
        ]
    return SuggestionList(items=items[:limit])
