"""Authentication and authorization as one dependency of the whole ``/api/v1`` app.

``Authorization: Bearer <token>`` carries one of:

* an OAuth2 access token (JWT, 15 minutes) from ``POST /auth/token``;
* an API key (``sk_…``) of an integration;
* the bootstrap ``ADMIN_API_KEY`` (acts as admin of every municipality: for the first
  accounts and emergencies; keep it out of daily use and rotate it).

No header: an anonymous resident. An OIDC provider (the gemeente's Azure AD, eHerkenning) fits
in as one more branch here that maps verified ID-token claims to a ``Principal``; the policy
layer never changes (docs/authorization.md).
"""

from __future__ import annotations

import hmac
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.accounts.models import Role
from app.accounts.policy import check_operation
from app.accounts.principal import ANONYMOUS, Principal, PrincipalKind, bind_principal
from app.accounts.security import API_KEY_PREFIX, decode_access_token
from app.accounts.service import principal_for_api_key, principal_from_claims
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    description="OAuth2-toegangstoken (POST /auth/token), API-sleutel (sk_…) of de "
    "beheersleutel (ADMIN_API_KEY).",
)
ADMIN_KEY_PRINCIPAL = Principal(
    kind=PrincipalKind.admin_key, role=Role.admin, all_municipalities=True
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sociale-kaart", error="invalid_token"'}


def authenticate(
    request: Request, session: Session, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """Who is calling (anonymous without a header); 401 for a token that is not valid."""
    if credentials is None:
        return ANONYMOUS
    settings: Settings = request.app.state.settings
    token = credentials.credentials
    if hmac.compare_digest(token.encode(), settings.admin_api_key.get_secret_value().encode()):
        return ADMIN_KEY_PRINCIPAL
    if token.startswith(API_KEY_PREFIX):
        found = principal_for_api_key(session=session, plaintext=token)
        if found is None:
            raise Unauthorized("Deze API-sleutel is onbekend of ingetrokken.", headers=_CHALLENGE)
        return found
    try:
        claims = decode_access_token(token, secret_key=settings.secret_key.get_secret_value())
    except jwt.ExpiredSignatureError:
        raise Unauthorized(
            "Uw sessie is verlopen. Vernieuw het token of log opnieuw in.", headers=_CHALLENGE
        ) from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthorized("Dit token is niet geldig.", headers=_CHALLENGE) from None
    return principal_from_claims(claims)


def _authorize(
    request: Request, session: Session, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    principal = authenticate(request, session, credentials)
    route = request.scope.get("route")
    check_operation(principal, getattr(route, "operation_id", None) or "")
    bind_principal(session, principal)
    return principal


async def authorize(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Authenticate, then refuse the request unless the policy of this operation allows the
    principal; the principal is bound to the request's session for the services and the audit
    trail. Anonymous requests are decided on the event loop (no database, no thread hand-off);
    a token or key is checked in the thread pool (an API key is looked up in the database)."""
    if credentials is None:
        return _authorize(request, session, None)
    return await run_in_threadpool(_authorize, request, session, credentials)


AuthorizeDep = Depends(authorize)
CurrentPrincipal = Annotated[Principal, Depends(authorize)]
