"""Our rows → HSDS 3.0 objects (see docs/hsds.md for every mapping choice).

Children are loaded in batches for a whole page of parents (one query per kind of child, never
one per parent). Derived objects that have no row of their own (languages, attributes, the
accessibility of a location) get stable ids: ``uuid5(<owner id>, <what>)``.

Professional-only fields (``professional_phone``, ``referral_procedure``,
``internal_remarks``) are never read here.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel import Session, col, func, select

from app.contacts.models import Contact, Phone
from app.core.children import load_owned
from app.core.visibility import service_is_public
from app.hsds import schemas as hsds
from app.locations.models import Address, Location, LocationType
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.organizations.models import Organization, OrganizationIdentifier
from app.schedules.models import Schedule
from app.services.models import (
    ExtentType,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
)
from app.taxonomy.models import Taxonomy, TaxonomyTerm

TERM_LANGUAGE = "nl"

# Dutch names of the languages a service may be offered in (ISO 639-1/639-3 codes).
LANGUAGE_NAMES = {
    "nl": "Nederlands",
    "en": "Engels",
    "de": "Duits",
    "fr": "Frans",
    "es": "Spaans",
    "it": "Italiaans",
    "pt": "Portugees",
    "pl": "Pools",
    "ro": "Roemeens",
    "bg": "Bulgaars",
    "tr": "Turks",
    "ar": "Arabisch",
    "fa": "Perzisch",
    "ti": "Tigrinya",
    "so": "Somalisch",
    "uk": "Oekraïens",
    "ru": "Russisch",
    "zh": "Chinees",
    "ber": "Berbers",
    "fy": "Fries",
    "pap": "Papiaments",
    "srn": "Sranantongo",
    "sgn": "Gebarentaal",
    "ngt": "Nederlandse Gebarentaal",
}


class Shape(StrEnum):
    """How much of a record to show."""

    minimal = "minimal"  # services: id, name, status, last_modified
    basic = "basic"  # one-to-one fields only (the HSDS list shapes)
    full = "full"  # fully nested (the HSDS compiled shapes)


def _time(value: object) -> str | None:
    return value.strftime("%H:%M") if value is not None else None  # type: ignore[attr-defined]


def _extension(value: str | None) -> float | None:
    """HSDS types a phone extension as a number; a non-numeric one is left out."""
    return float(value) if value is not None and value.strip().isdigit() else None


# --- taxonomy -------------------------------------------------------------------------------


def taxonomy(row: Taxonomy) -> hsds.Taxonomy:
    return hsds.Taxonomy(
        id=row.id, name=row.name, description=row.description or "", version=row.version
    )


def taxonomy_term(row: TaxonomyTerm, tax: Taxonomy) -> hsds.TaxonomyTerm:
    return hsds.TaxonomyTerm(
        id=row.id,
        code=row.slug,
        name=row.label,
        description=row.description or "",
        parent_id=row.parent_id,
        taxonomy=tax.slug,
        taxonomy_detail=taxonomy(tax),
        language=TERM_LANGUAGE,
        taxonomy_id=tax.id,
    )


def taxonomies_by_id(session: Session) -> dict[uuid.UUID, Taxonomy]:
    """The few taxonomies (four today), loaded at once."""
    return {t.id: t for t in session.exec(select(Taxonomy))}


# --- small children -------------------------------------------------------------------------


H = TypeVar("H", bound=hsds.HsdsModel)


def from_row(model: type[H], row: object, **values: Any) -> H:
    """``model`` filled from the same-named columns of ``row`` (leaf objects only, whose
    fields are all plain columns), then from ``values``."""
    copied = {
        name: getattr(row, name)
        for name in model.model_fields
        if name not in values and hasattr(row, name)
    }
    return model(**copied, **values)


def phone(row: Phone) -> hsds.Phone:
    return from_row(hsds.Phone, row, extension=_extension(row.extension))


def schedule(row: Schedule) -> hsds.Schedule:
    return from_row(
        hsds.Schedule, row, opens_at=_time(row.opens_at), closes_at=_time(row.closes_at)
    )


def organization_identifier(row: OrganizationIdentifier) -> hsds.OrganizationIdentifier:
    return from_row(hsds.OrganizationIdentifier, row)


def language(service_id: uuid.UUID, code: str) -> hsds.Language:
    return hsds.Language(
        id=uuid.uuid5(service_id, f"language:{code}"),
        service_id=service_id,
        name=LANGUAGE_NAMES.get(code, code),
        code=code,
    )


@dataclass
class Contacts:
    """Contact points of a set of owners, each with its own phones."""

    by_owner: dict[uuid.UUID, list[hsds.Contact]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, owner_field: str, owner_ids: Collection[uuid.UUID]) -> Contacts:
        rows = load_owned(
            session=session, model=Contact, owner_field=owner_field, owner_ids=owner_ids
        )
        contact_ids = [c.id for group in rows.values() for c in group]
        phones = load_owned(
            session=session, model=Phone, owner_field="contact_id", owner_ids=contact_ids
        )
        by_owner = {
            owner: [
                from_row(hsds.Contact, c, phones=[phone(p) for p in phones.get(c.id, [])])
                for c in group
            ]
            for owner, group in rows.items()
        }
        return cls(by_owner=by_owner)

    def of(self, owner_id: uuid.UUID) -> list[hsds.Contact]:
        return self.by_owner.get(owner_id, [])


# --- locations ------------------------------------------------------------------------------


def _area_attribute(location_id: uuid.UUID, kind: str, value: str) -> hsds.Attribute:
    """Kern (``place``) or wijk (``neighbourhood``) of a location: an attribute without a
    taxonomy term, ``link_type`` names the kind of area and ``value`` its name."""
    return hsds.Attribute(
        id=uuid.uuid5(location_id, f"area:{kind}"),
        link_id=location_id,
        link_type=kind,
        link_entity="location",
        value=value,
    )


def locations_full(session: Session, rows: Sequence[Location]) -> dict[uuid.UUID, hsds.Location]:
    """Fully nested locations: address, phones, schedules, accessibility, kern and wijk."""
    ids = [r.id for r in rows]
    if not ids:
        return {}
    addresses = load_owned(session=session, model=Address, owner_field="location_id", owner_ids=ids)
    phones = load_owned(session=session, model=Phone, owner_field="location_id", owner_ids=ids)
    schedules = load_owned(
        session=session, model=Schedule, owner_field="location_id", owner_ids=ids
    )
    place_ids = {r.place_id for r in rows if r.place_id}
    wijk_ids = {r.neighbourhood_id for r in rows if r.neighbourhood_id}
    places = {p.id: p.name for p in session.exec(select(Place).where(col(Place.id).in_(place_ids)))}
    wijken = {
        n.id: n.name
        for n in session.exec(select(Neighbourhood).where(col(Neighbourhood.id).in_(wijk_ids)))
    }
    result: dict[uuid.UUID, hsds.Location] = {}
    for row in rows:
        attributes = []
        if row.place_id in places:
            attributes.append(_area_attribute(row.id, "place", places[row.place_id]))
        if row.neighbourhood_id in wijken:
            attributes.append(
                _area_attribute(row.id, "neighbourhood", wijken[row.neighbourhood_id])
            )
        address_type = "postal" if row.location_type == LocationType.postal.value else "physical"
        result[row.id] = hsds.Location(
            id=row.id,
            location_type=row.location_type,
            url=row.url,
            organization_id=row.organization_id,
            name=row.name,
            description=row.description,
            transportation=row.transportation,
            latitude=row.latitude,
            longitude=row.longitude,
            addresses=[
                hsds.Address(
                    id=a.id,
                    location_id=row.id,
                    address_1=a.address_1 or "",
                    address_2=a.address_2,
                    city=a.city or (places.get(row.place_id, "") if row.place_id else ""),
                    state_province=a.state_province or "",
                    postal_code=a.postal_code or "",
                    country=a.country or "NL",
                    address_type=address_type,
                )
                for a in addresses.get(row.id, [])
            ],
            accessibility=[
                hsds.Accessibility(
                    id=uuid.uuid5(row.id, "accessibility"),
                    location_id=row.id,
                    description=row.accessibility,
                )
            ]
            if row.accessibility
            else [],
            phones=[phone(p) for p in phones.get(row.id, [])],
            schedules=[schedule(s) for s in schedules.get(row.id, [])],
            attributes=attributes,
        )
    return result


# --- services -------------------------------------------------------------------------------


def _service_basic(row: Service) -> hsds.Service:
    return hsds.Service(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        alternate_name=row.alternate_name,
        description=row.description,
        url=row.url,
        email=row.email,
        status="active",  # only public (admitted) listings are ever shown
        application_process=row.application_process,
        fees_description=row.fees_description,
        eligibility_description=row.eligibility_description,
        minimum_age=row.minimum_age,
        maximum_age=row.maximum_age,
        assured_date=row.assured_date,
        last_modified=row.updated_at,
    )


def _service_minimal(row: Service) -> hsds.Service:
    return hsds.Service(id=row.id, name=row.name, status="active", last_modified=row.updated_at)


def _term_attributes(
    session: Session, service_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[hsds.Attribute]]:
    """Themes, target groups, access route and cost class (``service_term``) as attributes."""
    grouped: dict[uuid.UUID, list[hsds.Attribute]] = defaultdict(list)
    if not service_ids:
        return grouped
    taxes = taxonomies_by_id(session)
    rows = session.exec(
        select(ServiceTerm.service_id, TaxonomyTerm)
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTerm.taxonomy_term_id))
        .where(col(ServiceTerm.service_id).in_(list(service_ids)))
        .order_by(col(TaxonomyTerm.taxonomy_id), col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
    )
    for service_id, term in rows:
        grouped[service_id].append(
            hsds.Attribute(
                id=uuid.uuid5(service_id, str(term.id)),
                link_id=service_id,
                taxonomy_term_id=term.id,
                link_type="service",
                link_entity="service",
                value=term.label,
                taxonomy_term=taxonomy_term(term, taxes[term.taxonomy_id]),
            )
        )
    return grouped


def _service_areas(
    session: Session, service_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[hsds.ServiceArea]]:
    rows = load_owned(
        session=session, model=ServiceArea, owner_field="service_id", owner_ids=service_ids
    )
    areas = [a for group in rows.values() for a in group]
    municipalities = {
        m.id: m
        for m in session.exec(
            select(Municipality).where(
                col(Municipality.id).in_({a.municipality_id for a in areas if a.municipality_id})
            )
        )
    }
    places = {
        p.id: p
        for p in session.exec(
            select(Place).where(col(Place.id).in_({a.place_id for a in areas if a.place_id}))
        )
    }
    wijken = {
        n.id: n
        for n in session.exec(
            select(Neighbourhood).where(
                col(Neighbourhood.id).in_({a.neighbourhood_id for a in areas if a.neighbourhood_id})
            )
        )
    }
    result: dict[uuid.UUID, list[hsds.ServiceArea]] = {}
    for service_id, group in rows.items():
        out = []
        for a in group:
            name, extent = a.name, None  # region: its own name
            if a.extent_type == ExtentType.neighbourhood and a.neighbourhood_id in wijken:
                wijk = wijken[a.neighbourhood_id]
                name, extent = wijk.name, (wijk.cbs_codes[0] if wijk.cbs_codes else None)
            elif a.extent_type == ExtentType.place and a.place_id in places:
                name = places[a.place_id].name
            elif a.extent_type == ExtentType.municipality and a.municipality_id in municipalities:
                m = municipalities[a.municipality_id]
                name, extent = m.name, m.code
            out.append(
                hsds.ServiceArea(
                    id=a.id,
                    service_id=service_id,
                    name=name or a.name,
                    description=a.description,
                    extent=extent,
                    extent_type=a.extent_type,
                )
            )
        result[service_id] = out
    return result


def _service_at_locations(
    session: Session, service_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[hsds.ServiceAtLocation]]:
    links = list(
        session.exec(
            select(ServiceAtLocation, Location)
            .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
            .where(col(ServiceAtLocation.service_id).in_(list(service_ids)))
            .order_by(func.lower(func.coalesce(Location.name, "")), col(Location.id))
        )
    )
    locations = locations_full(session, list({loc.id: loc for _, loc in links}.values()))
    grouped: dict[uuid.UUID, list[hsds.ServiceAtLocation]] = defaultdict(list)
    for link, loc in links:
        grouped[link.service_id].append(
            hsds.ServiceAtLocation(
                id=link.id,
                service_id=link.service_id,
                location_id=link.location_id,
                description=link.description,
                location=locations[loc.id],
            )
        )
    return grouped


def organizations_full(
    session: Session, rows: Sequence[Organization], *, services: Shape | None
) -> list[hsds.Organization]:
    """Fully nested organizations; ``services``: also their public services in that shape."""
    ids = [o.id for o in rows]
    phones = load_owned(session=session, model=Phone, owner_field="organization_id", owner_ids=ids)
    identifiers = load_owned(
        session=session, model=OrganizationIdentifier, owner_field="organization_id", owner_ids=ids
    )
    contacts = Contacts.load(session, "organization_id", ids)
    public = list(
        session.exec(
            select(Service)
            .where(col(Service.organization_id).in_(ids), service_is_public())
            .order_by(func.lower(Service.name), col(Service.id))
        )
    )
    # An organization's locations: those where its public services take place.
    links = session.exec(
        select(Service.organization_id, Location)
        .join(ServiceAtLocation, col(ServiceAtLocation.location_id) == col(Location.id))
        .join(Service, col(Service.id) == col(ServiceAtLocation.service_id))
        .where(col(Service.id).in_([s.id for s in public]))
        .order_by(func.lower(func.coalesce(Location.name, "")), col(Location.id))
    ).all()
    full_locations = locations_full(session, list({loc.id: loc for _, loc in links}.values()))
    org_locations: dict[uuid.UUID, dict[uuid.UUID, hsds.Location]] = defaultdict(dict)
    for org_id, loc in links:
        org_locations[org_id][loc.id] = full_locations[loc.id]
    by_org: dict[uuid.UUID, list[hsds.Service]] = defaultdict(list)
    if services is not None:
        for row, out in zip(public, services_out(session, public, shape=services), strict=True):
            by_org[row.organization_id].append(out)
    return [
        organization_basic(o).model_copy(
            update={
                "contacts": contacts.of(o.id),
                "phones": [phone(p) for p in phones.get(o.id, [])],
                "locations": list(org_locations[o.id].values()),
                "organization_identifiers": [
                    organization_identifier(i) for i in identifiers.get(o.id, [])
                ],
                "services": by_org[o.id] if services is not None else None,
            }
        )
        for o in rows
    ]


def organization_basic(row: Organization) -> hsds.Organization:
    return hsds.Organization(
        id=row.id,
        name=row.name,
        alternate_name=row.alternate_name,
        description=row.description or "",
        email=row.email,
        website=row.website,
    )


def services_out(session: Session, rows: Sequence[Service], *, shape: Shape) -> list[hsds.Service]:
    """Services in the given shape; ``full`` loads every kind of child once for all rows."""
    if shape is Shape.minimal:
        return [_service_minimal(r) for r in rows]
    if shape is Shape.basic:
        return [_service_basic(r) for r in rows]
    ids = [r.id for r in rows]
    phones = load_owned(session=session, model=Phone, owner_field="service_id", owner_ids=ids)
    schedules = load_owned(session=session, model=Schedule, owner_field="service_id", owner_ids=ids)
    contacts = Contacts.load(session, "service_id", ids)
    attributes = _term_attributes(session, ids)
    areas = _service_areas(session, ids)
    sals = _service_at_locations(session, ids)
    org_rows = session.exec(
        select(Organization).where(col(Organization.id).in_({r.organization_id for r in rows}))
    ).all()
    orgs = {o.id: o for o in organizations_full(session, org_rows, services=None)}
    return [
        _service_basic(r).model_copy(
            update={
                "phones": [phone(p) for p in phones.get(r.id, [])],
                "schedules": [schedule(s) for s in schedules.get(r.id, [])],
                "service_areas": areas.get(r.id, []),
                "service_at_locations": sals.get(r.id, []),
                "languages": [language(r.id, code) for code in r.languages],
                "organization": orgs.get(r.organization_id),
                "contacts": contacts.of(r.id),
                "attributes": attributes.get(r.id, []),
            }
        )
        for r in rows
    ]


def service_at_locations_out(
    session: Session, rows: Sequence[ServiceAtLocation], *, full: bool
) -> list[hsds.ServiceAtLocation]:
    """Basic: the link's own fields. Full (compiled): the nested location and the full service."""
    basic = [
        hsds.ServiceAtLocation(
            id=r.id, service_id=r.service_id, location_id=r.location_id, description=r.description
        )
        for r in rows
    ]
    if not full:
        return basic
    location_rows = session.exec(
        select(Location).where(col(Location.id).in_({r.location_id for r in rows}))
    ).all()
    locations = locations_full(session, location_rows)
    service_rows = session.exec(
        select(Service).where(col(Service.id).in_({r.service_id for r in rows}))
    ).all()
    services = dict(
        zip(
            [s.id for s in service_rows],
            services_out(session, service_rows, shape=Shape.full),
            strict=True,
        )
    )
    return [
        b.model_copy(
            update={"location": locations[r.location_id], "service": services[r.service_id]}
        )
        for b, r in zip(basic, rows, strict=True)
    ]
