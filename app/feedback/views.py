"""Resident feedback: ``POST /services/{slug}/feedback`` (anonymous) and the redactie's queue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.accounts.deps import CurrentPrincipal
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.pagination import PageDep
from app.core.params import MunicipalityQuery, SlugPath
from app.feedback import service
from app.feedback.models import FeedbackStatus
from app.feedback.schemas import (
    FeedbackCreate,
    FeedbackPage,
    FeedbackRead,
    FeedbackReceived,
    FeedbackUpdate,
)
from app.services import service as services

router = APIRouter(tags=["Meldingen"])


@router.post(
    "/services/{slug}/feedback",
    operation_id="createFeedback",
    summary="Klopt er iets niet? Meld het (anoniem)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 404, 409, 422, 429),
)
def create_feedback(
    request: Request,
    session: SessionDep,
    slug: SlugPath,
    data: FeedbackCreate,
    municipality: MunicipalityQuery = None,
) -> FeedbackReceived:
    """Een inwoner meldt dat iets niet klopt bij een openbare voorziening: kies wat er niet
    klopt (`category`) en vertel het in 10 tot 1000 tekens. Er wordt niets over de melder
    gevraagd of bewaard, ook geen IP-adres. De redactie handelt de melding af; er komt geen
    bericht terug. Te veel meldingen in een uur (per voorziening of vanaf één adres) geeft
    429 met `Retry-After`. Een voorziening die niet openbaar is geeft 404.
    """
    settings: Settings = request.app.state.settings
    limiter = service.limiter_of(request.app.state, settings.feedback_max_per_client_per_hour)
    address = request.client.host if request.client else ""
    service.check_client(limiter, address)
    found = services.get_public(session=session, slug=slug, municipality=municipality)
    service.create(
        session=session, service=found, data=data, max_per_hour=settings.feedback_max_per_hour
    )
    limiter.record(address)
    return FeedbackReceived(detail=service.THANK_YOU)


@router.get(
    "/feedback",
    operation_id="listFeedback",
    summary="Meldingen van inwoners (redactie), oudste eerst",
    responses=problem_responses(400, 401, 403, 404),
)
def list_feedback(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    status: Annotated[
        FeedbackStatus,
        Query(description="Welke meldingen: open (standaard), opgelost of afgewezen."),
    ] = FeedbackStatus.open,
    municipality: MunicipalityQuery = None,
) -> FeedbackPage:
    """De meldingen van inwoners over voorzieningen van de eigen gemeente(n), oudste eerst,
    met de voorziening (slug en naam). Standaard alleen de open meldingen: de werkvoorraad van
    de redactie. Een andere gemeente dan de eigen geeft 403.
    """
    return service.list_feedback(
        session=session,
        principal=principal,
        page=page,
        status=status,
        municipality=municipality,
    )


@router.patch(
    "/feedback/{feedback_id}",
    operation_id="updateFeedback",
    summary="Melding afhandelen (redactie)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def update_feedback(
    session: SessionDep, principal: CurrentPrincipal, feedback_id: uuid.UUID, data: FeedbackUpdate
) -> FeedbackRead:
    """Zet een melding op `opgelost` of `afgewezen`, met een interne notitie (`note`) over
    wat de redactie deed. Het moment en het account worden vastgelegd (`handled_at`,
    `handled_by_id`). Alleen voor meldingen van de eigen gemeente.
    """
    return service.handle(session=session, principal=principal, feedback_id=feedback_id, data=data)
