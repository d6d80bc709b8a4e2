"""Base classes for API schemas."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
