"""Municipality (gemeente, the tenant), place (kern) and neighbourhood (wijk)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import IdMixin, TimestampMixin


class Municipality(IdMixin, TimestampMixin, table=True):
    code: str = Field(max_length=6, unique=True, description="CBS-code, bijvoorbeeld GM0451")
    slug: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)


class Place(IdMixin, table=True):
    """A kern (woonplaats) of a municipality."""

    __table_args__ = (sa.UniqueConstraint("municipality_id", "slug"),)

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    slug: str = Field(max_length=100)
    name: str = Field(max_length=200)
    # Configured centroid; without it the kern centroid is the mean of its PC4 centroids.
    latitude: float | None = None
    longitude: float | None = None


class Neighbourhood(IdMixin, table=True):
    """A wijk of a municipality. Wijken are configuration (see app/municipalities/data)."""

    __table_args__ = (sa.UniqueConstraint("municipality_id", "slug"),)

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    place_id: uuid.UUID | None = Field(
        default=None, foreign_key="place.id", ondelete="SET NULL", index=True
    )
    slug: str = Field(max_length=100)
    name: str = Field(max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # Wijk assignment (configuration): CBS wijk/buurt codes as PDOK returns them, postcode
    # ranges ("1421", "1422AA-1422BZ") and a GeoJSON (Multi)Polygon geometry.
    cbs_codes: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    postcode_ranges: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    boundary: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
