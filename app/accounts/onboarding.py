"""Onboarding by e-mail: invitations and password reset.

* ``POST /invitations``: an editor or admin invites someone for a municipality (editors: only
  providers and professionals). The invitee gets a mail with a one-time link (7 days) and sets
  a password with ``POST /invitations/accept``, which creates the account and logs them in.
* ``POST /auth/password-reset``: always the same 202, whether the address has an account or
  not (no account enumeration); an active account gets a mail with a one-time link (1 hour).
  ``POST /auth/password-reset/confirm`` sets the new password, ends every session and lifts a
  lock-out.

Tokens are random (``new_secret``) and stored as SHA-256 only (``digest``); the plaintext is in
the mail alone, and the outbox erases the mail's body once delivered. Mails go through the
notification outbox in the same transaction (``app/notifications/service.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, status
from pydantic import ConfigDict, Field
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.accounts import service
from app.accounts.deps import CurrentPrincipal
from app.accounts.models import Invitation, LoginFailure, PasswordReset, Role, UserAccount
from app.accounts.policy import require_municipality
from app.accounts.principal import Principal, PrincipalKind
from app.accounts.schemas import TokenResponse
from app.accounts.security import digest, email_digest, hash_password, new_secret
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import BadRequest, Conflict, FieldError, Forbidden, Unprocessable
from app.core.models import utcnow
from app.core.openapi import problem_responses
from app.core.schemas import InputModel, OutputModel
from app.core.types import Email, Name, Slug
from app.municipalities.models import Municipality
from app.municipalities.service import resolve_municipality
from app.notifications.service import enqueue_email, public_link
from app.organizations.models import Organization

INVITATION_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)
MAX_OPEN_RESETS = 3  # per account within RESET_TTL; beyond that no more mail (silently)
EDITOR_MAY_INVITE = frozenset({Role.provider, Role.professional})
RESET_REQUESTED = (
    "Als er een account is met dit e-mailadres, krijgt u binnen een paar minuten een e-mail. "
    "Daarin staat een link om een nieuw wachtwoord te kiezen. Kijk ook in uw map met "
    "ongewenste e-mail."
)
ROLE_NAMES = {
    Role.provider: "aanbieder",
    Role.professional: "professional",
    Role.editor: "redacteur",
    Role.admin: "beheerder",
}

router = APIRouter(tags=["Accounts"])


# --- schemas ----------------------------------------------------------------------------------

Password = Annotated[str, Field(min_length=1, max_length=200, description="Minstens 12 tekens")]
Token = Annotated[str, Field(min_length=1, max_length=200, description="Het token uit de link")]


class _SecretInput(InputModel):
    # Passwords are taken as typed: stripping spaces would set another password than the one
    # the user will log in with (check_password_strength refuses leading/trailing spaces).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class InvitationCreate(InputModel):
    email: Email
    display_name: Name
    role: Role = Field(description="Redactie: alleen provider of professional")
    municipality: Slug = Field(description="De gemeente waarvoor het account werkt")
    organizations: list[Slug] = Field(
        default_factory=list,
        max_length=50,
        description="Slugs van organisaties in die gemeente; verplicht bij rol provider",
    )


class InvitationPublic(OutputModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    municipality: str
    organizations: list[str]
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class InvitationAccept(_SecretInput):
    token: Token
    password: Password


class PasswordResetRequest(InputModel):
    email: Email


class PasswordResetRequested(OutputModel):
    detail: str


class PasswordResetConfirm(_SecretInput):
    token: Token
    password: Password


# --- service functions ------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _organizations_of(
    session: Session, municipality: Municipality, slugs: list[str]
) -> list[Organization]:
    """The organisations with these slugs in this municipality (422 for the others)."""
    slugs = list(dict.fromkeys(slugs))
    found = {
        o.slug: o
        for o in session.exec(
            select(Organization).where(
                Organization.municipality_id == municipality.id, col(Organization.slug).in_(slugs)
            )
        )
    }
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise Unprocessable(
            f"Onbekende organisatie in {municipality.name}: {', '.join(unknown)}.",
            errors=[
                FieldError(
                    field="body.organizations",
                    message=f"'{s}' is geen organisatie in {municipality.name}.",
                )
                for s in unknown
            ],
        )
    return [found[s] for s in slugs]


def _invitation_mail(
    *,
    invitation: Invitation,
    municipality: Municipality,
    organizations: list[Organization],
    link: str,
) -> tuple[str, str]:
    role = ROLE_NAMES[Role(invitation.role)]
    what = f"als {role}"
    if organizations:
        what += " voor " + ", ".join(o.name for o in organizations)
    subject = f"Uitnodiging voor de sociale kaart van {municipality.name}"
    body = (
        f"Beste {invitation.display_name},\n"
        "\n"
        f"U bent uitgenodigd voor de sociale kaart van {municipality.name}, {what}.\n"
        "\n"
        "Wilt u meedoen? Kies dan een wachtwoord via deze link:\n"
        f"{link}\n"
        "\n"
        "De link werkt 7 dagen, en maar één keer. Daarna logt u in met uw e-mailadres en uw "
        "wachtwoord.\n"
        "\n"
        "Kent u deze uitnodiging niet? Dan hoeft u niets te doen. Zonder wachtwoord komt er "
        "geen account.\n"
        "\n"
        "Met vriendelijke groet,\n"
        f"De sociale kaart van {municipality.name}\n"
    )
    return subject, body


def _reset_mail(*, user: UserAccount, link: str) -> tuple[str, str]:
    subject = "Nieuw wachtwoord voor de sociale kaart"
    body = (
        f"Beste {user.display_name},\n"
        "\n"
        "U heeft gevraagd om een nieuw wachtwoord voor de sociale kaart.\n"
        "Kies een nieuw wachtwoord via deze link:\n"
        f"{link}\n"
        "\n"
        "De link werkt 1 uur, en maar één keer. Met uw nieuwe wachtwoord wordt u overal "
        "uitgelogd. Daarna logt u opnieuw in.\n"
        "\n"
        "Heeft u dit niet zelf gevraagd? Dan hoeft u niets te doen. Uw wachtwoord blijft "
        "hetzelfde.\n"
        "\n"
        "Met vriendelijke groet,\n"
        "De sociale kaart\n"
    )
    return subject, body


def _inviter(session: Session, principal: Principal) -> uuid.UUID | None:
    """The inviting user's id; None for keys, and for an account deleted while its access
    token (15 minutes) still works."""
    if principal.kind is not PrincipalKind.user or principal.id is None:
        return None
    return principal.id if session.get(UserAccount, principal.id) is not None else None


def create_invitation(
    *, session: Session, settings: Settings, principal: Principal, data: InvitationCreate
) -> tuple[Invitation, Municipality, list[Organization]]:
    """A new invitation plus its mail in the outbox (same transaction)."""
    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    require_municipality(principal, municipality.id)
    if principal.role is Role.editor and data.role not in EDITOR_MAY_INVITE:
        raise Forbidden("De redactie kan alleen aanbieders en professionals uitnodigen.")
    email = service.normalise_email(str(data.email))
    if session.exec(select(UserAccount.id).where(UserAccount.email == email)).first() is not None:
        raise Conflict(f"Er is al een account met e-mailadres {email}.")
    organizations = _organizations_of(session, municipality, data.organizations)
    if data.role is Role.provider and not organizations:
        raise Unprocessable(
            "Een aanbieder hoort bij een of meer organisaties.",
            errors=[FieldError(field="body.organizations", message="Geef de organisatie(s) op.")],
        )
    now = utcnow()
    # Only the newest invitation for an address works: earlier links end now.
    for earlier in session.exec(
        select(Invitation).where(
            Invitation.email == email,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.expires_at) > now,
        )
    ):
        earlier.expires_at = now
        session.add(earlier)
    token = new_secret()
    invitation = Invitation(
        email=email,
        display_name=data.display_name,
        role=data.role.value,
        municipality_id=municipality.id,
        organization_ids=[str(o.id) for o in organizations],
        token_hash=digest(token),
        invited_by_id=_inviter(session, principal),
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    session.flush()
    subject, body = _invitation_mail(
        invitation=invitation,
        municipality=municipality,
        organizations=organizations,
        link=public_link(settings, "/uitnodiging", token=token),
    )
    enqueue_email(session, "invitation", email, subject, body)
    return invitation, municipality, organizations


def _for_update(session: Session) -> bool:
    """Lock the token's row on PostgreSQL: of two requests with one link, one wins."""
    return session.get_bind().dialect.name == "postgresql"


def _invitation_by_token(session: Session, token: str) -> Invitation | None:
    statement = select(Invitation).where(Invitation.token_hash == digest(token))
    if _for_update(session):
        statement = statement.with_for_update()
    return session.exec(statement).first()


def _reset_by_token(session: Session, token: str) -> PasswordReset | None:
    statement = select(PasswordReset).where(PasswordReset.token_hash == digest(token))
    if _for_update(session):
        statement = statement.with_for_update()
    return session.exec(statement).first()


def accept_invitation(
    *, session: Session, settings: Settings, token: str, password: str
) -> service.TokenPair:
    """Create the invited account with this password and log it in."""
    found = _invitation_by_token(session, token)
    now = utcnow()
    if found is None:
        raise BadRequest(
            "Deze uitnodigingslink is niet geldig. Controleer of u de hele link gebruikt."
        )
    if found.accepted_at is not None:
        raise BadRequest(
            "Deze uitnodiging is al gebruikt. Log in met uw e-mailadres en wachtwoord, of vraag "
            "een nieuw wachtwoord aan."
        )
    if found.expires_at <= now:
        raise BadRequest("Deze uitnodiging is verlopen. Vraag om een nieuwe uitnodiging.")
    service.check_password_strength(password)
    wanted = [uuid.UUID(i) for i in found.organization_ids]
    existing = (  # an organisation deleted since the invitation is left out
        set(session.exec(select(Organization.id).where(col(Organization.id).in_(wanted))))
        if wanted
        else set()
    )
    user = service.create_user(
        session=session,
        email=found.email,
        display_name=found.display_name,
        role=Role(found.role),
        municipality_ids=[found.municipality_id],
        organization_ids=[i for i in wanted if i in existing],
        password=password,
    )
    found.accepted_at = now
    session.add(found)
    user.last_login_at = now
    session.add(user)
    session.flush()
    return service.issue_tokens(
        session=session, user=user, secret_key=settings.secret_key.get_secret_value()
    )


def request_password_reset(*, session: Session, settings: Settings, email: str) -> None:
    """A reset link by mail for an active account; nothing (and no difference in the answer)
    for an unknown address, and no more mail after ``MAX_OPEN_RESETS`` open links."""
    user = session.exec(
        select(UserAccount).where(UserAccount.email == service.normalise_email(email))
    ).first()
    if user is None or not user.is_active:
        return
    now = utcnow()
    open_resets = session.exec(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            col(PasswordReset.used_at).is_(None),
            col(PasswordReset.created_at) > now - RESET_TTL,
        )
    ).one()
    if open_resets >= MAX_OPEN_RESETS:
        return
    token = new_secret()
    session.add(
        PasswordReset(
            user_id=user.id, token_hash=digest(token), created_at=now, expires_at=now + RESET_TTL
        )
    )
    session.flush()
    subject, body = _reset_mail(
        user=user, link=public_link(settings, "/wachtwoord-herstellen", token=token)
    )
    enqueue_email(session, "password_reset", user.email, subject, body)


def confirm_password_reset(*, session: Session, token: str, password: str) -> None:
    """Set the new password; every session ends, the lock-out is lifted, open links die."""
    found = _reset_by_token(session, token)
    now = utcnow()
    invalid = BadRequest(
        "Deze link om een nieuw wachtwoord te kiezen werkt niet meer: hij is verlopen, al "
        "gebruikt of niet volledig. Vraag een nieuwe link aan."
    )
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise invalid
    user = session.get(UserAccount, found.user_id)
    if user is None or not user.is_active:
        raise invalid
    service.check_password_strength(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    for reset in session.exec(
        select(PasswordReset).where(
            PasswordReset.user_id == user.id, col(PasswordReset.used_at).is_(None)
        )
    ):
        reset.used_at = now
        session.add(reset)
    session.execute(
        delete(LoginFailure).where(col(LoginFailure.email_hash) == email_digest(user.email))
    )
    service.revoke_all_sessions(session=session, user_id=user.id)
    session.flush()


# --- endpoints --------------------------------------------------------------------------------


@router.post(
    "/invitations",
    operation_id="createInvitation",
    summary="Iemand uitnodigen per e-mail",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def post_invitation(
    request: Request, session: SessionDep, principal: CurrentPrincipal, data: InvitationCreate
) -> InvitationPublic:
    """Stuurt een uitnodiging met een eenmalige link (7 dagen geldig) naar het e-mailadres.
    Daarmee kiest de genodigde een wachtwoord (`POST /invitations/accept`). De redactie kan
    aanbieders (provider, met hun organisatie(s)) en professionals uitnodigen; beheer elke rol.
    Alleen voor de eigen gemeente. Een nieuwe uitnodiging voor hetzelfde adres maakt eerdere
    links ongeldig; 409 als er al een account met dit adres is."""
    invitation, municipality, organizations = create_invitation(
        session=session, settings=_settings(request), principal=principal, data=data
    )
    return InvitationPublic(
        id=invitation.id,
        email=invitation.email,
        display_name=invitation.display_name,
        role=Role(invitation.role),
        municipality=municipality.slug,
        organizations=sorted(o.slug for o in organizations),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
    )


@router.post(
    "/invitations/accept",
    operation_id="acceptInvitation",
    summary="Uitnodiging aannemen en wachtwoord kiezen",
    responses=problem_responses(400, 409, 422),
)
def post_accept_invitation(
    request: Request, session: SessionDep, data: InvitationAccept
) -> TokenResponse:
    """Maakt het account met het gekozen wachtwoord (minstens 12 tekens) en logt meteen in:
    het antwoord is hetzelfde als bij `POST /auth/token`. Een onbekende, verlopen of al
    gebruikte link geeft 400."""
    pair = accept_invitation(
        session=session, settings=_settings(request), token=data.token, password=data.password
    )
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/auth/password-reset",
    operation_id="requestPasswordReset",
    summary="Nieuw wachtwoord aanvragen",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(400, 422),
)
def post_password_reset(
    request: Request, session: SessionDep, data: PasswordResetRequest
) -> PasswordResetRequested:
    """Stuurt een e-mail met een eenmalige link (1 uur geldig) om een nieuw wachtwoord te
    kiezen. Het antwoord is altijd hetzelfde, ook als er geen account met dit adres is; zo
    verraadt het niet wie een account heeft. Hoogstens 3 links per uur per account."""
    request_password_reset(session=session, settings=_settings(request), email=str(data.email))
    return PasswordResetRequested(detail=RESET_REQUESTED)


@router.post(
    "/auth/password-reset/confirm",
    operation_id="confirmPasswordReset",
    summary="Nieuw wachtwoord instellen",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 422),
)
def post_password_reset_confirm(session: SessionDep, data: PasswordResetConfirm) -> None:
    """Zet het nieuwe wachtwoord (minstens 12 tekens) met het token uit de e-mail. Alle
    sessies (refresh-tokens) van het account worden ingetrokken en een blokkade na mislukte
    pogingen vervalt. Een onbekende, verlopen of al gebruikte link geeft 400."""
    confirm_password_reset(session=session, token=data.token, password=data.password)
