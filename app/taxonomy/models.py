"""Taxonomies (themes, target groups, access routes, cost classes) and their terms."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import IdMixin, TimestampMixin


class Taxonomy(IdMixin, TimestampMixin, table=True):
    slug: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    version: str | None = Field(default=None, max_length=50)
    multiple: bool = Field(default=True, description="Mag een voorziening meer termen hebben?")


class TaxonomyTerm(IdMixin, TimestampMixin, table=True):
    __tablename__ = "taxonomy_term"
    __table_args__ = (sa.UniqueConstraint("taxonomy_id", "slug"),)

    taxonomy_id: uuid.UUID = Field(foreign_key="taxonomy.id", ondelete="CASCADE", index=True)
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="taxonomy_term.id", ondelete="SET NULL"
    )
    slug: str = Field(max_length=100)
    label: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    position: int = Field(default=0)
    minimum_age: int | None = None
    maximum_age: int | None = None
    zrm: str | None = Field(
        default=None, max_length=100, description="Zelfredzaamheidsmatrix-domein"
    )
    words: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
