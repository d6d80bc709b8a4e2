"""Taxonomy: load the shipped YAML and resolve term slugs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.errors import FieldError, Unprocessable
from app.core.models import utcnow
from app.core.types import Slug
from app.core.visibility import service_is_public
from app.services.models import Service, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm


class TaxonomyKey(StrEnum):
    """The taxonomies the product knows; slugs are also their API names."""

    themes = "themes"
    target_groups = "target-groups"
    access_routes = "access-routes"
    costs = "costs"


@dataclass(frozen=True)
class _TaxonomyInfo:
    yaml_key: str
    name: str
    description: str
    multiple: bool


TAXONOMIES: dict[TaxonomyKey, _TaxonomyInfo] = {
    TaxonomyKey.themes: _TaxonomyInfo(
        "themes", "Thema's", "Hulpvragen en levensdomeinen waar een voorziening bij helpt.", True
    ),
    TaxonomyKey.target_groups: _TaxonomyInfo(
        "target_groups", "Doelgroepen", "Voor wie een voorziening bedoeld is.", True
    ),
    TaxonomyKey.access_routes: _TaxonomyInfo(
        "access_routes", "Toegang", "Hoe iemand bij de voorziening komt.", False
    ),
    TaxonomyKey.costs: _TaxonomyInfo("costs", "Kosten", "Wat de voorziening kost.", False),
}


class TermConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    label: str = Field(min_length=1, max_length=200)
    description: str | None = None
    zrm: str | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    words: list[str] = Field(default_factory=list)


class TaxonomyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    themes: list[TermConfig]
    target_groups: list[TermConfig]
    access_routes: list[TermConfig]
    costs: list[TermConfig]
    variants: list[list[str]] = Field(default_factory=list)


def shipped_taxonomy_path() -> Path:
    return Path(str(resources.files("app.taxonomy").joinpath("data/taxonomy.yaml")))


def read_taxonomy_file(path: Path | None = None) -> TaxonomyFile:
    raw: Any = yaml.safe_load((path or shipped_taxonomy_path()).read_text(encoding="utf-8"))
    return TaxonomyFile.model_validate(raw)


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def load_taxonomy(
    *, session: Session, source: TaxonomyFile | None = None, update: bool = False
) -> LoadReport:
    """Add missing taxonomies and terms; with ``update`` also overwrite labels and words."""
    data = source or read_taxonomy_file()
    report = LoadReport()
    for key, info in TAXONOMIES.items():
        taxonomy = session.exec(select(Taxonomy).where(Taxonomy.slug == key.value)).first()
        if taxonomy is None:
            taxonomy = Taxonomy(
                slug=key.value, name=info.name, description=info.description, multiple=info.multiple
            )
            session.add(taxonomy)
            session.flush()
            report.created += 1
        existing = {
            t.slug: t
            for t in session.exec(
                select(TaxonomyTerm).where(TaxonomyTerm.taxonomy_id == taxonomy.id)
            )
        }
        for position, term in enumerate(getattr(data, info.yaml_key)):
            values = {
                "label": term.label,
                "description": term.description,
                "zrm": term.zrm,
                "minimum_age": term.min_age,
                "maximum_age": term.max_age,
                "words": list(term.words),
                "position": position,
            }
            row = existing.get(term.slug)
            if row is None:
                session.add(TaxonomyTerm(taxonomy_id=taxonomy.id, slug=term.slug, **values))
                report.created += 1
            elif update and any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.updated_at = utcnow()
                report.updated += 1
            else:
                report.unchanged += 1
    session.flush()
    return report


def terms_by_slug(*, session: Session, taxonomy: TaxonomyKey) -> dict[str, TaxonomyTerm]:
    rows = session.exec(
        select(TaxonomyTerm)
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .where(Taxonomy.slug == taxonomy.value)
        .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
    )
    return {t.slug: t for t in rows}


def slugs_by_taxonomy(
    *, session: Session, taxonomies: Iterable[TaxonomyKey]
) -> dict[TaxonomyKey, list[str]]:
    """The term slugs of these taxonomies, in their order, in one query (no ORM objects)."""
    wanted = list(dict.fromkeys(taxonomies))
    result: dict[TaxonomyKey, list[str]] = {t: [] for t in wanted}
    if not wanted:
        return result
    rows = session.exec(
        select(Taxonomy.slug, TaxonomyTerm.slug)
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .where(col(Taxonomy.slug).in_([t.value for t in wanted]))
        .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
    )
    for taxonomy_slug, term_slug in rows:
        result[TaxonomyKey(taxonomy_slug)].append(term_slug)
    return result


def resolve_terms(
    *, session: Session, taxonomy: TaxonomyKey, slugs: Iterable[str], field: str
) -> list[TaxonomyTerm]:
    """Terms for ``slugs`` in order; unknown slugs are a 422 that names each of them."""
    known = terms_by_slug(session=session, taxonomy=taxonomy)
    wanted = list(dict.fromkeys(slugs))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise Unprocessable(
            f"Onbekende waarde(n) voor {field}: {', '.join(unknown)}.",
            errors=[
                FieldError(
                    field=field,
                    message=f"'{slug}' bestaat niet. Kies uit: {', '.join(known)}.",
                )
                for slug in unknown
            ],
        )
    return [known[s] for s in wanted]


def term_ids(terms: Sequence[TaxonomyTerm]) -> list[uuid.UUID]:
    return [t.id for t in terms]


def list_terms_with_counts(
    *, session: Session, taxonomy: TaxonomyKey, municipality_id: uuid.UUID | None = None
) -> list[tuple[TaxonomyTerm, int]]:
    """Terms of ``taxonomy`` in their configured order, each with its public service count."""
    public = select(Service.id).where(service_is_public())
    if municipality_id is not None:
        public = public.where(Service.municipality_id == municipality_id)
    counts = dict(
        session.exec(
            select(ServiceTerm.taxonomy_term_id, func.count())
            .where(col(ServiceTerm.service_id).in_(public))
            .group_by(col(ServiceTerm.taxonomy_term_id))
        ).all()
    )
    return [
        (t, counts.get(t.id, 0)) for t in terms_by_slug(session=session, taxonomy=taxonomy).values()
    ]
