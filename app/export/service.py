"""CSV rows of listings in the columns of importers/columns.py (the import template).

One row per voorziening with its main location and its organisation; the same function
serves ``sociale-kaart export csv`` (staff, all listings, professional columns) and the
public ``GET /api/v1/export/services.csv`` (public listings only, no professional columns).
The importer uses it too, to see which cells of a file differ from what is stored.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.contacts.models import Phone
from app.core.children import load_owned
from app.core.visibility import service_is_public
from app.locations import service as locations_service
from app.locations.models import Location
from app.locations.schemas import LocationPublic
from app.municipalities.models import Neighbourhood, Place
from app.organizations import service as organizations_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationDetail
from app.schedules.models import Schedule
from app.services import service as services_service
from app.services.models import ExtentType, Service, ServiceArea, ServiceAtLocation, ServiceSource
from importers.columns import HEADER, LIST_SEPARATOR, PUBLIC_HEADER

BOM = "\ufeff"
DELIMITER = ";"  # what Dutch Excel expects; the importer reads ';' and ','
BATCH = 200
# Cells starting with one of these would be a formula in a spreadsheet (CSV injection): the
# export writes a leading apostrophe, the importer takes exactly that apostrophe off again.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_PROTECTED = re.compile(r"^'+[=+\-@\t\r]")

Row = dict[str, str]


def protect(value: str) -> str:
    return f"'{value}" if _FORMULA.match(value) else value


def unprotect(value: str) -> str:
    return value[1:] if _PROTECTED.match(value) else value


def join(values: Iterable[str | None]) -> str:
    return f"{LIST_SEPARATOR} ".join(v for v in values if v)


def header(*, public: bool) -> tuple[str, ...]:
    return PUBLIC_HEADER if public else HEADER


# --- rows ------------------------------------------------------------------------------------


def main_locations(
    session: Session, service_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Location]]:
    """Each service's locations, main location (the first by name) first."""
    grouped: dict[uuid.UUID, list[Location]] = defaultdict(list)
    if not service_ids:
        return grouped
    rows = session.exec(
        select(ServiceAtLocation.service_id, Location)
        .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
        .where(col(ServiceAtLocation.service_id).in_(list(service_ids)))
        .order_by(col(Location.name).is_(None), col(Location.name), col(Location.id))
    )
    for service_id, location in rows:
        grouped[service_id].append(location)
    return grouped


def _service_areas(session: Session, service_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    areas: dict[uuid.UUID, list[ServiceArea]] = defaultdict(list)
    for area in session.exec(
        select(ServiceArea).where(col(ServiceArea.service_id).in_(list(service_ids)))
    ):
        areas[area.service_id].append(area)
    place_ids = {a.place_id for rows in areas.values() for a in rows if a.place_id}
    wijk_ids = {a.neighbourhood_id for rows in areas.values() for a in rows if a.neighbourhood_id}
    names: dict[uuid.UUID, str] = {}
    if place_ids:
        names.update(
            (row[0], row[1])
            for row in session.exec(
                select(Place.id, Place.name).where(col(Place.id).in_(place_ids))
            )
        )
    if wijk_ids:
        names.update(
            (row[0], row[1])
            for row in session.exec(
                select(Neighbourhood.id, Neighbourhood.name).where(
                    col(Neighbourhood.id).in_(wijk_ids)
                )
            )
        )
    return {service_id: service_area_text(rows, names) for service_id, rows in areas.items()}


def service_area_text(rows: Sequence[ServiceArea], names: dict[uuid.UUID, str]) -> str:
    """'gemeente', 'kern: De Kwakel', 'wijk: Oude Dorp; Thamerdal' or 'regio: Amstelland'."""
    kind = rows[0].extent_type
    if kind == ExtentType.place:
        return "kern: " + join(sorted(names[r.place_id] for r in rows if r.place_id))
    if kind == ExtentType.neighbourhood:
        return "wijk: " + join(
            sorted(names[r.neighbourhood_id] for r in rows if r.neighbourhood_id)
        )
    if kind == ExtentType.region:
        return f"regio: {rows[0].name}"
    return "gemeente"


def _schedule_text(schedule: Schedule) -> str:
    if schedule.description:
        return schedule.description
    parts = [schedule.freq or "", schedule.byday or ""]
    if schedule.opens_at and schedule.closes_at:
        parts.append(f"{schedule.opens_at:%H:%M}-{schedule.closes_at:%H:%M}")
    return " ".join(p for p in parts if p) or "zie website"


def _location_cells(location: LocationPublic | None) -> Row:
    if location is None:
        return {"locatie_naam": "", "adres": "", "postcode": "", "plaats": "", "wijk": ""}
    address = location.address
    city = (address.city if address else None) or (location.place.name if location.place else "")
    return {
        "locatie_naam": location.name or "",
        "adres": (address.address_1 if address else None) or "",
        "postcode": (address.postal_code if address else None) or "",
        "plaats": city or "",
        "wijk": location.neighbourhood.name if location.neighbourhood else "",
    }


def organization_cells(org: OrganizationDetail) -> Row:
    kvk = next((i.identifier for i in org.identifiers if i.type == "kvk"), "")
    return {
        "organisatie_slug": org.slug,
        "organisatie_naam": org.name,
        "organisatie_beschrijving": org.description or "",
        "organisatie_website": org.website or "",
        "organisatie_email": org.email or "",
        "organisatie_telefoon": join(p.number for p in org.phones),
        "organisatie_soort": org.kind,
        "kvk_nummer": kvk,
    }


class OrganizationCells:
    """Organisation columns, looked up once per organisation."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[uuid.UUID, Row] = {}

    def __call__(self, organization_id: uuid.UUID) -> Row:
        if organization_id not in self._cache:
            org = self.session.get(Organization, organization_id)
            assert org is not None
            detail = organizations_service.detail(
                session=self.session, org=org, public_services_only=False
            )
            self._cache[organization_id] = organization_cells(detail)
        return self._cache[organization_id]

    def forget(self, organization_id: uuid.UUID) -> None:
        self._cache.pop(organization_id, None)


def service_rows(
    *,
    session: Session,
    services: Sequence[Service],
    organizations: OrganizationCells | None = None,
) -> list[Row]:
    """The rows of these services (every column; public exports leave some out)."""
    if not services:
        return []
    ids = [s.id for s in services]
    organizations = organizations or OrganizationCells(session)
    summaries = {s.id: s for s in services_service.summaries(session=session, services=services)}
    phones = load_owned(session=session, model=Phone, owner_field="service_id", owner_ids=ids)
    schedules = load_owned(session=session, model=Schedule, owner_field="service_id", owner_ids=ids)
    sources = load_owned(
        session=session, model=ServiceSource, owner_field="service_id", owner_ids=ids
    )
    areas = _service_areas(session, ids)
    located = main_locations(session, ids)
    mains = [locs[0] for locs in located.values() if locs]
    presented = {loc.id: loc for loc in locations_service.present(session=session, locations=mains)}
    rows: list[Row] = []
    for service in services:
        summary = summaries[service.id]
        main = located[service.id][0].id if located[service.id] else None
        row: Row = {
            "voorziening_id": str(service.id),
            "voorziening_slug": service.slug,
            "naam": service.name,
            "alternatieve_naam": service.alternate_name or "",
            "beschrijving": service.description or "",
            "website": service.url or "",
            "email": service.email or "",
            "telefoon": join(p.number for p in phones[service.id]),
            "themas": join(t.slug for t in summary.themes),
            "doelgroepen": join(t.slug for t in summary.target_groups),
            "toegang": summary.access.slug if summary.access else "",
            "kosten": summary.cost.slug if summary.cost else "",
            "kosten_toelichting": service.fees_description or "",
            "leeftijd_min": _text(service.minimum_age),
            "leeftijd_max": _text(service.maximum_age),
            "voorwaarden": service.eligibility_description or "",
            "aanmelden": service.application_process or "",
            "talen": join(service.languages),
            "werkgebied": areas.get(service.id, ""),
            **_location_cells(presented.get(main) if main else None),
            "openingstijden": join(_schedule_text(s) for s in schedules[service.id]),
            "bronnen": join(
                f"{s.url} ({s.source_date})" if s.source_date else s.url
                for s in sources[service.id]
            ),
            "gecontroleerd_op": service.assured_date.isoformat() if service.assured_date else "",
            **organizations(service.organization_id),
            "telefoon_professionals": service.professional_phone or "",
            "verwijsprocedure": service.referral_procedure or "",
            "interne_opmerkingen": service.internal_remarks or "",
        }
        rows.append(row)
    return rows


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


# --- files -----------------------------------------------------------------------------------


def service_ids(
    *, session: Session, municipality_id: uuid.UUID | None, public: bool
) -> list[uuid.UUID]:
    statement = select(Service.id)
    if public:
        statement = statement.where(service_is_public())
    if municipality_id is not None:
        statement = statement.where(Service.municipality_id == municipality_id)
    return list(session.exec(statement.order_by(func.lower(Service.name), col(Service.id))).all())


def csv_text(rows: Iterable[Row], columns: Sequence[str], *, with_header: bool = False) -> str:
    """Rows as CSV text (';', CRLF, formula-protected cells)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    if with_header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([protect(row.get(c, "")) for c in columns])
    return out.getvalue()


def iter_csv(
    *, session: Session, municipality_id: uuid.UUID | None, public: bool, batch: int = BATCH
) -> Iterator[str]:
    """The whole export as CSV chunks: BOM and header first, then one chunk per batch."""
    columns = header(public=public)
    yield BOM + csv_text([], columns, with_header=True)
    ids = service_ids(session=session, municipality_id=municipality_id, public=public)
    organizations = OrganizationCells(session)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        by_id = {s.id: s for s in session.exec(select(Service).where(col(Service.id).in_(chunk)))}
        services = [by_id[i] for i in chunk if i in by_id]
        yield csv_text(
            service_rows(session=session, services=services, organizations=organizations),
            columns,
        )
