"""``/insights``: the monitor sociaal domein (redactie and beheer; anonymous counts only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.types import SLUG_MAX, SLUG_PATTERN
from app.insights import service
from app.insights.schemas import ReferralInsights, SearchInsights, SupplyInsights

router = APIRouter(prefix="/insights", tags=["Monitor"])

MunicipalityParam = Annotated[
    str,
    Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX, description="Gemeente (slug)."),
]
FromParam = Annotated[
    str | None,
    Query(alias="from", max_length=7, description="Eerste maand, jaar-maand (2026-01)."),
]
ToParam = Annotated[
    str | None, Query(alias="to", max_length=7, description="Laatste maand (standaard: deze).")
]


@router.get(
    "/referrals",
    operation_id="getReferralInsights",
    summary="Verwijzingen per maand (anoniem)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def referral_insights(
    session: SessionDep,
    municipality: MunicipalityParam,
    start: FromParam = None,
    end: ToParam = None,
) -> ReferralInsights:
    """Per maand: aantal verwijzingen, per vorm (warm/recept), soort verwijzer, thema,
    voorziening, status en uitkomst, en hoeveel recepten zijn gebruikt. Geen
    persoonsgegevens; de aantallen blijven ook na het wissen van persoonsgegevens."""
    found = service.municipality_for(session, municipality)
    return service.referral_insights(
        session=session, municipality=found, period=service.parse_period(start, end)
    )


@router.get(
    "/searches",
    operation_id="getSearchInsights",
    summary="Zoekvragen per maand: thema's, wijken, zonder resultaat (anoniem)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def search_insights(
    session: SessionDep,
    municipality: MunicipalityParam,
    start: FromParam = None,
    end: ToParam = None,
) -> SearchInsights:
    """Per maand: aantal zoekvragen, per thema en per gebied, het aandeel zonder resultaat
    en de (opgeschoonde) teksten die niets vonden, als aantallen. Wie zocht wordt nergens
    bewaard. De tellingen worden elke minuut bijgewerkt."""
    found = service.municipality_for(session, municipality)
    return service.search_insights(
        session=session, municipality=found, period=service.parse_period(start, end)
    )


@router.get(
    "/supply",
    operation_id="getSupplyInsights",
    summary="Aanbod per thema en wijk: waar ontbreekt iets?",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def supply_insights(session: SessionDep, municipality: MunicipalityParam) -> SupplyInsights:
    """Per thema per wijk het aantal openbare voorzieningen dat er werkt (een voorziening
    voor de hele gemeente telt in elke wijk), en de combinaties zonder aanbod."""
    found = service.municipality_for(session, municipality)
    return service.supply_insights(session=session, municipality=found)


@router.get(
    "/export.csv",
    operation_id="exportInsightsCsv",
    summary="De monitor als CSV (voor de halfjaarlijkse raadsrapportage)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **problem_responses(400, 401, 403, 404, 422),
    },
)
def export_insights(
    session: SessionDep,
    municipality: MunicipalityParam,
    start: FromParam = None,
    end: ToParam = None,
) -> Response:
    """Verwijzingen, zoekvragen en aanbod in één CSV (puntkomma's, UTF-8 met BOM, opent
    in Excel): onderdeel; maand; indeling; waarde; aantal."""
    found = service.municipality_for(session, municipality)
    period = service.parse_period(start, end)
    text = service.to_csv(
        service.csv_rows(
            service.referral_insights(session=session, municipality=found, period=period),
            service.search_insights(session=session, municipality=found, period=period),
            service.supply_insights(session=session, municipality=found),
        )
    )
    name = f"monitor-{found.slug}-{period.start:%Y-%m}-{period.end:%Y-%m}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
