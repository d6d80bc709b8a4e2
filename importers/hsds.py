"""Import Open Referral HSDS 3.0 JSON: ``service_full`` or ``organization_full`` documents,
a list of them, or ndjson (one document per line, as ``GET /hsds/services?format=ndjson`` and
``sociale-kaart export hsds`` write).

The HSDS ids are kept: a service or organisation is matched on its id (so a second import
changes nothing, and an export of ours imports back onto the same records). Terms are
matched on our taxonomy (``attributes`` whose ``taxonomy_term`` belongs to ``themes``,
``target-groups``, ``access-routes`` or ``costs``, by term id, slug or label); terms of
other taxonomies are reported as a warning and left out. Everything goes through the same
services and admission as every other write (importers/base.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session, col, select

from app.core.errors import FieldError, Unprocessable
from app.geo.geocoding import Geocoder
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from app.taxonomy.service import TaxonomyKey
from importers.base import Importer, ImportFileError, Venue
from importers.report import ImportReport

# Which of our service fields a taxonomy fills.
_TERM_FIELDS: dict[TaxonomyKey, str] = {
    TaxonomyKey.themes: "themes",
    TaxonomyKey.target_groups: "target_groups",
    TaxonomyKey.access_routes: "access",
    TaxonomyKey.costs: "cost",
}
_IDENTIFIER_TYPES = {"kvk": "kvk", "kvk-nummer": "kvk", "kvk_number": "kvk", "agb": "agb"}
INACTIVE = ("inactive", "defunct", "temporarily closed")


@dataclass(frozen=True)
class HsdsRecord:
    label: str  # where in the file: "regel 3" (ndjson) or "[2]" (a list) or "document"
    data: Any


def read(path: Path) -> list[HsdsRecord]:
    """The documents of a file: one JSON document, a JSON list, or ndjson."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.strip()
    if not stripped:
        raise ImportFileError("Het bestand is leeg.")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    else:
        if isinstance(whole, list):
            return [HsdsRecord(f"[{i}]", d) for i, d in enumerate(whole)]
        if isinstance(whole, dict) and isinstance(whole.get("contents"), list):
            # An HSDS Page (a list response saved from an API).
            return [HsdsRecord(f"contents[{i}]", d) for i, d in enumerate(whole["contents"])]
        return [HsdsRecord("document", whole)]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(HsdsRecord(f"regel {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"Regel {number} is geen geldige JSON ({exc.msg}). Gebruik één JSON-document, "
                "een JSON-lijst of ndjson (één document per regel)."
            ) from exc
    return records


# --- the HSDS shapes we read (unknown HSDS fields are allowed and ignored) ----------------


class _Hsds(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        """HSDS requires some strings (address.postal_code, state_province…): an empty one
        means "not known" — for us, absent."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


class HPhone(_Hsds):
    number: str
    extension: str | int | None = None
    type: str | None = None
    description: str | None = None


class HContact(_Hsds):
    name: str | None = None
    title: str | None = None
    department: str | None = None
    email: str | None = None


class HSchedule(_Hsds):
    freq: str | None = None
    interval: int | None = None
    byday: str | None = None
    bymonthday: str | None = None
    dtstart: str | None = None
    until: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    description: str | None = None
    attending_type: str | None = None
    notes: str | None = None
    schedule_link: str | None = None


class HAddress(_Hsds):
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    address_type: str | None = None


class HLocation(_Hsds):
    id: uuid.UUID | None = None
    location_type: str | None = None
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    addresses: list[HAddress] = Field(default_factory=list)
    attributes: list[HAttribute] = Field(default_factory=list)


class HServiceAtLocation(_Hsds):
    location: HLocation | None = None
    location_id: uuid.UUID | None = None


class HTaxonomyDetail(_Hsds):
    id: uuid.UUID | None = None
    name: str | None = None


class HTerm(_Hsds):
    id: uuid.UUID | None = None
    code: str | None = None
    name: str | None = None
    taxonomy: str | None = None
    taxonomy_id: uuid.UUID | None = None
    taxonomy_detail: HTaxonomyDetail | None = None


class HAttribute(_Hsds):
    link_type: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_term: HTerm | None = None
    value: str | None = None


class HServiceArea(_Hsds):
    name: str | None = None
    description: str | None = None
    extent: str | None = None
    extent_type: str | None = None


class HLanguage(_Hsds):
    code: str | None = None
    name: str | None = None


class HIdentifier(_Hsds):
    identifier_type: str
    identifier: str


class HOrganization(_Hsds):
    id: uuid.UUID
    name: str
    alternate_name: str | None = None
    description: str | None = None
    email: str | None = None
    website: str | None = None
    phones: list[HPhone] = Field(default_factory=list)
    contacts: list[HContact] = Field(default_factory=list)
    organization_identifiers: list[HIdentifier] = Field(default_factory=list)
    services: list[Any] = Field(default_factory=list)


class HService(_Hsds):
    id: uuid.UUID
    name: str
    status: str = "active"
    organization_id: uuid.UUID | None = None
    organization: HOrganization | None = None
    alternate_name: str | None = None
    description: str | None = None
    url: str | None = None
    email: str | None = None
    eligibility_description: str | None = None
    application_process: str | None = None
    fees_description: str | None = None
    fees: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    assured_date: str | None = None
    phones: list[HPhone] = Field(default_factory=list)
    contacts: list[HContact] = Field(default_factory=list)
    schedules: list[HSchedule] = Field(default_factory=list)
    service_areas: list[HServiceArea] = Field(default_factory=list)
    service_at_locations: list[HServiceAtLocation] = Field(default_factory=list)
    languages: list[HLanguage] = Field(default_factory=list)
    attributes: list[HAttribute] = Field(default_factory=list)


HLocation.model_rebuild()

_FIELD_NAMES = {
    "themes": "attributes (themes)",
    "target_groups": "attributes (target-groups)",
    "access": "attributes (access-routes)",
    "cost": "attributes (costs)",
    "identifiers": "organization_identifiers",
    "service_area": "service_areas",
    "locations": "service_at_locations",
    "website": "website",
}


def _is_organization(doc: dict[str, Any]) -> bool:
    return "services" in doc or not ({"status", "organization", "organization_id"} & doc.keys())


class HsdsImporter(Importer):
    FIELD_NAMES = _FIELD_NAMES

    def __init__(
        self,
        *,
        session: Session,
        municipality: Municipality,
        progress: Callable[[int], None] | None = None,
        geocoder: Geocoder | None = None,
        admit: bool = False,
    ) -> None:
        super().__init__(
            session=session,
            municipality=municipality,
            progress=progress,
            geocoder=geocoder,
            admit=admit,
        )
        self._terms = _TermIndex(session)
        self._places = list(
            session.exec(select(Place).where(Place.municipality_id == municipality.id))
        )
        self._wijken = list(
            session.exec(
                select(Neighbourhood).where(Neighbourhood.municipality_id == municipality.id)
            )
        )

    @staticmethod
    def count_records(records: list[HsdsRecord]) -> int:
        return len(records)

    def run(self, records: list[HsdsRecord]) -> ImportReport:
        for record in records:
            self._document(record)
            self._progress(1)
        return self.finish()

    # --- documents ---------------------------------------------------------------------

    def _document(self, record: HsdsRecord) -> None:
        doc = record.data
        if not isinstance(doc, dict):
            self.report.error(record.label, "(record)", "Geen JSON-object (HSDS-document).")
            return
        label = f"{record.label} ({doc.get('id', 'zonder id')})"
        if _is_organization(doc):
            try:
                org = HOrganization.model_validate(doc)
            except ValidationError as exc:
                self.report_validation(label, exc)
                return
            slug: list[str] = []
            if not self.savepoint(label, lambda: slug.append(self._organization(org))):
                for i, _ in enumerate(org.services):
                    self.report.error(
                        f"{label}.services[{i}]",
                        "(record)",
                        "Overgeslagen: de organisatie kon niet worden opgeslagen.",
                    )
                return
            for i, raw in enumerate(org.services):
                self._service(f"{label}.services[{i}]", raw, organization_slug=slug[0])
            return
        self._service(label, doc, organization_slug=None)

    def _organization(self, org: HOrganization) -> str:
        identifiers = []
        for ident in org.organization_identifiers:
            kind = _IDENTIFIER_TYPES.get(ident.identifier_type.strip().casefold())
            if kind is None:
                self.report.warning(
                    str(org.id),
                    "organization_identifiers",
                    f"Soort nummer '{ident.identifier_type}' kennen we niet; overgeslagen.",
                    "Gebruik 'kvk' of 'agb'.",
                )
                continue
            identifiers.append({"type": kind, "identifier": ident.identifier})
        payload: dict[str, Any] = {
            "name": org.name,
            "alternate_name": org.alternate_name,
            "description": org.description,
            "website": org.website,
            "email": org.email,
            "identifiers": identifiers,
            "phones": [_phone(p) for p in org.phones],
            "contacts": [c.model_dump(exclude_none=True) for c in org.contacts],
        }
        existing = self.find_organization(organization_id=org.id)
        return self.upsert_organization(
            slug=existing.slug if existing else None, payload=payload, organization_id=org.id
        ).slug

    def _service(self, label: str, raw: Any, *, organization_slug: str | None) -> None:
        def work() -> None:
            svc = HService.model_validate(raw)
            if svc.status in INACTIVE:
                self.report.warning(
                    label,
                    "status",
                    f"Status '{svc.status}': niet geïmporteerd (alleen actieve voorzieningen).",
                )
                self.report.count("voorziening", f"overgeslagen ({svc.status})")
                return
            org_slug = organization_slug or self._service_organization(svc)
            existing = self.find_service(service_id=svc.id)
            payload = self._service_payload(label, svc)
            self.upsert_service(
                organization_slug=org_slug,
                slug=existing.slug if existing else None,  # new: made from the name
                payload=payload,
                service_id=svc.id,
            )

        self.savepoint(label, work)

    def _service_organization(self, svc: HService) -> str:
        if svc.organization is not None:
            return self._organization(svc.organization)
        if svc.organization_id is not None:
            org = self.find_organization(organization_id=svc.organization_id)
            if org is not None:
                return org.slug
        raise Unprocessable(
            "Deze voorziening noemt geen (bekende) organisatie.",
            errors=[
                FieldError(
                    field="organization",
                    message="Geef 'organization' mee, of een organization_id die al bestaat.",
                )
            ],
        )

    def _service_payload(self, label: str, svc: HService) -> dict[str, Any]:
        terms = self._terms.fields_for(svc.attributes, self.report, label)
        for field in ("access", "cost"):
            if len(terms.get(field, [])) > 1:
                self.report.warning(
                    label,
                    self.field_name([field]),
                    f"Meer dan één term ({', '.join(terms[field])}); de eerste is gebruikt.",
                )
        payload: dict[str, Any] = {
            "name": svc.name,
            "alternate_name": svc.alternate_name,
            "description": svc.description,
            "url": svc.url,
            "email": svc.email,
            "eligibility_description": svc.eligibility_description,
            "application_process": svc.application_process,
            "fees_description": svc.fees_description or svc.fees,
            "minimum_age": _whole(svc.minimum_age),
            "maximum_age": _whole(svc.maximum_age),
            "assured_date": svc.assured_date,
            "languages": [lang.code for lang in svc.languages if lang.code] or ["nl"],
            "phones": [_phone(p) for p in svc.phones],
            "contacts": [c.model_dump(exclude_none=True) for c in svc.contacts],
            "schedules": [s.model_dump(exclude_none=True) for s in svc.schedules],
            "service_area": self._service_area(label, svc.service_areas),
            "locations": [
                location_id
                for sal in svc.service_at_locations
                if (location_id := self._location(label, sal)) is not None
            ],
            "themes": terms.get("themes", []),
            "target_groups": terms.get("target_groups", []),
            "access": next(iter(terms.get("access", [])), None),
            "cost": next(iter(terms.get("cost", [])), None),
        }
        return payload

    def _service_area(self, label: str, areas: list[HServiceArea]) -> dict[str, Any]:
        """Our werkgebied from HSDS service_areas: a kern or wijk of this gemeente by name,
        the gemeente itself, or else a named region."""
        if not areas:
            return {"extent_type": "municipality"}
        places, wijken, regions = [], [], []
        for area in areas:
            name = (area.name or area.extent or "").strip()
            folded = name.casefold()
            if folded in {self.municipality.name.casefold(), self.municipality.slug}:
                return {"extent_type": "municipality"}
            if place := next(
                (p for p in self._places if folded in {p.name.casefold(), p.slug}), None
            ):
                places.append(place.slug)
            elif wijk := next(
                (w for w in self._wijken if folded in {w.name.casefold(), w.slug}), None
            ):
                wijken.append(wijk.slug)
            elif name:
                regions.append(name)
        if places:
            return {"extent_type": "place", "places": places}
        if wijken:
            return {"extent_type": "neighbourhood", "neighbourhoods": wijken}
        if regions:
            return {"extent_type": "region", "name": regions[0][:200]}
        self.report.warning(label, "service_areas", "Werkgebied zonder naam; de hele gemeente.")
        return {"extent_type": "municipality"}

    def _location(self, label: str, sal: HServiceAtLocation) -> uuid.UUID | None:
        loc = sal.location
        if loc is None:
            if sal.location_id is not None:
                from app.locations.models import Location

                if self.session.get(Location, sal.location_id) is not None:
                    return sal.location_id
            self.report.warning(
                label, "service_at_locations", "Locatie zonder gegevens; overgeslagen."
            )
            return None
        if loc.location_type == "virtual":
            return None  # online: the service's url says where
        address = next(
            (a for a in loc.addresses if a.address_type in (None, "physical")),
            loc.addresses[0] if loc.addresses else None,
        )
        # Our own export names the wijk as a location attribute (docs/hsds.md).
        wijk = next(
            (a.value for a in loc.attributes if a.link_type == "neighbourhood" and a.value),
            None,
        )
        venue = Venue(
            name=loc.name,
            address_1=address.address_1 if address else None,
            address_2=address.address_2 if address else None,
            postal_code=address.postal_code if address else None,
            city=address.city if address else None,
            neighbourhood=wijk,
            latitude=loc.latitude,
            longitude=loc.longitude,
            location_id=loc.id,
        )
        if venue.empty and venue.latitude is None:
            return None
        return self.upsert_venue(label, venue, field="service_at_locations.location")


def _phone(phone: HPhone) -> dict[str, Any]:
    values: dict[str, Any] = {"number": phone.number}
    if phone.extension not in (None, ""):
        values["extension"] = str(phone.extension)
    if phone.type:
        values["type"] = phone.type
    if phone.description:
        values["description"] = phone.description
    return values


def _whole(value: float | None) -> int | float | None:
    """HSDS ages are numbers; ours are whole years (a fraction is reported by validation)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


class _TermIndex:
    """Our taxonomy terms, found by id, by (taxonomy, slug) or by (taxonomy, label)."""

    def __init__(self, session: Session) -> None:
        rows = session.exec(
            select(TaxonomyTerm, Taxonomy).where(col(TaxonomyTerm.taxonomy_id) == Taxonomy.id)
        ).all()
        self.by_id: dict[uuid.UUID, tuple[TaxonomyKey, str]] = {}
        self.by_name: dict[tuple[TaxonomyKey, str], str] = {}
        self.taxonomy_names: dict[str, TaxonomyKey] = {}
        for term, taxonomy in rows:
            if taxonomy.slug not in {k.value for k in TaxonomyKey}:
                continue
            key = TaxonomyKey(taxonomy.slug)
            self.by_id[term.id] = (key, term.slug)
            self.by_name[(key, term.slug)] = term.slug
            self.by_name[(key, term.label.casefold())] = term.slug
            self.taxonomy_names[taxonomy.slug] = key
            self.taxonomy_names[taxonomy.name.casefold()] = key
            self.taxonomy_names[str(taxonomy.id)] = key

    def _taxonomy(self, term: HTerm) -> TaxonomyKey | None:
        for candidate in (
            term.taxonomy,
            str(term.taxonomy_id) if term.taxonomy_id else None,
            term.taxonomy_detail.name if term.taxonomy_detail else None,
            str(term.taxonomy_detail.id)
            if term.taxonomy_detail and term.taxonomy_detail.id
            else None,
        ):
            if candidate and (key := self.taxonomy_names.get(candidate.casefold())):
                return key
        return None

    def fields_for(
        self, attributes: list[HAttribute], report: ImportReport, label: str
    ) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for attribute in attributes:
            found = self._find(attribute)
            if found is None:
                term = attribute.taxonomy_term
                what = (term.name or term.code) if term else str(attribute.taxonomy_term_id)
                report.warning(
                    label,
                    "attributes",
                    f"Term '{what}' hoort niet bij onze taxonomie; overgeslagen.",
                    "Gebruik de termen van GET /hsds/taxonomy_terms.",
                )
                continue
            key, slug = found
            values = fields.setdefault(_TERM_FIELDS[key], [])
            if slug not in values:
                values.append(slug)
        return fields

    def _find(self, attribute: HAttribute) -> tuple[TaxonomyKey, str] | None:
        term = attribute.taxonomy_term
        for term_id in (attribute.taxonomy_term_id, term.id if term else None):
            if term_id is not None and term_id in self.by_id:
                return self.by_id[term_id]
        if term is None:
            return None
        key = self._taxonomy(term)
        if key is None:
            return None
        for name in (term.code, term.name):
            if name and (slug := self.by_name.get((key, name.strip().casefold()))):
                return key, slug
        return None
