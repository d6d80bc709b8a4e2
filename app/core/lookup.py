"""Finding rows by slug within a municipality, and making unique slugs."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from app.core.errors import Conflict, NotFound
from app.core.types import SLUG_MAX, slugify
from app.municipalities.models import Municipality


class SluggedRow(Protocol):
    id: uuid.UUID
    slug: str
    municipality_id: uuid.UUID


R = TypeVar("R", bound=Any)


def get_by_slug(
    *,
    session: Session,
    model: type[R],
    slug: str,
    municipality: str | None,
    noun: str,
    extra_where: tuple[Any, ...] = (),
) -> R:
    """The one row with this slug (in this municipality, when given).

    Slugs are unique within a municipality; without ``municipality`` an ambiguous slug is
    a 409 that tells the caller to add it.
    """
    statement = select(model).where(model.slug == slug, *extra_where)
    if municipality is not None:
        statement = statement.join(
            Municipality, col(Municipality.id) == model.municipality_id
        ).where(Municipality.slug == municipality)
    rows = list(session.exec(statement.limit(2)))
    if not rows:
        raise NotFound(f"{noun.capitalize()} '{slug}' bestaat niet of is niet openbaar.")
    if len(rows) > 1:
        raise Conflict(
            f"Meer dan één gemeente heeft een {noun} '{slug}'. "
            "Geef de gemeente mee, bijvoorbeeld ?municipality=uithoorn."
        )
    return rows[0]


def unique_slug(
    *, session: Session, model: type[Any], municipality_id: uuid.UUID, name: str
) -> str:
    base = slugify(name, max_length=SLUG_MAX - 4) or "naamloos"
    taken = set(
        session.exec(
            select(model.slug).where(
                model.municipality_id == municipality_id, col(model.slug).startswith(base)
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def ensure_slug_free(
    *,
    session: Session,
    model: type[Any],
    municipality_id: uuid.UUID,
    slug: str,
    noun: str,
    exclude_id: uuid.UUID | None = None,
) -> None:
    statement = select(model.id).where(model.municipality_id == municipality_id, model.slug == slug)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    if session.exec(statement).first() is not None:
        raise Conflict(f"Er bestaat in deze gemeente al een {noun} met slug '{slug}'.")
