"""The one authorization layer: who may call which operation, and on which resources.

``POLICY`` maps every operation of the API (its ``operationId``) to the roles that may call
it. ``authorize`` — a dependency of the whole ``/api/v1`` app — looks the current route up and
refuses the request before the endpoint runs; an operation without a policy is refused
(fail closed) and ``tests/test_authorization.py`` fails. Resource checks (which municipality,
which organisation) are the ``can_*`` functions below, called by the services.
docs/authorization.md is generated from this module (``python -m app.accounts.policy``).
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.accounts.models import Role
from app.accounts.principal import Principal, PrincipalKind
from app.core.errors import Forbidden, Unauthorized


class Reach(StrEnum):
    """On which resources an allowed role may act."""

    everything = "alles"  # public data, or not tied to a resource
    municipality = "eigen gemeente"  # resources of the municipalities the principal serves
    organization = "eigen organisatie"  # providers: only their own organisations' resources
    self = "eigen account"


ANONYMOUS = "anonymous"
EVERYONE = frozenset({ANONYMOUS, *Role})
STAFF = frozenset({Role.editor, Role.admin})
# Providers change their listings through submissions (aanmeldingen), never directly; they
# manage their own organisations' locations and submissions.
MANAGERS = frozenset({Role.provider, Role.editor, Role.admin})  # providers: own organisations
SIGNED_IN = frozenset(Role)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    reach: Reach
    description: str

    def allows(self, principal: Principal) -> bool:
        if principal.kind is PrincipalKind.anonymous:
            return ANONYMOUS in self.roles
        return principal.role is not None and principal.role in self.roles


def _rule(roles: frozenset[str] | frozenset[Role], reach: Reach, description: str) -> Rule:
    return Rule(frozenset(str(r) for r in roles), reach, description)


POLICY: dict[str, Rule] = {
    # residents: read and search, never a login
    "search": _rule(EVERYONE, Reach.everything, "zoeken"),
    "searchSuggest": _rule(EVERYONE, Reach.everything, "zoeksuggesties"),
    "listServices": _rule(EVERYONE, Reach.everything, "openbare voorzieningen"),
    "getService": _rule(
        EVERYONE,
        Reach.everything,
        "één voorziening (professionele velden alleen voor professional, redactie, beheer)",
    ),
    "listOrganizations": _rule(EVERYONE, Reach.everything, "openbare organisaties"),
    "getOrganization": _rule(EVERYONE, Reach.everything, "één organisatie"),
    "listThemes": _rule(EVERYONE, Reach.everything, "taxonomie"),
    "listTargetGroups": _rule(EVERYONE, Reach.everything, "taxonomie"),
    "listAccessRoutes": _rule(EVERYONE, Reach.everything, "taxonomie"),
    "listCosts": _rule(EVERYONE, Reach.everything, "taxonomie"),
    "listMunicipalities": _rule(EVERYONE, Reach.everything, "gemeenten"),
    "listNeighbourhoods": _rule(EVERYONE, Reach.everything, "wijken"),
    "exportServicesCsv": _rule(
        EVERYONE, Reach.everything, "open data: openbare voorzieningen als CSV"
    ),
    # listings
    "createService": _rule(STAFF, Reach.municipality, "voorziening toevoegen"),
    "updateService": _rule(STAFF, Reach.municipality, "voorziening wijzigen"),
    "deleteService": _rule(STAFF, Reach.municipality, "voorziening verwijderen"),
    "createOrganization": _rule(STAFF, Reach.municipality, "organisatie toevoegen"),
    "updateOrganization": _rule(STAFF, Reach.municipality, "organisatie wijzigen"),
    "deleteOrganization": _rule(STAFF, Reach.municipality, "organisatie verwijderen"),
    "createLocation": _rule(MANAGERS, Reach.organization, "locatie toevoegen"),
    "getLocation": _rule(MANAGERS, Reach.organization, "locatie bekijken (ook niet-openbaar)"),
    "updateLocation": _rule(MANAGERS, Reach.organization, "locatie wijzigen"),
    "deleteLocation": _rule(MANAGERS, Reach.organization, "locatie verwijderen"),
    # accounts
    "createToken": _rule(EVERYONE, Reach.everything, "inloggen / token vernieuwen"),
    "revokeToken": _rule(EVERYONE, Reach.everything, "uitloggen (refresh-token intrekken)"),
    "getMe": _rule(SIGNED_IN, Reach.self, "eigen account"),
    "requestPasswordReset": _rule(EVERYONE, Reach.everything, "nieuw wachtwoord aanvragen"),
    "confirmPasswordReset": _rule(EVERYONE, Reach.everything, "nieuw wachtwoord instellen"),
    "createInvitation": _rule(
        STAFF, Reach.municipality, "uitnodigen (redactie: aanbieders en professionals)"
    ),
    "acceptInvitation": _rule(
        EVERYONE, Reach.everything, "uitnodiging aannemen, wachtwoord kiezen"
    ),
    "listUsers": _rule(STAFF, Reach.municipality, "accounts bekijken"),
    "updateUser": _rule(
        frozenset({Role.admin}), Reach.municipality, "account wijzigen of blokkeren"
    ),
    "createApiKey": _rule(frozenset({Role.admin}), Reach.municipality, "API-sleutel maken"),
    "listApiKeys": _rule(frozenset({Role.admin}), Reach.municipality, "API-sleutels bekijken"),
    "revokeApiKey": _rule(frozenset({Role.admin}), Reach.municipality, "API-sleutel intrekken"),
    "listAuditEvents": _rule(STAFF, Reach.municipality, "audit-trail lezen"),
    # admission (toelatingscriteria)
    "listCriteria": _rule(EVERYONE, Reach.everything, "toelatingscriteria van de actieve versie"),
    "getFlowchart": _rule(EVERYONE, Reach.everything, "stroomschema (Mermaid) uit de criteria"),
    "listCriteriaVersions": _rule(STAFF, Reach.municipality, "versies van de criteria"),
    "createCriteriaVersion": _rule(STAFF, Reach.municipality, "criteria wijzigen (nieuwe versie)"),
    "getAdmissionReport": _rule(
        MANAGERS, Reach.organization, "toetsing van een organisatie en haar aanbod"
    ),
    "confirmService": _rule(MANAGERS, Reach.organization, "gegevens kloppen nog (actueel, T10)"),
    "createSubmission": _rule(
        MANAGERS, Reach.organization, "aanmelden: nieuwe organisatie of wijziging"
    ),
    "getSubmission": _rule(MANAGERS, Reach.organization, "aanmelding met toetsingsrapport"),
    "updateSubmission": _rule(
        MANAGERS, Reach.organization, "aanmelding aanvullen en opnieuw indienen"
    ),
    "listReviews": _rule(STAFF, Reach.municipality, "beoordelingswachtrij"),
    "decideSubmission": _rule(
        STAFF, Reach.municipality, "besluit: toegelaten, aanvullen of afgewezen"
    ),
    # resident feedback
    "createFeedback": _rule(EVERYONE, Reach.everything, "klopt er iets niet? (inwoners, anoniem)"),
    "listFeedback": _rule(STAFF, Reach.municipality, "meldingen van inwoners"),
    "updateFeedback": _rule(STAFF, Reach.municipality, "melding afhandelen"),
    # referrals (verwijzingen): professionals send, providers receive (their own organisations)
    "createReferral": _rule(
        frozenset({Role.professional}), Reach.self, "verwijzen (warm of recept)"
    ),
    "listReferrals": _rule(
        frozenset({Role.professional, Role.provider}),
        Reach.organization,
        "eigen verwijzingen (professional) of binnengekomen verwijzingen (aanbieder)",
    ),
    "getReferral": _rule(
        frozenset({Role.professional, Role.provider}),
        Reach.organization,
        "één verwijzing; persoonsgegevens alleen voor verwijzer en ontvangende organisatie",
    ),
    "updateReferralStatus": _rule(
        frozenset({Role.provider}), Reach.organization, "status en uitkomst van een verwijzing"
    ),
    "redeemReferralCode": _rule(
        frozenset({Role.provider}),
        Reach.organization,
        "recept met referentiecode als gebruikt melden",
    ),
    # monitor sociaal domein: anonymous counts only
    "getReferralInsights": _rule(STAFF, Reach.municipality, "monitor: verwijzingen per maand"),
    "getSearchInsights": _rule(STAFF, Reach.municipality, "monitor: zoekvragen per maand"),
    "getSupplyInsights": _rule(STAFF, Reach.municipality, "monitor: aanbod per thema en wijk"),
    "exportInsightsCsv": _rule(STAFF, Reach.municipality, "monitor als CSV (raadsrapportage)"),
}


def check_operation(principal: Principal, operation_id: str) -> Rule:
    """Refuse unless this principal may call this operation at all (401 or 403)."""
    rule = POLICY.get(operation_id)
    if rule is None:  # fail closed: every operation needs a policy
        raise Forbidden(f"Voor deze actie ({operation_id}) is geen toegangsregel vastgelegd.")
    if principal.kind is PrincipalKind.anonymous and not rule.allows(principal):
        raise Unauthorized(
            "Log in om dit te doen.", headers={"WWW-Authenticate": 'Bearer realm="sociale-kaart"'}
        )
    if not rule.allows(principal):
        raise Forbidden("Uw rol mag dit niet.")
    if principal.scopes is not None and operation_id not in principal.scopes:
        raise Forbidden(f"Deze API-sleutel heeft geen toestemming voor {operation_id}.")
    return rule


# --- resource checks ----------------------------------------------------------------------------


def can_manage(
    principal: Principal, *, municipality_id: uuid.UUID, organization_id: uuid.UUID | None
) -> bool:
    """May this principal change a resource of this municipality and organisation?"""
    if principal.role in (Role.admin, Role.editor):
        return principal.serves(municipality_id)
    if principal.role is Role.provider:
        return organization_id is not None and principal.is_member(organization_id)
    return False


def require_manage(
    principal: Principal, *, municipality_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    if not can_manage(principal, municipality_id=municipality_id, organization_id=organization_id):
        if principal.role is Role.provider:
            raise Forbidden("U kunt alleen gegevens van uw eigen organisatie(s) beheren.")
        raise Forbidden("U kunt alleen gegevens van uw eigen gemeente beheren.")


def require_municipality(principal: Principal, municipality_id: uuid.UUID) -> None:
    if not principal.serves(municipality_id):
        raise Forbidden("U kunt alleen gegevens van uw eigen gemeente beheren.")


def sees_professional_fields(principal: Principal) -> bool:
    return principal.role in (Role.professional, Role.editor, Role.admin)


# --- the matrix as documentation ----------------------------------------------------------------

_COLUMNS = [ANONYMOUS, *(r.value for r in Role)]
_DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"


def render_matrix() -> str:
    lines = [
        "# Authorization matrix",
        "",
        "Generated from `app/accounts/policy.py` (`python -m app.accounts.policy`); a test checks",
        "that this file, the policy and the API's operations agree, and walks every (role,",
        "operation) pair against it. ✓ = allowed; the reach says on which resources.",
        "",
        "| operation | " + " | ".join(_COLUMNS) + " | reach | what |",
        "|---|" + "---|" * len(_COLUMNS) + "---|---|",
    ]
    for operation, rule in POLICY.items():
        marks = " | ".join("✓" if c in rule.roles else "·" for c in _COLUMNS)
        lines.append(f"| `{operation}` | {marks} | {rule.reach.value} | {rule.description} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    if "--check" in sys.argv:
        current = _DOC.read_text(encoding="utf-8").split("\n## ", 1)[0]
        if current.rstrip() != render_matrix().rstrip():
            print(f"{_DOC} is out of date: run python -m app.accounts.policy")
            sys.exit(1)
    else:
        text = _DOC.read_text(encoding="utf-8") if _DOC.exists() else ""
        rest = ("\n## " + text.split("\n## ", 1)[1]) if "\n## " in text else ""
        _DOC.write_text(render_matrix() + rest, encoding="utf-8")
