from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.core.concurrency import check_if_match, set_etag
from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.pagination import PageDep
from app.core.params import MunicipalityQuery, SlugPath
from app.organizations import service
from app.organizations.schemas import (
    OrganizationCreate,
    OrganizationDetail,
    OrganizationPage,
    OrganizationUpdate,
)

router = APIRouter(prefix="/organizations", tags=["Organisaties"])


@router.get(
    "",
    operation_id="listOrganizations",
    summary="Openbare organisaties (aanbieders)",
    responses=problem_responses(400),
)
def list_organizations(
    session: SessionDep, page: PageDep, municipality: MunicipalityQuery = None
) -> OrganizationPage:
    """Alle openbare organisaties, op naam gesorteerd, met het aantal openbare
    voorzieningen.
    """
    return service.list_public(session=session, page=page, municipality=municipality)


@router.get(
    "/{slug}",
    operation_id="getOrganization",
    summary="Eén organisatie met haar openbare voorzieningen",
    responses=problem_responses(400, 404, 409),
)
def get_organization(
    session: SessionDep, slug: SlugPath, response: Response, municipality: MunicipalityQuery = None
) -> OrganizationDetail:
    """Eén organisatie met haar gegevens (KvK/AGB, telefoon) en haar openbare
    voorzieningen.
    """
    org = service.get_public(session=session, slug=slug, municipality=municipality)
    set_etag(response, org.version)
    return service.detail(session=session, org=org)


@router.post(
    "",
    operation_id="createOrganization",
    summary="Organisatie toevoegen (beheer)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_organization(
    session: SessionDep, data: OrganizationCreate, response: Response
) -> OrganizationDetail:
    """Voegt een organisatie toe. Zonder slug wordt er een gemaakt uit de naam."""
    org = service.create(session=session, data=data)
    response.headers["Location"] = f"organizations/{org.slug}"
    set_etag(response, org.version)
    return service.detail(session=session, org=org, public_services_only=False)


@router.patch(
    "/{slug}",
    operation_id="updateOrganization",
    summary="Organisatie wijzigen (beheer); alleen meegestuurde velden veranderen",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
def update_organization(
    session: SessionDep,
    request: Request,
    response: Response,
    slug: SlugPath,
    data: OrganizationUpdate,
    municipality: MunicipalityQuery = None,
) -> OrganizationDetail:
    """Gedeeltelijke wijziging: alleen meegestuurde velden veranderen. Lijsten worden in
    hun geheel vervangen. Stuur `If-Match` met de ETag (412 als die verouderd is, 428 zonder).
    """
    org = service.get_any(session=session, slug=slug, municipality=municipality)
    check_if_match(request, org.version)
    org = service.update(session=session, org=org, data=data)
    session.flush()
    set_etag(response, org.version)
    return service.detail(session=session, org=org, public_services_only=False)


@router.delete(
    "/{slug}",
    operation_id="deleteOrganization",
    summary="Organisatie verwijderen (beheer); kan alleen zonder voorzieningen",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 428),
)
def delete_organization(
    session: SessionDep, request: Request, slug: SlugPath, municipality: MunicipalityQuery = None
) -> None:
    """Verwijdert een organisatie. Dat kan alleen als ze geen voorzieningen meer heeft
    (anders 409).
    """
    org = service.get_any(session=session, slug=slug, municipality=municipality)
    check_if_match(request, org.version)
    service.delete(session=session, org=org)
