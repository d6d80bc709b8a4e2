"""Referrals: send (professional), receive and follow up (provider), erase personal data.

Who sees a referral: the professional who sent it and the members of the receiving
organisation — nobody else, also not the redactie or beheer (they see only the anonymous
monitor). Every read of personal data is written to the audit trail. Notifications say that
a status changed and link to the page; they never contain personal data.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.accounts.models import Role, UserAccount
from app.accounts.principal import Principal, PrincipalKind, principal_of
from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.crypto import DecryptionError, FieldCipher, cipher_for
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from app.core.models import utcnow
from app.core.periodic import PeriodicWorker
from app.core.schemas import Ref, TermRef
from app.core.visibility import service_is_public
from app.insights.recorder import month_start
from app.municipalities.models import Municipality
from app.notifications.service import enqueue_email, public_link
from app.organizations.models import Organization
from app.referrals.models import CLOSED, Referral, ReferralEvent, ReferralMode, ReferralStatus
from app.referrals.schemas import (
    CONSENT_STATEMENT_VERSION,
    ReceptOut,
    ReferralContactOut,
    ReferralCreate,
    ReferralEventOut,
    ReferralOut,
    ReferralStatusUpdate,
)
from app.services.models import Service
from app.taxonomy.service import TaxonomyKey, resolve_terms, terms_by_slug

logger = logging.getLogger(__name__)

# Crockford-like alphabet: no 0/O, 1/I/L — easy to read aloud and type from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ORDER = (
    ReferralStatus.verstuurd,
    ReferralStatus.ontvangen,
    ReferralStatus.in_contact,
)
STATUS_TEXT = {
    ReferralStatus.verstuurd: "verstuurd",
    ReferralStatus.ontvangen: "ontvangen door de organisatie",
    ReferralStatus.in_contact: "de organisatie heeft contact met de inwoner",
    ReferralStatus.afgerond: "afgerond",
    ReferralStatus.niet_bereikt: "afgesloten: de inwoner is niet bereikt",
    ReferralStatus.afgewezen: "afgesloten: de organisatie kan deze verwijzing niet aannemen",
}


def new_reference_code() -> str:
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"WR-{chars[:4]}-{chars[4:]}"


# --- who may see what -------------------------------------------------------------------------


def _user_principal(principal: Principal) -> uuid.UUID:
    if principal.kind is not PrincipalKind.user or principal.id is None:
        raise Forbidden("Verwijzingen zijn er alleen voor persoonlijke accounts.")
    return principal.id


def _visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    user_id = _user_principal(principal)
    if principal.role is Role.professional:
        return col(Referral.referrer_id) == user_id
    if principal.role is Role.provider:
        return col(Referral.organization_id).in_(list(principal.organization_ids))
    raise Forbidden("Alleen de verwijzer en de ontvangende organisatie zien verwijzingen.")


def get_visible(*, session: Session, referral_id: uuid.UUID) -> Referral:
    principal = principal_of(session)
    referral = session.exec(
        select(Referral).where(Referral.id == referral_id, _visible_to(principal))
    ).first()
    if referral is None:
        raise NotFound("Deze verwijzing bestaat niet, of u kunt haar niet zien.")
    return referral


def list_visible(
    *, session: Session, status: ReferralStatus | None, limit: int, offset: int
) -> tuple[list[Referral], int]:
    where = [_visible_to(principal_of(session))]
    if status is not None:
        where.append(col(Referral.status) == status.value)
    total = session.exec(select(func.count()).select_from(Referral).where(*where)).one()
    rows = session.exec(
        select(Referral)
        .where(*where)
        .order_by(col(Referral.created_at).desc(), col(Referral.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


# --- presenting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Presenter:
    session: Session
    cipher: FieldCipher

    def present(self, referrals: Sequence[Referral]) -> list[ReferralOut]:
        """The referrals as their readers see them; each read of personal data is audited."""
        if not referrals:
            return []
        session = self.session
        service_ids = {r.service_id for r in referrals if r.service_id}
        org_ids = {r.organization_id for r in referrals if r.organization_id}
        services = {
            s.id: s for s in session.exec(select(Service).where(col(Service.id).in_(service_ids)))
        }
        orgs = {
            o.id: o
            for o in session.exec(select(Organization).where(col(Organization.id).in_(org_ids)))
        }
        themes = terms_by_slug(session=session, taxonomy=TaxonomyKey.themes)
        events: dict[uuid.UUID, list[ReferralEventOut]] = {r.id: [] for r in referrals}
        for event in session.exec(
            select(ReferralEvent)
            .where(col(ReferralEvent.referral_id).in_([r.id for r in referrals]))
            .order_by(col(ReferralEvent.occurred_at), col(ReferralEvent.id))
        ):
            events[event.referral_id].append(
                ReferralEventOut(status=event.status, occurred_at=event.occurred_at)
            )
        out = []
        read: list[Referral] = []
        for r in referrals:
            service = services.get(r.service_id) if r.service_id else None
            org = orgs.get(r.organization_id) if r.organization_id else None
            contact = None
            if r.contact_name_enc or r.contact_phone_enc or r.contact_email_enc:
                contact = ReferralContactOut(
                    name=self._plain(r.contact_name_enc),
                    phone=self._plain(r.contact_phone_enc),
                    email=self._plain(r.contact_email_enc),
                )
            note, outcome = self._plain(r.note_enc), self._plain(r.outcome_enc)
            if contact is not None or note is not None or outcome is not None:
                read.append(r)
            out.append(
                ReferralOut(
                    id=r.id,
                    reference_code=r.reference_code,
                    mode=r.mode,
                    status=r.status,
                    urgency=r.urgency,
                    referrer_kind=r.referrer_kind,
                    themes=[
                        TermRef(slug=t, label=themes[t].label if t in themes else t)
                        for t in r.themes
                    ],
                    service=Ref(slug=service.slug, name=service.name) if service else None,
                    service_name=r.service_name,
                    organization=Ref(slug=org.slug, name=org.name) if org else None,
                    created_at=r.created_at,
                    updated_at=r.updated_at,
                    closed_at=r.closed_at,
                    used_at=r.used_at,
                    personal_data_erased=r.erased_at is not None,
                    contact=contact,
                    note=note,
                    outcome=outcome,
                    events=events[r.id],
                    recept=self._recept(r, service, org)
                    if r.mode == ReferralMode.recept.value
                    else None,
                    version=r.version,
                )
            )
        audit_reads(session, read)
        return out

    def _plain(self, token: str | None) -> str | None:
        try:
            return self.cipher.decrypt(token)
        except DecryptionError:
            logger.error("a referral field cannot be decrypted: check FIELD_ENCRYPTION_KEYS")
            return "[niet leesbaar: sleutel ontbreekt]"

    def _recept(self, r: Referral, service: Service | None, org: Organization | None) -> ReceptOut:
        from app.services import service as services_service

        phone = website = address = None
        next_step = None
        if service is not None:
            detail = services_service.detail(session=self.session, service=service)
            next_step = detail.application_process
            phones = [p.number for p in detail.phones] or [
                p.number for loc in detail.locations for p in loc.phones
            ]
            phone = phones[0] if phones else None
            website = detail.url
            for loc in detail.locations:
                if loc.address and (loc.address.address_1 or loc.address.city):
                    a = loc.address
                    address = ", ".join(
                        p
                        for p in (a.address_1, f"{a.postal_code or ''} {a.city or ''}".strip())
                        if p
                    )
                    break
        return ReceptOut(
            service=r.service_name,
            organization=org.name if org else None,
            next_step=next_step,
            phone=phone,
            website=website,
            address=address,
            reference_code=r.reference_code,
        )


def audit_reads(session: Session, referrals: Sequence[Referral]) -> None:
    """One audit event per referral whose personal data was read (who, when, which)."""
    if not referrals:
        return
    principal = principal_of(session)
    now = utcnow()
    for r in referrals:
        session.add(
            AuditEvent(
                occurred_at=now,
                actor_type=principal.kind.value,
                actor_id=principal.id,
                action="read",
                resource_type="referral",
                resource_id=str(r.id),
                municipality_id=r.municipality_id,
                changes={"fields": ["contact", "note", "outcome"]},
            )
        )
    session.flush()


# --- writing ----------------------------------------------------------------------------------


def create(*, session: Session, settings: Settings, data: ReferralCreate) -> Referral:
    principal = principal_of(session)
    user_id = _user_principal(principal)
    municipality = session.exec(
        select(Municipality).where(Municipality.slug == data.municipality)
    ).first()
    if municipality is None:
        raise Unprocessable(
            f"Gemeente '{data.municipality}' bestaat niet.",
            errors=[FieldError(field="municipality", message="Onbekende gemeente.")],
        )
    if not principal.serves(municipality.id):
        raise Forbidden("U kunt alleen verwijzen binnen uw eigen gemeente.")
    service = session.exec(
        select(Service).where(
            Service.municipality_id == municipality.id,
            Service.slug == data.service,
            service_is_public(),
        )
    ).first()
    if service is None:
        raise Unprocessable(
            "Naar deze voorziening kunt u niet verwijzen: ze staat niet (meer) op de sociale kaart.",
            errors=[FieldError(field="service", message="Kies een voorziening die openbaar is.")],
        )
    themes = resolve_terms(
        session=session, taxonomy=TaxonomyKey.themes, slugs=data.themes, field="themes"
    )
    cipher = cipher_for(settings)
    now = utcnow()
    contact = data.contact
    referral = Referral(
        municipality_id=municipality.id,
        service_id=service.id,
        organization_id=service.organization_id,
        referrer_id=user_id,
        service_name=service.name,
        referrer_kind=data.referrer_kind.value,
        mode=data.mode.value,
        urgency=data.urgency.value,
        themes=[t.slug for t in themes],
        reference_code=_unique_code(session),
        month=month_start(now.date()),
        note_enc=cipher.encrypt(data.note),
        contact_name_enc=cipher.encrypt(contact.name) if contact else None,
        contact_phone_enc=cipher.encrypt(contact.phone) if contact else None,
        contact_email_enc=cipher.encrypt(str(contact.email)) if contact and contact.email else None,
        consent_at=now if data.mode is ReferralMode.warm else None,
        consent_statement=CONSENT_STATEMENT_VERSION if data.mode is ReferralMode.warm else None,
    )
    session.add(referral)
    session.flush()
    _event(session, referral, ReferralStatus.verstuurd, user_id)
    _notify_organization(session, settings, referral)
    return referral


def _unique_code(session: Session) -> str:
    for _ in range(10):
        code = new_reference_code()
        taken = session.exec(select(Referral.id).where(Referral.reference_code == code)).first()
        if taken is None:
            return code
    raise Conflict("Probeer het nog eens.")  # pragma: no cover - 31^8 codes


def _event(
    session: Session, referral: Referral, status: ReferralStatus, actor: uuid.UUID | None
) -> None:
    session.add(ReferralEvent(referral_id=referral.id, status=status.value, actor_id=actor))
    session.flush()


def change_status(
    *,
    session: Session,
    settings: Settings,
    referral: Referral,
    data: ReferralStatusUpdate,
) -> Referral:
    principal = principal_of(session)
    user_id = _user_principal(principal)
    if principal.role is not Role.provider or referral.organization_id not in (
        principal.organization_ids
    ):
        raise Forbidden("Alleen de ontvangende organisatie verandert de status.")
    current = ReferralStatus(referral.status)
    wanted = data.status
    if current in CLOSED:
        raise Conflict(
            f"Deze verwijzing is al afgesloten ({current.value}); de status kan niet meer veranderen."
        )
    if wanted is ReferralStatus.verstuurd or (
        wanted in ORDER and ORDER.index(wanted) <= ORDER.index(current)
    ):
        raise Conflict(
            f"Van '{current.value}' kan de status niet terug naar '{wanted.value}'.",
        )
    if data.outcome is not None and wanted not in CLOSED:
        raise Unprocessable(
            "Een uitkomst geeft u bij het afsluiten (afgerond, niet-bereikt of afgewezen).",
            errors=[FieldError(field="outcome", message="Alleen bij afsluiten.")],
        )
    referral.status = wanted.value
    referral.updated_at = utcnow()
    if wanted in CLOSED:
        referral.closed_at = referral.updated_at
        if data.outcome is not None:
            referral.outcome_enc = cipher_for(settings).encrypt(data.outcome)
    session.add(referral)
    session.flush()
    _event(session, referral, wanted, user_id)
    _notify_referrer(session, settings, referral)
    return referral


def redeem(*, session: Session, settings: Settings, code: str) -> Referral:
    """A provider marks a recept as used: the resident came with this code."""
    principal = principal_of(session)
    user_id = _user_principal(principal)
    normalised = code.strip().upper()
    referral = session.exec(select(Referral).where(Referral.reference_code == normalised)).first()
    if referral is None or referral.organization_id not in principal.organization_ids:
        raise NotFound("Deze code kennen we niet voor uw organisatie. Controleer de code.")
    if referral.mode != ReferralMode.recept.value:
        raise Conflict("Deze code hoort bij een warme overdracht, niet bij een recept.")
    if referral.used_at is not None:
        raise Conflict(f"Dit recept is al gebruikt ({referral.used_at:%d-%m-%Y}).")
    referral.used_at = utcnow()
    moved = referral.status in (ReferralStatus.verstuurd.value, ReferralStatus.ontvangen.value)
    if moved:
        referral.status = ReferralStatus.in_contact.value
    session.add(referral)
    session.flush()
    if moved:
        _event(session, referral, ReferralStatus.in_contact, user_id)
        _notify_referrer(session, settings, referral)
    return referral


# --- notifications (never personal data) ------------------------------------------------------


def _notify_referrer(session: Session, settings: Settings, referral: Referral) -> None:
    if referral.referrer_id is None:
        return
    user = session.get(UserAccount, referral.referrer_id)
    if user is None or not user.is_active:
        return
    status = ReferralStatus(referral.status)
    enqueue_email(
        session,
        "referral_status",
        user.email,
        f"Verwijzing {referral.reference_code}: {STATUS_TEXT[status]}",
        "Goedendag,\n\n"
        f"De status van uw verwijzing {referral.reference_code} naar {referral.service_name} "
        f"is nu: {STATUS_TEXT[status]}.\n\n"
        f"Bekijk de verwijzing: {public_link(settings, f'/verwijzingen/{referral.id}')}\n\n"
        "Deze e-mail bevat bewust geen gegevens van de inwoner.\n",
    )


def _notify_organization(session: Session, settings: Settings, referral: Referral) -> None:
    """Members of the receiving organisation hear that a referral arrived (warm only: a
    recept comes with the resident)."""
    if referral.mode != ReferralMode.warm.value or referral.organization_id is None:
        return
    from app.accounts.models import OrganizationMember

    members = session.exec(
        select(UserAccount)
        .join(OrganizationMember, col(OrganizationMember.user_id) == col(UserAccount.id))
        .where(
            OrganizationMember.organization_id == referral.organization_id,
            col(UserAccount.is_active).is_(True),
        )
    ).all()
    for user in members:
        enqueue_email(
            session,
            "referral_received",
            user.email,
            f"Nieuwe verwijzing {referral.reference_code} voor {referral.service_name}",
            "Goedendag,\n\n"
            f"Er is een nieuwe verwijzing voor {referral.service_name}"
            f"{' (graag binnen een week)' if referral.urgency == 'snel' else ''}.\n\n"
            f"Bekijk haar: {public_link(settings, f'/verwijzingen/{referral.id}')}\n\n"
            "Deze e-mail bevat bewust geen gegevens van de inwoner.\n",
        )


# --- retention --------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    erased: int = 0


def purge_personal_data(*, session: Session, settings: Settings, now: datetime) -> PurgeReport:
    """Erase the personal data of referrals closed more than the retention period ago. The
    row stays (service, themes, status, months): the anonymous counts do not change."""
    limit = now - timedelta(days=settings.referral_retention_days)
    due = session.exec(
        select(Referral).where(
            col(Referral.closed_at).is_not(None),
            col(Referral.closed_at) < limit,
            col(Referral.erased_at).is_(None),
        )
    ).all()
    for referral in due:
        referral.note_enc = None
        referral.contact_name_enc = None
        referral.contact_phone_enc = None
        referral.contact_email_enc = None
        referral.outcome_enc = None
        referral.erased_at = now
        session.add(referral)
    session.flush()
    return PurgeReport(erased=len(due))


def rotate_key(*, session: Session, settings: Settings) -> int:
    """Re-encrypt every stored value with the first configured key; the number of rows."""
    cipher = cipher_for(settings)
    fields = (
        "note_enc",
        "contact_name_enc",
        "contact_phone_enc",
        "contact_email_enc",
        "outcome_enc",
    )
    rows = session.exec(select(Referral).where(col(Referral.erased_at).is_(None))).all()
    changed = 0
    for referral in rows:
        touched = False
        for name in fields:
            value = getattr(referral, name)
            if value is not None:
                setattr(referral, name, cipher.rotate(value))
                touched = True
        if touched:
            session.add(referral)
            changed += 1
    session.flush()
    return changed


def build_purge_worker(settings: Settings, engine: Engine) -> PeriodicWorker[PurgeReport]:
    """Erases personal data past its retention every ``REFERRAL_PURGE_INTERVAL_S``."""
    return PeriodicWorker.on_engine(
        engine,
        name="referral-purge",
        job=lambda session, now: purge_personal_data(session=session, settings=settings, now=now),
        interval_s=settings.referral_purge_interval_s,
    )
