"""Aanmeldingen (providers) and their review (redactie)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.admission import submissions
from app.admission.submission_models import SubmissionStatus
from app.admission.submission_schemas import (
    Decision,
    ReviewList,
    SubmissionCreate,
    SubmissionPublic,
    SubmissionUpdate,
)
from app.core.db import SessionDep
from app.core.openapi import problem_responses

router = APIRouter(tags=["Toelating"])


@router.post(
    "/submissions",
    operation_id="createSubmission",
    summary="Aanmelden: een nieuwe organisatie met aanbod, of een wijziging",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def create_submission(
    session: SessionDep, data: SubmissionCreate, response: Response
) -> SubmissionPublic:
    """Wordt meteen getoetst aan de toelatingscriteria: status `ingediend` (de redactie kijkt
    nog) of `aanvullen`, met per criterium wat er ontbreekt en wat u kunt doen. Een nieuwe
    organisatie is pas openbaar als ze is toegelaten; bij een wijziging blijft de huidige
    versie openbaar tot de wijziging is toegelaten. Dezelfde wijziging nog eens indienen geeft
    de bestaande aanmelding terug (200)."""
    submission, new = submissions.create(session=session, data=data)
    if not new:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"submissions/{submission.id}"
    return submissions.present(session=session, submission=submission)


@router.get(
    "/submissions/{submission_id}",
    operation_id="getSubmission",
    summary="Een aanmelding met het toetsingsrapport",
    responses=problem_responses(400, 401, 403, 404),
)
def get_submission(session: SessionDep, submission_id: uuid.UUID) -> SubmissionPublic:
    """Status, rapport per criterium en (bij een wijziging) per veld oud en nieuw."""
    return submissions.present(
        session=session, submission=submissions.get(session=session, submission_id=submission_id)
    )


@router.patch(
    "/submissions/{submission_id}",
    operation_id="updateSubmission",
    summary="Aanvullen en opnieuw indienen",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def update_submission(
    session: SessionDep, submission_id: uuid.UUID, data: SubmissionUpdate
) -> SubmissionPublic:
    """Verwerkt de aanvulling en toetst opnieuw. Zonder echte verandering gebeurt er niets."""
    found = submissions.get(session=session, submission_id=submission_id)
    return submissions.present(
        session=session, submission=submissions.amend(session=session, submission=found, data=data)
    )


@router.get(
    "/reviews",
    operation_id="listReviews",
    summary="Beoordelingswachtrij van de redactie, oudste eerst",
    responses=problem_responses(400, 401, 403),
)
def list_reviews(
    session: SessionDep,
    status_filter: Annotated[
        SubmissionStatus | None,
        Query(alias="status", description="Standaard: ingediend"),
    ] = None,
) -> ReviewList:
    """Aanmeldingen van uw gemeenten met de criteria die nog open staan."""
    items = submissions.review_queue(
        session=session, status=status_filter.value if status_filter else None
    )
    return ReviewList(items=items, total=len(items))


@router.post(
    "/submissions/{submission_id}/decision",
    operation_id="decideSubmission",
    summary="Besluit van de redactie: toegelaten, aanvullen of afgewezen",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def decide_submission(
    session: SessionDep, submission_id: uuid.UUID, data: Decision
) -> SubmissionPublic:
    """Toelaten kan als elk criterium klopt, door u is bevestigd (`confirmed`, bijv. T8) of
    met een schriftelijke reden is overruled (`overrides`). Afwijzen vraagt een reden. Elk
    besluit wordt bewaard (wie, wanneer, criteriaversie, resultaten, redenen)."""
    found = submissions.get(session=session, submission_id=submission_id)
    decided = submissions.decide(session=session, submission=found, data=data)
    return submissions.present(session=session, submission=decided)
