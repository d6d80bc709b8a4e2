"""Who is making this request: the principal every policy decision and audit event uses.

Set once per request by the authentication dependency (``app/accounts/deps.py``) and kept in
a context variable so the audit trail (``app/audit``) can record who wrote without passing it
through every service function. Outside a request (CLI, importers, background jobs) the actor
is ``SYSTEM``.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session

from app.accounts.models import Role


class PrincipalKind(StrEnum):
    anonymous = "anonymous"  # a resident: read and search only, never a login
    user = "user"  # a person with an account (OAuth2 access token)
    api_key = "api_key"  # an integration's API key
    admin_key = "admin_key"  # the bootstrap ADMIN_API_KEY (break-glass; see docs)
    system = "system"  # CLI, importers, background jobs


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: uuid.UUID | None = None  # user id or API key id
    role: Role | None = None
    municipality_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    organization_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    scopes: frozenset[str] | None = None  # API keys: the operations they may call; None: all
    all_municipalities: bool = False  # the admin key and the system

    @property
    def authenticated(self) -> bool:
        return self.kind is not PrincipalKind.anonymous

    def serves(self, municipality_id: uuid.UUID) -> bool:
        return self.all_municipalities or municipality_id in self.municipality_ids

    def is_member(self, organization_id: uuid.UUID) -> bool:
        return organization_id in self.organization_ids


ANONYMOUS = Principal(kind=PrincipalKind.anonymous)
SYSTEM = Principal(kind=PrincipalKind.system, role=Role.admin, all_municipalities=True)

current_principal: ContextVar[Principal] = ContextVar("current_principal", default=SYSTEM)


PRINCIPAL_KEY = "principal"


def principal_of(session: Session) -> Principal:
    """The principal of the request that owns this session (``SYSTEM`` outside requests).

    The request's authorization dependency stores it in ``session.info``: the session is the
    one object every layer of a request shares, whatever thread runs it."""
    found = session.info.get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else current_principal.get()


def bind_principal(session: Session, principal: Principal) -> None:
    session.info[PRINCIPAL_KEY] = principal
