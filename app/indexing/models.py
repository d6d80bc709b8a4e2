"""The search outbox: every change to what is public, written in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utcnow


class SearchOutbox(SQLModel, table=True):
    __tablename__ = "search_outbox"

    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    # No foreign key: the row must outlive a deleted service so the delete reaches the index.
    service_id: uuid.UUID = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    last_error: str | None = Field(default=None, max_length=1000)
