"""What every importer shares: writes through the domain services, one savepoint per record,
idempotent upserts, locations keyed by venue, geocoding and admission at the end.

An importer maps its source format to the same input models the API takes
(``OrganizationCreate``, ``ServiceCreate``, ``LocationCreate`` …) and calls ``upsert_*``;
everything else — validation, term resolution, the search outbox, the audit trail, the
admission of new or changed organisations — is the same path every other write takes.

A record that fails is reported (record, field, problem, suggestion) and skipped; the rest
of the import goes on. A dry run is the same run, rolled back by the caller.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.errors import Conflict, FieldError, ProblemError, dutch_message
from app.core.types import partial_date_floor
from app.geo.geocoding import Geocoder
from app.geo.jobs import PENDING as GEOCODE_PENDING
from app.geo.jobs import GeocodeReport, geocode_one
from app.geo.models import GeocodeJob
from app.locations import service as locations_service
from app.locations.models import Location, NeighbourhoodSource
from app.locations.schemas import LocationCreate, LocationUpdate
from app.municipalities.models import Municipality
from app.municipalities.service import find_neighbourhood_by_name, find_place_by_name
from app.organizations import service as organizations_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.services import service as services_service
from app.services.models import Service
from app.services.schemas import ServiceCreate, ServiceUpdate
from importers.report import ImportReport

LOCATION_NAMESPACE = uuid.UUID("6f1c1d7e-4f0b-4a51-9a57-5a0c8f3f2b10")

# Outcomes as the reports name them (created / updated / unchanged).
CREATED = "nieuw"
UPDATED = "bijgewerkt"
UNCHANGED = "ongewijzigd"


@dataclass(frozen=True)
class Venue:
    """A location as a source names it; one venue (name + address) is one location."""

    name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    neighbourhood: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # Only shared within one organisation when the source names no venue and no street.
    owner_hint: str = ""
    location_id: uuid.UUID | None = None  # the source's own stable id (HSDS), if any

    @property
    def empty(self) -> bool:
        return not (self.name or self.address_1 or self.city or self.postal_code)


class Importer:
    """Base class: subclasses read their format and call the ``upsert_*`` methods."""

    # Field names of the source format, to report problems in the words of the file.
    FIELD_NAMES: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        *,
        session: Session,
        municipality: Municipality,
        progress: Callable[[int], None] | None = None,
        geocoder: Geocoder | None = None,
        admit: bool = False,
    ) -> None:
        self.session = session
        self.municipality = municipality
        self.geocoder = geocoder
        self.admit = admit
        self.report = ImportReport()
        self._touched: dict[str, str] = {}  # organisation slug -> "nieuw" or "bijgewerkt"
        self._seen_locations: set[uuid.UUID] = set()
        self._progress = progress or (lambda _n: None)

    # --- reporting ---------------------------------------------------------------------

    def field_name(self, loc: Iterable[Any]) -> str:
        parts = [str(p) for p in loc if p != "body"]
        if parts:
            parts[0] = self.FIELD_NAMES.get(parts[0], parts[0])
        return ".".join(parts) or "(record)"

    def suggest(self, field: str, message: str) -> str | None:  # noqa: ARG002
        """A hint how to fix a problem in ``field`` (subclasses know their format)."""
        return None

    def report_validation(self, record: str, exc: ValidationError) -> None:
        for err in exc.errors():
            field = self.field_name(err["loc"])
            message = dutch_message(dict(err))
            self.report.error(record, field, message, self.suggest(field, message))

    def report_problem(self, record: str, exc: ProblemError) -> None:
        if exc.errors:
            for e in exc.errors:
                field = self.field_name(e.field.split("."))
                self.report.error(record, field, e.message, self.suggest(field, e.message))
        else:
            self.report.error(record, "(record)", exc.detail)

    # --- transactions ------------------------------------------------------------------

    def savepoint(self, record_id: str, work: Callable[[], None]) -> bool:
        """Run one record's writes in a savepoint; a failure is reported and rolled back,
        and so are the counts of what the record had written before it failed."""
        counts = self.report.counts.copy()
        touched = dict(self._touched)
        seen = set(self._seen_locations)
        try:
            with self.session.begin_nested():
                work()
        except (ValidationError, ProblemError) as exc:
            self.report.counts = counts
            self._touched = touched
            self._seen_locations = seen
            if isinstance(exc, ValidationError):
                self.report_validation(record_id, exc)
            else:
                self.report_problem(record_id, exc)
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
            self.report.count(kind, CREATED)
            return CREATED
        before = _without_timestamps(present(existing).model_dump(mode="json"))
        savepoint = self.session.begin_nested()
        update(existing)
        after = _without_timestamps(present(existing).model_dump(mode="json"))
        if before == after:
            savepoint.rollback()
            self.report.count(kind, UNCHANGED)
            return UNCHANGED
        savepoint.commit()
        self.report.count(kind, UPDATED)
        return UPDATED

    # --- organisations and services ----------------------------------------------------

    def find_organization(
        self, *, slug: str | None = None, organization_id: uuid.UUID | None = None
    ) -> Organization | None:
        """This municipality's organisation by id (a source's stable id) or by slug."""
        if organization_id is not None:
            org = self.session.get(Organization, organization_id)
            if org is not None:
                self._same_municipality(org.municipality_id, "organisatie")
                return org
        if slug is None:
            return None
        return self.session.exec(
            select(Organization).where(
                Organization.municipality_id == self.municipality.id, Organization.slug == slug
            )
        ).first()

    def find_service(
        self, *, slug: str | None = None, service_id: uuid.UUID | None = None
    ) -> Service | None:
        if service_id is not None:
            svc = self.session.get(Service, service_id)
            if svc is not None:
                self._same_municipality(svc.municipality_id, "voorziening")
                return svc
        if slug is None:
            return None
        return self.session.exec(
            select(Service).where(
                Service.municipality_id == self.municipality.id, Service.slug == slug
            )
        ).first()

    def _same_municipality(self, municipality_id: uuid.UUID, noun: str) -> None:
        if municipality_id != self.municipality.id:
            raise Conflict(
                f"Deze {noun} (zelfde id) hoort bij een andere gemeente dan "
                f"{self.municipality.name}; importeer hem daar.",
                errors=[
                    FieldError(field="id", message=f"Id van een {noun} van een andere gemeente.")
                ],
            )

    def upsert_organization(
        self,
        *,
        slug: str | None,
        payload: dict[str, Any],
        organization_id: uuid.UUID | None = None,
    ) -> Organization:
        """Create or update an organisation (matched on the source's id, else on slug; no
        slug: made from the name); ``payload`` holds OrganizationUpdate fields (only the
        fields a source knows: others are left as they are). New organisations are
        ``ingediend`` until admission (at the end of the run) decides."""
        existing = self.find_organization(slug=slug, organization_id=organization_id)
        created: list[Organization] = []
        update = OrganizationUpdate.model_validate(payload)
        outcome = self._upsert(
            kind="organisatie",
            existing=existing,
            create=lambda: created.append(
                organizations_service.create(
                    session=self.session,
                    data=OrganizationCreate.model_validate(
                        {
                            **payload,
                            "municipality": self.municipality.slug,
                            "slug": slug,
                            "admission_status": "ingediend",
                        }
                    ),
                    organization_id=organization_id,
                )
            ),
            update=lambda org: organizations_service.update(
                session=self.session, org=org, data=update
            ),
            present=lambda org: organizations_service.detail(
                session=self.session, org=org, public_services_only=False
            ),
        )
        org = existing if existing is not None else created[0]
        if outcome != UNCHANGED:
            self._touched.setdefault(org.slug, outcome)
        return org

    def upsert_service(
        self,
        *,
        organization_slug: str,
        slug: str | None,
        payload: dict[str, Any],
        service_id: uuid.UUID | None = None,
    ) -> str:
        """Create or update a service (matched on the source's id, else on slug)."""
        existing = self.find_service(slug=slug, service_id=service_id)
        payload = {**payload, "organization": organization_slug}
        update = ServiceUpdate.model_validate(payload)
        outcome = self._upsert(
            kind="voorziening",
            existing=existing,
            create=lambda: services_service.create(
                session=self.session,
                data=ServiceCreate.model_validate(
                    {
                        **payload,
                        "municipality": self.municipality.slug,
                        "slug": slug,
                        "admission_status": "ingediend",
                    }
                ),
                service_id=service_id,
            ),
            update=lambda svc: services_service.update(
                session=self.session, service=svc, data=update
            ),
            present=lambda svc: services_service.detail(session=self.session, service=svc),
        )
        if outcome != UNCHANGED:
            self._touched.setdefault(organization_slug, UPDATED)
        return outcome

    # --- locations ---------------------------------------------------------------------

    def upsert_venue(self, record_id: str, venue: Venue, *, field: str = "locatie") -> uuid.UUID:
        """The location of this venue, created or brought up to date; its id.

        One venue, one location: the key is the venue's name and address (shared by the
        services held there); a bare place name is only shared within one organisation.
        A source's own location id wins over the key.
        """
        mid = self.municipality.id
        place = (
            find_place_by_name(session=self.session, municipality_id=mid, name=venue.city)
            if venue.city
            else None
        )
        if venue.city and place is None:
            self.report.warning(
                record_id,
                f"{field}.plaats",
                f"Plaats '{venue.city}' hoort niet bij {self.municipality.name}; zonder kern opgeslagen.",
            )
        wijk = (
            find_neighbourhood_by_name(
                session=self.session, municipality_id=mid, name=venue.neighbourhood
            )
            if venue.neighbourhood
            else None
        )
        if venue.neighbourhood and wijk is None:
            self.report.warning(
                record_id,
                f"{field}.wijk",
                f"Wijk '{venue.neighbourhood}' is niet ingesteld voor {self.municipality.name}; zonder wijk opgeslagen.",
            )
        address: dict[str, Any] | None = None
        if venue.address_1 or venue.postal_code or venue.city:
            address = {
                "address_1": venue.address_1,
                "address_2": venue.address_2,
                "postal_code": venue.postal_code,
                "city": venue.city,
            }
        location_id = venue.location_id or self.venue_id(venue)
        values: dict[str, Any] = {
            "name": venue.name,
            "address": address,
            "place": place.slug if place else None,
            "neighbourhood": wijk.slug if wijk else None,
        }
        if venue.latitude is not None and venue.longitude is not None:
            values["latitude"] = venue.latitude
            values["longitude"] = venue.longitude
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
            self.report.count("locatie", CREATED)
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

    def venue_id(self, venue: Venue) -> uuid.UUID:
        key_parts = (
            [venue.name, venue.address_1, venue.city]
            if (venue.name or venue.address_1)
            else [venue.owner_hint, venue.city]
        )
        key = "|".join(normalise(p) for p in key_parts)
        return uuid.uuid5(LOCATION_NAMESPACE, f"{self.municipality.code}|{key}")

    # --- the end of a run --------------------------------------------------------------

    def finish(self) -> ImportReport:
        """Geocode this run's locations, then admit what is new or changed."""
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


class ImportFileError(ValueError):
    """The file (or the target) cannot be imported at all; a Dutch message for the user."""


def target_municipality(session: Session, slug: str) -> Municipality:
    """The municipality an import writes into (it must have been loaded)."""
    municipality = session.exec(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise ImportFileError(
            f"Gemeente '{slug}' bestaat niet in deze database. Laad haar eerst met "
            "'sociale-kaart municipality load <yaml>' (de demo laadt 'uithoorn')."
        )
    return municipality


def normalise(value: str | None) -> str:
    return re.sub(r"\s+", " ", (value or "").strip().casefold())


def newest_date(dates: Iterable[str | None]) -> str | None:
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
