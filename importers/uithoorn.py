"""Importer for the Uithoorn dataset format (organisaties → voorzieningen).

Idempotent: the dataset's ids are the slugs; a record whose data did not change is not
written at all, a changed record is updated. Every record is imported in its own savepoint:
a bad record is reported (record, field, why) and the rest goes on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from app.geo.geocoding import Geocoder
from app.municipalities.service import (
    load_municipality,
    read_municipality_file,
    shipped_municipality_path,
)
from app.organizations.models import OrganizationKind
from importers.base import Importer, Venue, newest_date
from importers.report import ImportReport

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


class UithoornImporter(Importer):
    FIELD_NAMES = _FIELD_NAMES

    def __init__(
        self,
        *,
        session: Session,
        municipality_config: Path | None = None,
        progress: Callable[[int], None] | None = None,
        geocoder: Geocoder | None = None,
        admit: bool = False,
    ) -> None:
        config = read_municipality_file(
            municipality_config or shipped_municipality_path("uithoorn")
        )
        municipality = load_municipality(session=session, config=config).municipality
        super().__init__(
            session=session,
            municipality=municipality,
            progress=progress,
            geocoder=geocoder,
            admit=admit,
        )

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
                self.report_validation(record_id, exc)
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
            ok = self.savepoint(record_id, partial(self._organization, org))
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
        return self.finish()

    # --- organizations -----------------------------------------------------------------

    def _organization(self, raw: RawOrganization) -> None:
        kind = raw.soort if raw.soort in OrganizationKind.__members__ else "overig"
        if raw.soort and kind != raw.soort:
            self.report.warning(
                raw.id, "soort", f"Onbekende soort '{raw.soort}'; opgeslagen als 'overig'."
            )
        self.upsert_organization(
            slug=raw.id,
            payload={
                "name": raw.naam,
                "website": raw.website,
                "email": raw.email,
                "kind": kind,
                "phones": [{"number": raw.telefoon}] if raw.telefoon else [],
            },
        )

    # --- services ----------------------------------------------------------------------

    def _service(self, org_slug: str, record_id: str, raw_data: Any) -> None:
        def work() -> None:
            raw = RawService.model_validate(raw_data)
            location_ids = [self._location(raw)] if raw.locatie else []
            payload: dict[str, Any] = {
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
                "assured_date": newest_date(b.datum for b in raw.bronnen),
            }
            self.upsert_service(organization_slug=org_slug, slug=raw.id, payload=payload)

        self.savepoint(record_id, work)

    # --- locations ---------------------------------------------------------------------

    def _location(self, raw: RawService) -> uuid.UUID | None:
        loc = raw.locatie
        assert loc is not None
        venue = Venue(
            name=loc.naam,
            address_1=" ".join(p for p in (loc.straat, loc.huisnummer) if p) or None,
            postal_code=loc.postcode,
            city=loc.plaats,
            neighbourhood=loc.wijk,
            owner_hint=raw.id.split("-")[0],
        )
        if not (venue.name or venue.address_1 or venue.city):
            return None
        return self.upsert_venue(raw.id, venue)
