"""Contacts and phone numbers (HSDS contact, phone).

A phone belongs to exactly one organization, service, location or contact person.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Field

from app.core.models import IdMixin, enum_check, exactly_one_of


class PhoneType(StrEnum):
    voice = "voice"
    text = "text"
    cell = "cell"
    fax = "fax"
    video = "video"
    textphone = "textphone"


class Phone(IdMixin, table=True):
    __table_args__ = (
        enum_check("type", PhoneType, "type"),
        exactly_one_of(
            "organization_id", "service_id", "location_id", "contact_id", name="one_owner"
        ),
    )

    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", ondelete="CASCADE", index=True
    )
    service_id: uuid.UUID | None = Field(
        default=None, foreign_key="service.id", ondelete="CASCADE", index=True
    )
    location_id: uuid.UUID | None = Field(
        default=None, foreign_key="location.id", ondelete="CASCADE", index=True
    )
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="CASCADE", index=True
    )
    number: str = Field(max_length=40)
    extension: str | None = Field(default=None, max_length=10)
    type: str = Field(default=PhoneType.voice.value, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    position: int = Field(default=0)


class Contact(IdMixin, table=True):
    """A contact point (a role or desk rather than a private person, to keep personal data minimal)."""

    __table_args__ = (exactly_one_of("organization_id", "service_id", name="one_owner"),)

    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", ondelete="CASCADE", index=True
    )
    service_id: uuid.UUID | None = Field(
        default=None, foreign_key="service.id", ondelete="CASCADE", index=True
    )
    name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=500)
    department: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=254)
    position: int = Field(default=0)
