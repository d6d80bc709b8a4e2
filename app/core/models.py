"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

# Stable constraint names: Alembic can diff, rename and drop them on every database.
# Set before any table class is defined (names are given when a constraint is attached).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: sa.MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


class AdmissionStatus(StrEnum):
    """Toelatingsstatus of a listing (see docs/domain.md for the lifecycle)."""

    concept = "concept"
    ingediend = "ingediend"
    toegelaten = "toegelaten"
    aanvullen = "aanvullen"
    afgewezen = "afgewezen"
    verificatie_nodig = "verificatie-nodig"
    verlopen = "verlopen"


PUBLIC_STATUSES: tuple[AdmissionStatus, ...] = (
    AdmissionStatus.toegelaten,
    AdmissionStatus.verificatie_nodig,
)


def enum_check(column: str, enum: type[StrEnum], name: str) -> sa.CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return sa.CheckConstraint(f"{column} IN ({values})", name=name)


def exactly_one_of(*columns: str, name: str) -> sa.CheckConstraint:
    """Exactly one of ``columns`` is set (portable SQL for SQLite and PostgreSQL)."""
    options = [
        " AND ".join(f"{c} IS {'NOT NULL' if c == chosen else 'NULL'}" for c in columns)
        for chosen in columns
    ]
    return sa.CheckConstraint(" OR ".join(f"({o})" for o in options), name=name)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use app.core.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, _dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class IdMixin(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class TimestampMixin(SQLModel):
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


@declared_attr.directive
def VERSIONED(cls: Any) -> dict[str, Any]:  # noqa: N802
    """``__mapper_args__`` that make the ``version`` column SQLAlchemy's version counter: every
    UPDATE says ``WHERE version = <read>`` and bumps it; a concurrent change raises
    ``StaleDataError``. Lazy because the column exists only once the table does."""
    return {"version_id_col": cls.__table__.c.version}
