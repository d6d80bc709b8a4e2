from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from app.core.db import SessionDep
from app.core.openapi import problem_responses
from app.core.schemas import Ref
from app.core.types import Slug
from app.municipalities.models import Municipality
from app.municipalities.schemas import (
    AreaKind,
    AreaList,
    AreaPublic,
    MunicipalityList,
    MunicipalityPublic,
)
from app.municipalities.service import areas_with_counts, get_municipality

router = APIRouter(tags=["Gebieden"])


@router.get(
    "/municipalities",
    operation_id="listMunicipalities",
    summary="Gemeenten op deze sociale kaart",
    responses=problem_responses(400),
)
def list_municipalities(session: SessionDep) -> MunicipalityList:
    """De gemeenten op deze sociale kaart."""
    rows = session.exec(select(Municipality).order_by(col(Municipality.name))).all()
    items = [MunicipalityPublic(code=m.code, slug=m.slug, name=m.name) for m in rows]
    return MunicipalityList(items=items, total=len(items))


@router.get(
    "/neighbourhoods",
    operation_id="listNeighbourhoods",
    summary="Kernen en wijken per gemeente, met aantallen voorzieningen",
    responses=problem_responses(400, 404),
)
def list_neighbourhoods(
    session: SessionDep,
    municipality: Annotated[Slug | None, Query(description="Alleen deze gemeente (slug).")] = None,
) -> AreaList:
    """Kernen en wijken per gemeente. service_count telt voorzieningen waarvan het
    werkgebied het gebied dekt (een gemeentebreed werkgebied dekt elke kern en wijk);
    located_service_count telt voorzieningen met een locatie in het gebied.
    """
    if municipality is not None:
        get_municipality(session=session, slug=municipality)
    items = []
    for m, place, wijk, covering, located in areas_with_counts(
        session=session, municipality_slug=municipality
    ):
        area = wijk or place
        assert area is not None
        items.append(
            AreaPublic(
                slug=area.slug,
                name=area.name,
                kind=AreaKind.wijk if wijk else AreaKind.kern,
                municipality=Ref(slug=m.slug, name=m.name),
                place=Ref(slug=place.slug, name=place.name) if wijk and place else None,
                service_count=covering,
                located_service_count=located,
            )
        )
    return AreaList(items=items, total=len(items))
