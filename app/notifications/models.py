"""The notification outbox: e-mails written in the same transaction as their cause.

A sender (``app/notifications/service.py``) delivers them after the commit and retries
failures with backoff. After delivery the body is erased (it may hold a one-time link) and
delivered rows are deleted after the retention period (AVG: minimal personal data).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    __tablename__ = "notification_outbox"

    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    kind: str = Field(max_length=40, description="invitation, password_reset, …")
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(default="", sa_type=sa.Text, description="Erased once delivered")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, max_length=1000)
