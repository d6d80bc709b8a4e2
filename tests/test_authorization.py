"""The authorization layer against its documented matrix, IDOR checks for every write, the
OAuth2 login flow, lock-out, API keys and professional-only fields (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import ApiKey, RefreshToken, Role
from app.accounts.policy import ANONYMOUS, POLICY, render_matrix
from app.accounts.security import create_access_token
from app.accounts.service import create_user
from app.municipalities.models import Municipality
from app.organizations.models import Organization
from tests.conftest import SECRET_KEY, account

API = "/api/v1"
DOC = Path(__file__).resolve().parents[1] / "docs" / "authorization.md"
NOWHERE = "00000000-0000-0000-0000-000000000000"
Headers = dict[str, str]


def operations(client: TestClient) -> dict[str, tuple[str, str]]:
    spec = client.get(f"{API}/openapi.json").json()
    return {
        op["operationId"]: (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


def token_for(
    role: Role,
    *,
    municipality_ids: list[uuid.UUID],
    organization_ids: list[uuid.UUID] = (),  # type: ignore[assignment]
    user_id: uuid.UUID | None = None,
) -> Headers:
    token, _ = create_access_token(
        secret_key=SECRET_KEY,
        user_id=user_id or uuid.uuid4(),
        role=role.value,
        municipality_ids=municipality_ids,
        organization_ids=list(organization_ids),
    )
    return {"Authorization": f"Bearer {token}", "If-Match": "*"}


@pytest.fixture
def uithoorn(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


@pytest.fixture
def orgs(client: TestClient, admin: Headers) -> dict[str, dict[str, Any]]:
    """Two organisations, each with a location and a service."""
    made: dict[str, dict[str, Any]] = {}
    for key, name in (("a", "Stichting A"), ("b", "Stichting B")):
        org = client.post(
            f"{API}/organizations",
            json={"municipality": "uithoorn", "name": name, "admission_status": "toegelaten"},
            headers=admin,
        ).json()
        location = client.post(
            f"{API}/locations",
            json={"municipality": "uithoorn", "name": f"Huis {key}", "organization": org["slug"]},
            headers=admin,
        ).json()
        service = client.post(
            f"{API}/services",
            json={
                "municipality": "uithoorn",
                "organization": org["slug"],
                "name": f"Koffie {key}",
                "admission_status": "toegelaten",
                "professional_phone": "0297 513 111",
                "referral_procedure": "Bel eerst.",
                "internal_remarks": "Alleen intern.",
            },
            headers=admin,
        ).json()
        made[key] = {"org": org, "location": location, "service": service}
    return made


# --- the matrix ---------------------------------------------------------------------------------


def test_every_operation_has_a_policy_and_the_doc_is_current(client: TestClient) -> None:
    assert set(operations(client)) == set(POLICY), "add the new operation to POLICY"
    assert DOC.read_text(encoding="utf-8").startswith(render_matrix().rstrip()), (
        "docs/authorization.md is out of date: python -m app.accounts.policy"
    )


ROLES = [ANONYMOUS, *(r.value for r in Role)]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_operation(
    client: TestClient, uithoorn: uuid.UUID, role: str
) -> None:
    """Forbidden pairs answer 401/403 before anything else; allowed pairs never do."""
    headers = (
        {}
        if role == ANONYMOUS
        else token_for(Role(role), municipality_ids=[uithoorn], organization_ids=[])
    )
    for operation, (method, path) in operations(client).items():
        url = API + re.sub(r"\{[^}]*(id)\}", NOWHERE, path).replace("{slug}", "bestaat-niet")
        if operation == "createToken":
            response = client.post(url, data={"grant_type": "refresh_token", "refresh_token": "x"})
        else:
            response = client.request(method, url, json={}, headers=headers)
        allowed = role in POLICY[operation].roles
        if allowed:
            assert response.status_code not in (401, 403) or operation in (
                "createToken",  # an invalid refresh token is a 401 for everyone
                # providers without organisations may not manage anything
                *(("createLocation",) if role == Role.provider else ()),
            ), (role, operation, response.status_code, response.text)
        else:
            expected = 401 if role == ANONYMOUS else 403
            assert response.status_code == expected, (role, operation, response.text)
            assert response.headers["content-type"] == "application/problem+json"


# --- no IDOR: a provider of A against B ---------------------------------------------------------


def test_a_provider_manages_only_its_own_organisation(
    client: TestClient, uithoorn: uuid.UUID, orgs: dict[str, dict[str, Any]], db: Session
) -> None:
    a_id = db.exec(
        select(Organization.id).where(Organization.slug == orgs["a"]["org"]["slug"])
    ).one()
    provider = token_for(Role.provider, municipality_ids=[uithoorn], organization_ids=[a_id])
    a, b = orgs["a"], orgs["b"]
    b_service, b_org, b_location = b["service"]["slug"], b["org"]["slug"], b["location"]["id"]

    denied = [
        client.patch(f"{API}/services/{b_service}", json={"name": "Van mij"}, headers=provider),
        client.delete(f"{API}/services/{b_service}", headers=provider),
        client.post(
            f"{API}/services",
            json={"municipality": "uithoorn", "organization": b_org, "name": "Nieuw"},
            headers=provider,
        ),
        client.patch(  # moving A's service to B
            f"{API}/services/{a['service']['slug']}", json={"organization": b_org}, headers=provider
        ),
        client.patch(f"{API}/organizations/{b_org}", json={"name": "Van mij"}, headers=provider),
        client.delete(f"{API}/organizations/{b_org}", headers=provider),
        client.post(
            f"{API}/organizations", json={"municipality": "uithoorn", "name": "X"}, headers=provider
        ),
        client.post(
            f"{API}/locations",
            json={"municipality": "uithoorn", "name": "X", "organization": b_org},
            headers=provider,
        ),
        client.get(f"{API}/locations/{b_location}", headers=provider),
        client.patch(f"{API}/locations/{b_location}", json={"name": "Van mij"}, headers=provider),
        client.delete(f"{API}/locations/{b_location}", headers=provider),
    ]
    for response in denied:
        assert response.status_code in (403, 404), (response.request.url, response.text)
    assert client.get(f"{API}/services/{b_service}").json()["name"] == "Koffie b"

    # listings change through submissions only (app/admission), even the provider's own
    own = [
        client.patch(
            f"{API}/services/{a['service']['slug']}", json={"name": "Koffie A+"}, headers=provider
        ),
        client.patch(
            f"{API}/organizations/{a['org']['slug']}", json={"description": "Wij"}, headers=provider
        ),
        client.post(
            f"{API}/services",
            json={"municipality": "uithoorn", "organization": a["org"]["slug"], "name": "Thee"},
            headers=provider,
        ),
    ]
    for response in own:
        assert response.status_code == 403, (response.request.url, response.text)
    allowed = [
        client.get(f"{API}/locations/{a['location']['id']}", headers=provider),
        client.patch(
            f"{API}/locations/{a['location']['id']}", json={"name": "Huis A+"}, headers=provider
        ),
    ]
    for response in allowed:
        assert response.status_code in (200, 201), (response.request.url, response.text)


def test_a_provider_cannot_admit_itself_or_write_internal_remarks(
    client: TestClient, uithoorn: uuid.UUID, orgs: dict[str, dict[str, Any]], db: Session
) -> None:
    a_id = db.exec(
        select(Organization.id).where(Organization.slug == orgs["a"]["org"]["slug"])
    ).one()
    provider = token_for(Role.provider, municipality_ids=[uithoorn], organization_ids=[a_id])
    slug = orgs["a"]["service"]["slug"]
    for body in ({"admission_status": "toegelaten"}, {"internal_remarks": "ok"}):
        response = client.patch(f"{API}/services/{slug}", json=body, headers=provider)
        assert response.status_code == 403, response.text
    org = orgs["a"]["org"]["slug"]
    response = client.patch(
        f"{API}/organizations/{org}", json={"admission_status": "toegelaten"}, headers=provider
    )
    assert response.status_code == 403


def test_an_editor_of_another_municipality_is_refused(
    client: TestClient, orgs: dict[str, dict[str, Any]]
) -> None:
    elsewhere = token_for(Role.editor, municipality_ids=[uuid.uuid4()])
    slug = orgs["a"]["service"]["slug"]
    assert (
        client.patch(f"{API}/services/{slug}", json={"name": "X"}, headers=elsewhere).status_code
        == 403
    )


# --- professional-only fields -------------------------------------------------------------------


def test_professional_fields_only_for_professionals_and_editors(
    client: TestClient, uithoorn: uuid.UUID, orgs: dict[str, dict[str, Any]]
) -> None:
    slug = orgs["a"]["service"]["slug"]
    assert client.get(f"{API}/services/{slug}").json()["professional"] is None
    provider = token_for(Role.provider, municipality_ids=[uithoorn])
    assert client.get(f"{API}/services/{slug}", headers=provider).json()["professional"] is None
    for role in (Role.professional, Role.editor):
        seen = client.get(
            f"{API}/services/{slug}", headers=token_for(role, municipality_ids=[uithoorn])
        ).json()["professional"]
        assert seen == {
            "professional_phone": "0297 513 111",
            "referral_procedure": "Bel eerst.",
            "internal_remarks": "Alleen intern.",
        }


# --- logging in ---------------------------------------------------------------------------------

PASSWORD = "lang-genoeg-wachtwoord-42"


def login(client: TestClient, email: str, password: str) -> Any:
    return client.post(
        f"{API}/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )


def test_login_refresh_rotate_and_revoke(
    client: TestClient, db: Session, uithoorn: uuid.UUID
) -> None:
    account(db, "Redactie@Uithoorn.nl", "Redactie", Role.editor, uithoorn, PASSWORD)
    response = login(client, "redactie@uithoorn.nl", PASSWORD)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert 0 < tokens["expires_in"] <= 900
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["role"] == "editor"
    assert me.json()["municipalities"] == ["uithoorn"]

    refreshed = client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    # the old refresh token again: stolen → the whole family is revoked
    reused = client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert reused.status_code == 401
    again = client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
    )
    assert again.status_code == 401
    assert all(t.revoked_at is not None for t in db.exec(select(RefreshToken)))

    fresh = login(client, "redactie@uithoorn.nl", PASSWORD).json()
    assert (
        client.post(f"{API}/auth/revoke", json={"token": fresh["refresh_token"]}).status_code == 204
    )
    after = client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]},
    )
    assert after.status_code == 401


def test_wrong_password_locks_the_account_after_five_tries(
    client: TestClient, db: Session, uithoorn: uuid.UUID
) -> None:
    account(db, "aanbieder@example.nl", "Aanbieder", Role.provider, uithoorn, PASSWORD)
    unknown = login(client, "niemand@example.nl", PASSWORD)
    wrong = login(client, "aanbieder@example.nl", "fout-fout-fout-fout")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]  # no account enumeration
    for _ in range(4):
        login(client, "aanbieder@example.nl", "fout-fout-fout-fout")
    locked = login(client, "aanbieder@example.nl", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert locked.headers["content-type"] == "application/problem+json"


def test_a_weak_password_is_refused(db: Session, uithoorn: uuid.UUID) -> None:
    from app.core.errors import Unprocessable

    with pytest.raises(Unprocessable):
        create_user(
            session=db,
            email="zwak@example.nl",
            display_name="Zwak",
            role=Role.professional,
            municipality_ids=[uithoorn],
            password="kort",
        )


# --- API keys -----------------------------------------------------------------------------------


def test_api_key_shown_once_scoped_and_revocable(
    client: TestClient, admin: Headers, orgs: dict[str, dict[str, Any]], db: Session
) -> None:
    created = client.post(
        f"{API}/api-keys",
        json={
            "name": "Koppeling CMS",
            "role": "editor",
            "municipality": "uithoorn",
            "scopes": ["updateService"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("sk_")
    assert key not in client.get(f"{API}/api-keys", headers=admin).text  # shown once
    stored = db.exec(select(ApiKey)).one()
    assert key not in (stored.key_hash, stored.prefix)  # hashed at rest

    integration = {"Authorization": f"Bearer {key}", "If-Match": "*"}
    slug = orgs["a"]["service"]["slug"]
    ok = client.patch(f"{API}/services/{slug}", json={"name": "Via koppeling"}, headers=integration)
    assert ok.status_code == 200, ok.text
    out_of_scope = client.delete(f"{API}/services/{slug}", headers=integration)
    assert out_of_scope.status_code == 403

    assert client.delete(f"{API}/api-keys/{stored.id}", headers=admin).status_code == 204
    revoked = client.patch(f"{API}/services/{slug}", json={"name": "Nog eens"}, headers=integration)
    assert revoked.status_code == 401


def test_users_are_listed_and_blocked_by_an_admin(
    client: TestClient, admin: Headers, db: Session, uithoorn: uuid.UUID
) -> None:
    user = account(db, "prof@example.nl", "Huisarts", Role.professional, uithoorn, PASSWORD)
    listed = client.get(f"{API}/users", headers=admin).json()
    assert [u["email"] for u in listed["items"]] == ["prof@example.nl"]
    tokens = login(client, "prof@example.nl", PASSWORD).json()
    blocked = client.patch(f"{API}/users/{user.id}", json={"is_active": False}, headers=admin)
    assert blocked.status_code == 200
    assert login(client, "prof@example.nl", PASSWORD).status_code == 401
    refresh = client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 401


def test_cli_creates_the_first_admin(run_cli: Any) -> None:
    from app.municipalities.service import shipped_municipality_path

    assert run_cli("municipality", "load", shipped_municipality_path("uithoorn")).exit_code == 0
    weak = run_cli("users", "create", "beheer@example.nl", "--name", "Beheer", input="kort\nkort\n")
    assert weak.exit_code == 2
    made = run_cli(
        "users",
        "create",
        "beheer@example.nl",
        "--name",
        "Beheer",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    assert "beheer@example.nl (admin)" in made.output
    again = run_cli(
        "users", "create", "Beheer@example.nl", "--name", "X", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert again.exit_code == 2  # the address is taken
