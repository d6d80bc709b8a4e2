"""Admission over the API: the criteria, their versions, the flowchart and the report."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.deps import CurrentPrincipal
from app.accounts.policy import require_manage, require_municipality
from app.admission.criteria import (
    active_criteria,
    criteria_of,
    list_versions,
    load_criteria,
)
from app.admission.engine import evaluate
from app.admission.flowchart import render_flowchart
from app.admission.models import CriteriaVersion
from app.admission.schemas import (
    CriteriaRead,
    CriteriaVersionCreate,
    CriteriaVersionCreated,
    CriteriaVersionList,
    CriteriaVersionRead,
    FlowchartRead,
    Report,
)
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.openapi import problem_responses
from app.core.params import MunicipalityQuery, SlugPath
from app.core.schemas import Ref
from app.core.types import SLUG_MAX, SLUG_PATTERN
from app.municipalities.models import Municipality
from app.municipalities.service import get_municipality, resolve_municipality
from app.organizations import service as organizations
from app.services.models import Service

router = APIRouter(tags=["Toelating"])

MunicipalityRequired = Annotated[
    str,
    Query(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX,
        description="Gemeente (slug), bijvoorbeeld uithoorn.",
        examples=["uithoorn"],
    ),
]


def _version_read(row: CriteriaVersion, municipality: Municipality) -> CriteriaVersionRead:
    return CriteriaVersionRead(
        id=row.id,
        municipality=municipality.slug,
        version=row.version,
        is_active=row.is_active,
        source=row.source,
        note=row.note,
        created_at=row.created_at,
        created_by_id=row.created_by_id,
        criteria=criteria_of(row),
    )


def _active(session: Session, slug: str) -> tuple[Municipality, CriteriaVersion]:
    municipality = get_municipality(session=session, slug=slug)
    return municipality, active_criteria(session, municipality.id)


@router.get(
    "/admission/criteria",
    operation_id="listCriteria",
    summary="Toelatingscriteria van een gemeente (de actieve versie)",
    responses=problem_responses(400, 404),
)
def list_criteria(session: SessionDep, municipality: MunicipalityRequired) -> CriteriaRead:
    """De criteria waaraan een aanbieder en zijn aanbod moeten voldoen om op de sociale kaart
    te komen, in de volgorde waarin ze getoetst worden: per criterium de eis (voor
    aanbieders), voor wie hij geldt, hoe hij getoetst wordt en wat er gebeurt als hij niet
    voldaan is.
    """
    found, version = _active(session, municipality)
    return CriteriaRead(
        municipality=Ref(slug=found.slug, name=found.name),
        version=version.version,
        version_id=version.id,
        criteria=criteria_of(version),
    )


@router.get(
    "/admission/flowchart",
    operation_id="getFlowchart",
    summary="Stroomschema van de toelating (Mermaid), gemaakt uit de criteria",
    responses=problem_responses(400, 404),
)
def get_flowchart(session: SessionDep, municipality: MunicipalityRequired) -> FlowchartRead:
    """Het stroomschema als Mermaid-tekst (`flowchart TD`), altijd gemaakt uit de actieve
    criteria: een nieuwe versie van de criteria geeft meteen een nieuw schema.
    """
    found, version = _active(session, municipality)
    return FlowchartRead(
        municipality=found.slug,
        version=version.version,
        mermaid=render_flowchart(criteria_of(version)),
    )


@router.get(
    "/admission/criteria-versions",
    operation_id="listCriteriaVersions",
    summary="Alle versies van de criteria van een gemeente (redactie, beheer)",
    responses=problem_responses(400, 401, 403, 404),
)
def list_criteria_versions(
    session: SessionDep, principal: CurrentPrincipal, municipality: MunicipalityRequired
) -> CriteriaVersionList:
    """Alle versies, nieuwste eerst; precies één is actief. Versies worden nooit gewijzigd."""
    found = get_municipality(session=session, slug=municipality)
    require_municipality(principal, found.id)
    with suppress(NotFound):
        active_criteria(session, found.id)  # the shipped criteria count as version 1
    return CriteriaVersionList(
        items=[_version_read(row, found) for row in list_versions(session, found.id)]
    )


@router.post(
    "/admission/criteria-versions",
    operation_id="createCriteriaVersion",
    summary="Criteria wijzigen: een nieuwe, actieve versie (redactie, beheer)",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": CriteriaVersionCreated,
            "description": "Gelijk aan de actieve versie: niets veranderd",
        },
        **problem_responses(400, 401, 403, 409, 422),
    },
)
def create_criteria_version(
    session: SessionDep,
    principal: CurrentPrincipal,
    data: CriteriaVersionCreate,
    response: Response,
) -> CriteriaVersionCreated:
    """Legt de volledige lijst criteria vast als nieuwe versie en maakt die actief, zonder
    nieuwe software. Zijn de criteria gelijk aan de actieve versie, dan verandert er niets
    (200 met `created: false`). Onbekende velden, checks of thema's geven een 422.
    """
    found = resolve_municipality(session=session, slug=data.municipality, field="body.municipality")
    require_municipality(principal, found.id)
    result = load_criteria(
        session=session, municipality=found, criteria=data.criteria, source="api", note=data.note
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"admission/criteria-versions?municipality={found.slug}"
    return CriteriaVersionCreated(
        **_version_read(result.version, found).model_dump(), created=result.created
    )


@router.get(
    "/organizations/{slug}/admission-report",
    operation_id="getAdmissionReport",
    summary="Toetsing van een organisatie en haar aanbod aan de criteria",
    responses=problem_responses(400, 401, 403, 404, 409),
)
def get_admission_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    slug: SlugPath,
    municipality: MunicipalityQuery = None,
) -> Report:
    """Toetst de organisatie en al haar voorzieningen aan de actieve criteria van haar
    gemeente: per criterium de uitkomst, wat we zagen, waarom de eis er is en wat u kunt
    doen; en de uitkomst als geheel. Bevestigingen (T5–T7) en het oordeel van de redactie
    worden hier nog niet meegenomen. Voor aanbieders van deze organisatie, redactie en beheer.
    """
    org = organizations.get_any(session=session, slug=slug, municipality=municipality)
    require_manage(principal, municipality_id=org.municipality_id, organization_id=org.id)
    services = session.exec(
        select(Service)
        .where(Service.organization_id == org.id)
        .order_by(func.lower(Service.name), Service.slug)
    ).all()
    return evaluate(session, org, services, active_criteria(session, org.municipality_id))
