"""Open Referral HSDS 3.0 output shapes (only the objects and fields we fill).

Field names are exactly HSDS's. HSDS types most fields as plain ``string``/``number`` without
``null``, so every response is serialised with ``exclude_none``: a field we do not know is
left out rather than sent as ``null``. Required HSDS fields that we may not know (an
organization's ``description``, an address's ``postal_code``) are filled with ``""`` by
``app/hsds/present.py``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

HSDS_VERSION = "3.0"


class HsdsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Taxonomy(HsdsModel):
    id: uuid.UUID
    name: str
    description: str
    uri: str | None = None
    version: str | None = None


class TaxonomyTerm(HsdsModel):
    id: uuid.UUID
    code: str | None = Field(default=None, description="Our term slug.")
    name: str
    description: str
    parent_id: uuid.UUID | None = None
    taxonomy: str | None = Field(default=None, description="Our taxonomy slug, e.g. `themes`.")
    taxonomy_detail: Taxonomy | None = None
    language: str | None = None
    taxonomy_id: uuid.UUID | None = None


class Attribute(HsdsModel):
    id: uuid.UUID
    link_id: uuid.UUID | None = None
    taxonomy_term_id: uuid.UUID | None = None
    link_type: str | None = None
    link_entity: str | None = None
    value: str | None = None
    taxonomy_term: TaxonomyTerm | None = None


class Language(HsdsModel):
    id: uuid.UUID
    service_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    name: str | None = None
    code: str | None = None
    note: str | None = None


class Phone(HsdsModel):
    id: uuid.UUID
    location_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    number: str
    extension: float | None = None
    type: str | None = None
    description: str | None = None


class Contact(HsdsModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    name: str | None = None
    title: str | None = None
    department: str | None = None
    email: str | None = None
    phones: list[Phone] | None = None


class Schedule(HsdsModel):
    id: uuid.UUID
    service_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    dtstart: date | None = None
    until: date | None = None
    count: int | None = None
    wkst: str | None = None
    freq: str | None = None
    interval: int | None = None
    byday: str | None = None
    byweekno: str | None = None
    bymonthday: str | None = None
    byyearday: str | None = None
    description: str | None = None
    opens_at: str | None = Field(default=None, description="HH:MM")
    closes_at: str | None = Field(default=None, description="HH:MM")
    schedule_link: str | None = None
    attending_type: str | None = None
    notes: str | None = None


class ServiceArea(HsdsModel):
    id: uuid.UUID
    service_id: uuid.UUID | None = None
    name: str | None = None
    description: str | None = None
    extent: str | None = None
    extent_type: str | None = None


class Address(HsdsModel):
    id: uuid.UUID
    location_id: uuid.UUID | None = None
    address_1: str
    address_2: str | None = None
    city: str
    state_province: str
    postal_code: str
    country: str
    address_type: Literal["physical", "postal", "virtual"]


class Accessibility(HsdsModel):
    id: uuid.UUID
    location_id: uuid.UUID | None = None
    description: str | None = None


class Location(HsdsModel):
    id: uuid.UUID
    location_type: Literal["physical", "postal", "virtual"]
    url: str | None = None
    organization_id: uuid.UUID | None = None
    name: str | None = None
    description: str | None = None
    transportation: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    addresses: list[Address] | None = None
    accessibility: list[Accessibility] | None = None
    phones: list[Phone] | None = None
    schedules: list[Schedule] | None = None
    attributes: list[Attribute] | None = None


class OrganizationIdentifier(HsdsModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None = None
    identifier_scheme: str | None = None
    identifier_type: str
    identifier: str


class ServiceAtLocation(HsdsModel):
    """``service`` is filled only on the compiled (detail / full) shape, as in HSDS's
    ``service_at_location_full`` example."""

    id: uuid.UUID
    service_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    description: str | None = None
    location: Location | None = None
    service: Service | None = None


class Organization(HsdsModel):
    """``services`` is filled only on the compiled shape, as in HSDS's ``organization_full``."""

    id: uuid.UUID
    name: str
    alternate_name: str | None = None
    description: str
    email: str | None = None
    website: str | None = None
    contacts: list[Contact] | None = None
    phones: list[Phone] | None = None
    locations: list[Location] | None = None
    organization_identifiers: list[OrganizationIdentifier] | None = None
    attributes: list[Attribute] | None = None
    services: list[Service] | None = None


class Service(HsdsModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None = None
    name: str
    alternate_name: str | None = None
    description: str | None = None
    url: str | None = None
    email: str | None = None
    status: Literal["active", "inactive", "defunct", "temporarily closed"]
    application_process: str | None = None
    fees_description: str | None = None
    eligibility_description: str | None = None
    minimum_age: int | None = None
    maximum_age: int | None = None
    assured_date: date | None = None
    last_modified: datetime | None = None
    phones: list[Phone] | None = None
    schedules: list[Schedule] | None = None
    service_areas: list[ServiceArea] | None = None
    service_at_locations: list[ServiceAtLocation] | None = None
    languages: list[Language] | None = None
    organization: Organization | None = None
    contacts: list[Contact] | None = None
    attributes: list[Attribute] | None = None


ServiceAtLocation.model_rebuild()
Organization.model_rebuild()


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """The HSDS Page envelope."""

    total_items: int = Field(description="Aantal resultaten over alle pagina's.")
    total_pages: int = Field(description="Aantal pagina's.")
    page_number: int = Field(description="Nummer van deze pagina (vanaf 1).")
    size: int = Field(description="Aantal resultaten op deze pagina.")
    first_page: bool
    last_page: bool
    empty: bool = Field(description="Waar als er helemaal geen resultaten zijn.")
    contents: list[T]


class ServicePage(Page[Service]):
    pass


class OrganizationPage(Page[Organization]):
    pass


class ServiceAtLocationPage(Page[ServiceAtLocation]):
    pass


class TaxonomyPage(Page[Taxonomy]):
    pass


class TaxonomyTermPage(Page[TaxonomyTerm]):
    pass


class ApiMeta(BaseModel):
    """``GET /hsds/``: how this API relates to HSDS."""

    version: str = Field(description="HSDS-versie van deze API.")
    profile: str = Field(description="URL van het HSDS-profiel van deze API.")
    openapi_url: str = Field(description="URL van het OpenAPI-document van deze API.")
