"""Typed pagination: one dependency, one generic page envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_PER_PAGE = 100
MAX_PAGE = 10_000


class PageParams(BaseModel):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Paginanummer, vanaf 1.")] = 1,
    per_page: Annotated[
        int,
        Query(ge=1, le=MAX_PER_PAGE, description="Aantal resultaten per pagina (maximaal 100)."),
    ] = 20,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Totaal aantal resultaten over alle pagina's.")
    page: int
    per_page: int


class ItemList(BaseModel, Generic[T]):
    items: list[T]
    total: int
