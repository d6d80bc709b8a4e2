from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.core.schemas import InputModel, OutputModel, Ref, TermRef
from app.core.types import DutchPhone, Email, Name, ShortText, Slug
from app.referrals.models import ReferralMode, ReferralStatus, ReferrerKind, Urgency

# The consent statement the professional confirms with the resident (versioned: the version
# is stored with the referral). Plain Dutch, read aloud or shown to the resident.
CONSENT_STATEMENT_VERSION = "2026-11"
CONSENT_STATEMENT = (
    "U geeft toestemming dat wij uw naam en telefoonnummer of e-mailadres doorgeven aan "
    "{organisation}, zodat zij contact met u opnemen over {service}. Alleen zij en uw "
    "verwijzer kunnen deze gegevens zien. {days} dagen nadat de verwijzing is afgesloten, "
    "worden ze gewist. U kunt uw toestemming altijd intrekken."
)


class ReferralContactIn(InputModel):
    """Only what the organisation needs to reach the resident."""

    name: Name
    phone: DutchPhone | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ReferralContactIn:
        if not (self.phone or self.email):
            raise PydanticCustomError(
                "nl_contact_reachable", "Geef een telefoonnummer of een e-mailadres."
            )
        return self


class ReferralCreate(InputModel):
    municipality: Slug = Field(examples=["uithoorn"])
    service: Slug = Field(description="De voorziening (slug).", examples=["uve-financieel-cafe"])
    mode: ReferralMode = Field(
        description="warm: de organisatie neemt contact op (met toestemming); recept: geen "
        "persoonsgegevens, de inwoner neemt het recept mee."
    )
    referrer_kind: ReferrerKind = Field(description="U verwijst als huisarts, POH, loket …")
    themes: list[Slug] = Field(
        default_factory=list, max_length=5, description="Waarvoor (thema's)."
    )
    urgency: Urgency = Urgency.normaal
    note: ShortText | None = Field(
        default=None, description="Korte toelichting voor de organisatie (alleen bij warm)."
    )
    consent: bool = Field(
        default=False,
        description="De inwoner gaf toestemming om de contactgegevens door te geven (warm).",
    )
    contact: ReferralContactIn | None = Field(default=None, description="Alleen bij warm.")

    @model_validator(mode="after")
    def _mode_rules(self) -> ReferralCreate:
        if self.mode is ReferralMode.recept and (self.contact or self.note or self.consent):
            raise PydanticCustomError(
                "nl_recept_no_personal_data",
                "Een recept bewaart geen persoonsgegevens: laat contactgegevens, toestemming "
                "en toelichting weg (of kies warme overdracht).",
            )
        if self.mode is ReferralMode.warm:
            if self.contact is None:
                raise PydanticCustomError(
                    "nl_warm_needs_contact",
                    "Bij warme overdracht neemt de organisatie contact op: geef naam en "
                    "telefoon of e-mail van de inwoner.",
                )
            if not self.consent:
                raise PydanticCustomError(
                    "nl_consent_required",
                    "Vraag de inwoner eerst om toestemming om de contactgegevens door te geven "
                    "(consent: true).",
                )
        return self


class ReferralStatusUpdate(InputModel):
    status: ReferralStatus = Field(description="ontvangen, in-contact, afgerond, …")
    outcome: ShortText | None = Field(
        default=None, description="Korte uitkomst voor de verwijzer (bij afsluiten)."
    )


class ReferralRedeem(InputModel):
    reference_code: str = Field(min_length=6, max_length=20, examples=["WR-7K3M-Q9PX"])


class ReferralContactOut(OutputModel):
    name: str | None
    phone: str | None
    email: str | None


class ReferralEventOut(OutputModel):
    status: str
    occurred_at: datetime


class ReceptOut(OutputModel):
    """What the resident takes along (recept mode): the service and the next step."""

    service: str
    organization: str | None
    next_step: str | None
    phone: str | None
    website: str | None
    address: str | None
    reference_code: str


class ReferralOut(OutputModel):
    id: uuid.UUID
    reference_code: str
    mode: str
    status: str
    urgency: str
    referrer_kind: str
    themes: list[TermRef]
    service: Ref | None = Field(description="Null als de voorziening niet meer bestaat.")
    service_name: str
    organization: Ref | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    used_at: datetime | None
    personal_data_erased: bool = Field(
        description="De persoonsgegevens zijn gewist (bewaartermijn voorbij)."
    )
    contact: ReferralContactOut | None = Field(
        description="Alleen voor de verwijzer en de ontvangende organisatie; elke keer gelogd."
    )
    note: str | None
    outcome: str | None
    events: list[ReferralEventOut]
    recept: ReceptOut | None = Field(description="Bij een recept: wat de inwoner meeneemt.")
    version: int = Field(description="Versie voor If-Match (ook als ETag-header)")


class ReferralList(OutputModel):
    items: list[ReferralOut]
    total: int
