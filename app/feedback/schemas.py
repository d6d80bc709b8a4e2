"""Resident feedback: what a resident sends (no personal data) and what the redactie sees."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import InputModel, OutputModel, Ref
from app.feedback.models import FeedbackCategory, FeedbackStatus

MESSAGE_MIN = 10
MESSAGE_MAX = 1000

Message = Annotated[
    str,
    Field(
        min_length=MESSAGE_MIN,
        max_length=MESSAGE_MAX,
        description="Wat klopt er niet? 10 tot 1000 tekens. Zet er geen naam, adres of "
        "telefoonnummer van uzelf in.",
    ),
]


class FeedbackCreate(InputModel):
    """Een melding van een inwoner. Er wordt niets over de melder gevraagd of bewaard."""

    category: FeedbackCategory = Field(description="Wat klopt er niet?")
    message: Message


class FeedbackReceived(OutputModel):
    detail: str = Field(description="Bedankt: wat er nu gebeurt.")


class FeedbackOutcome(StrEnum):
    """How the redactie handled a report."""

    resolved = FeedbackStatus.resolved.value
    dismissed = FeedbackStatus.dismissed.value


class FeedbackUpdate(InputModel):
    status: FeedbackOutcome = Field(description="opgelost of afgewezen")
    note: str | None = Field(
        default=None,
        max_length=2000,
        description="Wat de redactie deed (intern). Niet meegestuurd: blijft zoals het was.",
    )


class FeedbackRead(OutputModel):
    id: uuid.UUID
    service: Ref = Field(description="De voorziening (slug en naam)")
    municipality: Ref
    category: FeedbackCategory
    message: str
    status: FeedbackStatus
    created_at: datetime
    handled_at: datetime | None
    handled_by_id: uuid.UUID | None = Field(description="Het account dat de melding afhandelde")
    note: str | None


class FeedbackPage(Page[FeedbackRead]):
    """Een pagina meldingen, oudste eerst."""
