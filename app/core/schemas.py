"""Base classes for API schemas."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error, never silently dropped; no text holds a NUL
    character (PostgreSQL cannot store one, SQLite would store it silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise PydanticCustomError("nl_nul", "De tekst bevat een ongeldig teken (NUL, \\x00).")
        return value


class UpdateModel(InputModel):
    """Partial updates: absent fields stay as they are; ``null`` clears an optional field.

    Fields listed in ``required_fields`` cannot be cleared.
    """

    required_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        for field in self.required_fields:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise PydanticCustomError("nl_not_null", f"{field} mag niet leeg zijn.")
        return self


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Ref(OutputModel):
    slug: str
    name: str


class TermRef(OutputModel):
    slug: str
    label: str
