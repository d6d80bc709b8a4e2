from __future__ import annotations

from pydantic import Field

from app.core.pagination import ItemList
from app.core.schemas import OutputModel


class TermPublic(OutputModel):
    slug: str
    label: str
    description: str | None
    minimum_age: int | None
    maximum_age: int | None
    service_count: int = Field(description="Aantal openbare voorzieningen met deze term.")


class TermList(ItemList[TermPublic]):
    """Termen van één taxonomie."""
