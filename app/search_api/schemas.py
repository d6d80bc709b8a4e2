from __future__ import annotations

import uuid

from pydantic import Field

from app.core.schemas import OutputModel
from app.geo.geocoding import GeoPrecision


class SearchOrganization(OutputModel):
    slug: str
    name: str


class SearchHighlight(OutputModel):
    name: str = Field(
        description="HTML: de naam met <mark>…</mark> om gevonden woorden (ge-escaped)."
    )
    summary: str = Field(description="HTML: de samenvatting met <mark>…</mark> (ge-escaped).")


class SearchItem(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    summary: str
    organization: SearchOrganization
    themes: list[str]
    target_groups: list[str]
    access: str | None
    cost: str | None
    minimum_age: int | None
    maximum_age: int | None
    neighbourhoods: list[str] = Field(description="Wijken waar de voorziening beschikbaar is.")
    place: str | None = Field(description="Kern van de (eerste) locatie.")
    distance_km: float | None = Field(description="Afstand tot het opgegeven punt, in km.")
    distance_precision: GeoPrecision | None = Field(
        description="Hoe precies de plek is waartoe de afstand gemeten is: handmatig of adres "
        "(exact), pc6, pc4 of kern (ongeveer). Null zonder afstand."
    )
    distance_approximate: bool | None = Field(
        description="true als de afstand ongeveer is (de plek is grover dan een adres): "
        "toon dan 'ongeveer'. Null zonder afstand."
    )
    highlight: SearchHighlight


class SearchFacets(OutputModel):
    theme: dict[str, int]
    target_group: dict[str, int]
    access: dict[str, int]
    cost: dict[str, int]
    neighbourhood: dict[str, int]


class SearchResponse(OutputModel):
    items: list[SearchItem]
    total: int
    page: int
    per_page: int
    facets: SearchFacets


class Suggestion(OutputModel):
    type: str = Field(description="theme of service")
    slug: str
    label: str


class SuggestionList(OutputModel):
    items: list[Suggestion]
