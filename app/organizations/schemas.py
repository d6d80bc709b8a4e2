from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.contacts.schemas import ContactIn, ContactPublic, PhoneIn, PhonePublic
from app.core.models import AdmissionStatus
from app.core.pagination import Page
from app.core.schemas import InputModel, OutputModel, Ref, UpdateModel
from app.core.types import Email, LongText, Name, Slug, WebUrl
from app.organizations.models import IdentifierType, OrganizationKind

_IDENTIFIER_RULES: dict[IdentifierType, tuple[re.Pattern[str], str]] = {
    IdentifierType.kvk: (re.compile(r"^\d{8}$"), "Een KvK-nummer bestaat uit 8 cijfers."),
    IdentifierType.agb: (re.compile(r"^\d{8}$"), "Een AGB-code bestaat uit 8 cijfers."),
}


class IdentifierIn(InputModel):
    type: IdentifierType
    identifier: str = Field(min_length=1, max_length=50, examples=["41216593"])

    @model_validator(mode="after")
    def _format(self) -> IdentifierIn:
        compact = re.sub(r"[\s.]", "", self.identifier)
        pattern, message = _IDENTIFIER_RULES[self.type]
        if not pattern.match(compact):
            raise PydanticCustomError("nl_identifier", message)
        self.identifier = compact
        return self


class IdentifierPublic(OutputModel):
    type: str
    identifier: str


class OrganizationWrite(InputModel):
    alternate_name: Name | None = None
    description: LongText | None = None
    website: WebUrl | None = None
    email: Email | None = None
    identifiers: list[IdentifierIn] | None = Field(default=None, max_length=5)
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)
    contacts: list[ContactIn] | None = Field(default=None, max_length=10)

    @model_validator(mode="after")
    def _unique_identifier_types(self) -> OrganizationWrite:
        types = [i.type for i in self.identifiers or []]
        if len(types) != len(set(types)):
            raise PydanticCustomError(
                "nl_identifier_twice", "Geef elk soort nummer maar één keer op."
            )
        return self


class OrganizationCreate(OrganizationWrite):
    municipality: Slug = Field(examples=["uithoorn"])
    slug: Slug | None = Field(default=None, description="Leeg: gemaakt uit de naam.")
    name: Name
    kind: OrganizationKind = OrganizationKind.overig
    admission_status: AdmissionStatus = AdmissionStatus.concept


class OrganizationUpdate(OrganizationWrite, UpdateModel):
    required_fields = ("slug", "name", "kind", "admission_status")

    slug: Slug | None = None
    name: Name | None = None
    kind: OrganizationKind | None = None
    admission_status: AdmissionStatus | None = None


class OrganizationRef(OutputModel):
    id: uuid.UUID
    slug: str
    name: str


class OrganizationSummary(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    kind: str
    website: str | None
    municipality: Ref
    admission_status: str
    service_count: int = Field(description="Aantal openbare voorzieningen.")
    updated_at: datetime


class OrganizationServiceItem(OutputModel):
    id: uuid.UUID
    slug: str
    name: str


class OrganizationDetail(OrganizationSummary):
    alternate_name: str | None
    description: str | None
    email: str | None
    identifiers: list[IdentifierPublic]
    phones: list[PhonePublic]
    contacts: list[ContactPublic]
    services: list[OrganizationServiceItem]
    created_at: datetime
    version: int = Field(description="Versie voor If-Match (ook als ETag-header)")


class OrganizationPage(Page[OrganizationSummary]):
    """Een pagina organisaties."""
