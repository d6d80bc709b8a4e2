from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.models import Role
from app.core.schemas import InputModel, OutputModel
from app.core.types import Name, Slug


class TokenResponse(OutputModel):
    """RFC 6749 token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconden tot het toegangstoken verloopt.")
    refresh_token: str = Field(description="Eenmalig te gebruiken; vraag er een nieuw paar mee.")


class TokenRequest(BaseModel):
    """OAuth2 token request (form fields, RFC 6749 sections 4.3 and 6); other OAuth2 fields
    such as client_id are ignored."""

    model_config = ConfigDict(extra="ignore")

    grant_type: Literal["password", "refresh_token"]
    username: str | None = Field(default=None, max_length=320, description="E-mailadres")
    password: str | None = Field(default=None, max_length=200)
    refresh_token: str | None = Field(default=None, max_length=200)
    scope: str | None = Field(default=None, max_length=200, description="Niet gebruikt")


class RevokeRequest(InputModel):
    token: str = Field(min_length=1, max_length=200, description="Het refresh-token.")


class Me(OutputModel):
    id: uuid.UUID | None
    kind: str = Field(description="user, api_key of admin_key")
    email: str | None
    display_name: str | None
    role: Role | None
    municipalities: list[str] = Field(description="Slugs van de gemeenten")
    organizations: list[str] = Field(description="Slugs van de eigen organisaties (aanbieders)")


class UserPublic(OutputModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    municipalities: list[str]
    organizations: list[str]
    last_login_at: datetime | None
    created_at: datetime


class UserList(OutputModel):
    items: list[UserPublic]
    total: int


class UserUpdate(InputModel):
    display_name: Name | None = None
    role: Role | None = None
    is_active: bool | None = Field(
        default=None, description="false: blokkeren (alle sessies worden ingetrokken)"
    )
    municipalities: list[Slug] | None = Field(default=None, max_length=50)
    organizations: list[Slug] | None = Field(default=None, max_length=50)


class ApiKeyCreate(InputModel):
    name: Name
    role: Role = Field(description="De rol waarmee de sleutel werkt")
    municipality: Slug
    organization: Slug | None = Field(default=None, description="Verplicht bij rol provider")
    scopes: list[str] = Field(
        min_length=1,
        max_length=50,
        description="De operaties (operationId's) die de sleutel mag aanroepen",
        examples=[["createService", "updateService"]],
    )


class ApiKeyPublic(OutputModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="Begin van de sleutel, om haar te herkennen")
    role: Role
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="De sleutel zelf: alleen nu zichtbaar, bewaar haar veilig.")


class ApiKeyList(OutputModel):
    items: list[ApiKeyPublic]
    total: int
