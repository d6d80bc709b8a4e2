from __future__ import annotations

import re
from datetime import date, time

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.core.schemas import InputModel, OutputModel
from app.core.types import ShortText, WebUrl
from app.schedules.models import AttendingType, Frequency

_DAY = r"(?:[+-]?[1-5])?(?:MO|TU|WE|TH|FR|SA|SU)"
_BYDAY_RE = re.compile(rf"^{_DAY}(?:,{_DAY})*$")
_NUMBER_LIST_RE = re.compile(r"^-?\d{1,2}(?:,-?\d{1,2})*$")


class ScheduleIn(InputModel):
    """Opening hours or a recurring meeting, RFC 5545 style (as in HSDS 3.0)."""

    freq: Frequency | None = None
    interval: int | None = Field(default=None, ge=1, le=52)
    byday: str | None = Field(default=None, max_length=100, examples=["MO,WE", "1MO"])
    bymonthday: str | None = Field(default=None, max_length=100, examples=["1,15"])
    dtstart: date | None = None
    until: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    description: ShortText | None = Field(default=None, examples=["Elke dinsdag 10.00-12.00 uur"])
    attending_type: AttendingType | None = None
    notes: ShortText | None = None
    schedule_link: WebUrl | None = None

    @field_validator("byday")
    @classmethod
    def _byday(cls, value: str | None) -> str | None:
        if value is not None and not _BYDAY_RE.match(value.upper()):
            raise PydanticCustomError(
                "nl_byday",
                "Gebruik dagen als MO,TU,WE,TH,FR,SA,SU (bijvoorbeeld 'MO,WE' of '1MO').",
            )
        return value.upper() if value else value

    @field_validator("bymonthday")
    @classmethod
    def _bymonthday(cls, value: str | None) -> str | None:
        if value is not None:
            days = value.split(",")
            if not _NUMBER_LIST_RE.match(value) or any(not 1 <= abs(int(d)) <= 31 for d in days):
                raise PydanticCustomError(
                    "nl_bymonthday", "Gebruik dagen van de maand van 1 tot en met 31, zoals '1,15'."
                )
        return value

    @model_validator(mode="after")
    def _ranges(self) -> ScheduleIn:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise PydanticCustomError(
                "nl_time_range", "De sluitingstijd moet na de openingstijd liggen."
            )
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise PydanticCustomError("nl_date_range", "De einddatum ligt voor de begindatum.")
        if self.dtstart and self.until and self.until < self.dtstart:
            raise PydanticCustomError("nl_date_range", "De einddatum ligt voor de begindatum.")
        if (self.byday or self.bymonthday or self.interval) and self.freq is None:
            raise PydanticCustomError(
                "nl_freq_missing",
                "Geef ook freq (WEEKLY of MONTHLY) op bij byday, bymonthday of interval.",
            )
        if not any(
            (
                self.freq,
                self.description,
                self.opens_at,
                self.valid_from,
                self.dtstart,
                self.schedule_link,
            )
        ):
            raise PydanticCustomError(
                "nl_schedule_empty", "Een rooster heeft minstens een omschrijving of tijden nodig."
            )
        return self


class SchedulePublic(OutputModel):
    freq: str | None
    interval: int | None
    byday: str | None
    bymonthday: str | None
    dtstart: date | None
    until: date | None
    valid_from: date | None
    valid_to: date | None
    opens_at: time | None
    closes_at: time | None
    description: str | None
    attending_type: str | None
    notes: str | None
    schedule_link: str | None
