"""Accounts, their memberships, tokens, API keys, invitations and password resets.

Residents never have an account: reading and searching is anonymous. Secrets (passwords,
refresh tokens, API keys, invitation and reset tokens) are stored as hashes only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import IdMixin, TimestampMixin, UTCDateTime, enum_check, utcnow


class Role(StrEnum):
    """Who someone is for the sociale kaart (docs/authorization.md)."""

    professional = "professional"  # huisarts/POH, loket, sociaal team
    provider = "provider"  # aanbieder: member of one or more organisations
    editor = "editor"  # redactie of a municipality
    admin = "admin"  # users and municipalities


class UserAccount(IdMixin, TimestampMixin, table=True):
    __tablename__ = "user_account"
    __table_args__ = (enum_check("role", Role, "role"),)

    email: str = Field(max_length=320, unique=True, description="Lower case")
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    password_hash: str | None = Field(default=None, max_length=300)  # None until invited sets it
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserMunicipality(SQLModel, table=True):
    """The municipalities a user works for (an admin may serve several)."""

    __tablename__ = "user_municipality"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", primary_key=True
    )


class OrganizationMember(SQLModel, table=True):
    """A provider's organisations: the only ones they may manage."""

    __tablename__ = "organization_member"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    organization_id: uuid.UUID = Field(
        foreign_key="organization.id", ondelete="CASCADE", primary_key=True, index=True
    )


class RefreshToken(IdMixin, table=True):
    """A refresh token (hash only). Rotated on use; reuse of a rotated token revokes the family."""

    __tablename__ = "refresh_token"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(IdMixin, table=True):
    """An integration's key: acts with a role in one municipality, limited to its scopes."""

    __tablename__ = "api_key"
    __table_args__ = (enum_check("role", Role, "role"),)

    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, index=True, description="Shown to recognise the key")
    key_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=20)
    municipality_id: uuid.UUID = Field(foreign_key="municipality.id", ondelete="CASCADE")
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", ondelete="CASCADE"
    )
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invitation(IdMixin, table=True):
    """An invitation by e-mail; the invitee sets a password with the token (hash stored)."""

    __tablename__ = "invitation"
    __table_args__ = (enum_check("role", Role, "role"),)

    email: str = Field(max_length=320, index=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    municipality_id: uuid.UUID = Field(foreign_key="municipality.id", ondelete="CASCADE")
    organization_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(IdMixin, table=True):
    __tablename__ = "password_reset"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """Failed logins per e-mail address (hashed), for rate limiting also unknown addresses."""

    __tablename__ = "login_failure"

    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    email_hash: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
