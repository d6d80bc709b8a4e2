"""Resident feedback on a voorziening ("klopt er iets niet?"): no personal data, no IP."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import IdMixin, UTCDateTime, enum_check, utcnow


class FeedbackCategory(StrEnum):
    contact = "contactgegevens"  # phone, e-mail, website or address is wrong
    times = "tijden"  # opening hours or dates are wrong
    description = "beschrijving"  # the description is wrong or unclear
    gone = "bestaat-niet-meer"  # the service no longer exists
    other = "anders"


class FeedbackStatus(StrEnum):
    open = "open"
    resolved = "opgelost"
    dismissed = "afgewezen"


class ServiceFeedback(IdMixin, table=True):
    __tablename__ = "service_feedback"
    __table_args__ = (
        enum_check("category", FeedbackCategory, "category"),
        enum_check("status", FeedbackStatus, "status"),
    )

    service_id: uuid.UUID = Field(foreign_key="service.id", ondelete="CASCADE", index=True)
    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    category: str = Field(max_length=30)
    message: str = Field(sa_type=sa.Text)
    status: str = Field(default=FeedbackStatus.open.value, max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    handled_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    note: str | None = Field(default=None, max_length=2000, description="Wat de redactie deed")
