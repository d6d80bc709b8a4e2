"""Shared path and query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.core.types import SLUG_MAX, SLUG_PATTERN

SlugPath = Annotated[
    str,
    Path(
        pattern=SLUG_PATTERN, max_length=SLUG_MAX, description="Slug, bijvoorbeeld financieel-cafe"
    ),
]
MunicipalityQuery = Annotated[
    str | None,
    Query(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX,
        description="Gemeente (slug). Nodig als meerdere gemeenten dezelfde slug gebruiken.",
    ),
]
