from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic_core import to_json

from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.pagination import MAX_PAGE, MAX_PER_PAGE
from app.core.types import SLUG_MAX, SLUG_PATTERN
from app.indexing.engine import SearchEngine
from app.insights.recorder import record_search
from app.search_api import service
from app.search_api.answers import keep_answer
from app.search_api.schemas import SearchResponse, SuggestionList
from search.types import SortOrder

router = APIRouter(prefix="/search", tags=["Zoeken"])

SlugItem = Annotated[str, Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX)]
MAX_QUERY = 500
# Set when the search engine was down and the database fallback answered (SEARCH_FALLBACK).
FALLBACK_HEADER = "Search-Fallback"


def _engine(request: Request) -> SearchEngine:
    engine: SearchEngine = request.app.state.search
    return engine


@router.get(
    "",
    operation_id="search",
    summary="Zoeken op hulpvraag, doelgroep en wijk",
    response_model=SearchResponse,
    responses=problem_responses(400, 422, 429, 503),
)
def search(
    request: Request,
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=MAX_QUERY, description="Zoekwoorden, in eigen woorden.")
    ] = "",
    theme: Annotated[
        list[SlugItem],
        Query(max_length=20, description="Thema (slug); herhaalbaar: OF binnen een parameter."),
    ] = [],  # noqa: B006
    target_group: Annotated[
        list[SlugItem],
        Query(max_length=20, description="Doelgroep (slug); herhaalbaar."),
    ] = [],  # noqa: B006
    access: Annotated[
        list[SlugItem],
        Query(max_length=10, description="Toegang (slug); herhaalbaar."),
    ] = [],  # noqa: B006
    cost: Annotated[
        list[SlugItem],
        Query(max_length=10, description="Kosten (slug); herhaalbaar."),
    ] = [],  # noqa: B006
    age: Annotated[
        int | None,
        Query(ge=0, le=120, description="Leeftijd: alleen voorzieningen voor deze leeftijd."),
    ] = None,
    neighbourhood: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX, description="Wijk (slug).")
    ] = None,
    place: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX, description="Kern (slug).")
    ] = None,
    municipality: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX, description="Gemeente (slug).")
    ] = None,
    postcode: Annotated[
        str | None,
        Query(
            max_length=8, description="Postcode: 1422 of 1422 AB (midden van het postcodegebied)."
        ),
    ] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Breedtegraad (WGS84).")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Lengtegraad (WGS84).")] = None,
    radius_km: Annotated[
        float | None,
        Query(gt=0, le=300, description="Straal in km rond postcode of punt (standaard 5)."),
    ] = None,
    sort: Annotated[
        SortOrder, Query(description="relevance (standaard), distance of name.")
    ] = SortOrder.relevance,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    """Vindt openbare voorzieningen bij een hulpvraag in gewone woorden ("geldzorgen",
    "mantlezorg" mag ook), met filters: OF binnen een parameter, EN tussen parameters.
    Een voorziening voor de hele gemeente hoort bij elke wijk en kern. Zonder zoekwoorden:
    alle voorzieningen die aan de filters voldoen, op naam. Met postcode of lat/lon: binnen
    radius_km (standaard 5 km), met afstand per voorziening; sort=distance sorteert op afstand.
    Onbekende slugs geven 422 met hun naam. Is de zoekmachine even niet bereikbaar, dan
    503 met Retry-After, of — als de gemeente dat heeft ingesteld — een eenvoudiger zoekactie
    in de database (zonder tikfouten-tolerantie), met de header `Search-Fallback: database`.
    """
    params = service.SearchParams(
        q=q,
        theme=theme,
        target_group=target_group,
        access=access,
        cost=cost,
        age=age,
        neighbourhood=neighbourhood,
        place=place,
        municipality=municipality,
        postcode=postcode,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    # The body is SearchResponse, encoded once (service.search_json); FastAPI would validate
    # and serialise the returned model again, field by field. A sync route on purpose: as an
    # async route (one thread hop less, ~10% less CPU) its database work ran on the event loop,
    # and under a burst a blocking pool checkout there stalled the worker for the pool timeout
    # (docs/search.md, "The request path").
    content, fallback = service.search_page(engine=_engine(request), params=params)
    tally = None
    if page == 1:  # the monitor counts searches, not page turns (app/insights/recorder.py)
        tally = record_search(request.app.state, session, params, total=int(content["total"]))
    body = to_json(content)
    if fallback:
        return Response(body, media_type="application/json", headers={FALLBACK_HEADER: "database"})
    keep_answer(request, body=body, tally=tally)
    return Response(body, media_type="application/json")


@router.get(
    "/suggest",
    operation_id="searchSuggest",
    summary="Suggesties tijdens het typen (thema's en namen)",
    responses=problem_responses(400, 429),
)
def suggest(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100, description="Wat tot nu toe getypt is.")] = "",
) -> SuggestionList:
    """Thema's waarvan de naam of een gewoon woord ervoor begint met wat getypt is, en namen van voorzieningen."""
    return service.suggest(session=session, engine=_engine(request), q=q)
