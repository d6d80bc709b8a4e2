"""Location (locatie, vestiging) and its address."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import VERSIONED, IdMixin, TimestampMixin, UTCDateTime, enum_check
from app.geo.geocoding import GeoPrecision


class LocationType(StrEnum):
    physical = "physical"
    postal = "postal"
    virtual = "virtual"


class NeighbourhoodSource(StrEnum):
    """Where a location's wijk came from. Manual and source values are never overwritten."""

    manual = "handmatig"  # set through the API by an editor or provider
    source = "bron"  # named by the imported source data
    pdok = "pdok"  # PDOK's CBS wijk/buurt of the address
    postcode = "postcode"  # the municipality's configured postcode ranges
    boundary = "grens"  # the municipality's configured GeoJSON boundaries

    @property
    def protected(self) -> bool:
        return self in (NeighbourhoodSource.manual, NeighbourhoodSource.source)


class Location(IdMixin, TimestampMixin, table=True):
    __table_args__ = (
        enum_check("location_type", LocationType, "location_type"),
        enum_check("geo_precision", GeoPrecision, "geo_precision"),
        enum_check("neighbourhood_source", NeighbourhoodSource, "neighbourhood_source"),
        sa.CheckConstraint(
            "(geo_precision IS NULL) = (latitude IS NULL)", name="geo_precision_with_point"
        ),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"
        ),
        sa.CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="lat_lon_pair"),
    )

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="RESTRICT", index=True
    )
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", ondelete="SET NULL", index=True
    )
    location_type: str = Field(default=LocationType.physical.value, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    url: str | None = Field(default=None, max_length=2000)
    latitude: float | None = None
    longitude: float | None = None
    geo_precision: str | None = Field(
        default=None, max_length=10, description="adres, pc6, pc4, kern of handmatig"
    )
    geocoded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    place_id: uuid.UUID | None = Field(
        default=None, foreign_key="place.id", ondelete="SET NULL", index=True
    )
    neighbourhood_source: str | None = Field(default=None, max_length=10)
    neighbourhood_id: uuid.UUID | None = Field(
        default=None, foreign_key="neighbourhood.id", ondelete="SET NULL", index=True
    )
    accessibility: str | None = Field(
        default=None, max_length=2000, description="Toegankelijkheid (rolstoel, lift, ringleiding)"
    )
    transportation: str | None = Field(default=None, max_length=1000)
    # Optimistic locking: every UPDATE checks and raises it (StaleDataError → 412).
    version: int = Field(default=1, description="ETag / If-Match")
    __mapper_args__ = VERSIONED


class Address(IdMixin, table=True):
    __table_args__ = (sa.UniqueConstraint("location_id"),)

    location_id: uuid.UUID = Field(foreign_key="location.id", ondelete="CASCADE")
    address_1: str | None = Field(default=None, max_length=200)
    address_2: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=200)
    state_province: str | None = Field(default=None, max_length=100)
    country: str = Field(default="NL", max_length=2)
