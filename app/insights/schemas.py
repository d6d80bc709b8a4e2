from __future__ import annotations

from pydantic import Field

from app.core.schemas import OutputModel


class Count(OutputModel):
    key: str
    count: int


class ReferralMonth(OutputModel):
    month: str = Field(examples=["2026-11"])
    total: int
    by_mode: list[Count] = Field(description="warm of recept")
    by_referrer_kind: list[Count] = Field(description="huisarts, poh, loket, sociaal-team, anders")
    by_theme: list[Count]
    by_service: list[Count] = Field(description="Naam van de voorziening bij het verwijzen")
    by_status: list[Count]
    by_outcome: list[Count] = Field(description="Afgesloten: afgerond, niet-bereikt, afgewezen")
    recepts_used: int


class ReferralInsights(OutputModel):
    municipality: str
    months: list[ReferralMonth]


class SearchMonth(OutputModel):
    month: str
    searches: int
    zero_results: int
    zero_result_share: float = Field(description="Aandeel zoekvragen zonder resultaat (0–1)")
    by_theme: list[Count] = Field(
        description="Zoekvragen per thema (filter, of woorden van het thema in de zoekvraag)"
    )
    by_area: list[Count] = Field(description="kern:<slug>, wijk:<slug> of pc4:<cijfers>")
    zero_result_texts: list[Count] = Field(
        description="Zoekteksten zonder resultaat, opgeschoond (geen cijfers, e-mailadressen "
        "of namen), als aantallen; de 25 meest gezochte"
    )


class SearchInsights(OutputModel):
    municipality: str
    months: list[SearchMonth]


class Gap(OutputModel):
    theme: str
    area: str


class SupplyInsights(OutputModel):
    municipality: str
    areas: list[str] = Field(description="De wijken (slugs)")
    themes: dict[str, dict[str, int]] = Field(
        description="Per thema per wijk: het aantal openbare voorzieningen dat daar werkt"
    )
    gaps: list[Gap] = Field(description="Thema × wijk zonder aanbod")
