"""Postcode centroids (PC4 and PC6) for "bij mij in de buurt"."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utcnow


class PostcodeCentroid(SQLModel, table=True):
    __tablename__ = "postcode_centroid"

    postcode: str = Field(
        primary_key=True, max_length=6, description="1422 of 1422AB (zonder spatie)"
    )
    latitude: float
    longitude: float
    place_name: str | None = Field(default=None, max_length=200)
    municipality_name: str | None = Field(default=None, max_length=200)


class GeocodeCache(SQLModel, table=True):
    """Answers of an online geocoder per address, so the same address is never asked twice.

    Holds organisations' addresses only (no personal data). A "not found" answer expires,
    so an address that is new in the BAG is found later."""

    __tablename__ = "geocode_cache"

    key: str = Field(primary_key=True, max_length=600)
    provider: str = Field(primary_key=True, max_length=20)
    found: bool
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GeocodeJob(SQLModel, table=True):
    """A location to (re)geocode, written in the same transaction as the location change and
    worked off after the commit or by ``sociale-kaart geo geocode`` (never blocks a write)."""

    __tablename__ = "geocode_job"

    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    location_id: uuid.UUID = Field(foreign_key="location.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    last_error: str | None = Field(default=None, max_length=1000)
