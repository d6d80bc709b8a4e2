"""Service (voorziening) with its term links, service area, locations and sources."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import (
    VERSIONED,
    AdmissionStatus,
    IdMixin,
    TimestampMixin,
    UTCDateTime,
    enum_check,
)


class Service(IdMixin, TimestampMixin, table=True):
    __table_args__ = (
        sa.UniqueConstraint("municipality_id", "slug"),
        enum_check("admission_status", AdmissionStatus, "admission_status"),
        sa.CheckConstraint("minimum_age IS NULL OR minimum_age BETWEEN 0 AND 120", name="min_age"),
        sa.CheckConstraint("maximum_age IS NULL OR maximum_age BETWEEN 0 AND 120", name="max_age"),
        sa.CheckConstraint(
            "minimum_age IS NULL OR maximum_age IS NULL OR minimum_age <= maximum_age",
            name="age_range",
        ),
    )

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="RESTRICT", index=True
    )
    organization_id: uuid.UUID = Field(
        foreign_key="organization.id", ondelete="RESTRICT", index=True
    )
    slug: str = Field(max_length=100)
    name: str = Field(max_length=200)
    alternate_name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    url: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=254)
    minimum_age: int | None = None
    maximum_age: int | None = None
    eligibility_description: str | None = Field(default=None, max_length=5000)
    application_process: str | None = Field(default=None, max_length=5000)
    fees_description: str | None = Field(default=None, max_length=1000)
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    admission_status: str = Field(default=AdmissionStatus.concept.value, max_length=20, index=True)
    assured_date: date | None = None
    # Professional-only: returned to professionals, editors and admins, never to the public.
    professional_phone: str | None = Field(default=None, max_length=40)
    referral_procedure: str | None = Field(default=None, max_length=5000)
    internal_remarks: str | None = Field(default=None, max_length=5000)
    # Freshness (T10): when the provider was last reminded to confirm the data.
    verification_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Optimistic locking: every UPDATE checks and raises it (StaleDataError → 412).
    version: int = Field(default=1, description="ETag / If-Match")
    __mapper_args__ = VERSIONED


class ServiceTerm(SQLModel, table=True):
    """Links a service to a taxonomy term (theme, target group, access route, cost class)."""

    __tablename__ = "service_term"

    service_id: uuid.UUID = Field(foreign_key="service.id", ondelete="CASCADE", primary_key=True)
    taxonomy_term_id: uuid.UUID = Field(
        foreign_key="taxonomy_term.id", ondelete="RESTRICT", primary_key=True, index=True
    )


class ExtentType(StrEnum):
    """How far a service area reaches (werkgebied)."""

    municipality = "municipality"
    place = "place"
    neighbourhood = "neighbourhood"
    region = "region"


class ServiceArea(IdMixin, table=True):
    __tablename__ = "service_area"
    __table_args__ = (
        enum_check("extent_type", ExtentType, "extent_type"),
        sa.CheckConstraint(
            "(extent_type = 'municipality' AND municipality_id IS NOT NULL)"
            " OR (extent_type = 'place' AND place_id IS NOT NULL)"
            " OR (extent_type = 'neighbourhood' AND neighbourhood_id IS NOT NULL)"
            " OR (extent_type = 'region' AND name IS NOT NULL)",
            name="extent_target",
        ),
    )

    service_id: uuid.UUID = Field(foreign_key="service.id", ondelete="CASCADE", index=True)
    extent_type: str = Field(max_length=20)
    municipality_id: uuid.UUID | None = Field(
        default=None, foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    place_id: uuid.UUID | None = Field(
        default=None, foreign_key="place.id", ondelete="CASCADE", index=True
    )
    neighbourhood_id: uuid.UUID | None = Field(
        default=None, foreign_key="neighbourhood.id", ondelete="CASCADE", index=True
    )
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class ServiceAtLocation(IdMixin, table=True):
    __tablename__ = "service_at_location"
    __table_args__ = (sa.UniqueConstraint("service_id", "location_id"),)

    service_id: uuid.UUID = Field(foreign_key="service.id", ondelete="CASCADE", index=True)
    location_id: uuid.UUID = Field(foreign_key="location.id", ondelete="RESTRICT", index=True)
    description: str | None = Field(default=None, max_length=1000)


class ServiceSource(IdMixin, table=True):
    """Where the facts of a listing come from (url + date as precise as known)."""

    __tablename__ = "service_source"

    service_id: uuid.UUID = Field(foreign_key="service.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    source_date: str | None = Field(default=None, max_length=10)
    position: int = Field(default=0)
