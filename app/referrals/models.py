"""Referrals (verwijzingen): Welzijn op Recept and warme overdracht.

A referral row keeps what the monitor needs for ever (service, themes, referrer kind, mode,
status, months) and the personal data only as long as needed: the ``*_enc`` columns are
encrypted per field (app/core/crypto.py) and erased ``REFERRAL_RETENTION_DAYS`` after closure.
A recept referral never holds personal data at all.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import VERSIONED, IdMixin, TimestampMixin, UTCDateTime, enum_check, utcnow


class ReferralMode(StrEnum):
    warm = "warm"  # warme overdracht: the organisation contacts the resident
    recept = "recept"  # Welzijn op Recept: no personal data; the resident takes the recept along


class ReferralStatus(StrEnum):
    verstuurd = "verstuurd"
    ontvangen = "ontvangen"
    in_contact = "in-contact"
    afgerond = "afgerond"
    niet_bereikt = "niet-bereikt"
    afgewezen = "afgewezen"

    @property
    def closed(self) -> bool:
        return self in CLOSED


CLOSED = frozenset({ReferralStatus.afgerond, ReferralStatus.niet_bereikt, ReferralStatus.afgewezen})


class ReferrerKind(StrEnum):
    huisarts = "huisarts"
    poh = "poh"  # praktijkondersteuner
    loket = "loket"  # sociaal loket
    sociaal_team = "sociaal-team"
    anders = "anders"


class Urgency(StrEnum):
    normaal = "normaal"
    snel = "snel"  # binnen een week


class Referral(IdMixin, TimestampMixin, table=True):
    __table_args__ = (
        enum_check("mode", ReferralMode, "mode"),
        enum_check("status", ReferralStatus, "status"),
        enum_check("referrer_kind", ReferrerKind, "referrer_kind"),
        enum_check("urgency", Urgency, "urgency"),
        # A recept referral stores no personal data, ever.
        sa.CheckConstraint(
            "mode <> 'recept' OR (contact_name_enc IS NULL AND contact_phone_enc IS NULL "
            "AND contact_email_enc IS NULL AND consent_at IS NULL)",
            name="recept_without_personal_data",
        ),
        sa.CheckConstraint(
            "(contact_name_enc IS NULL AND contact_phone_enc IS NULL AND contact_email_enc IS NULL)"
            " OR consent_at IS NOT NULL",
            name="personal_data_with_consent",
        ),
    )

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="RESTRICT", index=True
    )
    # Kept (SET NULL) when a service, organisation or account goes: the counts stay.
    service_id: uuid.UUID | None = Field(
        default=None, foreign_key="service.id", ondelete="SET NULL", index=True
    )
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", ondelete="SET NULL", index=True
    )
    referrer_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    service_name: str = Field(
        max_length=200, description="Naam bij het verwijzen (voor de monitor)"
    )
    referrer_kind: str = Field(max_length=20)
    mode: str = Field(max_length=10)
    status: str = Field(default=ReferralStatus.verstuurd.value, max_length=20, index=True)
    urgency: str = Field(default=Urgency.normaal.value, max_length=10)
    themes: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # Not personal: a random code the resident shows (recept) or the organisation quotes.
    reference_code: str = Field(max_length=20, unique=True)
    month: date = Field(description="Eerste dag van de maand van verwijzen (monitor)", index=True)
    # Personal data, encrypted per field; erased after closure + retention.
    note_enc: str | None = Field(default=None, sa_type=sa.Text)
    contact_name_enc: str | None = Field(default=None, sa_type=sa.Text)
    contact_phone_enc: str | None = Field(default=None, sa_type=sa.Text)
    contact_email_enc: str | None = Field(default=None, sa_type=sa.Text)
    outcome_enc: str | None = Field(default=None, sa_type=sa.Text)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_statement: str | None = Field(
        default=None, max_length=20, description="Versie van de toestemmingstekst"
    )
    used_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="Recept gebruikt"
    )
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, description="ETag / If-Match")
    __mapper_args__ = VERSIONED


class ReferralEvent(IdMixin, table=True):
    """Each status change: who (an account), when, to what. No personal data."""

    __tablename__ = "referral_event"
    __table_args__ = (enum_check("status", ReferralStatus, "status"),)

    referral_id: uuid.UUID = Field(foreign_key="referral.id", ondelete="CASCADE", index=True)
    status: str = Field(max_length=20)
    actor_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
