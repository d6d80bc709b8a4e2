from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.contacts.schemas import ContactIn, ContactPublic, PhoneIn, PhonePublic
from app.core.models import AdmissionStatus
from app.core.pagination import Page
from app.core.schemas import InputModel, OutputModel, Ref, TermRef, UpdateModel
from app.core.types import (
    Age,
    DutchPhone,
    Email,
    LanguageCode,
    LongText,
    Name,
    PartialDate,
    ShortText,
    Slug,
    WebUrl,
)
from app.locations.schemas import LocationPublic
from app.organizations.schemas import OrganizationRef
from app.schedules.schemas import ScheduleIn, SchedulePublic
from app.services.models import ExtentType

SlugList = list[Slug]


class ServiceAreaIn(InputModel):
    """Werkgebied. Default: the whole municipality."""

    extent_type: ExtentType = ExtentType.municipality
    places: SlugList = Field(
        default_factory=list, max_length=50, description="Bij extent_type place."
    )
    neighbourhoods: SlugList = Field(
        default_factory=list, max_length=200, description="Bij extent_type neighbourhood."
    )
    name: Name | None = Field(default=None, description="Naam van de regio bij extent_type region.")
    description: ShortText | None = None

    @model_validator(mode="after")
    def _targets(self) -> ServiceAreaIn:
        rules = {
            ExtentType.place: (
                bool(self.places),
                "Noem bij extent_type 'place' minstens één kern.",
            ),
            ExtentType.neighbourhood: (
                bool(self.neighbourhoods),
                "Noem bij extent_type 'neighbourhood' minstens één wijk.",
            ),
            ExtentType.region: (
                bool(self.name),
                "Geef bij extent_type 'region' de naam van de regio.",
            ),
        }
        ok, message = rules.get(self.extent_type, (True, ""))
        if not ok:
            raise PydanticCustomError("nl_service_area", message)
        return self


class ServiceAreaPublic(OutputModel):
    extent_type: str
    municipality: Ref | None
    places: list[Ref]
    neighbourhoods: list[Ref]
    name: str | None
    description: str | None


class SourceIn(InputModel):
    url: WebUrl
    date: PartialDate | None = None


class SourcePublic(OutputModel):
    url: str
    date: str | None


class ServiceWrite(InputModel):
    alternate_name: Name | None = None
    description: LongText | None = None
    url: WebUrl | None = None
    email: Email | None = None
    themes: SlugList | None = Field(default=None, max_length=20, examples=[["geld-en-schulden"]])
    target_groups: SlugList | None = Field(default=None, max_length=20, examples=[["iedereen"]])
    access: Slug | None = Field(
        default=None, description="Toegang (access-routes)", examples=["vrij-toegankelijk"]
    )
    cost: Slug | None = Field(default=None, description="Kosten (costs)", examples=["gratis"])
    minimum_age: Age | None = None
    maximum_age: Age | None = None
    eligibility_description: LongText | None = None
    application_process: LongText | None = None
    fees_description: ShortText | None = None
    languages: list[LanguageCode] | None = Field(default=None, max_length=20)
    service_area: ServiceAreaIn | None = None
    locations: list[uuid.UUID] | None = Field(default=None, max_length=50)
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)
    contacts: list[ContactIn] | None = Field(default=None, max_length=10)
    schedules: list[ScheduleIn] | None = Field(default=None, max_length=20)
    sources: list[SourceIn] | None = Field(default=None, max_length=50)
    assured_date: date | None = None
    professional_phone: DutchPhone | None = Field(
        default=None, description="Alleen voor professionals: direct nummer voor verwijzers."
    )
    referral_procedure: LongText | None = Field(
        default=None, description="Alleen voor professionals: hoe verwijs je door."
    )
    internal_remarks: LongText | None = Field(
        default=None, description="Alleen redactie en beheer mogen dit schrijven; intern."
    )

    @model_validator(mode="after")
    def _age_range(self) -> ServiceWrite:
        if (
            self.minimum_age is not None
            and self.maximum_age is not None
            and self.minimum_age > self.maximum_age
        ):
            raise PydanticCustomError(
                "nl_age_range", "De minimumleeftijd is hoger dan de maximumleeftijd."
            )
        return self


class ServiceCreate(ServiceWrite):
    municipality: Slug = Field(examples=["uithoorn"])
    organization: Slug = Field(examples=["uithoorn-voor-elkaar"])
    slug: Slug | None = Field(default=None, description="Leeg: gemaakt uit de naam.")
    name: Name
    admission_status: AdmissionStatus = AdmissionStatus.concept


class ServiceUpdate(ServiceWrite, UpdateModel):
    required_fields = ("slug", "name", "organization", "admission_status")

    organization: Slug | None = None
    slug: Slug | None = None
    name: Name | None = None
    admission_status: AdmissionStatus | None = None


class ServiceSummary(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str | None
    organization: OrganizationRef
    municipality: Ref
    themes: list[TermRef]
    target_groups: list[TermRef]
    access: TermRef | None
    cost: TermRef | None
    minimum_age: int | None
    maximum_age: int | None
    admission_status: str
    assured_date: date | None
    updated_at: datetime


class ServiceDetail(ServiceSummary):
    alternate_name: str | None
    url: str | None
    email: str | None
    eligibility_description: str | None
    application_process: str | None
    fees_description: str | None
    languages: list[str]
    service_area: ServiceAreaPublic | None
    locations: list[LocationPublic]
    phones: list[PhonePublic]
    contacts: list[ContactPublic]
    schedules: list[SchedulePublic]
    sources: list[SourcePublic]
    created_at: datetime
    version: int = Field(description="Versie voor If-Match (ook als ETag-header)")
    professional: ServiceProfessional | None = Field(
        description="Alleen voor professionals, redactie en beheer; anders null."
    )


class ServiceProfessional(OutputModel):
    """Details for professionals (huisarts, loket, sociaal team), never shown to the public."""

    professional_phone: str | None
    referral_procedure: str | None
    internal_remarks: str | None


class ServicePage(Page[ServiceSummary]):
    """Een pagina voorzieningen."""
