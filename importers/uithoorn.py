"""Importer for the Uithoorn dataset format (organisaties → voorzieningen).

Idempotent: the dataset's ids are the slugs; a record whose data did not change is not
written at all, a changed record is updated. Every record is imported in its own savepoint:
a bad record is reported (record, field, why) and the rest goes on.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.errors import ProblemError, dutch_message
from app.core.types import partial_date_floor
from app.geo.geocoding import Geocoder
from app.geo.jobs import PENDING as GEOCODE_PENDING
from app.geo.jobs import GeocodeReport, geocode_one
from app.geo.models import GeocodeJob
from app.locations import service as locations_service
from app.locations.models import Location, NeighbourhoodSource
from app.locations.schemas import LocationCreate, LocationUpdate
from app.municipalities.models import Municipality
from app.municipalities.service import (
    find_neighbourhood_by_name,
    find_place_by_name,
    load_municipality,
    read_municipality_file,
    shipped_municipality_path,
)
from app.organizations import service as organizations_service
from app.organizations.models import Organization, OrganizationKind
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.services import service as services_service
from app.services.models import Service
from app.services.schemas import ServiceCreate, ServiceUpdate
from importers.report import ImportReport

LOCATION_NAMESPACE = uuid.UUID("6f1c1d7e-4f0b-4a51-9a57-5a0c8f3f2b10")

# Dataset field names, to report problems in the words of the file being imported.
_FIELD_NAMES = {
    "name": "naam",
    "description": "beschrijving",
    "themes": "themas",
    "target_groups": "doelgroepen",
    "minimum_age": "leeftijd_min",
    "maximum_age": "leeftijd_max",
    "cost": "kosten",
    "fees_description": "kosten_toelichting",
    "access": "toegang",
    "sources": "bronnen",
    "schedules": "tijden",
    "website": "website",
    "phones": "telefoon",
    "email": "email",
    "kind": "soort",
    "address": "locatie",
    "place": "locatie.plaats",
    "neighbourhood": "locatie.wijk",
}


class RawLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    naam: str | None = None
    straat: str | None = None
    huisnummer: str | None = None
    postcode: str | None = None
    plaats: str | None = None
    wijk: str | None = None


class RawSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    datum: str | None = None


class RawService(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    naam: str
    beschrijving: str | None = None
    themas: list[str] = Field(default_factory=list)
    doelgroepen: list[str] = Field(default_factory=list)
    leeftijd_min: int | None = None
    leeftijd_max: int | None = None
    kosten: str | None = None
    kosten_toelichting: str | None = None
    toegang: str | None = None
    locatie: RawLocation | None = None
    tijden: str | None = None
    bronnen: list[RawSource] = Field(default_factory=list)


class RawOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    naam: str
    website: str | None = None
    telefoon: str | None = None
    email: str | None = None
    soort: str | None = None
    voorzieningen: list[Any] = Field(default_factory=list)


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    if parts:
        parts[0] = _FIELD_NAMES.get(parts[0], parts[0])
    return ".".join(parts) or "(record)"


def _report_validation(report: ImportReport, record: str, exc: ValidationError) -> None:
    for err in exc.errors():
        report.error(record, _field(err["loc"]), dutch_message(dict(err)))


def _report_problem(report: ImportReport, record: str, exc: ProblemError) -> None:
    if exc.errors:
        for e in exc.errors:
            report.error(record, _field(e.field.split(".")), e.message)
    else:
        report.error(record, "(record)", exc.detail)


class UithoornImporter:
    def __init__(
        self,
        *,
        session: Session,
        municipality_config: Path | None = None,
        progress: Callable[[int], None] | None = None,
        geocoder: Geocoder | None = None,
        admit: bool = False,
    ) -> None:
        self.session = session
        self.geocoder = geocoder
        self.admit = admit
        self._touched: dict[str, str] = {}  # organisation slug -> "nieuw" or "bijgewerkt"
        config = read_municipality_file(
            municipality_config or shipped_municipality_path("uithoorn")
        )
        self.municipality: Municipality = load_municipality(
            session=session, config=config
        ).municipality
        self.report = ImportReport()
        self._seen_locations: set[uuid.UUID] = set()
        self._progress = progress or (lambda _n: None)

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("organisaties"), list):
            raise ValueError("Het bestand heeft geen lijst 'organisaties' op het hoogste niveau.")
        return list(data["organisaties"])

    @staticmethod
    def count_records(records: list[dict[str, Any]]) -> int:
        return sum(1 + len(r.get("voorzieningen") or []) for r in records if isinstance(r, dict))

    def run(self, records: list[dict[str, Any]]) -> ImportReport:
        for index, raw in enumerate(records):
            record_id = (
                str(raw.get("id", f"organisaties[{index}]"))
                if isinstance(raw, dict)
                else f"organisaties[{index}]"
            )
            try:
                org = RawOrganization.model_validate(raw)
            except ValidationError as exc:
                _report_validation(self.report, record_id, exc)
                services = raw.get("voorzieningen") if isinstance(raw, dict) else None
                for service_raw in services if isinstance(services, list) else []:
                    sid = service_raw.get("id", "?") if isinstance(service_raw, dict) else "?"
                    self.report.error(
                        str(sid),
                        "(record)",
                        f"Overgeslagen: organisatie '{record_id}' is ongeldig.",
                    )
                self._progress(1 + (len(services) if isinstance(services, list) else 0))
                continue
            ok = self._savepoint(record_id, partial(self._organization, org))
            self._progress(1)
            for service_index, service_raw in enumerate(org.voorzieningen):
                fallback = f"{record_id}.voorzieningen[{service_index}]"
                sid = (
                    str(service_raw.get("id", fallback))
                    if isinstance(service_raw, dict)
                    else fallback
                )
                if not ok:
                    self.report.error(
                        sid,
                        "(record)",
                        f"Overgeslagen: organisatie '{record_id}' kon niet worden opgeslagen.",
                    )
                else:
                    self._service(org.id, sid, service_raw)
                self._progress(1)
        self._geocode()
        self._admission()
        return self.report

    def _admission(self) -> None:
        """Every new or changed organisation goes through admission (app/admission)."""
        from app.admission.importing import admit_imported

        summary = admit_imported(
            session=self.session,
            municipality_id=self.municipality.id,
            organizations=self._touched,
            admit=self.admit,
        )
        for (kind, outcome), n in summary.items():
            self.report.counts[(kind, outcome)] += n

    def _geocode(self) -> None:
        """Run the geocoding chain for every location of this import (offline unless a
        geocoder is given); a location the online geocoder could not reach keeps its job."""
        geo = GeocodeReport()
        for location_id in sorted(self._seen_locations):
            location = self.session.get(Location, location_id)
            if location is None:
                continue
            retry = geocode_one(
                session=self.session, location=location, geocoder=self.geocoder, report=geo
            )
            if not retry:
                self.session.execute(
                    delete(GeocodeJob).where(col(GeocodeJob.location_id) == location_id)
                )
        self.session.info.pop(GEOCODE_PENDING, None)  # done here, not after the commit
        for precision, n in sorted(geo.by_precision.items()):
            self.report.counts[("geocodering", precision)] += n

    def _savepoint(self, record_id: str, work: Callable[[], None]) -> bool:
        try:
            with self.session.begin_nested():
                work()
        except ValidationError as exc:
            _report_validation(self.report, record_id, exc)
            return False
        except ProblemError as exc:
            _report_problem(self.report, record_id, exc)
            return False
        return True

    def _upsert(
        self,
        *,
        kind: str,
        existing: Any,
        create: Callable[[], object],
        update: Callable[[Any], object],
        present: Callable[[Any], BaseModel],
    ) -> str:
        """Create, or update only when the public representation would change; the outcome."""
        if existing is None:
            create()
            self.report.count(kind, "nieuw")
            return "nieuw"
        before = _without_timestamps(present(existing).model_dump(mode="json"))
        savepoint = self.session.begin_nested()
        update(existing)
        after = _without_timestamps(present(existing).model_dump(mode="json"))
        if before == after:
            savepoint.rollback()
            self.report.count(kind, "ongewijzigd")
            return "ongewijzigd"
        savepoint.commit()
        self.report.count(kind, "bijgewerkt")
        return "bijgewerkt"

    # --- organizations -----------------------------------------------------------------

    def _organization(self, raw: RawOrganization) -> None:
        kind = raw.soort if raw.soort in OrganizationKind.__members__ else "overig"
        if raw.soort and kind != raw.soort:
            self.report.warning(
                raw.id, "soort", f"Onbekende soort '{raw.soort}'; opgeslagen als 'overig'."
            )
        payload: dict[str, Any] = {
            "name": raw.naam,
            "website": raw.website,
            "email": raw.email,
            "kind": kind,
            "phones": [{"number": raw.telefoon}] if raw.telefoon else [],
        }
        # The admission status is admission's to set (new: ingediend until evaluated).
        update = OrganizationUpdate.model_validate(payload)
        create = OrganizationCreate.model_validate(
            {
                **payload,
                "municipality": self.municipality.slug,
                "slug": raw.id,
                "admission_status": "ingediend",
            }
        )
        outcome = self._upsert(
            kind="organisatie",
            existing=self.session.exec(
                select(Organization).where(
                    Organization.municipality_id == self.municipality.id,
                    Organization.slug == raw.id,
                )
            ).first(),
            create=lambda: organizations_service.create(session=self.session, data=create),
            update=lambda org: organizations_service.update(
                session=self.session, org=org, data=update
            ),
            present=lambda org: organizations_service.detail(
                session=self.session, org=org, public_services_only=False
            ),
        )
        if outcome != "ongewijzigd":
            self._touched.setdefault(raw.id, outcome)

    # --- services ----------------------------------------------------------------------

    def _service(self, org_slug: str, record_id: str, raw_data: Any) -> None:
        def work() -> None:
            raw = RawService.model_validate(raw_data)
            location_ids = [self._location(raw)] if raw.locatie else []
            payload: dict[str, Any] = {
                "organization": org_slug,
                "name": raw.naam,
                "description": raw.beschrijving,
                "themes": raw.themas,
                "target_groups": raw.doelgroepen,
                "minimum_age": raw.leeftijd_min,
                "maximum_age": raw.leeftijd_max,
                "cost": raw.kosten or "onbekend",
                "fees_description": raw.kosten_toelichting,
                "access": raw.toegang or "onbekend",
                "schedules": [{"description": raw.tijden}] if raw.tijden else [],
                "sources": [{"url": b.url, "date": b.datum} for b in raw.bronnen],
                "locations": [i for i in location_ids if i is not None],
                "service_area": {"extent_type": "municipality"},
                "languages": ["nl"],
                "assured_date": _newest_date(b.datum for b in raw.bronnen),
            }
            update = ServiceUpdate.model_validate(payload)
            create = ServiceCreate.model_validate(
                {
                    **payload,
                    "municipality": self.municipality.slug,
                    "slug": raw.id,
                    "admission_status": "ingediend",
                }
            )
            outcome = self._upsert(
                kind="voorziening",
                existing=self.session.exec(
                    select(Service).where(
                        Service.municipality_id == self.municipality.id, Service.slug == raw.id
                    )
                ).first(),
                create=lambda: services_service.create(session=self.session, data=create),
                update=lambda svc: services_service.update(
                    session=self.session, service=svc, data=update
                ),
                present=lambda svc: services_service.detail(session=self.session, service=svc),
            )
            if outcome != "ongewijzigd":
                self._touched.setdefault(org_slug, "bijgewerkt")

        self._savepoint(record_id, work)

    # --- locations ---------------------------------------------------------------------

    def _location(self, raw: RawService) -> uuid.UUID | None:
        loc = raw.locatie
        assert loc is not None
        street = " ".join(p for p in (loc.straat, loc.huisnummer) if p) or None
        if not (loc.naam or street or loc.plaats):
            return None
        mid = self.municipality.id
        place = (
            find_place_by_name(session=self.session, municipality_id=mid, name=loc.plaats)
            if loc.plaats
            else None
        )
        if loc.plaats and place is None:
            self.report.warning(
                raw.id,
                "locatie.plaats",
                f"Plaats '{loc.plaats}' hoort niet bij {self.municipality.name}; zonder kern opgeslagen.",
            )
        wijk = (
            find_neighbourhood_by_name(session=self.session, municipality_id=mid, name=loc.wijk)
            if loc.wijk
            else None
        )
        if loc.wijk and wijk is None:
            self.report.warning(
                raw.id,
                "locatie.wijk",
                f"Wijk '{loc.wijk}' is niet ingesteld voor {self.municipality.name}; zonder wijk opgeslagen.",
            )
        address: dict[str, Any] | None = None
        if street or loc.postcode or loc.plaats:
            address = {"address_1": street, "postal_code": loc.postcode, "city": loc.plaats}
        # One venue, one location: the key is the venue's name and address (shared by the
        # services held there); a bare "plaats" is only shared within one organisation.
        key_parts = (
            [loc.naam, street, loc.plaats]
            if (loc.naam or street)
            else [raw.id.split("-")[0], loc.plaats]
        )
        key = "|".join(_normalise(p) for p in key_parts)
        location_id = uuid.uuid5(LOCATION_NAMESPACE, f"{self.municipality.code}|{key}")
        values: dict[str, Any] = {
            "name": loc.naam,
            "address": address,
            "place": place.slug if place else None,
            "neighbourhood": wijk.slug if wijk else None,
        }
        existing = self.session.get(Location, location_id)
        if existing is None:
            locations_service.create(
                session=self.session,
                data=LocationCreate.model_validate(
                    {**values, "municipality": self.municipality.slug}
                ),
                location_id=location_id,
                neighbourhood_source=NeighbourhoodSource.source,
            )
            self.report.count("locatie", "nieuw")
            self._seen_locations.add(location_id)
            return location_id
        if existing.id in self._seen_locations:
            # Already written in this run by another service held at the same venue.
            if values["neighbourhood"] and existing.neighbourhood_id is None:
                locations_service.update(
                    session=self.session,
                    location=existing,
                    data=LocationUpdate(neighbourhood=values["neighbourhood"]),
                    neighbourhood_source=NeighbourhoodSource.source,
                )
            return location_id
        self._seen_locations.add(existing.id)
        if not values["neighbourhood"] and existing.neighbourhood_id is not None:
            values.pop("neighbourhood")  # another service at this venue named the wijk
        self._upsert(
            kind="locatie",
            existing=existing,
            create=lambda: None,
            update=lambda current: locations_service.update(
                session=self.session,
                location=current,
                data=LocationUpdate.model_validate(values),
                neighbourhood_source=NeighbourhoodSource.source,
            ),
            present=lambda current: locations_service.present(
                session=self.session, locations=[current]
            )[0],
        )
        return location_id


def _normalise(value: str | None) -> str:
    return re.sub(r"\s+", " ", (value or "").strip().casefold())


def _newest_date(dates: Iterable[str | None]) -> str | None:
    parsed = []
    for value in dates:
        if value and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
            try:
                parsed.append(partial_date_floor(value))
            except ValueError:
                continue
    return max(parsed).isoformat() if parsed else None


def _without_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_timestamps(v)
            for k, v in value.items()
            if k not in {"updated_at", "created_at", "version"}
        }
    if isinstance(value, list):
        return [_without_timestamps(v) for v in value]
    return value
