"""Logging in (OAuth2 password flow), tokens, accounts and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from sqlmodel import col, select

from app.accounts import service
from app.accounts.deps import CurrentPrincipal
from app.accounts.models import ApiKey, Role, UserAccount, UserMunicipality
from app.accounts.policy import require_municipality
from app.accounts.principal import PrincipalKind
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyPublic,
    Me,
    RevokeRequest,
    TokenRequest,
    TokenResponse,
    UserList,
    UserPublic,
    UserUpdate,
)
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import (
    BadRequest,
    FieldError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from app.core.openapi import problem_responses
from app.municipalities.models import Municipality
from app.municipalities.service import resolve_municipality
from app.organizations.models import Organization

router = APIRouter(tags=["Accounts"])


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


@router.post(
    "/auth/token",
    operation_id="createToken",
    summary="Inloggen of token vernieuwen (OAuth2)",
    responses=problem_responses(400, 401, 422, 429),
)
def create_token(
    request: Request,
    session: SessionDep,
    form: Annotated[TokenRequest, Form()],
) -> TokenResponse:
    """OAuth2 (RFC 6749): `grant_type=password` met `username` (e-mailadres) en `password`,
    of `grant_type=refresh_token` met `refresh_token`. Geeft een toegangstoken (15 minuten)
    en een refresh-token (14 dagen, eenmalig: elk gebruik geeft een nieuw paar). Na 5
    mislukte pogingen is een account een kwartier geblokkeerd (429)."""
    grant_type, username, password = form.grant_type, form.username, form.password
    refresh_token = form.refresh_token
    try:
        if grant_type == "password":
            if not username or not password:
                raise BadRequest("Geef username (e-mailadres) en password op.")
            user = service.authenticate(session=session, email=username, password=password)
            pair = service.issue_tokens(session=session, user=user, secret_key=_secret(request))
        else:
            if not refresh_token:
                raise BadRequest("Geef refresh_token op.")
            pair = service.refresh_tokens(
                session=session, refresh_token=refresh_token, secret_key=_secret(request)
            )
    except (Unauthorized, TooManyRequests):
        # A refused login still counts: failure counters, lock-out and the revocation of a
        # reused refresh token's family must stand, so they are committed before the error.
        session.commit()
        raise
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post(
    "/auth/revoke",
    operation_id="revokeToken",
    summary="Uitloggen: refresh-token intrekken",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 422),
)
def revoke_token(session: SessionDep, data: RevokeRequest) -> None:
    """Trekt het refresh-token en alle tokens die eruit voortkwamen in (RFC 7009: een
    onbekend token geeft ook 204). Het toegangstoken verloopt vanzelf binnen 15 minuten."""
    service.revoke_refresh_token(session=session, refresh_token=data.token)


def _slugs(
    session: SessionDep, model: type[Municipality] | type[Organization], ids: list[uuid.UUID]
) -> list[str]:
    if not ids:
        return []
    return sorted(session.exec(select(model.slug).where(col(model.id).in_(ids))))


@router.get(
    "/auth/me",
    operation_id="getMe",
    summary="Wie ben ik",
    responses=problem_responses(400, 401),
)
def get_me(session: SessionDep, principal: CurrentPrincipal) -> Me:
    """Het account (of de API-sleutel) achter het token: rol, gemeenten en organisaties."""
    user = session.get(UserAccount, principal.id) if principal.kind is PrincipalKind.user else None
    return Me(
        id=principal.id,
        kind=principal.kind.value,
        email=user.email if user else None,
        display_name=user.display_name if user else None,
        role=principal.role,
        municipalities=_slugs(session, Municipality, list(principal.municipality_ids)),
        organizations=_slugs(session, Organization, list(principal.organization_ids)),
    )


# --- users --------------------------------------------------------------------------------


def _present_user(session: SessionDep, user: UserAccount) -> UserPublic:
    municipality_ids, organization_ids = service.memberships(session, user.id)
    return UserPublic(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(user.role),
        is_active=user.is_active,
        municipalities=_slugs(session, Municipality, municipality_ids),
        organizations=_slugs(session, Organization, organization_ids),
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


def _visible_users(
    session: SessionDep, principal: CurrentPrincipal, only: uuid.UUID | None = None
) -> list[UserAccount]:
    """Accounts of the principal's municipalities (``only``: just that one, if visible)."""
    statement = select(UserAccount).order_by(col(UserAccount.email))
    if only is not None:
        statement = statement.where(UserAccount.id == only)
    if not principal.all_municipalities:
        statement = statement.where(
            col(UserAccount.id).in_(
                select(UserMunicipality.user_id).where(
                    col(UserMunicipality.municipality_id).in_(list(principal.municipality_ids))
                )
            )
        )
    return list(session.exec(statement))


@router.get(
    "/users",
    operation_id="listUsers",
    summary="Accounts van de eigen gemeente(n)",
    responses=problem_responses(400, 401, 403),
)
def list_users(session: SessionDep, principal: CurrentPrincipal) -> UserList:
    """Alle accounts van de gemeenten die u bedient, op e-mailadres."""
    users = _visible_users(session, principal)
    return UserList(items=[_present_user(session, u) for u in users], total=len(users))


def _ids_of(
    session: SessionDep,
    model: type[Municipality] | type[Organization],
    slugs: list[str],
    field: str,
) -> list[uuid.UUID]:
    found = {
        slug: id_
        for id_, slug in session.exec(
            select(model.id, model.slug).where(col(model.slug).in_(slugs))
        )
    }
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise Unprocessable(
            f"Onbekend: {', '.join(unknown)}.",
            errors=[FieldError(field=field, message=f"'{s}' bestaat niet.") for s in unknown],
        )
    return [found[s] for s in slugs]


@router.patch(
    "/users/{user_id}",
    operation_id="updateUser",
    summary="Account wijzigen of blokkeren (beheer)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def update_user(
    session: SessionDep, principal: CurrentPrincipal, user_id: uuid.UUID, data: UserUpdate
) -> UserPublic:
    """Rol, naam, gemeenten en organisaties van een account; `is_active: false` blokkeert
    het en trekt alle sessies in. Wijzigingen in rol en lidmaatschap gelden vanaf het
    volgende toegangstoken (uiterlijk 15 minuten)."""
    user = next(iter(_visible_users(session, principal, only=user_id)), None)
    if user is None:
        raise NotFound("Dit account bestaat niet.")
    fields = data.model_fields_set
    if "display_name" in fields and data.display_name:
        user.display_name = data.display_name
    if "role" in fields and data.role is not None:
        user.role = data.role.value
    if "is_active" in fields and data.is_active is not None:
        user.is_active = data.is_active
        if not data.is_active:
            service.revoke_all_sessions(session=session, user_id=user.id)
    session.add(user)
    if "municipalities" in fields or "organizations" in fields:
        current_m, current_o = service.memberships(session, user.id)
        municipality_ids = (
            _ids_of(session, Municipality, data.municipalities or [], "body.municipalities")
            if "municipalities" in fields
            else current_m
        )
        for mid in municipality_ids:
            require_municipality(principal, mid)
        organization_ids = (
            _ids_of(session, Organization, data.organizations or [], "body.organizations")
            if "organizations" in fields
            else current_o
        )
        service.set_memberships(
            session=session,
            user=user,
            municipality_ids=municipality_ids,
            organization_ids=organization_ids,
        )
    session.flush()
    return _present_user(session, user)


# --- API keys ---------------------------------------------------------------------------------


def _present_key(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=Role(key.role),
        scopes=list(key.scopes),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.post(
    "/api-keys",
    operation_id="createApiKey",
    summary="API-sleutel maken (beheer); de sleutel is alleen nu zichtbaar",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 422),
)
def create_api_key(
    session: SessionDep, principal: CurrentPrincipal, data: ApiKeyCreate
) -> ApiKeyCreated:
    """Maakt een sleutel voor een koppeling: één rol, één gemeente (en bij rol provider één
    organisatie), alleen de operaties in `scopes`. De sleutel staat alleen in dit antwoord;
    bewaard wordt een hash."""
    from app.accounts.policy import POLICY

    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    require_municipality(principal, municipality.id)
    unknown = [s for s in data.scopes if s not in POLICY]
    if unknown:
        raise Unprocessable(
            "Onbekende scopes.",
            errors=[
                FieldError(field="body.scopes", message=f"'{s}' is geen operatie.") for s in unknown
            ],
        )
    organization_id = None
    if data.organization is not None:
        (organization_id,) = _ids_of(
            session, Organization, [data.organization], "body.organization"
        )
    if data.role is Role.provider and organization_id is None:
        raise Unprocessable(
            "Een sleutel met rol provider hoort bij een organisatie.",
            errors=[FieldError(field="body.organization", message="Geef de organisatie op.")],
        )
    key, plaintext = service.create_api_key(
        session=session,
        name=data.name,
        role=data.role,
        municipality_id=municipality.id,
        organization_id=organization_id,
        scopes=data.scopes,
        created_by_id=principal.id if principal.kind is PrincipalKind.user else None,
    )
    return ApiKeyCreated(**_present_key(key).model_dump(), key=plaintext)


def _visible_keys(
    session: SessionDep, principal: CurrentPrincipal, only: uuid.UUID | None = None
) -> list[ApiKey]:
    """Keys of the principal's municipalities (``only``: just that one, if visible)."""
    statement = select(ApiKey).order_by(col(ApiKey.created_at))
    if only is not None:
        statement = statement.where(ApiKey.id == only)
    if not principal.all_municipalities:
        statement = statement.where(
            col(ApiKey.municipality_id).in_(list(principal.municipality_ids))
        )
    return list(session.exec(statement))


@router.get(
    "/api-keys",
    operation_id="listApiKeys",
    summary="API-sleutels (beheer); nooit de sleutels zelf",
    responses=problem_responses(400, 401, 403),
)
def list_api_keys(session: SessionDep, principal: CurrentPrincipal) -> ApiKeyList:
    """De sleutels van uw gemeenten, met wanneer ze voor het laatst gebruikt zijn."""
    keys = _visible_keys(session, principal)
    return ApiKeyList(items=[_present_key(k) for k in keys], total=len(keys))


@router.delete(
    "/api-keys/{key_id}",
    operation_id="revokeApiKey",
    summary="API-sleutel intrekken (beheer)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404),
)
def revoke_api_key(session: SessionDep, principal: CurrentPrincipal, key_id: uuid.UUID) -> None:
    """Trekt de sleutel in; elk volgend verzoek ermee krijgt 401."""
    key = next(iter(_visible_keys(session, principal, only=key_id)), None)
    if key is None:
        raise NotFound("Deze API-sleutel bestaat niet.")
    service.revoke_api_key(session=session, key=key)
