"""Organization (aanbieder) and its identifiers (KvK, AGB)."""

from __future__ import annotations

import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import VERSIONED, AdmissionStatus, IdMixin, TimestampMixin, enum_check


class OrganizationKind(StrEnum):
    gemeente = "gemeente"
    welzijnsorganisatie = "welzijnsorganisatie"
    zorgaanbieder = "zorgaanbieder"
    stichting = "stichting"
    vereniging = "vereniging"
    vrijwilligersorganisatie = "vrijwilligersorganisatie"
    bibliotheek = "bibliotheek"
    bedrijf = "bedrijf"
    overig = "overig"


class IdentifierType(StrEnum):
    kvk = "kvk"
    agb = "agb"


class Organization(IdMixin, TimestampMixin, table=True):
    __table_args__ = (
        sa.UniqueConstraint("municipality_id", "slug"),
        enum_check("admission_status", AdmissionStatus, "admission_status"),
        enum_check("kind", OrganizationKind, "kind"),
    )

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="RESTRICT", index=True
    )
    slug: str = Field(max_length=100)
    name: str = Field(max_length=200)
    alternate_name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    website: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=254)
    kind: str = Field(default=OrganizationKind.overig.value, max_length=40)
    admission_status: str = Field(default=AdmissionStatus.concept.value, max_length=20, index=True)
    # Optimistic locking: every UPDATE checks and raises it (StaleDataError → 412).
    version: int = Field(default=1, description="ETag / If-Match")
    __mapper_args__ = VERSIONED


class OrganizationIdentifier(IdMixin, table=True):
    __tablename__ = "organization_identifier"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "identifier_type"),
        enum_check("identifier_type", IdentifierType, "identifier_type"),
    )

    organization_id: uuid.UUID = Field(
        foreign_key="organization.id", ondelete="CASCADE", index=True
    )
    identifier_type: str = Field(max_length=20)
    identifier: str = Field(max_length=50)
    identifier_scheme: str | None = Field(default=None, max_length=100)
