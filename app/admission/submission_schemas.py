from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.core.schemas import InputModel, OutputModel
from app.core.types import Slug
from app.locations.schemas import LocationCreate, LocationUpdate
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.services.schemas import ServiceCreate, ServiceUpdate


class Attestation(InputModel):
    attested: bool = Field(description="De aanbieder verklaart dat dit klopt")
    link: str | None = Field(
        default=None, max_length=2000, description="Bijvoorbeeld de klachtenregeling"
    )


class NewOrganization(OrganizationCreate):
    """The organisation of a new submission (its admission status is set by the review)."""


class NewService(ServiceCreate):
    """A voorziening of a new submission; ``municipality`` and ``organization`` come from the
    submission and may be left out."""

    municipality: Slug = Field(default="", examples=["uithoorn"])
    organization: Slug = Field(default="", examples=[""])


class NewLocation(LocationCreate):
    municipality: Slug = Field(default="", examples=["uithoorn"])


class SubmissionCreate(InputModel):
    """Either a new organisation with its voorzieningen (``organization`` + ``services``), or a
    change to an admitted listing (``listing`` + ``changes``)."""

    municipality: Slug = Field(examples=["uithoorn"])
    organization: NewOrganization | None = None
    services: list[NewService] = Field(default_factory=list, max_length=50)
    locations: list[NewLocation] = Field(
        default_factory=list,
        max_length=20,
        description="Locaties van een nieuwe organisatie; alle voorzieningen vinden daar plaats.",
    )
    listing: Slug | None = Field(default=None, description="Bestaande organisatie (wijziging)")
    organization_changes: OrganizationUpdate | None = None
    service_changes: dict[str, ServiceUpdate] = Field(
        default_factory=dict, description="Per voorziening (slug) de wijzigingen"
    )
    location_changes: dict[uuid.UUID, LocationUpdate] = Field(
        default_factory=dict, description="Per locatie (id) de wijzigingen, zoals een nieuw adres"
    )
    attestations: dict[str, Attestation] = Field(
        default_factory=dict, description="Per criterium (bijv. T5) de verklaring van de aanbieder"
    )


class SubmissionUpdate(InputModel):
    """Aanvullen: what changed since the last version of the submission."""

    organization_changes: OrganizationUpdate | None = None
    service_changes: dict[str, ServiceUpdate] = Field(default_factory=dict)
    location_changes: dict[uuid.UUID, LocationUpdate] = Field(default_factory=dict)
    attestations: dict[str, Attestation] = Field(default_factory=dict)


class SubmissionPublic(OutputModel):
    id: uuid.UUID
    kind: str = Field(description="nieuw of wijziging")
    status: str = Field(description="ingediend, aanvullen, toegelaten, afgewezen")
    municipality: str
    organization: str = Field(description="Slug van de organisatie")
    report: dict[str, Any] = Field(description="Toetsing per criterium, met uitleg en wat te doen")
    changes: dict[str, Any] = Field(
        description="Bij een wijziging: per veld de huidige en de nieuwe waarde"
    )
    attestations: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ReviewItem(OutputModel):
    id: uuid.UUID
    kind: str
    status: str
    organization: str
    organization_name: str
    outcome: str | None
    open_criteria: list[str]
    created_at: datetime


class ReviewList(OutputModel):
    items: list[ReviewItem]
    total: int


class Decision(InputModel):
    decision: Literal["toegelaten", "aanvullen", "afgewezen"]
    reason: str | None = Field(default=None, max_length=5000, description="Verplicht bij afwijzen")
    confirmed: list[str] = Field(
        default_factory=list, description="Criteria die de redacteur heeft gecontroleerd (bijv. T8)"
    )
    overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Criterium → schriftelijke reden om ervan af te wijken (verplicht per criterium)",
    )
