from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from app.core.pagination import ItemList
from app.core.schemas import OutputModel, Ref


class AreaKind(StrEnum):
    kern = "kern"
    wijk = "wijk"


class AreaPublic(OutputModel):
    slug: str
    name: str
    kind: AreaKind = Field(description="kern (woonplaats) of wijk")
    municipality: Ref
    place: Ref | None = Field(description="De kern waar een wijk bij hoort.")
    service_count: int = Field(
        description="Openbare voorzieningen die hier beschikbaar zijn (werkgebied dekt dit gebied)."
    )
    located_service_count: int = Field(
        description="Openbare voorzieningen met een locatie in dit gebied."
    )


class MunicipalityPublic(OutputModel):
    code: str
    slug: str
    name: str


class AreaList(ItemList[AreaPublic]):
    """Kernen en wijken."""


class MunicipalityList(ItemList[MunicipalityPublic]):
    """Gemeenten."""
