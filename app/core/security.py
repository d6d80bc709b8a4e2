"""Write access with the admin API key (until user accounts exist)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.config import Settings
from app.core.errors import Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminApiKey",
    description="Beheersleutel (ADMIN_API_KEY) als Bearer-token.",
)


def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = get_settings_from_app(request).admin_api_key.get_secret_value()
    challenge = {"WWW-Authenticate": 'Bearer realm="sociale-kaart"'}
    if credentials is None:
        raise Unauthorized(
            "Voor deze actie is een beheersleutel nodig (Authorization: Bearer ...).",
            headers=challenge,
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("De beheersleutel klopt niet.", headers=challenge)


AdminDep = Depends(require_admin)
