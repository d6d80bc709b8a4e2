"""Municipalities: load their configuration (kernen, wijken) and resolve references."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.core.errors import FieldError, NotFound, Unprocessable
from app.core.models import utcnow
from app.core.types import Slug
from app.core.visibility import service_is_public
from app.locations.models import Location
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.services.models import Service, ServiceArea, ServiceAtLocation


class PlaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    # Optional centroid; without it the kern's centroid is the mean of its PC4 centroids.
    latitude: float | None = Field(default=None, ge=50.5, le=53.8)
    longitude: float | None = Field(default=None, ge=3.0, le=7.5)

    @model_validator(mode="after")
    def _both_or_neither(self) -> PlaceConfig:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(f"kern {self.slug}: geef latitude en longitude samen op")
        return self


class NeighbourhoodConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    place: Slug | None = None
    aliases: list[str] = Field(default_factory=list)
    # Wijk assignment: CBS wijk/buurt codes as PDOK returns them (WK045101, BU04510101),
    # postcode ranges ("1421", "1422AA-1422BZ", "1423-1424") and a GeoJSON boundary: a
    # (Multi)Polygon geometry, a Feature, or the path of a .geojson file next to this file.
    cbs_codes: list[str] = Field(default_factory=list)
    postcodes: list[str] = Field(default_factory=list)
    boundary: dict[str, Any] | str | None = None

    @model_validator(mode="after")
    def _valid_ranges(self) -> NeighbourhoodConfig:
        from app.geo.locate import parse_postcode_range

        wrong = [p for p in self.postcodes if parse_postcode_range(p) is None]
        if wrong:
            raise ValueError(f"wijk {self.slug}: geen postcodebereik: {', '.join(wrong)}")
        return self


class MunicipalityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^GM\d{4}$", description="CBS-gemeentecode, bijvoorbeeld GM0451")
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    places: list[PlaceConfig] = Field(min_length=1)
    neighbourhoods: list[NeighbourhoodConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _places_exist(self) -> MunicipalityConfig:
        places = {p.slug for p in self.places}
        for n in self.neighbourhoods:
            if n.place is not None and n.place not in places:
                raise ValueError(f"wijk {n.slug}: kern '{n.place}' staat niet onder places")
        return self


def shipped_municipality_path(slug: str) -> Path:
    return Path(str(resources.files("app.municipalities").joinpath(f"data/{slug}.yaml")))


def read_municipality_file(path: Path) -> MunicipalityConfig:
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    config = MunicipalityConfig.model_validate(raw)
    for wijk in config.neighbourhoods:
        boundary = wijk.boundary
        if isinstance(boundary, str):  # a GeoJSON file next to the configuration
            boundary = json.loads((path.parent / boundary).read_text(encoding="utf-8"))
        if isinstance(boundary, dict):
            wijk.boundary = boundary_geometry(boundary, where=f"wijk {wijk.slug}")
    return config


def boundary_geometry(value: dict[str, Any], *, where: str) -> dict[str, Any]:
    """The (Multi)Polygon geometry of a GeoJSON geometry, Feature or one-feature collection."""
    if value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            raise ValueError(f"{where}: een FeatureCollection met precies één feature")
        value = features[0]
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    if value.get("type") not in ("Polygon", "MultiPolygon") or not value.get("coordinates"):
        raise ValueError(f"{where}: de grens moet een GeoJSON Polygon of MultiPolygon zijn")
    return value


@dataclass
class MunicipalityLoadReport:
    municipality: Municipality
    created: int = 0
    updated: int = 0


def load_municipality(*, session: Session, config: MunicipalityConfig) -> MunicipalityLoadReport:
    """Create or update a municipality with its places and neighbourhoods (idempotent)."""
    municipality = session.exec(
        select(Municipality).where(Municipality.code == config.code)
    ).first()
    report: MunicipalityLoadReport
    if municipality is None:
        municipality = Municipality(code=config.code, slug=config.slug, name=config.name)
        session.add(municipality)
        session.flush()
        report = MunicipalityLoadReport(municipality=municipality, created=1)
    else:
        report = MunicipalityLoadReport(municipality=municipality)
        if (municipality.slug, municipality.name) != (config.slug, config.name):
            municipality.slug, municipality.name = config.slug, config.name
            municipality.updated_at = utcnow()
            report.updated += 1

    places = {
        p.slug: p
        for p in session.exec(select(Place).where(Place.municipality_id == municipality.id))
    }
    for pc in config.places:
        place = places.get(pc.slug)
        values: dict[str, Any] = {
            "name": pc.name,
            "latitude": pc.latitude,
            "longitude": pc.longitude,
        }
        if place is None:
            place = Place(municipality_id=municipality.id, slug=pc.slug, **values)
            session.add(place)
            places[pc.slug] = place
            report.created += 1
        elif any(getattr(place, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(place, k, v)
            report.updated += 1
    session.flush()

    wijken = {
        n.slug: n
        for n in session.exec(
            select(Neighbourhood).where(Neighbourhood.municipality_id == municipality.id)
        )
    }
    for nc in config.neighbourhoods:
        wijk_values: dict[str, Any] = {
            "place_id": places[nc.place].id if nc.place else None,
            "name": nc.name,
            "aliases": list(nc.aliases),
            "cbs_codes": [c.upper() for c in nc.cbs_codes],
            "postcode_ranges": list(nc.postcodes),
            "boundary": nc.boundary if isinstance(nc.boundary, dict) else None,
        }
        row = wijken.get(nc.slug)
        if row is None:
            session.add(Neighbourhood(municipality_id=municipality.id, slug=nc.slug, **wijk_values))
            report.created += 1
        elif any(getattr(row, k) != v for k, v in wijk_values.items()):
            for k, v in wijk_values.items():
                setattr(row, k, v)
            report.updated += 1
    session.flush()
    return report


def get_municipality(*, session: Session, slug: str) -> Municipality:
    municipality = session.exec(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise NotFound(f"Gemeente '{slug}' bestaat niet.")
    return municipality


def resolve_municipality(*, session: Session, slug: str, field: str) -> Municipality:
    municipality = session.exec(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        known = ", ".join(session.exec(select(Municipality.slug).order_by(col(Municipality.slug))))
        raise Unprocessable(
            f"Gemeente '{slug}' bestaat niet.",
            errors=[FieldError(field=field, message=f"'{slug}' bestaat niet. Kies uit: {known}.")],
        )
    return municipality


def resolve_place(*, session: Session, municipality_id: uuid.UUID, slug: str, field: str) -> Place:
    place = session.exec(
        select(Place).where(Place.municipality_id == municipality_id, Place.slug == slug)
    ).first()
    if place is None:
        known = ", ".join(
            session.exec(select(Place.slug).where(Place.municipality_id == municipality_id))
        )
        raise Unprocessable(
            f"Kern '{slug}' bestaat niet in deze gemeente.",
            errors=[FieldError(field=field, message=f"'{slug}' bestaat niet. Kies uit: {known}.")],
        )
    return place


def resolve_neighbourhoods(
    *, session: Session, municipality_id: uuid.UUID, slugs: list[str], field: str
) -> list[Neighbourhood]:
    rows = {
        n.slug: n
        for n in session.exec(
            select(Neighbourhood).where(Neighbourhood.municipality_id == municipality_id)
        )
    }
    unknown = [s for s in dict.fromkeys(slugs) if s not in rows]
    if unknown:
        raise Unprocessable(
            f"Onbekende wijk(en): {', '.join(unknown)}.",
            errors=[
                FieldError(field=field, message=f"'{s}' bestaat niet. Kies uit: {', '.join(rows)}.")
                for s in unknown
            ],
        )
    return [rows[s] for s in dict.fromkeys(slugs)]


def find_neighbourhood_by_name(
    *, session: Session, municipality_id: uuid.UUID, name: str
) -> Neighbourhood | None:
    """Match a wijk by name, slug or configured alias (case-insensitive)."""
    wanted = name.strip().casefold()
    for row in session.exec(
        select(Neighbourhood).where(Neighbourhood.municipality_id == municipality_id)
    ):
        names = [row.name, row.slug, *row.aliases]
        if any(n.casefold() == wanted for n in names):
            return row
    return None


def find_place_by_name(*, session: Session, municipality_id: uuid.UUID, name: str) -> Place | None:
    wanted = name.strip().casefold()
    for row in session.exec(select(Place).where(Place.municipality_id == municipality_id)):
        if wanted in {row.name.casefold(), row.slug}:
            return row
    return None


def areas_with_counts(
    *, session: Session, municipality_slug: str | None
) -> list[tuple[Municipality, Place | None, Neighbourhood | None, int, int]]:
    """Every kern and wijk (per municipality) with public service counts.

    ``service_count``: services whose service area covers the area — a municipality-wide
    area covers every kern and wijk; a kern covers its wijken. ``located_service_count``:
    services with a location in the area.
    """
    statement = select(Municipality).order_by(col(Municipality.name))
    if municipality_slug is not None:
        statement = statement.where(Municipality.slug == municipality_slug)
    municipalities = session.exec(statement).all()
    public_ids = select(Service.id).where(service_is_public())
    result: list[tuple[Municipality, Place | None, Neighbourhood | None, int, int]] = []

    def count_covering(*conditions: Any) -> int:
        return session.exec(
            select(func.count(func.distinct(ServiceArea.service_id))).where(
                col(ServiceArea.service_id).in_(public_ids), or_(*conditions)
            )
        ).one()

    def count_located(condition: Any) -> int:
        return session.exec(
            select(func.count(func.distinct(ServiceAtLocation.service_id)))
            .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
            .where(col(ServiceAtLocation.service_id).in_(public_ids), condition)
        ).one()

    for m in municipalities:
        municipality_wide = (col(ServiceArea.extent_type) == "municipality") & (
            col(ServiceArea.municipality_id) == m.id
        )
        places = session.exec(
            select(Place).where(Place.municipality_id == m.id).order_by(col(Place.name))
        ).all()
        wijken = session.exec(
            select(Neighbourhood)
            .where(Neighbourhood.municipality_id == m.id)
            .order_by(col(Neighbourhood.name))
        ).all()
        for p in places:
            wijk_ids = [n.id for n in wijken if n.place_id == p.id]
            covering = count_covering(
                municipality_wide,
                col(ServiceArea.place_id) == p.id,
                col(ServiceArea.neighbourhood_id).in_(wijk_ids),
            )
            located = count_located(col(Location.place_id) == p.id)
            result.append((m, p, None, covering, located))
        places_by_id = {p.id: p for p in places}
        for n in wijken:
            conditions = [municipality_wide, col(ServiceArea.neighbourhood_id) == n.id]
            if n.place_id is not None:
                conditions.append(col(ServiceArea.place_id) == n.place_id)
            covering = count_covering(*conditions)
            located = count_located(col(Location.neighbourhood_id) == n.id)
            result.append(
                (m, places_by_id.get(n.place_id) if n.place_id else None, n, covering, located)
            )
    return result
