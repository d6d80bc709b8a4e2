"""``/referrals``: Welzijn op Recept and warme overdracht (thin: app/referrals/service.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.core.concurrency import check_if_match, set_etag
from app.core.config import Settings
from app.core.crypto import cipher_for
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.referrals import service
from app.referrals.models import Referral, ReferralStatus
from app.referrals.schemas import (
    ReferralCreate,
    ReferralList,
    ReferralOut,
    ReferralRedeem,
    ReferralStatusUpdate,
)

router = APIRouter(prefix="/referrals", tags=["Verwijzingen"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _present(request: Request, session: SessionDep, referral: Referral) -> ReferralOut:
    presenter = service.Presenter(session=session, cipher=cipher_for(_settings(request)))
    return presenter.present([referral])[0]


@router.post(
    "",
    operation_id="createReferral",
    summary="Verwijzen: warme overdracht of Welzijn op Recept",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 422),
)
def create_referral(
    request: Request, response: Response, session: SessionDep, data: ReferralCreate
) -> ReferralOut:
    """Een professional (huisarts, POH, loket, sociaal team) verwijst een inwoner naar een
    openbare voorziening.

    * `warm`: de organisatie neemt contact op. Alleen met toestemming van de inwoner
      (`consent: true`) en alleen naam plus telefoon of e-mail; die worden versleuteld
      bewaard en zijn alleen zichtbaar voor u en de ontvangende organisatie.
    * `recept`: er worden géén persoonsgegevens bewaard. Het antwoord bevat het recept
      (voorziening, volgende stap, contact, referentiecode) om af te drukken of mee te geven.

    Een voorziening die niet (meer) openbaar is: 422.
    """
    referral = service.create(session=session, settings=_settings(request), data=data)
    set_etag(response, referral.version)
    return _present(request, session, referral)


@router.get(
    "",
    operation_id="listReferrals",
    summary="Mijn verwijzingen (professional) of binnengekomen verwijzingen (aanbieder)",
    responses=problem_responses(400, 401, 403),
)
def list_referrals(
    request: Request,
    session: SessionDep,
    status_filter: Annotated[
        ReferralStatus | None, Query(alias="status", description="Alleen deze status.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReferralList:
    """Een professional ziet de eigen verzonden verwijzingen, een aanbieder de verwijzingen
    naar de voorzieningen van de eigen organisatie(s); nieuwste eerst. Het inzien van
    persoonsgegevens wordt vastgelegd in de audit-trail."""
    rows, total = service.list_visible(
        session=session, status=status_filter, limit=per_page, offset=(page - 1) * per_page
    )
    presenter = service.Presenter(session=session, cipher=cipher_for(_settings(request)))
    return ReferralList(items=presenter.present(rows), total=total)


@router.get(
    "/{referral_id}",
    operation_id="getReferral",
    summary="Eén verwijzing (met recept of contactgegevens)",
    responses=problem_responses(401, 403, 404, 422),
)
def get_referral(
    request: Request, response: Response, session: SessionDep, referral_id: uuid.UUID
) -> ReferralOut:
    """Alleen voor de verwijzer en de ontvangende organisatie (anders 404)."""
    referral = service.get_visible(session=session, referral_id=referral_id)
    set_etag(response, referral.version)
    return _present(request, session, referral)


@router.post(
    "/{referral_id}/status",
    operation_id="updateReferralStatus",
    summary="Status van een verwijzing bijwerken (ontvangende organisatie)",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
def update_referral_status(
    request: Request,
    response: Response,
    session: SessionDep,
    referral_id: uuid.UUID,
    data: ReferralStatusUpdate,
) -> ReferralOut:
    """`verstuurd → ontvangen → in-contact → afgerond | niet-bereikt | afgewezen`; stappen
    overslaan mag, terug niet; afgesloten is definitief (409). Bij afsluiten een korte
    uitkomst voor de verwijzer. De verwijzer krijgt een e-mail met een link (zonder
    persoonsgegevens). Stuur `If-Match` met de ETag."""
    referral = service.get_visible(session=session, referral_id=referral_id)
    check_if_match(request, referral.version)
    updated = service.change_status(
        session=session, settings=_settings(request), referral=referral, data=data
    )
    set_etag(response, updated.version)
    return _present(request, session, updated)


@router.post(
    "/redeem",
    operation_id="redeemReferralCode",
    summary="Recept als gebruikt melden met de referentiecode (aanbieder)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def redeem_referral(
    request: Request, response: Response, session: SessionDep, data: ReferralRedeem
) -> ReferralOut:
    """De inwoner komt met een recept: de organisatie meldt de code als gebruikt (eenmalig).
    De verwijzer ziet dat het recept is gebruikt; persoonsgegevens zijn er niet."""
    referral = service.redeem(
        session=session, settings=_settings(request), code=data.reference_code
    )
    set_etag(response, referral.version)
    return _present(request, session, referral)
