from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.types import Slug
from app.municipalities.service import get_municipality
from app.taxonomy.schemas import TermList, TermPublic
from app.taxonomy.service import TaxonomyKey, list_terms_with_counts

router = APIRouter(tags=["Taxonomie"])

MunicipalityFilter = Annotated[
    Slug | None, Query(description="Tel alleen voorzieningen in deze gemeente (slug).")
]


def _list(session: SessionDep, taxonomy: TaxonomyKey, municipality: str | None) -> TermList:
    municipality_id = (
        get_municipality(session=session, slug=municipality).id if municipality else None
    )
    rows = list_terms_with_counts(
        session=session, taxonomy=taxonomy, municipality_id=municipality_id
    )
    items = [
        TermPublic(
            slug=t.slug,
            label=t.label,
            description=t.description,
            minimum_age=t.minimum_age,
            maximum_age=t.maximum_age,
            service_count=count,
        )
        for t, count in rows
    ]
    return TermList(items=items, total=len(items))


@router.get(
    "/themes",
    operation_id="listThemes",
    summary="Thema's (hulpvragen) met aantallen voorzieningen",
    responses=problem_responses(400, 404),
)
def list_themes(session: SessionDep, municipality: MunicipalityFilter = None) -> TermList:
    """De thema's (hulpvragen, levensdomeinen) in vaste volgorde, elk met het aantal
    openbare voorzieningen.
    """
    return _list(session, TaxonomyKey.themes, municipality)


@router.get(
    "/target-groups",
    operation_id="listTargetGroups",
    summary="Doelgroepen met aantallen voorzieningen",
    responses=problem_responses(400, 404),
)
def list_target_groups(session: SessionDep, municipality: MunicipalityFilter = None) -> TermList:
    """De doelgroepen, elk met het aantal openbare voorzieningen."""
    return _list(session, TaxonomyKey.target_groups, municipality)


@router.get(
    "/access-routes",
    operation_id="listAccessRoutes",
    summary="Toegangsroutes (vrij toegankelijk, verwijzing, ...) met aantallen",
    responses=problem_responses(400, 404),
)
def list_access_routes(session: SessionDep, municipality: MunicipalityFilter = None) -> TermList:
    """Hoe iemand bij een voorziening komt (vrij toegankelijk, aanmelden, verwijzing,
    indicatie), met aantallen.
    """
    return _list(session, TaxonomyKey.access_routes, municipality)


@router.get(
    "/costs",
    operation_id="listCosts",
    summary="Kostenklassen met aantallen",
    responses=problem_responses(400, 404),
)
def list_costs(session: SessionDep, municipality: MunicipalityFilter = None) -> TermList:
    """Kostenklassen (gratis, eigen bijdrage, onbekend), met aantallen."""
    return _list(session, TaxonomyKey.costs, municipality)
