"""Open data: every public voorziening as one CSV file (the columns of the import template)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlmodel import Session, select

from app.core.db import get_session
from app.core.errors import NotFound
from app.core.openapi import problem_responses
from app.core.params import MunicipalityQuery
from app.export import service
from app.municipalities.models import Municipality

router = APIRouter(prefix="/export", tags=["Voorzieningen"])

# Request scope (not SessionDep's function scope): the session stays open while the
# response streams; a read-only export has nothing to commit before it starts.
StreamingSessionDep = Annotated[Session, Depends(get_session)]


@router.get(
    "/services.csv",
    operation_id="exportServicesCsv",
    summary="Alle openbare voorzieningen als CSV (open data)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "CSV (UTF-8 met BOM, puntkomma als scheidingsteken), één rij per "
            "voorziening, kolommen zoals het importsjabloon.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(400, 404),
    },
)
def export_services_csv(
    session: StreamingSessionDep, municipality: MunicipalityQuery = None
) -> StreamingResponse:
    """Alle openbare voorzieningen (toegelaten of in herbeoordeling) in één CSV-bestand,
    met organisatie en hoofdlocatie op elke rij. De kolommen zijn die van het
    importsjabloon (zie docs/import-export.md), zonder de velden die alleen voor
    professionals zijn. Lijsten (thema's, doelgroepen, telefoonnummers) staan met `;`
    ertussen in één cel; cellen die met `=`, `+`, `-` of `@` beginnen krijgen een `'`
    ervoor, zodat een spreadsheet ze niet als formule leest. Met `municipality` alleen die
    gemeente.
    """
    municipality_id = None
    filename = "voorzieningen.csv"
    if municipality is not None:
        found = session.exec(select(Municipality).where(Municipality.slug == municipality)).first()
        if found is None:
            raise NotFound(f"Gemeente '{municipality}' bestaat niet.")
        municipality_id = found.id
        filename = f"voorzieningen-{found.slug}.csv"
    return StreamingResponse(
        service.iter_csv(session=session, municipality_id=municipality_id, public=True),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
