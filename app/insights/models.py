"""Anonymous counts for the monitor sociaal domein (no personal data, no query text except
cleaned zero-result texts as counts)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class SearchTally(SQLModel, table=True):
    """Anonymous search counts per month (the monitor): per theme and area, with or without
    results. Never the query text, never who searched."""

    __tablename__ = "search_tally"

    month: date = Field(primary_key=True)
    municipality: str = Field(default="", max_length=100, primary_key=True)  # slug; "" = all
    # One row per search with theme "" (the total) and one per theme the search was about.
    theme: str = Field(default="", max_length=100, primary_key=True)
    # "kern:<slug>", "wijk:<slug>", "pc4:<digits>" or "" (no area chosen)
    area: str = Field(default="", max_length=110, primary_key=True)
    zero_results: bool = Field(default=False, primary_key=True)
    count: int = Field(default=0)


class ZeroResultQuery(SQLModel, table=True):
    """Searches that found nothing, as counts of cleaned text (digits, e-mail addresses and
    name-like words removed), so the redactie sees what is missing."""

    __tablename__ = "zero_result_query"

    month: date = Field(primary_key=True)
    municipality: str = Field(default="", max_length=100, primary_key=True)
    text: str = Field(max_length=200, primary_key=True)
    count: int = Field(default=0)
