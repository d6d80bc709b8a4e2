"""HSDS 3.0 read-only endpoints (``/hsds/...``); see docs/hsds.md.

The session dependency keeps the default (request) scope here: an ``ndjson`` stream reads
from it while the response is being sent, and nothing is written, so there is no commit to
wait for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.db import get_session
from app.core.openapi import problem_responses
from app.core.pagination import MAX_PAGE, MAX_PER_PAGE
from app.core.visibility import organization_is_public, service_is_public
from app.hsds import present
from app.hsds import schemas as hsds
from app.hsds.present import Shape
from app.hsds.service import (
    MAX_PROXIMITY_M,
    Filters,
    batches,
    envelope,
    not_found,
    organizations_statement,
    page_of,
    parse_id,
    parse_modified_after,
    service_at_locations_statement,
    services_statement,
    taxonomies_statement,
    taxonomy_terms_statement,
)
from app.indexing.engine import SearchEngine
from app.organizations.models import Organization
from app.services.models import Service, ServiceAtLocation
from app.taxonomy.models import Taxonomy, TaxonomyTerm

PROFILE_URL = "https://github.com/openreferral/specification/tree/3.0"
NDJSON = "application/x-ndjson"

router = APIRouter()
ReadSession = Annotated[Session, Depends(get_session)]
M = TypeVar("M")
Out = TypeVar("Out", bound=BaseModel)

# --- parameters -------------------------------------------------------------------------------

PageQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Paginanummer, vanaf 1.")]
PerPageQuery = Annotated[
    int, Query(ge=1, le=MAX_PER_PAGE, description="Resultaten per pagina (maximaal 100).")
]
FormatQuery = Annotated[
    Literal["json", "ndjson"],
    Query(
        description="`ndjson`: alle resultaten ongepagineerd als stroom, één JSON-object per "
        "regel (`application/x-ndjson`)."
    ),
]
SearchQuery = Annotated[
    str | None, Query(max_length=500, description="Vrije tekst (Nederlandse zoekanalyse).")
]
FullQuery = Annotated[bool, Query(description="Volledig genest (zoals de detailweergave).")]
IdQuery = Annotated[uuid.UUID | None, Query(description="Id (UUID).")]
AgeQuery = Annotated[
    int | None,
    Query(ge=0, le=120, description="Leeftijdsbereik dat moet overlappen met dat van de dienst."),
]
PROBLEMS = problem_responses(400, 503)
DETAIL_PROBLEMS = problem_responses(404)


def _ndjson_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {
        **PROBLEMS,
        200: {
            "description": "Een pagina, of met `format=ndjson` alle resultaten als stroom.",
            "content": {NDJSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        },
    }


def filters(
    search: SearchQuery = None,
    taxonomy_term_id: Annotated[
        uuid.UUID | None, Query(description="Alleen diensten met deze taxonomieterm.")
    ] = None,
    taxonomy_id: Annotated[
        uuid.UUID | None, Query(description="Alleen diensten met een term uit deze taxonomie.")
    ] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Alleen diensten van deze organisatie.")
    ] = None,
    modified_after: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Alleen wat op of na dit moment is gewijzigd (ISO 8601, zonder "
            "tijdzone: UTC).",
        ),
    ] = None,
    minimum_age: AgeQuery = None,
    maximum_age: AgeQuery = None,
    postcode: Annotated[
        str | None,
        Query(max_length=10, description="Postcode (1422 of 1422 AB): nabij het middelpunt."),
    ] = None,
    proximity: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PROXIMITY_M,
            description="Afstand in meters tot het middelpunt van de postcode (standaard 5000).",
        ),
    ] = None,
) -> Filters:
    return Filters(
        search=search,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        organization_id=organization_id,
        modified_after=parse_modified_after(modified_after),
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        postcode=postcode,
        proximity=proximity,
    )


FiltersDep = Annotated[Filters, Depends(filters)]


@dataclass(frozen=True)
class Listing:
    page: int
    per_page: int
    format: str


def listing(
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
    format: FormatQuery = "json",
) -> Listing:
    """Paging and output format of a list (``format=ndjson``: everything, unpaged)."""
    return Listing(page=page, per_page=per_page, format=format)


ListingDep = Annotated[Listing, Depends(listing)]


def _search(request: Request) -> SearchEngine:
    engine: SearchEngine = request.app.state.search
    return engine


# --- list helpers -----------------------------------------------------------------------------


def _listing(
    session: Session,
    statement: SelectOfScalar[M],
    present_rows: Callable[[Sequence[M]], list[Out]],
    shown: Listing,
) -> dict[str, Any] | StreamingResponse:
    """One page in the HSDS envelope, or (``ndjson``) every row streamed in batches."""
    if shown.format == "ndjson":

        def lines() -> Iterator[str]:
            for batch in batches(session, statement):
                for item in present_rows(batch):
                    yield item.model_dump_json(exclude_none=True) + "\n"

        return StreamingResponse(lines(), media_type=NDJSON)
    rows, total = page_of(session, statement, page=shown.page, per_page=shown.per_page)
    return envelope(present_rows(rows), total=total, page=shown.page, per_page=shown.per_page)


def _first(session: Session, statement: SelectOfScalar[M], *, noun: str, raw_id: str) -> M:
    row = session.exec(statement).first()
    if row is None:
        raise not_found(noun, raw_id)
    return row


def _get(
    path: str, model: type[BaseModel], operation_id: str, responses: dict[int | str, Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A GET operation whose unknown (``None``) fields are left out, as HSDS expects."""
    return router.get(
        path,
        response_model=model,
        response_model_exclude_none=True,
        responses=responses,
        operation_id=operation_id,
    )


# --- endpoints --------------------------------------------------------------------------------


@router.get("/", response_model=hsds.ApiMeta, operation_id="getAPIMetaInformation")
def meta(request: Request) -> hsds.ApiMeta:
    """Over deze API: HSDS-versie, profiel en het OpenAPI-document."""
    base = str(request.base_url).rstrip("/") + request.scope.get("root_path", "")
    return hsds.ApiMeta(
        version=hsds.HSDS_VERSION, profile=PROFILE_URL, openapi_url=f"{base}/openapi.json"
    )


@_get(
    "/services",
    hsds.ServicePage,
    "listServices",
    {**_ndjson_responses(hsds.Service), **problem_responses(429)},
)
def list_services(
    request: Request,
    session: ReadSession,
    shown: ListingDep,
    where: FiltersDep,
    minimal: Annotated[
        bool, Query(description="Alleen id, name, status en last_modified.")
    ] = False,
    full: FullQuery = False,
) -> Any:
    """Openbare diensten (voorzieningen) op naam; filters combineren met EN."""
    shape = Shape.full if full else Shape.minimal if minimal else Shape.basic
    statement = services_statement(session=session, engine=_search(request), filters=where)
    return _listing(
        session,
        statement,
        lambda rows: present.services_out(session, rows, shape=shape),
        shown,
    )


@_get("/services/{id}", hsds.Service, "getServiceById", DETAIL_PROBLEMS)
def get_service(id: str, session: ReadSession) -> hsds.Service:
    """Eén openbare dienst, volledig genest."""
    row = _first(
        session,
        select(Service).where(col(Service.id) == parse_id(id, noun="Dienst"), service_is_public()),
        noun="Dienst",
        raw_id=id,
    )
    return present.services_out(session, [row], shape=Shape.full)[0]


@_get(
    "/organizations",
    hsds.OrganizationPage,
    "listOrganizations",
    _ndjson_responses(hsds.Organization),
)
def list_organizations(
    session: ReadSession,
    shown: ListingDep,
    search: SearchQuery = None,
    full: FullQuery = False,
    full_service: Annotated[
        bool, Query(description="Met hun openbare diensten, elk volledig genest.")
    ] = False,
) -> Any:
    """Openbare organisaties (aanbieders) op naam; `search` zoekt in de naam."""

    def out(rows: Sequence[Organization]) -> list[hsds.Organization]:
        if full or full_service:
            services = Shape.full if full_service else Shape.basic
            return present.organizations_full(session, rows, services=services)
        return [present.organization_basic(o) for o in rows]

    return _listing(
        session,
        organizations_statement(search=search),
        out,
        shown,
    )


@_get("/organizations/{id}", hsds.Organization, "getOrganizationById", DETAIL_PROBLEMS)
def get_organization(
    id: str,
    session: ReadSession,
    full_service: Annotated[bool, Query(description="Diensten volledig genest.")] = False,
) -> hsds.Organization:
    """Eén openbare organisatie, volledig genest, met haar openbare diensten."""
    row = _first(
        session,
        select(Organization).where(
            col(Organization.id) == parse_id(id, noun="Organisatie"), organization_is_public()
        ),
        noun="Organisatie",
        raw_id=id,
    )
    services = Shape.full if full_service else Shape.basic
    return present.organizations_full(session, [row], services=services)[0]


@_get(
    "/service_at_locations",
    hsds.ServiceAtLocationPage,
    "listServiceAtLocations",
    _ndjson_responses(hsds.ServiceAtLocation),
)
def list_service_at_locations(
    request: Request,
    session: ReadSession,
    shown: ListingDep,
    where: FiltersDep,
    full: FullQuery = False,
) -> Any:
    """Openbare diensten per locatie; filters combineren met EN."""
    statement = service_at_locations_statement(
        session=session, engine=_search(request), filters=where
    )
    return _listing(
        session,
        statement,
        lambda rows: present.service_at_locations_out(session, rows, full=full),
        shown,
    )


@_get(
    "/service_at_locations/{id}",
    hsds.ServiceAtLocation,
    "getServiceAtLocationById",
    DETAIL_PROBLEMS,
)
def get_service_at_location(id: str, session: ReadSession) -> hsds.ServiceAtLocation:
    """Eén dienst op een locatie, met de locatie en de dienst volledig genest."""
    noun = "Dienst op locatie"
    row = _first(
        session,
        select(ServiceAtLocation)
        .join(Service, col(Service.id) == col(ServiceAtLocation.service_id))
        .where(col(ServiceAtLocation.id) == parse_id(id, noun=noun), service_is_public()),
        noun=noun,
        raw_id=id,
    )
    return present.service_at_locations_out(session, [row], full=True)[0]


@_get("/taxonomies", hsds.TaxonomyPage, "listTaxonomies", _ndjson_responses(hsds.Taxonomy))
def list_taxonomies(
    session: ReadSession,
    shown: ListingDep,
    search: SearchQuery = None,
) -> Any:
    """De taxonomieën: thema's, doelgroepen, toegang en kosten."""
    return _listing(
        session,
        taxonomies_statement(search=search),
        lambda rows: [present.taxonomy(t) for t in rows],
        shown,
    )


@_get("/taxonomies/{id}", hsds.Taxonomy, "getTaxonomyById", DETAIL_PROBLEMS)
def get_taxonomy(id: str, session: ReadSession) -> hsds.Taxonomy:
    """Eén taxonomie."""
    row = session.get(Taxonomy, parse_id(id, noun="Taxonomie"))
    if row is None:
        raise not_found("Taxonomie", id)
    return present.taxonomy(row)


@_get(
    "/taxonomy_terms",
    hsds.TaxonomyTermPage,
    "listTaxonomyTerms",
    _ndjson_responses(hsds.TaxonomyTerm),
)
def list_taxonomy_terms(
    session: ReadSession,
    shown: ListingDep,
    search: SearchQuery = None,
    taxonomy_id: IdQuery = None,
    parent_id: IdQuery = None,
    top_only: Annotated[bool, Query(description="Alleen termen zonder ouderterm.")] = False,
) -> Any:
    """Taxonomietermen, per taxonomie in vaste volgorde; `search` zoekt in de naam."""
    taxes = present.taxonomies_by_id(session)
    return _listing(
        session,
        taxonomy_terms_statement(
            search=search, taxonomy_id=taxonomy_id, parent_id=parent_id, top_only=top_only
        ),
        lambda rows: [present.taxonomy_term(t, taxes[t.taxonomy_id]) for t in rows],
        shown,
    )


@_get("/taxonomy_terms/{id}", hsds.TaxonomyTerm, "getTaxonomyTermById", DETAIL_PROBLEMS)
def get_taxonomy_term(id: str, session: ReadSession) -> hsds.TaxonomyTerm:
    """Eén taxonomieterm met zijn taxonomie."""
    row = session.get(TaxonomyTerm, parse_id(id, noun="Taxonomieterm"))
    if row is None:
        raise not_found("Taxonomieterm", id)
    tax = session.get(Taxonomy, row.taxonomy_id)
    assert tax is not None  # taxonomy_id is a foreign key
    return present.taxonomy_term(row, tax)
