"""Rows owned by a parent (phones, contacts, schedules, sources): replace and batch-load."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

M = TypeVar("M", bound=SQLModel)


def replace_owned(
    *,
    session: Session,
    model: type[M],
    owner_field: str,
    owner_id: uuid.UUID,
    items: Sequence[BaseModel],
    **extra: Any,
) -> list[M]:
    """Replace all rows of ``model`` owned by ``owner_id`` with ``items`` (in order)."""
    session.execute(delete(model).where(col(getattr(model, owner_field)) == owner_id))
    has_position = "position" in model.model_fields
    rows: list[M] = []
    for position, item in enumerate(items):
        values = item.model_dump()
        if has_position:
            values["position"] = position
        row = model(**{owner_field: owner_id}, **values, **extra)
        session.add(row)
        rows.append(row)
    return rows


def replace_given(
    *,
    session: Session,
    owner_field: str,
    owner_id: uuid.UUID,
    children: Mapping[type[SQLModel], Sequence[BaseModel] | None],
) -> None:
    """Replace each kind of owned rows whose new list was given (``None``: leave as is)."""
    for model, items in children.items():
        if items is not None:
            replace_owned(
                session=session,
                model=model,
                owner_field=owner_field,
                owner_id=owner_id,
                items=items,
            )


def load_owned(
    *, session: Session, model: type[M], owner_field: str, owner_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[M]]:
    """All rows of ``model`` for these owners, grouped by owner, in position order."""
    grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
    if not owner_ids:
        return grouped
    owner_col = col(getattr(model, owner_field))
    statement = select(model).where(owner_col.in_(list(owner_ids)))
    if "position" in model.model_fields:
        statement = statement.order_by(sa.column("position"))
    for row in session.exec(statement):
        grouped[getattr(row, owner_field)].append(row)
    return grouped
