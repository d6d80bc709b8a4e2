from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import get_engine

router = APIRouter(prefix="/health", tags=["Gezondheid"])


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str]


@router.get("/live", operation_id="healthLive", summary="Draait het proces?")
def live() -> Health:
    return Health(status="ok", checks={})


@router.get(
    "/ready",
    operation_id="healthReady",
    summary="Kan de dienst verzoeken aan? (database bereikbaar)",
    responses={503: {"model": Health, "description": "Niet klaar"}},
)
def ready(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with get_engine(request).connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
