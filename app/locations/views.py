from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.core.concurrency import check_if_match, set_etag
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.locations import service
from app.locations.schemas import LocationCreate, LocationPublic, LocationUpdate

router = APIRouter(prefix="/locations", tags=["Locaties"])


@router.post(
    "",
    operation_id="createLocation",
    summary="Locatie toevoegen (beheer)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 422),
)
def create_location(
    session: SessionDep, data: LocationCreate, response: Response
) -> LocationPublic:
    """Voegt een locatie toe (adres, kern, wijk, coördinaten, tijden). Koppel haar
    daarna aan voorzieningen via hun veld locations.
    """
    location = service.create(session=session, data=data)
    response.headers["Location"] = f"locations/{location.id}"
    set_etag(response, location.version)
    (result,) = service.present(session=session, locations=[location])
    return result


@router.get(
    "/{location_id}",
    operation_id="getLocation",
    summary="Eén locatie (beheer)",
    responses=problem_responses(400, 401, 403, 404),
)
def get_location(session: SessionDep, response: Response, location_id: uuid.UUID) -> LocationPublic:
    """Eén locatie, ook als ze (nog) niet bij een openbare voorziening hoort."""
    location = service.get(session=session, location_id=location_id)
    set_etag(response, location.version)
    (result,) = service.present(session=session, locations=[location])
    return result


@router.patch(
    "/{location_id}",
    operation_id="updateLocation",
    summary="Locatie wijzigen (beheer); alleen meegestuurde velden veranderen",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
def update_location(
    session: SessionDep,
    request: Request,
    response: Response,
    location_id: uuid.UUID,
    data: LocationUpdate,
) -> LocationPublic:
    """Gedeeltelijke wijziging: alleen meegestuurde velden veranderen. Stuur `If-Match` met
    de ETag (412 als die verouderd is, 428 zonder)."""
    current = service.get(session=session, location_id=location_id)
    check_if_match(request, current.version)
    location = service.update(session=session, location=current, data=data)
    session.flush()
    set_etag(response, location.version)
    (result,) = service.present(session=session, locations=[location])
    return result


@router.delete(
    "/{location_id}",
    operation_id="deleteLocation",
    summary="Locatie verwijderen (beheer); kan alleen als geen voorziening haar gebruikt",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 428),
)
def delete_location(session: SessionDep, request: Request, location_id: uuid.UUID) -> None:
    """Verwijdert een locatie. Dat kan alleen als geen voorziening haar nog gebruikt
    (anders 409). Stuur `If-Match` met de ETag.
    """
    location = service.get(session=session, location_id=location_id)
    check_if_match(request, location.version)
    service.delete(session=session, location=location)
