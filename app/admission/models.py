"""Admission criteria (toelatingscriteria) per municipality, versioned.

A version is one immutable document of criteria (``criteria``: the list as in
``app/admission/data/<gemeente>.yaml``). Editors change the criteria by adding a new version
(through the API or a YAML load); exactly one version per municipality is active. Evaluations
and decisions record which version they used.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import IdMixin, UTCDateTime, utcnow


class CriteriaVersion(IdMixin, table=True):
    __tablename__ = "criteria_version"
    __table_args__ = (sa.UniqueConstraint("municipality_id", "version"),)

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    version: int
    is_active: bool = Field(default=False)
    criteria: list[dict[str, Any]] = Field(sa_type=sa.JSON, nullable=False)
    source: str = Field(max_length=40, description="yaml:<file> or api")
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
