"""The audit trail over the API: read only (append-only; no update or delete)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import CurrentPrincipal
from app.audit import service
from app.audit.schemas import AuditEventPage
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.pagination import PageDep
from app.core.params import MunicipalityQuery

router = APIRouter(prefix="/audit-events", tags=["Audit"])


@router.get(
    "",
    operation_id="listAuditEvents",
    summary="Auditlogboek: wie wijzigde wat en wanneer (redactie, beheer)",
    responses=problem_responses(400, 401, 403),
)
def list_audit_events(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    resource_type: Annotated[
        str | None,
        Query(max_length=50, description="Soort gegeven (tabel), bijvoorbeeld organization."),
    ] = None,
    resource_id: Annotated[
        str | None, Query(max_length=100, description="Id van het gegeven.")
    ] = None,
    actor_id: Annotated[
        uuid.UUID | None, Query(description="Id van de gebruiker of de API-sleutel.")
    ] = None,
    municipality: MunicipalityQuery = None,
) -> AuditEventPage:
    """Alle vastgelegde wijzigingen, nieuwste eerst: wie (gebruiker of API-sleutel, nooit
    een IP-adres), wanneer, welke actie en per veld de oude en nieuwe waarde. Het logboek
    kan niet gewijzigd of gewist worden.
    """
    return service.list_events(
        session=session,
        page=page,
        resource_type=resource_type,
        resource_id=resource_id,
        actor_id=actor_id,
        municipality=municipality,
        within=None if principal.all_municipalities else set(principal.municipality_ids),
    )
