"""Locations: presentation and admin writes. Functions flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.policy import can_manage, require_manage
from app.accounts.principal import principal_of
from app.contacts.models import Phone
from app.contacts.schemas import PhonePublic
from app.core.children import load_owned, replace_given
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from app.core.models import PUBLIC_STATUSES, utcnow
from app.core.schemas import Ref
from app.geo.geocoding import GeoPrecision
from app.geo.jobs import enqueue_geocode
from app.indexing.service import enqueue_location
from app.locations.models import Address, Location, NeighbourhoodSource
from app.locations.schemas import AddressPublic, LocationCreate, LocationPublic, LocationUpdate
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.municipalities.service import resolve_municipality, resolve_neighbourhoods, resolve_place
from app.organizations.models import Organization
from app.schedules.models import Schedule
from app.schedules.schemas import SchedulePublic
from app.services.models import Service, ServiceAtLocation


def present(*, session: Session, locations: Sequence[Location]) -> list[LocationPublic]:
    """Public representations of ``locations`` with a fixed number of queries."""
    if not locations:
        return []
    ids = [loc.id for loc in locations]

    def refs(
        model: Any,
        wanted: set[uuid.UUID | None],
    ) -> dict[uuid.UUID, Ref]:
        keys = [k for k in wanted if k is not None]
        if not keys:
            return {}
        return {
            r.id: Ref(slug=r.slug, name=r.name)
            for r in session.exec(select(model).where(col(model.id).in_(keys)))
        }

    municipalities = refs(Municipality, {loc.municipality_id for loc in locations})
    places = refs(Place, {loc.place_id for loc in locations})
    wijken = refs(Neighbourhood, {loc.neighbourhood_id for loc in locations})
    orgs = refs(Organization, {loc.organization_id for loc in locations})
    addresses = {
        a.location_id: a
        for a in session.exec(select(Address).where(col(Address.location_id).in_(ids)))
    }
    phones = load_owned(session=session, model=Phone, owner_field="location_id", owner_ids=ids)
    schedules = load_owned(
        session=session, model=Schedule, owner_field="location_id", owner_ids=ids
    )
    return [
        LocationPublic(
            id=loc.id,
            name=loc.name,
            location_type=loc.location_type,
            description=loc.description,
            url=loc.url,
            address=AddressPublic.model_validate(addresses[loc.id])
            if loc.id in addresses
            else None,
            latitude=loc.latitude,
            longitude=loc.longitude,
            geo_precision=GeoPrecision(loc.geo_precision) if loc.geo_precision else None,
            municipality=municipalities[loc.municipality_id],
            place=places.get(loc.place_id) if loc.place_id else None,
            neighbourhood=wijken.get(loc.neighbourhood_id) if loc.neighbourhood_id else None,
            neighbourhood_source=NeighbourhoodSource(loc.neighbourhood_source)
            if loc.neighbourhood_source
            else None,
            organization=orgs.get(loc.organization_id) if loc.organization_id else None,
            accessibility=loc.accessibility,
            transportation=loc.transportation,
            phones=[PhonePublic.model_validate(p) for p in phones[loc.id]],
            schedules=[SchedulePublic.model_validate(s) for s in schedules[loc.id]],
            updated_at=loc.updated_at,
            version=loc.version,
        )
        for loc in locations
    ]


def get(*, session: Session, location_id: uuid.UUID) -> Location:
    """A location the caller may manage; others' locations are "not found" (no IDOR)."""
    location = session.get(Location, location_id)
    if location is None or not can_manage(
        principal_of(session),
        municipality_id=location.municipality_id,
        organization_id=location.organization_id,
    ):
        raise NotFound(f"Locatie {location_id} bestaat niet.")
    return location


def _check_write(session: Session, location: Location) -> None:
    """Managers of its organisation or municipality. A provider changes a location that an
    admitted (public) voorziening uses only through a submission (app/admission), so the
    admitted address stays until the change is admitted."""
    principal = principal_of(session)
    require_manage(
        principal,
        municipality_id=location.municipality_id,
        organization_id=location.organization_id,
    )
    if principal.role is Role.provider and _used_publicly(session, location.id):
        raise Forbidden(
            "Deze locatie hoort bij een toegelaten voorziening. Geef de wijziging door met een "
            "aanmelding (POST /api/v1/submissions, location_changes); de redactie beoordeelt die."
        )


def _used_publicly(session: Session, location_id: uuid.UUID) -> bool:
    statement = (
        select(func.count())
        .select_from(ServiceAtLocation)
        .join(Service, col(Service.id) == col(ServiceAtLocation.service_id))
        .where(
            ServiceAtLocation.location_id == location_id,
            col(Service.admission_status).in_([s.value for s in PUBLIC_STATUSES]),
        )
    )
    return bool(session.exec(statement).one())


def _apply(
    session: Session,
    location: Location,
    data: LocationCreate | LocationUpdate,
    neighbourhood_source: NeighbourhoodSource = NeighbourhoodSource.manual,
) -> None:
    fields = data.model_fields_set
    municipality_id = location.municipality_id
    if "organization" in fields:
        if data.organization is None:
            location.organization_id = None
        else:
            org = session.exec(
                select(Organization).where(
                    Organization.municipality_id == municipality_id,
                    Organization.slug == data.organization,
                )
            ).first()
            if org is None:
                raise Unprocessable(
                    f"Organisatie '{data.organization}' bestaat niet in deze gemeente.",
                    errors=[
                        FieldError(
                            field="body.organization", message="Deze organisatie bestaat niet."
                        )
                    ],
                )
            location.organization_id = org.id
    if "place" in fields:
        location.place_id = (
            resolve_place(
                session=session,
                municipality_id=municipality_id,
                slug=data.place,
                field="body.place",
            ).id
            if data.place
            else None
        )
    if "neighbourhood" in fields:
        if data.neighbourhood:
            (wijk,) = resolve_neighbourhoods(
                session=session,
                municipality_id=municipality_id,
                slugs=[data.neighbourhood],
                field="body.neighbourhood",
            )
            location.neighbourhood_id = wijk.id
            location.neighbourhood_source = neighbourhood_source.value
            if wijk.place_id and location.place_id is None:
                location.place_id = wijk.place_id
        else:  # cleared: geocoding may derive it again
            location.neighbourhood_id = location.neighbourhood_source = None
    for key in (
        "name",
        "description",
        "url",
        "latitude",
        "longitude",
        "accessibility",
        "transportation",
    ):
        if key in fields:
            setattr(location, key, getattr(data, key))
    if "latitude" in fields:  # coordinates given by hand are exact and never geocoded over
        location.geo_precision = (
            GeoPrecision.manual.value if location.latitude is not None else None
        )
    if "location_type" in fields and data.location_type is not None:
        location.location_type = data.location_type.value
    session.add(location)
    session.flush()
    if "address" in fields:
        existing = session.exec(select(Address).where(Address.location_id == location.id)).first()
        if data.address is None:
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(Address(location_id=location.id, **data.address.model_dump()))
        else:
            for key, value in data.address.model_dump().items():
                setattr(existing, key, value)
    replace_given(
        session=session,
        owner_field="location_id",
        owner_id=location.id,
        children={Phone: data.phones, Schedule: data.schedules},
    )
    session.flush()


def create(
    *,
    session: Session,
    data: LocationCreate,
    location_id: uuid.UUID | None = None,
    neighbourhood_source: NeighbourhoodSource = NeighbourhoodSource.manual,
    authorized: bool = False,
) -> Location:
    """Create a location; it is geocoded after the commit (``app/geo/jobs.py``).
    ``authorized``: the caller (the submission flow) has already checked the principal."""
    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    location = Location(municipality_id=municipality.id, location_type=data.location_type.value)
    if location_id is not None:
        location.id = location_id
    _apply(session, location, data, neighbourhood_source)
    if not authorized:
        _check_write(session, location)
    enqueue_geocode(session=session, location_id=location.id)
    return location


def update(
    *,
    session: Session,
    location: Location,
    data: LocationUpdate,
    neighbourhood_source: NeighbourhoodSource = NeighbourhoodSource.manual,
    authorized: bool = False,
) -> Location:
    """``authorized``: the caller (the submission flow) has already checked the principal."""
    if not authorized:
        _check_write(session, location)
    _apply(session, location, data, neighbourhood_source)
    if not authorized:
        _check_write(session, location)  # also where it moved to
    location.updated_at = utcnow()
    session.flush()
    enqueue_location(session=session, location_id=location.id)
    enqueue_geocode(session=session, location_id=location.id)
    return location


def delete(*, session: Session, location: Location) -> None:
    _check_write(session, location)
    in_use = session.exec(
        select(func.count())
        .select_from(ServiceAtLocation)
        .where(ServiceAtLocation.location_id == location.id)
    ).one()
    if in_use:
        raise Conflict(
            f"Deze locatie wordt nog door {in_use} voorziening(en) gebruikt. Haal haar daar eerst weg."
        )
    session.delete(location)
    session.flush()
