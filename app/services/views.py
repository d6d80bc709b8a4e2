from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.core.concurrency import check_if_match, set_etag
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.pagination import PageDep
from app.core.params import MunicipalityQuery, SlugPath
from app.services import service
from app.services.schemas import ServiceCreate, ServiceDetail, ServicePage, ServiceUpdate

router = APIRouter(prefix="/services", tags=["Voorzieningen"])


@router.get(
    "",
    operation_id="listServices",
    summary="Openbare voorzieningen, op naam gesorteerd",
    responses=problem_responses(400),
)
def list_services(
    session: SessionDep, page: PageDep, municipality: MunicipalityQuery = None
) -> ServicePage:
    """Alle openbare voorzieningen (toegelaten of in herbeoordeling), op naam
    gesorteerd, per pagina.
    """
    return service.list_public(session=session, page=page, municipality=municipality)


@router.get(
    "/{slug}",
    operation_id="getService",
    summary="Eén voorziening met alle details",
    responses=problem_responses(400, 404, 409),
)
def get_service(
    session: SessionDep, slug: SlugPath, response: Response, municipality: MunicipalityQuery = None
) -> ServiceDetail:
    """Alles over één voorziening: organisatie, locaties met adres en tijden, thema's,
    doelgroepen, toegang, kosten, leeftijden, voorwaarden, werkgebied, bronnen en de
    datum van de laatste controle.
    """
    found = service.get_public(session=session, slug=slug, municipality=municipality)
    set_etag(response, found.version)
    return service.detail(session=session, service=found)


@router.post(
    "",
    operation_id="createService",
    summary="Voorziening toevoegen (beheer)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_service(session: SessionDep, data: ServiceCreate, response: Response) -> ServiceDetail:
    """Voegt een voorziening toe. Thema's, doelgroepen, toegang en kosten zijn slugs uit
    de taxonomie; een onbekende slug geeft 422 met de naam van die slug. Zonder
    werkgebied geldt de hele gemeente.
    """
    created = service.create(session=session, data=data)
    response.headers["Location"] = f"services/{created.slug}"
    set_etag(response, created.version)
    return service.detail(session=session, service=created)


@router.patch(
    "/{slug}",
    operation_id="updateService",
    summary="Voorziening wijzigen (beheer); alleen meegestuurde velden veranderen",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
def update_service(
    session: SessionDep,
    request: Request,
    response: Response,
    slug: SlugPath,
    data: ServiceUpdate,
    municipality: MunicipalityQuery = None,
) -> ServiceDetail:
    """Gedeeltelijke wijziging: alleen meegestuurde velden veranderen. Lijsten (thema's,
    locaties, bronnen, ...) worden in hun geheel vervangen. Stuur `If-Match` met de ETag
    van de versie die u wijzigt (412 als die verouderd is, 428 zonder).
    """
    found = service.get_any(session=session, slug=slug, municipality=municipality)
    check_if_match(request, found.version)
    updated = service.update(session=session, service=found, data=data)
    session.flush()
    set_etag(response, updated.version)
    return service.detail(session=session, service=updated)


@router.delete(
    "/{slug}",
    operation_id="deleteService",
    summary="Voorziening verwijderen (beheer)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 428),
)
def delete_service(
    session: SessionDep, request: Request, slug: SlugPath, municipality: MunicipalityQuery = None
) -> None:
    """Verwijdert een voorziening met haar koppelingen. Locaties blijven bestaan. Stuur
    `If-Match` met de ETag."""
    found = service.get_any(session=session, slug=slug, municipality=municipality)
    check_if_match(request, found.version)
    service.delete(session=session, service=found)
