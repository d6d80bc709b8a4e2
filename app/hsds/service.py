"""Which records an HSDS request selects: filters (combined with AND), order and paging.

Every function is keyword-only and read-only. Only public listings are selected
(``app/core/visibility.py``); taxonomies and their terms are always public.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.errors import BadRequest, FieldError, NotFound, ServiceUnavailable
from app.core.visibility import organization_is_public, service_is_public
from app.geo.models import PostcodeCentroid
from app.indexing.engine import SearchEngine
from app.locations.models import Location
from app.organizations.models import Organization
from app.services.models import Service, ServiceAtLocation, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from search.analysis import tokenize
from search.geo import haversine_m
from search.settings import MAX_TOTAL_HITS
from search.types import GeoPoint, SearchQuery, SearchUnavailableError, SortOrder

DEFAULT_PROXIMITY_M = 5000
MAX_PROXIMITY_M = 100_000
STREAM_BATCH = 200
M = TypeVar("M")

_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")


def bad_parameter(name: str, message: str) -> BadRequest:
    return BadRequest(message, errors=[FieldError(field=f"query.{name}", message=message)])


def not_found(noun: str, raw_id: str) -> NotFound:
    return NotFound(f"{noun} met id {raw_id} bestaat niet of is niet openbaar.")


def parse_id(raw: str, *, noun: str) -> uuid.UUID:
    """A path id; anything that is not a UUID cannot exist (404, not 400)."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found(noun, raw) from None


def parse_modified_after(raw: str | None) -> datetime | None:
    """ISO 8601 date or date-time; without a time zone it is UTC."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise bad_parameter(
                "modified_after",
                f"'{raw}' is geen geldige datum of tijd. Gebruik bijvoorbeeld "
                "2025-01-31 of 2025-01-31T09:00:00Z.",
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve_postcode(session: Session, raw: str) -> GeoPoint:
    """Centroid of a PC6 postcode (falls back to its PC4) or a PC4 postcode."""
    match = _POSTCODE.match(raw)
    if not match:
        raise bad_parameter(
            "postcode", f"'{raw}' is geen postcode. Gebruik 4 cijfers (1422) of 1422 AB."
        )
    pc4, letters = match.group(1), (match.group(2) or "").upper()
    for code in ([pc4 + letters] if letters else []) + [pc4]:
        row = session.get(PostcodeCentroid, code)
        if row is not None:
            return GeoPoint(lat=row.latitude, lng=row.longitude)
    raise bad_parameter("postcode", f"Postcode {raw.strip()} kennen we niet.")


@dataclass(frozen=True)
class Filters:
    """The list parameters; all given ones must hold (AND)."""

    search: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    modified_after: datetime | None = None
    minimum_age: int | None = None
    maximum_age: int | None = None
    postcode: str | None = None
    proximity: int | None = None


def _search_ids(engine: SearchEngine, text: str) -> list[str]:
    """Ids of the public services the search backend finds for ``text`` (Dutch analysis:
    compounds, typos, synonyms), at most ``MAX_TOTAL_HITS``."""
    query = SearchQuery(text=text, sort=SortOrder.relevance, page=1, per_page=MAX_TOTAL_HITS)
    try:
        return [hit.id for hit in engine.search(query).hits]
    except SearchUnavailableError as exc:
        raise ServiceUnavailable(
            "Zoeken lukt even niet. Probeer het over een paar minuten opnieuw.",
            headers={"Retry-After": "30"},
        ) from exc


def _near_location_ids(session: Session, point: GeoPoint, radius_m: float) -> list[uuid.UUID]:
    """Locations within ``radius_m`` of ``point``: a bounding box in SQL, then exact distance."""
    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(math.cos(math.radians(point.lat)), 0.01))
    rows = session.exec(
        select(Location.id, Location.latitude, Location.longitude).where(
            col(Location.latitude).between(point.lat - dlat, point.lat + dlat),
            col(Location.longitude).between(point.lng - dlng, point.lng + dlng),
        )
    )
    return [
        loc_id
        for loc_id, lat, lng in rows
        if lat is not None and lng is not None and haversine_m(point, lat, lng) <= radius_m
    ]


def _service_conditions(
    *, session: Session, engine: SearchEngine, filters: Filters
) -> tuple[list[ColumnElement[bool]], list[uuid.UUID] | None]:
    """Conditions on ``Service`` plus the locations near the postcode (None: no postcode)."""
    conditions: list[ColumnElement[bool]] = [service_is_public()]
    if filters.search is not None and tokenize(filters.search):
        ids = [uuid.UUID(i) for i in _search_ids(engine, filters.search)]
        conditions.append(col(Service.id).in_(ids) if ids else false())
    if filters.taxonomy_term_id is not None:
        conditions.append(
            col(Service.id).in_(
                select(ServiceTerm.service_id).where(
                    ServiceTerm.taxonomy_term_id == filters.taxonomy_term_id
                )
            )
        )
    if filters.taxonomy_id is not None:
        conditions.append(
            col(Service.id).in_(
                select(ServiceTerm.service_id)
                .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTerm.taxonomy_term_id))
                .where(TaxonomyTerm.taxonomy_id == filters.taxonomy_id)
            )
        )
    if filters.organization_id is not None:
        conditions.append(col(Service.organization_id) == filters.organization_id)
    # Ages: the service's range overlaps the asked range; an unknown bound is open.
    if filters.minimum_age is not None:
        conditions.append(
            or_(col(Service.maximum_age).is_(None), col(Service.maximum_age) >= filters.minimum_age)
        )
    if filters.maximum_age is not None:
        conditions.append(
            or_(col(Service.minimum_age).is_(None), col(Service.minimum_age) <= filters.maximum_age)
        )
    near: list[uuid.UUID] | None = None
    if filters.proximity is not None and filters.postcode is None:
        raise bad_parameter("proximity", "Geef bij proximity ook een postcode op.")
    if filters.postcode is not None:
        point = resolve_postcode(session, filters.postcode)
        radius = filters.proximity if filters.proximity is not None else DEFAULT_PROXIMITY_M
        near = _near_location_ids(session, point, radius)
    return conditions, near


def services_statement(
    *, session: Session, engine: SearchEngine, filters: Filters
) -> SelectOfScalar[Service]:
    conditions, near = _service_conditions(session=session, engine=engine, filters=filters)
    if filters.modified_after is not None:
        conditions.append(col(Service.updated_at) >= filters.modified_after)
    if near is not None:
        conditions.append(
            col(Service.id).in_(
                select(ServiceAtLocation.service_id).where(
                    col(ServiceAtLocation.location_id).in_(near)
                )
            )
        )
    return select(Service).where(*conditions).order_by(func.lower(Service.name), col(Service.id))


def service_at_locations_statement(
    *, session: Session, engine: SearchEngine, filters: Filters
) -> SelectOfScalar[ServiceAtLocation]:
    conditions, near = _service_conditions(session=session, engine=engine, filters=filters)
    if filters.modified_after is not None:
        conditions.append(
            or_(
                col(Service.updated_at) >= filters.modified_after,
                col(Location.updated_at) >= filters.modified_after,
            )
        )
    if near is not None:
        conditions.append(col(ServiceAtLocation.location_id).in_(near))
    return (
        select(ServiceAtLocation)
        .join(Service, col(Service.id) == col(ServiceAtLocation.service_id))
        .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
        .where(*conditions)
        .order_by(
            func.lower(Service.name),
            func.lower(func.coalesce(Location.name, "")),
            col(ServiceAtLocation.id),
        )
    )


def _name_like(column: Any, text: str | None) -> list[ColumnElement[bool]]:
    # no name holds a NUL, and PostgreSQL refuses one in a string literal (a 500 before)
    text = None if text is None else text.replace("\x00", "")
    if text is None or not text.strip():
        return []
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [func.lower(column).like(f"%{escaped}%", escape="\\")]


def organizations_statement(*, search: str | None) -> SelectOfScalar[Organization]:
    return (
        select(Organization)
        .where(organization_is_public(), *_name_like(Organization.name, search))
        .order_by(func.lower(Organization.name), col(Organization.id))
    )


def taxonomies_statement(*, search: str | None) -> SelectOfScalar[Taxonomy]:
    return (
        select(Taxonomy)
        .where(*_name_like(Taxonomy.name, search))
        .order_by(func.lower(Taxonomy.name), col(Taxonomy.id))
    )


def taxonomy_terms_statement(
    *,
    search: str | None,
    taxonomy_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    top_only: bool,
) -> SelectOfScalar[TaxonomyTerm]:
    conditions = _name_like(TaxonomyTerm.label, search)
    if taxonomy_id is not None:
        conditions.append(col(TaxonomyTerm.taxonomy_id) == taxonomy_id)
    if parent_id is not None:
        conditions.append(col(TaxonomyTerm.parent_id) == parent_id)
    if top_only:
        conditions.append(col(TaxonomyTerm.parent_id).is_(None))
    return (
        select(TaxonomyTerm)
        .where(*conditions)
        .order_by(col(TaxonomyTerm.taxonomy_id), col(TaxonomyTerm.position), col(TaxonomyTerm.id))
    )


# --- paging and streaming ---------------------------------------------------------------------


def page_of(
    session: Session, statement: SelectOfScalar[M], *, page: int, per_page: int
) -> tuple[list[M], int]:
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = list(session.exec(statement.offset((page - 1) * per_page).limit(per_page)))
    return rows, int(total)


def envelope(contents: Sequence[Any], *, total: int, page: int, per_page: int) -> dict[str, Any]:
    """The HSDS Page envelope; ``empty`` is true when this page has no contents."""
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": list(contents),
    }


def batches(session: Session, statement: SelectOfScalar[M]) -> Iterator[list[M]]:
    """All rows of ``statement`` in its order, ``STREAM_BATCH`` at a time (ids first, then
    each batch's rows), so a stream never holds every record in memory."""
    entity = statement.column_descriptions[0]["entity"]
    ids = list(session.scalars(statement.with_only_columns(entity.id)))
    for start in range(0, len(ids), STREAM_BATCH):
        chunk = ids[start : start + STREAM_BATCH]
        rows = {r.id: r for r in session.exec(select(entity).where(col(entity.id).in_(chunk)))}
        yield [rows[i] for i in chunk]
