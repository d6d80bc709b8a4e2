from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from app.contacts.models import PhoneType
from app.core.schemas import InputModel, OutputModel
from app.core.types import DutchPhone, Email, Name, ShortText


class PhoneIn(InputModel):
    number: DutchPhone
    extension: str | None = Field(default=None, max_length=10)
    type: PhoneType = PhoneType.voice
    description: ShortText | None = None

    @field_validator("extension")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{1,10}", value):
            raise PydanticCustomError(
                "nl_extension", "Een toestelnummer bestaat alleen uit cijfers."
            )
        return value


class PhonePublic(OutputModel):
    number: str
    extension: str | None
    type: str
    description: str | None


class ContactIn(InputModel):
    name: Name | None = None
    title: ShortText | None = None
    department: ShortText | None = None
    email: Email | None = None


class ContactPublic(OutputModel):
    name: str | None
    title: str | None
    department: str | None
    email: str | None
