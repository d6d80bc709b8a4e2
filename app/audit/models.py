"""The audit trail: every write, who made it and what changed. Append-only.

Who: a user id or an API key id (never an IP address). What: the table and row, the action
and a field-level diff ``{field: [old, new]}``. Database triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    occurred_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    actor_type: str = Field(max_length=20, description="user, api_key, admin_key or system")
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=20, description="create, update or delete")
    resource_type: str = Field(max_length=50)
    resource_id: str = Field(max_length=100)
    municipality_id: uuid.UUID | None = Field(default=None, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    # Set once when, after AUDIT_ACTOR_RETENTION_DAYS, the actor and personal values in
    # ``changes`` were removed (app/privacy/retention.py); the only update the database allows.
    pseudonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
