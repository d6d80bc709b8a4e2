"""API schemas of the audit trail (read only: the trail is append-only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import OutputModel


class AuditEventRead(OutputModel):
    """Eén wijziging van één rij: wie, wanneer, wat."""

    id: int
    occurred_at: datetime = Field(description="Moment van de wijziging (UTC).")
    actor_type: str = Field(
        description="Wie: user, api_key, admin_key, system of anonymous.",
        examples=["user"],
    )
    actor_id: uuid.UUID | None = Field(
        description="Id van de gebruiker of de API-sleutel; leeg voor de beheersleutel en "
        "het systeem. Nooit een IP-adres."
    )
    action: str = Field(description="create, update of delete.", examples=["update"])
    resource_type: str = Field(description="De tabel, bijvoorbeeld organization.")
    resource_id: str = Field(
        description="Primaire sleutel van de rij; bij een samengestelde sleutel gescheiden "
        "door ':'."
    )
    municipality_id: uuid.UUID | None = Field(description="De gemeente van de rij, als die er is.")
    changes: dict[str, Any] = Field(
        description="Wat er veranderde: per veld [oud, nieuw]. Bij toevoegen is oud leeg, bij "
        "verwijderen nieuw. Geheimen (wachtwoord-, token- en sleutelhashes) staan er als '***'.",
        examples=[{"name": ["Oude naam", "Nieuwe naam"]}],
    )


class AuditEventPage(Page[AuditEventRead]):
    """Een pagina gebeurtenissen uit het auditlogboek, nieuwste eerst."""
