"""Schedules (openingstijden, spreekuren) in HSDS 3.0 / RFC 5545 style."""

from __future__ import annotations

import uuid
from datetime import date, time
from enum import StrEnum

from sqlmodel import Field

from app.core.models import IdMixin, enum_check, exactly_one_of


class Frequency(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class AttendingType(StrEnum):
    in_person = "in_person"
    phone = "phone"
    online = "online"


class Schedule(IdMixin, table=True):
    __table_args__ = (
        enum_check("freq", Frequency, "freq"),
        enum_check("attending_type", AttendingType, "attending_type"),
        exactly_one_of("service_id", "location_id", name="one_owner"),
    )

    service_id: uuid.UUID | None = Field(
        default=None, foreign_key="service.id", ondelete="CASCADE", index=True
    )
    location_id: uuid.UUID | None = Field(
        default=None, foreign_key="location.id", ondelete="CASCADE", index=True
    )
    valid_from: date | None = None
    valid_to: date | None = None
    dtstart: date | None = None
    until: date | None = None
    count: int | None = None
    wkst: str | None = Field(default=None, max_length=2)
    freq: str | None = Field(default=None, max_length=10)
    interval: int | None = None
    byday: str | None = Field(default=None, max_length=100)
    byweekno: str | None = Field(default=None, max_length=100)
    bymonthday: str | None = Field(default=None, max_length=100)
    byyearday: str | None = Field(default=None, max_length=100)
    opens_at: time | None = None
    closes_at: time | None = None
    description: str | None = Field(default=None, max_length=1000)
    schedule_link: str | None = Field(default=None, max_length=2000)
    attending_type: str | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=1000)
