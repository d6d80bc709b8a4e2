"""Where a location is: the geocoding fallback chain and wijk assignment.

Chain, best first, each result tagged with its precision (``GeoPrecision``):
exact address (an online geocoder such as PDOK, through the cache) > PC6 centroid > PC4
centroid > centroid of the kern > none. Offline (no geocoder configured, or it is down) the
chain simply starts at PC6. Coordinates set by hand (``handmatig``) are never replaced.

Wijk: from the geocoder's CBS wijk/buurt codes (mapped by the municipality's ``cbs_codes``),
else the municipality's postcode ranges, else its GeoJSON boundaries (only for points at
address or PC6 precision — a kern centroid says nothing about the wijk). A wijk set by hand or
named by the source data is never overwritten.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.core.models import utcnow
from app.geo.geocoding import AddressQuery, Geocoder, GeocoderError, GeocodeResult, GeoPrecision
from app.geo.models import GeocodeCache, PostcodeCentroid
from app.geo.service import normalise_postcode
from app.locations.models import Address, Location, NeighbourhoodSource
from app.municipalities.models import Municipality, Neighbourhood, Place

logger = logging.getLogger(__name__)

NOT_FOUND_TTL = timedelta(days=30)  # "not found" answers are asked again after this
BOUNDARY_PRECISIONS = {GeoPrecision.manual, GeoPrecision.address, GeoPrecision.pc6}
_HOUSE_NUMBER = re.compile(r"\b\d+")
_RANGE = re.compile(r"^([1-9][0-9]{3})([A-Z]{2})?(?:-([1-9][0-9]{3})([A-Z]{2})?)?$")


@dataclass
class Located:
    latitude: float
    longitude: float
    precision: GeoPrecision
    postal_code: str | None = None  # normalised, from the address or the geocoder
    city: str | None = None
    cbs_codes: list[str] = field(default_factory=list)  # wijk and buurt codes (PDOK)


# --- the cache --------------------------------------------------------------------------------


def cached_geocode(
    *, session: Session, geocoder: Geocoder, address: AddressQuery
) -> GeocodeResult | None:
    """The geocoder's answer for this address, asked at most once (found answers are kept;
    "not found" for NOT_FOUND_TTL). GeocoderError passes through and is not cached."""
    key = address.key()
    row = session.get(GeocodeCache, (key, geocoder.name))
    now = utcnow()
    if row is not None and (row.expires_at is None or row.expires_at > now):
        return GeocodeResult(**row.result) if row.found and row.result else None
    result = geocoder.geocode(address)
    if row is None:
        row = GeocodeCache(key=key, provider=geocoder.name, found=False)
    row.found = result is not None
    row.result = asdict(result) if result is not None else None
    row.created_at = now
    row.expires_at = None if result is not None else now + NOT_FOUND_TTL
    session.add(row)
    session.flush()
    return result


# --- the chain --------------------------------------------------------------------------------


def address_query(
    session: Session, location: Location, address: Address | None
) -> AddressQuery | None:
    if address is None or not (address.address_1 or "").strip():
        return None
    municipality = session.get(Municipality, location.municipality_id)
    return AddressQuery(
        address_1=address.address_1 or "",
        postal_code=address.postal_code,
        city=address.city,
        municipality_name=municipality.name if municipality else None,
    )


def place_centroid(session: Session, place: Place) -> tuple[float, float] | None:
    """The configured centroid of a kern, else the mean of its PC4 centroids."""
    if place.latitude is not None and place.longitude is not None:
        return place.latitude, place.longitude
    row = session.exec(
        select(func.avg(PostcodeCentroid.latitude), func.avg(PostcodeCentroid.longitude)).where(
            func.length(PostcodeCentroid.postcode) == 4,
            func.lower(PostcodeCentroid.place_name) == place.name.lower(),
        )
    ).one()
    if row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1])


def _place_for(session: Session, location: Location, city: str | None) -> Place | None:
    if location.place_id is not None:
        return session.get(Place, location.place_id)
    if city:
        return session.exec(
            select(Place).where(
                Place.municipality_id == location.municipality_id,
                func.lower(Place.name) == city.strip().lower(),
            )
        ).first()
    return None


def locate(
    *,
    session: Session,
    location: Location,
    address: Address | None,
    geocoder: Geocoder | None,
) -> tuple[Located | None, GeocoderError | None]:
    """The best point the chain finds, and the geocoder's error if it was unreachable (the
    offline part of the chain still answers; the caller retries the geocoder later)."""
    query = address_query(session, location, address)
    error: GeocoderError | None = None
    # Without a house number PDOK would answer with any house in the street: not an address.
    if geocoder is not None and query is not None and _HOUSE_NUMBER.search(query.address_1):
        try:
            found = cached_geocode(session=session, geocoder=geocoder, address=query)
        except GeocoderError as exc:
            found, error = None, exc
        if found is not None:
            codes = [c for c in (found.neighbourhood_code, found.district_code) if c]
            return (
                Located(
                    found.latitude,
                    found.longitude,
                    GeoPrecision.address,
                    normalise_postcode(found.postal_code or "") or None,
                    found.city,
                    codes,
                ),
                None,
            )
    postcode = normalise_postcode(address.postal_code or "") if address else None
    city = address.city if address else None
    if postcode:
        candidates = [(postcode, GeoPrecision.pc6)] if len(postcode) == 6 else []
        candidates.append((postcode[:4], GeoPrecision.pc4))
        for code, precision in candidates:
            row = session.get(PostcodeCentroid, code)
            if row is not None:
                return Located(row.latitude, row.longitude, precision, postcode, city), error
    place = _place_for(session, location, city)
    if place is not None:
        centroid = place_centroid(session, place)
        if centroid is not None:
            return Located(*centroid, GeoPrecision.place, postcode, place.name), error
    return None, error


# --- wijk assignment --------------------------------------------------------------------------


def parse_postcode_range(raw: str) -> tuple[str, str, bool] | None:
    """(lowest PC6, highest PC6, whether it is whole PC4 areas) of "1421", "1422AA-1422BZ",
    "1423-1424" or "1422AB"; None when it is not a range."""
    match = _RANGE.match("".join(raw.upper().split()))
    if not match:
        return None
    low4, low_letters, high4, high_letters = match.groups()
    if high4 is None:
        high4, high_letters = low4, low_letters
    whole = low_letters is None and high_letters is None
    return low4 + (low_letters or "AA"), high4 + (high_letters or "ZZ"), whole


def in_postcode_ranges(postcode: str, ranges: list[str]) -> bool:
    """``1422AB`` in ``["1421", "1422AA-1422BZ", "1423-1424"]`` (bounds inclusive). A PC4
    postcode only matches ranges of whole PC4 areas."""
    for raw in ranges:
        parsed = parse_postcode_range(raw)
        if parsed is None:
            continue
        low, high, whole = parsed
        if len(postcode) == 6 and low <= postcode <= high:
            return True
        if len(postcode) == 4 and whole and low[:4] <= postcode <= high[:4]:
            return True
    return False


def _point_in_ring(lat: float, lng: float, ring: list[Any]) -> bool:
    inside = False
    for i in range(len(ring)):
        x1, y1 = float(ring[i - 1][0]), float(ring[i - 1][1])
        x2, y2 = float(ring[i][0]), float(ring[i][1])
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lng < x_cross:
                inside = not inside
    return inside


def in_boundary(lat: float, lng: float, geometry: dict[str, Any]) -> bool:
    """Point in a GeoJSON Polygon or MultiPolygon (lon/lat order, holes respected)."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    for polygon in polygons:
        if (
            polygon
            and _point_in_ring(lat, lng, polygon[0])
            and not any(_point_in_ring(lat, lng, hole) for hole in polygon[1:])
        ):
            return True
    return False


def find_neighbourhood(
    session: Session, location: Location, located: Located
) -> tuple[Neighbourhood, NeighbourhoodSource] | None:
    wijken = list(
        session.exec(
            select(Neighbourhood)
            .where(Neighbourhood.municipality_id == location.municipality_id)
            .order_by(col(Neighbourhood.slug))
        )
    )
    if located.cbs_codes:
        codes = {c.upper() for c in located.cbs_codes}
        for wijk in wijken:
            if codes & {c.upper() for c in wijk.cbs_codes}:
                return wijk, NeighbourhoodSource.pdok
    if located.postal_code:
        for wijk in wijken:
            if in_postcode_ranges(located.postal_code, wijk.postcode_ranges):
                return wijk, NeighbourhoodSource.postcode
    if located.precision in BOUNDARY_PRECISIONS:
        for wijk in wijken:
            if wijk.boundary and in_boundary(located.latitude, located.longitude, wijk.boundary):
                return wijk, NeighbourhoodSource.boundary
    return None


# --- applying it ------------------------------------------------------------------------------


@dataclass
class GeocodeOutcome:
    precision: GeoPrecision | None  # what the location has now (None: no coordinates)
    changed: bool
    error: GeocoderError | None = None


def geocode_location(
    *, session: Session, location: Location, geocoder: Geocoder | None
) -> GeocodeOutcome:
    """Run the chain for one location and store the result (in the caller's transaction)."""
    address = session.exec(select(Address).where(Address.location_id == location.id)).first()
    before = (
        location.latitude,
        location.longitude,
        location.geo_precision,
        location.neighbourhood_id,
        location.neighbourhood_source,
        location.place_id,
    )
    manual = location.geo_precision == GeoPrecision.manual.value
    located, error = locate(
        session=session,
        location=location,
        address=address,
        geocoder=None if manual else geocoder,  # a point set by hand needs no geocoder
    )
    if not manual:
        if located is not None:
            location.latitude, location.longitude = located.latitude, located.longitude
            location.geo_precision = located.precision.value
        elif error is None:  # nothing is known any more (e.g. the address was removed)
            location.latitude = location.longitude = location.geo_precision = None
        location.geocoded_at = utcnow()
    if located is not None and location.place_id is None and located.city:
        place = _place_for(session, location, located.city)
        if place is not None:
            location.place_id = place.id
    source = (
        NeighbourhoodSource(location.neighbourhood_source)
        if location.neighbourhood_source
        else None
    )
    if source is None or not source.protected:
        point = located
        if manual and location.latitude is not None and location.longitude is not None:
            point = Located(
                location.latitude,
                location.longitude,
                GeoPrecision.manual,
                located.postal_code if located else None,
            )
        found = find_neighbourhood(session, location, point) if point is not None else None
        if found is not None:
            location.neighbourhood_id, location.neighbourhood_source = found[0].id, found[1].value
            if found[0].place_id and location.place_id is None:
                location.place_id = found[0].place_id
        elif source is not None and error is None:
            location.neighbourhood_id = location.neighbourhood_source = None
    after = (
        location.latitude,
        location.longitude,
        location.geo_precision,
        location.neighbourhood_id,
        location.neighbourhood_source,
        location.place_id,
    )
    session.add(location)
    session.flush()
    precision = GeoPrecision(location.geo_precision) if location.geo_precision else None
    return GeocodeOutcome(precision=precision, changed=before != after, error=error)
