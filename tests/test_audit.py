"""The audit trail: every write recorded in its own transaction, append-only, readable by staff."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select

from app.accounts.models import ApiKey, Invitation, PasswordReset, Role, UserAccount
from app.accounts.principal import Principal, PrincipalKind, bind_principal
from app.audit.models import AuditEvent
from app.core.models import utcnow
from app.municipalities.models import Municipality
from app.organizations.models import Organization
from tests.test_api_read import assert_problem
from tests.test_api_write import add_amstelveen, make_org

API = "/api/v1"
EVENTS = f"{API}/audit-events"


def events(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(EVENTS, params={"per_page": 100, **params}, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def of(client: TestClient, admin: dict[str, str], resource_id: str) -> list[dict[str, Any]]:
    return events(client, admin, resource_id=resource_id)


def municipality_id(db: Session, slug: str) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == slug)).one()


def event_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(AuditEvent)).one()


# --- what is recorded ---------------------------------------------------------------------


def test_create_update_delete_are_recorded_with_a_field_level_diff(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    org = make_org(client, admin, description="Koffie en een praatje.")
    uithoorn = str(municipality_id(db, "uithoorn"))

    (created,) = of(client, admin, org["id"])
    assert created["action"] == "create"
    assert created["resource_type"] == "organization"
    assert created["actor_type"] == "admin_key"
    assert created["actor_id"] is None  # the admin key has no id; never an IP address
    assert created["municipality_id"] == uithoorn
    changes = created["changes"]
    assert all(old is None for old, _new in changes.values())  # a create has no old values
    assert changes["name"] == [None, "Stichting Samen Sterk"]
    assert changes["description"] == [None, "Koffie en een praatje."]
    assert changes["id"] == [None, org["id"]]
    assert changes["municipality_id"] == [None, uithoorn]
    assert "website" not in changes  # null fields are left out
    assert "testclient" not in str(created)  # the TestClient's client address

    response = client.patch(
        f"{API}/organizations/{org['slug']}",
        json={"name": "Stichting Samen Sterker", "website": "https://samensterk.nl"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    updated, _ = of(client, admin, org["id"])  # newest first
    assert updated["action"] == "update"
    assert updated["actor_type"] == "admin_key"
    assert set(updated["changes"]) - {"updated_at", "version"} == {"name", "website"}
    assert updated["changes"]["name"] == ["Stichting Samen Sterk", "Stichting Samen Sterker"]
    assert updated["changes"]["website"] == [None, "https://samensterk.nl/"]

    response = client.delete(f"{API}/organizations/{org['slug']}", headers=admin)
    assert response.status_code == 204, response.text
    deleted, updated_again, created_again = of(client, admin, org["id"])
    assert (deleted["action"], updated_again["action"], created_again["action"]) == (
        "delete",
        "update",
        "create",
    )
    assert deleted["municipality_id"] == uithoorn
    assert deleted["changes"]["name"] == ["Stichting Samen Sterker", None]
    assert deleted["changes"]["website"] == ["https://samensterk.nl/", None]
    assert all(new is None for _old, new in deleted["changes"].values())


def test_no_event_for_an_update_without_real_changes(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    org = make_org(client, admin)
    before = event_count(db)
    response = client.patch(
        f"{API}/organizations/{org['slug']}",
        json={"name": org["name"], "admission_status": "toegelaten"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert event_count(db) == before  # updated_at and version alone are bookkeeping
    assert [e["action"] for e in of(client, admin, org["id"])] == ["create"]


def test_replaced_children_are_recorded_too(client: TestClient, admin: dict[str, str]) -> None:
    """Phones are replaced with a bulk DELETE (not through the flush): still recorded."""
    org = make_org(client, admin, phones=[{"number": "0297 513 111"}])
    response = client.patch(
        f"{API}/organizations/{org['slug']}",
        json={"phones": [{"number": "0297 513 222"}]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    phones = events(client, admin, resource_type="phone")
    assert [e["action"] for e in phones] == ["create", "delete", "create"]
    new, gone, first = phones
    assert gone["resource_id"] == first["resource_id"] != new["resource_id"]
    assert gone["changes"]["organization_id"] == [org["id"], None]
    assert gone["changes"]["number"][1] is None
    assert gone["changes"]["number"][0] == first["changes"]["number"][1]
    assert all(e["actor_type"] == "admin_key" for e in phones)


def test_old_values_of_expired_attributes_come_from_the_database(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    org_id = uuid.UUID(make_org(client, admin)["id"])
    org = db.get_one(Organization, org_id)
    db.expire(org)
    org.name = "Nieuwe naam"  # set without loading: SQLAlchemy has no old value in memory
    db.commit()
    latest = of(client, admin, str(org_id))[0]
    assert latest["changes"]["name"] == ["Stichting Samen Sterk", "Nieuwe naam"]

    db.exec(update(Organization).where(col(Organization.id) == org_id).values(alternate_name="SSS"))
    db.commit()
    latest = of(client, admin, str(org_id))[0]
    assert latest["action"] == "update"
    assert latest["changes"] == {"alternate_name": [None, "SSS"]}

    db.expire(org)
    db.delete(org)
    db.commit()
    latest = of(client, admin, str(org_id))[0]
    assert latest["action"] == "delete"
    assert latest["changes"]["name"] == ["Nieuwe naam", None]
    assert latest["changes"]["alternate_name"] == ["SSS", None]


def test_the_actor_is_the_principal_of_the_session(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    org_id = uuid.UUID(make_org(client, admin)["id"])
    editor_id = uuid.uuid4()
    bind_principal(db, Principal(kind=PrincipalKind.user, id=editor_id, role=Role.editor))
    db.get_one(Organization, org_id).description = "Door de redactie aangevuld."
    db.commit()

    (by_editor,) = events(client, admin, actor_id=str(editor_id))
    assert by_editor["actor_type"] == "user"
    assert by_editor["resource_id"] == str(org_id)
    assert by_editor["changes"]["description"] == [None, "Door de redactie aangevuld."]


def test_secret_hashes_never_enter_the_trail(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    uithoorn = municipality_id(db, "uithoorn")
    secrets = [f"secret-hash-{n}-{uuid.uuid4().hex}" for n in range(5)]
    user = UserAccount(email="redactie@uithoorn.nl", display_name="Redactie", role="editor")
    db.add(user)
    db.flush()
    db.add_all(
        [
            ApiKey(
                name="Koppeling",
                prefix="sk_abcd",
                key_hash=secrets[0],
                role="editor",
                municipality_id=uithoorn,
            ),
            Invitation(
                email="nieuw@uithoorn.nl",
                display_name="Nieuw",
                role="editor",
                municipality_id=uithoorn,
                token_hash=secrets[1],
                expires_at=utcnow() + timedelta(days=7),
            ),
            PasswordReset(
                user_id=user.id, token_hash=secrets[2], expires_at=utcnow() + timedelta(hours=1)
            ),
        ]
    )
    db.commit()
    user.password_hash = secrets[3]
    db.commit()
    user.password_hash = secrets[4]
    db.commit()

    trail = client.get(EVENTS, params={"per_page": 100}, headers=admin).text
    stored = " ".join(str(e.changes) for e in db.exec(select(AuditEvent)))
    for secret in secrets:
        assert secret not in trail
        assert secret not in stored

    api_key = events(client, admin, resource_type="api_key")[0]
    assert api_key["changes"]["key_hash"] == [None, "***"]
    assert api_key["municipality_id"] == str(uithoorn)
    first, second = (
        e["changes"]["password_hash"]
        for e in reversed(events(client, admin, resource_id=str(user.id)))
        if "password_hash" in e["changes"]
    )
    assert first == [None, "***"]  # set for the first time
    assert second == ["***", "***"]  # changed: that it changed, never what to
    for table in ("invitation", "password_reset"):
        (created,) = events(client, admin, resource_type=table)
        assert created["changes"]["token_hash"] == [None, "***"]


def test_queues_and_caches_are_not_audited(client: TestClient, admin: dict[str, str]) -> None:
    org = make_org(client, admin)
    client.patch(f"{API}/organizations/{org['slug']}", json={"name": "Anders"}, headers=admin)
    for table in ("search_outbox", "geocode_job", "audit_event"):
        assert events(client, admin, resource_type=table) == []


# --- append-only ----------------------------------------------------------------------------


def _raw(db: Session, sql: str) -> None:
    with db.begin_nested():  # a SAVEPOINT: the test's transaction survives the error
        db.connection().execute(text(sql))


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET action = 'delete'", "DELETE FROM audit_event"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_the_trail(
    client: TestClient, admin: dict[str, str], db: Session, sql: str
) -> None:
    make_org(client, admin)
    before = event_count(db)
    assert before > 0
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(db, sql)
    assert event_count(db) == before
    assert db.exec(select(AuditEvent.action).where(AuditEvent.action == "delete")).all() == []


def test_the_api_has_no_write_operations_on_the_trail(
    client: TestClient, admin: dict[str, str]
) -> None:
    for method in ("post", "put", "patch", "delete"):
        assert client.request(method, EVENTS, json={}, headers=admin).status_code == 405


# --- reading --------------------------------------------------------------------------------


def test_filters_and_pages(client: TestClient, admin: dict[str, str], db: Session) -> None:
    add_amstelveen(db)
    here = make_org(client, admin)
    there = make_org(client, admin, municipality="amstelveen", name="Amstelveen Helpt")
    client.patch(f"{API}/organizations/{here['slug']}", json={"name": "Hier"}, headers=admin)

    organizations = events(client, admin, resource_type="organization")
    assert [(e["resource_id"], e["action"]) for e in organizations] == [
        (here["id"], "update"),
        (there["id"], "create"),
        (here["id"], "create"),
    ]
    assert [e["action"] for e in of(client, admin, here["id"])] == ["update", "create"]

    in_amstelveen = events(client, admin, municipality="amstelveen")
    assert {e["resource_id"] for e in in_amstelveen if e["resource_type"] == "organization"} == {
        there["id"]
    }
    amstelveen = str(municipality_id(db, "amstelveen"))
    assert all(e["municipality_id"] == amstelveen for e in in_amstelveen)
    in_uithoorn = events(client, admin, municipality="uithoorn", resource_type="organization")
    assert {e["resource_id"] for e in in_uithoorn} == {here["id"]}
    assert events(client, admin, municipality="nergens") == []
    assert events(client, admin, actor_id=str(uuid.uuid4())) == []

    response = client.get(
        EVENTS, params={"resource_type": "organization", "per_page": 1, "page": 2}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 1)
    (item,) = body["items"]
    assert item["resource_id"] == there["id"]
    assert set(item) == {
        "id",
        "occurred_at",
        "actor_type",
        "actor_id",
        "action",
        "resource_type",
        "resource_id",
        "municipality_id",
        "changes",
    }


@pytest.mark.parametrize(
    "params",
    [{"actor_id": "geen-uuid"}, {"municipality": "Niet Goed!"}, {"per_page": 1000}],
    ids=["actor_id", "municipality", "per_page"],
)
def test_bad_filters_are_400(
    client: TestClient, admin: dict[str, str], params: dict[str, Any]
) -> None:
    assert_problem(client.get(EVENTS, params=params, headers=admin), 400)


def test_reading_the_trail_needs_a_login(client: TestClient) -> None:
    body = assert_problem(client.get(EVENTS), 401)
    assert body["detail"]
    assert_problem(client.get(EVENTS, headers={"Authorization": "Bearer fout"}), 401)
