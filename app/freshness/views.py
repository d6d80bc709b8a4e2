"""``POST /services/{slug}/confirm``: "de gegevens kloppen nog" (actualiteit, T10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import Field

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.params import MunicipalityQuery, SlugPath
from app.core.schemas import InputModel
from app.freshness import service
from app.services import service as services
from app.services.schemas import ServiceDetail

router = APIRouter(prefix="/services", tags=["Voorzieningen"])


class ServiceConfirm(InputModel):
    note: str | None = Field(
        default=None,
        max_length=1000,
        description="Optioneel: wat u controleerde. Komt in het auditlogboek, niet openbaar.",
    )


@router.post(
    "/{slug}/confirm",
    operation_id="confirmService",
    summary="De gegevens kloppen nog (actueel houden)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def confirm_service(
    session: SessionDep,
    response: Response,
    slug: SlugPath,
    data: Annotated[ServiceConfirm | None, Body()] = None,
    municipality: MunicipalityQuery = None,
) -> ServiceDetail:
    """Bevestigt dat de gegevens van een voorziening nog kloppen: de datum van de laatste
    controle (`assured_date`) wordt vandaag en een herinnering vervalt. Een voorziening met
    status `verificatie-nodig` of `verlopen` wordt weer `toegelaten` (en weer vindbaar); andere
    statussen blijven zoals ze zijn. Voor aanbieders van de eigen organisatie, redactie en
    beheer; `If-Match` is niet nodig. Zonder controle wordt een voorziening na 12 maanden
    `verificatie-nodig` en na nog 60 dagen `verlopen`: niet meer openbaar (standaardwaarden).
    """
    found = services.get_any(session=session, slug=slug, municipality=municipality)
    confirmed = service.confirm(session=session, service=found, note=data.note if data else None)
    set_etag(response, confirmed.version)
    return services.detail(session=session, service=confirmed)
