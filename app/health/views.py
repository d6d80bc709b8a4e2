from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import get_engine, read_only

router = APIRouter(prefix="/health", tags=["Gezondheid"])
BACKLOG_DEGRADED = 100  # outbox rows waiting before readiness says "degraded"


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str]


@router.get("/live", operation_id="healthLive", summary="Draait het proces?")
def live() -> Health:
    return Health(status="ok", checks={})


@router.get(
    "/ready",
    operation_id="healthReady",
    summary="Kan de dienst verzoeken aan? (database, zoekmachine, achterstand zoekindex)",
    responses={503: {"model": Health, "description": "Niet klaar"}},
)
def ready(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with read_only(get_engine(request)).connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if checks["database"] != "ok":
        body = Health(status="unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=503)
    # Search problems degrade the service (search answers 503) but writes and reads go on;
    # the outbox backlog shows how much the index is behind.
    search = request.app.state.search
    status = search.status()
    checks["search"] = "ok" if status["healthy"] else "unavailable"
    checks["search_backend"] = status["backend"]
    checks["search_backlog"] = str(search.backlog())
    degraded = checks["search"] != "ok" or int(checks["search_backlog"]) > BACKLOG_DEGRADED
    body = Health(status="degraded" if degraded else "ok", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200)
