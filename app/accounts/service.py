"""Accounts: create users, log in (with lock-out), issue/rotate/revoke tokens, API keys."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.accounts.models import (
    ApiKey,
    LoginFailure,
    OrganizationMember,
    RefreshToken,
    Role,
    UserAccount,
    UserMunicipality,
)
from app.accounts.principal import Principal, PrincipalKind
from app.accounts.security import (
    API_KEY_PREFIX,
    MIN_PASSWORD_LENGTH,
    REFRESH_TOKEN_TTL,
    create_access_token,
    digest,
    email_digest,
    hash_password,
    new_secret,
    verify_password,
)
from app.core.errors import Conflict, FieldError, TooManyRequests, Unauthorized, Unprocessable
from app.core.models import utcnow

MAX_FAILURES_PER_ACCOUNT = 5  # then the account is locked for LOCK_TIME
LOCK_TIME = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 10  # per e-mail address (also unknown ones) within FAILURE_WINDOW
FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILED = "E-mailadres of wachtwoord klopt niet."


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str, *, field: str = "body.password") -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Gebruik minstens {MIN_PASSWORD_LENGTH} tekens.")
    if password.strip() != password or len(set(password)) < 5:
        problems.append(
            "Kies een wachtwoord met meer verschillende tekens, zonder spaties aan het begin of eind."
        )
    if problems:
        raise Unprocessable(
            "Dit wachtwoord is niet sterk genoeg.",
            errors=[FieldError(field=field, message=" ".join(problems))],
        )


# --- users --------------------------------------------------------------------------------


def create_user(
    *,
    session: Session,
    email: str,
    display_name: str,
    role: Role,
    municipality_ids: Iterable[uuid.UUID],
    organization_ids: Iterable[uuid.UUID] = (),
    password: str | None = None,
) -> UserAccount:
    email = normalise_email(email)
    if session.exec(select(UserAccount).where(UserAccount.email == email)).first() is not None:
        raise Conflict(f"Er is al een account met e-mailadres {email}.")
    if password is not None:
        check_password_strength(password)
    user = UserAccount(
        email=email,
        display_name=display_name,
        role=role.value,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    set_memberships(
        session=session,
        user=user,
        municipality_ids=municipality_ids,
        organization_ids=organization_ids,
    )
    return user


def set_memberships(
    *,
    session: Session,
    user: UserAccount,
    municipality_ids: Iterable[uuid.UUID],
    organization_ids: Iterable[uuid.UUID],
) -> None:
    session.execute(delete(UserMunicipality).where(col(UserMunicipality.user_id) == user.id))
    session.execute(delete(OrganizationMember).where(col(OrganizationMember.user_id) == user.id))
    for mid in dict.fromkeys(municipality_ids):
        session.add(UserMunicipality(user_id=user.id, municipality_id=mid))
    for oid in dict.fromkeys(organization_ids):
        session.add(OrganizationMember(user_id=user.id, organization_id=oid))
    session.flush()


def memberships(session: Session, user_id: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    municipalities = list(
        session.exec(
            select(UserMunicipality.municipality_id).where(UserMunicipality.user_id == user_id)
        )
    )
    organizations = list(
        session.exec(
            select(OrganizationMember.organization_id).where(OrganizationMember.user_id == user_id)
        )
    )
    return municipalities, organizations


# --- logging in -----------------------------------------------------------------------------


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def authenticate(*, session: Session, email: str, password: str) -> UserAccount:
    """The user with this e-mail address and password. Failures are counted per account
    (lock-out) and per address (rate limit, also for addresses without an account); the
    message never tells which of the two was wrong."""
    now = utcnow()
    address = email_digest(email)
    recent = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email_hash == address, col(LoginFailure.at) > now - FAILURE_WINDOW)
    ).one()
    if recent >= MAX_FAILURES_PER_ADDRESS:
        raise TooManyRequests(
            "Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.",
            headers=_retry_after(FAILURE_WINDOW.total_seconds()),
        )
    user = session.exec(
        select(UserAccount).where(UserAccount.email == normalise_email(email))
    ).first()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise TooManyRequests(
            "Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. "
            "Probeer het later opnieuw of vraag een nieuw wachtwoord aan.",
            headers=_retry_after((user.locked_until - now).total_seconds()),
        )
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        session.add(LoginFailure(email_hash=address, at=now))
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES_PER_ACCOUNT:
                user.locked_until = now + LOCK_TIME
                user.failed_logins = 0
            session.add(user)
        session.flush()
        raise Unauthorized(LOGIN_FAILED, headers={"WWW-Authenticate": "Bearer"})
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    session.execute(delete(LoginFailure).where(col(LoginFailure.email_hash) == address))
    session.flush()
    return user


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def issue_tokens(
    *, session: Session, user: UserAccount, secret_key: str, family_id: uuid.UUID | None = None
) -> TokenPair:
    municipality_ids, organization_ids = memberships(session, user.id)
    now = utcnow()
    access, expires = create_access_token(
        secret_key=secret_key,
        user_id=user.id,
        role=user.role,
        municipality_ids=municipality_ids,
        organization_ids=organization_ids,
        now=now,
    )
    refresh = new_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=digest(refresh),
            created_at=now,
            expires_at=now + REFRESH_TOKEN_TTL,
        )
    )
    session.flush()
    return TokenPair(access, refresh, int((expires - now).total_seconds()))


def refresh_tokens(*, session: Session, refresh_token: str, secret_key: str) -> TokenPair:
    """A new token pair for a valid refresh token, which is used up (rotation). Presenting a
    used token again means it leaked: the whole family is revoked."""
    now = utcnow()
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
    ).first()
    invalid = Unauthorized("Deze sessie is verlopen. Log opnieuw in.")
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise invalid
    if row.used_at is not None:
        revoke_family(session=session, family_id=row.family_id)
        raise invalid
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.is_active:
        raise invalid
    row.used_at = now
    session.add(row)
    return issue_tokens(session=session, user=user, secret_key=secret_key, family_id=row.family_id)


def revoke_family(*, session: Session, family_id: uuid.UUID) -> None:
    now = utcnow()
    for token in session.exec(
        select(RefreshToken).where(
            RefreshToken.family_id == family_id, col(RefreshToken.revoked_at).is_(None)
        )
    ):
        token.revoked_at = now
        session.add(token)
    session.flush()


def revoke_refresh_token(*, session: Session, refresh_token: str) -> None:
    """Log out: revoke this session (idempotent; unknown tokens are ignored, RFC 7009)."""
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
    ).first()
    if row is not None:
        revoke_family(session=session, family_id=row.family_id)


def revoke_all_sessions(*, session: Session, user_id: uuid.UUID) -> None:
    now = utcnow()
    for token in session.exec(
        select(RefreshToken).where(
            RefreshToken.user_id == user_id, col(RefreshToken.revoked_at).is_(None)
        )
    ):
        token.revoked_at = now
        session.add(token)
    session.flush()


def principal_from_claims(claims: dict[str, object]) -> Principal:
    def ids(key: str) -> frozenset[uuid.UUID]:
        values = claims.get(key) or []
        assert isinstance(values, list)
        return frozenset(uuid.UUID(str(v)) for v in values)

    return Principal(
        kind=PrincipalKind.user,
        id=uuid.UUID(str(claims["sub"])),
        role=Role(str(claims["role"])),
        municipality_ids=ids("mun"),
        organization_ids=ids("org"),
    )


# --- API keys ---------------------------------------------------------------------------------


def create_api_key(
    *,
    session: Session,
    name: str,
    role: Role,
    municipality_id: uuid.UUID,
    organization_id: uuid.UUID | None,
    scopes: list[str],
    created_by_id: uuid.UUID | None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext (shown once; only its hash is kept)."""
    plaintext = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        name=name,
        prefix=plaintext[:10],
        key_hash=digest(plaintext),
        role=role.value,
        municipality_id=municipality_id,
        organization_id=organization_id,
        scopes=sorted(set(scopes)),
        created_by_id=created_by_id,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def principal_for_api_key(*, session: Session, plaintext: str) -> Principal | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == digest(plaintext))).first()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=5):
        key.last_used_at = now  # coarse, so a busy integration does not write on every call
        session.add(key)
        session.flush()
    return Principal(
        kind=PrincipalKind.api_key,
        id=key.id,
        role=Role(key.role),
        municipality_ids=frozenset({key.municipality_id}),
        organization_ids=frozenset({key.organization_id}) if key.organization_id else frozenset(),
        scopes=frozenset(key.scopes),
    )


def revoke_api_key(*, session: Session, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
