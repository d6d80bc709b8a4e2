"""Aanmelden → toetsen → aanvullen → besluit, end to end through the API (both backends)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.admission.submission_models import AdmissionRecord
from app.audit.models import AuditEvent
from app.municipalities.models import Municipality
from tests.test_authorization import token_for

API = "/api/v1"


@pytest.fixture
def uithoorn(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


def provider_of(db: Session, uithoorn: uuid.UUID, *organizations: uuid.UUID) -> dict[str, str]:
    """A real provider account (a new organisation makes it a member) and its token."""
    from app.accounts.service import create_user

    user = create_user(
        session=db,
        email=f"aanbieder-{uuid.uuid4().hex[:8]}@example.nl",
        display_name="Aanbieder",
        role=Role.provider,
        municipality_ids=[uithoorn],
        organization_ids=organizations,
    )
    db.commit()
    return token_for(
        Role.provider,
        municipality_ids=[uithoorn],
        organization_ids=list(organizations),
        user_id=user.id,
    )


def admitted_organization(
    client: TestClient, admin: dict[str, str], db: Session, name: str
) -> tuple[dict[str, Any], uuid.UUID]:
    """An admitted organisation made by the redactie (its JSON and its id)."""
    from app.organizations.models import Organization

    org = client.post(
        f"{API}/organizations",
        json={"municipality": "uithoorn", "name": name, "admission_status": "toegelaten"},
        headers=admin,
    ).json()
    return org, db.exec(select(Organization.id).where(Organization.slug == org["slug"])).one()


def submission_body(**organization: Any) -> dict[str, Any]:
    return {
        "municipality": "uithoorn",
        "organization": {
            "municipality": "uithoorn",
            "name": "Stichting Buurtmaatjes",
            "kind": "stichting",
            "identifiers": [{"type": "kvk", "identifier": "41216593"}],
            **organization,
        },
        "locations": [
            {
                "name": "Buurthuis",
                "address": {
                    "address_1": "Laan van Meerwijk 16",
                    "postal_code": "1423 AB",
                    "city": "Uithoorn",
                },
                "place": "uithoorn",
            }
        ],
        "services": [
            {
                "name": "Maatje voor mantelzorgers",
                "description": "Een vrijwilliger helpt u een paar uur per week.",
                "themes": ["mantelzorg"],
                "target_groups": ["mantelzorgers"],
            }
        ],
    }


def result(report: dict[str, Any], criterion: str) -> dict[str, Any]:
    return next(r for r in report["results"] if r["id"] == criterion)


def searchable(client: TestClient, name: str) -> bool:
    items = client.get(f"{API}/search", params={"q": name}).json()["items"]
    return any(i["name"] == name for i in items)


def test_submit_without_contact_then_complete_and_admit(
    client: TestClient, db: Session, uithoorn: uuid.UUID
) -> None:
    provider = provider_of(db, uithoorn)
    editor = token_for(Role.editor, municipality_ids=[uithoorn])

    created = client.post(f"{API}/submissions", json=submission_body(), headers=provider)
    assert created.status_code == 201, created.text
    submission = created.json()
    assert submission["status"] == "aanvullen"
    t3 = result(submission["report"], "T3")
    assert t3["status"] in ("failed", "missing")
    assert t3["next_step"]  # the provider is told what to do, in Dutch
    assert not searchable(client, "Maatje voor mantelzorgers")  # not public yet

    again = client.post(f"{API}/submissions", json=submission_body(), headers=provider)
    assert again.status_code == 409  # no duplicates

    completed = client.patch(
        f"{API}/submissions/{submission['id']}",
        json={"organization_changes": {"email": "info@buurtmaatjes.nl"}},
        headers=provider,
    )
    assert completed.status_code == 200, completed.text
    assert result(completed.json()["report"], "T3")["status"] == "passed"
    assert completed.json()["status"] == "ingediend"

    queue = client.get(f"{API}/reviews", headers=editor).json()["items"]
    assert [q["id"] for q in queue] == [submission["id"]]
    open_criteria = queue[0]["open_criteria"]

    too_early = client.post(
        f"{API}/submissions/{submission['id']}/decision",
        json={"decision": "toegelaten"},
        headers=editor,
    )
    assert too_early.status_code == 422 if open_criteria else too_early.status_code == 200

    admitted = client.post(
        f"{API}/submissions/{submission['id']}/decision",
        json={"decision": "toegelaten", "confirmed": open_criteria},
        headers=editor,
    )
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["status"] == "toegelaten"
    assert searchable(client, "Maatje voor mantelzorgers")

    records = db.exec(select(AdmissionRecord).order_by(col(AdmissionRecord.created_at))).all()
    assert [r.kind for r in records][-1] == "decision"
    assert {r.kind for r in records} == {"evaluation", "decision"}
    assert (
        db.exec(select(AuditEvent).where(AuditEvent.resource_type == "submission")).first()
        is not None
    )


def test_rejecting_keeps_it_out(client: TestClient, db: Session, uithoorn: uuid.UUID) -> None:
    provider = provider_of(db, uithoorn)
    editor = token_for(Role.editor, municipality_ids=[uithoorn])
    body = submission_body(email="info@verkoop.nl")
    body["services"][0]["name"] = "Verkoop van zonnepanelen"
    submission = client.post(f"{API}/submissions", json=body, headers=provider).json()
    no_reason = client.post(
        f"{API}/submissions/{submission['id']}/decision",
        json={"decision": "afgewezen"},
        headers=editor,
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"{API}/submissions/{submission['id']}/decision",
        json={"decision": "afgewezen", "reason": "Commercieel aanbod (T8)."},
        headers=editor,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "afgewezen"
    assert not searchable(client, "Verkoop van zonnepanelen")


def test_a_change_to_an_admitted_listing_waits_for_admission(
    client: TestClient, admin: dict[str, str], uithoorn: uuid.UUID, db: Session
) -> None:
    org, org_id = admitted_organization(client, admin, db, "Stichting Oud")
    client.post(
        f"{API}/services",
        json={
            "municipality": "uithoorn",
            "organization": org["slug"],
            "name": "Koffieochtend",
            "admission_status": "toegelaten",
            "themes": ["eenzaamheid-en-ontmoeting"],
        },
        headers=admin,
    )
    provider = provider_of(db, uithoorn, org_id)
    body = {
        "municipality": "uithoorn",
        "listing": org["slug"],
        "service_changes": {"koffieochtend": {"name": "Koffieochtend op dinsdag"}},
    }
    created = client.post(f"{API}/submissions", json=body, headers=provider)
    assert created.status_code == 201, created.text
    assert created.json()["changes"] == {
        "services.koffieochtend.name": ["Koffieochtend", "Koffieochtend op dinsdag"]
    }
    assert client.post(f"{API}/submissions", json=body, headers=provider).status_code == 200
    # the admitted version stays public until the change is admitted
    assert client.get(f"{API}/services/koffieochtend").json()["name"] == "Koffieochtend"

    other = token_for(Role.provider, municipality_ids=[uithoorn], organization_ids=[uuid.uuid4()])
    assert client.get(f"{API}/submissions/{created.json()['id']}", headers=other).status_code == 404
    assert client.post(f"{API}/submissions", json=body, headers=other).status_code == 403


def test_an_import_goes_through_admission(
    client: TestClient, db: Session, uithoorn: uuid.UUID
) -> None:
    from importers.uithoorn import UithoornImporter
    from tests.conftest import DEMO_FILE

    records = UithoornImporter.read(DEMO_FILE)
    report = UithoornImporter(session=db).run(records)
    db.commit()
    reviewed = report.counts[("toelating", "beoordelen")]
    admitted = report.counts[("toelating", "toegelaten")]
    assert reviewed > 0  # the demo data has gaps (no street addresses, old sources)
    assert reviewed + admitted == 44
    assert any(kind.startswith("toelating T") for kind, _ in report.counts)  # per criterion
    public = client.get(f"{API}/services", params={"per_page": 100}).json()["total"]
    assert public < 96  # records missing data are not silently public
    editor = token_for(Role.editor, municipality_ids=[uithoorn])
    assert (
        len(client.get(f"{API}/reviews", headers=editor).json()["items"])
        + len(
            client.get(f"{API}/reviews", params={"status": "aanvullen"}, headers=editor).json()[
                "items"
            ]
        )
        == reviewed
    )

    trusted = UithoornImporter(session=db, admit=True)
    trusted._touched = {}
    again = trusted.run(records)
    db.commit()
    assert again.counts[("toelating", "beoordelen")] == 0


def test_admit_overrides_with_a_reason_and_keeps_the_gaps_visible(
    client: TestClient, db: Session
) -> None:
    from importers.uithoorn import UithoornImporter
    from tests.conftest import DEMO_FILE

    report = UithoornImporter(session=db, admit=True).run(UithoornImporter.read(DEMO_FILE))
    db.commit()
    assert report.counts[("toelating", "beoordelen")] == 0
    assert client.get(f"{API}/services", params={"per_page": 100}).json()["total"] == 96
    overridden = [
        r
        for r in db.exec(select(AdmissionRecord).where(AdmissionRecord.kind == "decision"))
        if "trusted import" in r.overrides.values()
    ]
    assert overridden  # each gap is recorded with its reason


def test_cli_import_records_the_importing_editor(run_cli: Any, tmp_path: Any) -> None:
    from sqlalchemy import create_engine, text

    from app.municipalities.service import shipped_municipality_path
    from tests.conftest import DEMO_FILE

    assert run_cli("municipality", "load", shipped_municipality_path("uithoorn")).exit_code == 0
    password = "lang-genoeg-wachtwoord-42"
    made = run_cli(
        "users",
        "create",
        "redactie@example.nl",
        "--name",
        "Redactie",
        "--role",
        "editor",
        input=f"{password}\n{password}\n",
    )
    assert made.exit_code == 0, made.output
    unknown = run_cli("import", "uithoorn", DEMO_FILE, "--reviewer", "niemand@example.nl")
    assert unknown.exit_code == 2
    imported = run_cli("import", "uithoorn", DEMO_FILE, "--reviewer", "redactie@example.nl")
    assert imported.exit_code == 0, imported.output
    assert "toelating" in imported.output  # the admission summary
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        editor = conn.execute(
            text("SELECT id FROM user_account WHERE email = 'redactie@example.nl'")
        ).scalar_one()
        actors = {
            row[0] for row in conn.execute(text("SELECT DISTINCT actor_id FROM admission_record"))
        }
    engine.dispose()
    assert actors == {editor}


def test_a_new_address_of_an_admitted_listing_goes_through_a_submission(
    client: TestClient, admin: dict[str, str], uithoorn: uuid.UUID, db: Session
) -> None:
    org, org_id = admitted_organization(client, admin, db, "Stichting Adres")
    location = client.post(
        f"{API}/locations",
        json={
            "municipality": "uithoorn",
            "name": "Oud adres",
            "organization": org["slug"],
            "address": {"address_1": "Dorpsstraat 1", "postal_code": "1421 AA", "city": "Uithoorn"},
        },
        headers=admin,
    ).json()
    client.post(
        f"{API}/services",
        json={
            "municipality": "uithoorn",
            "organization": org["slug"],
            "name": "Spreekuur",
            "admission_status": "toegelaten",
            "locations": [location["id"]],
        },
        headers=admin,
    )
    provider = provider_of(db, uithoorn, org_id)
    new_address = {"address_1": "Kerkstraat 2", "postal_code": "1421 AB", "city": "Uithoorn"}

    direct = client.patch(
        f"{API}/locations/{location['id']}", json={"address": new_address}, headers=provider
    )
    assert direct.status_code == 403  # the admitted address stays until a change is admitted

    submitted = client.post(
        f"{API}/submissions",
        json={
            "municipality": "uithoorn",
            "listing": org["slug"],
            "location_changes": {location["id"]: {"address": new_address}},
        },
        headers=provider,
    )
    assert submitted.status_code == 201, submitted.text
    change = submitted.json()["changes"][f"locations.{location['id']}.address"]
    assert change[0]["address_1"] == "Dorpsstraat 1"
    assert change[1]["address_1"] == "Kerkstraat 2"
    assert (
        client.get(f"{API}/locations/{location['id']}", headers=admin).json()["address"][
            "address_1"
        ]
        == "Dorpsstraat 1"
    )

    editor = token_for(Role.editor, municipality_ids=[uithoorn])
    open_criteria = next(
        q["open_criteria"]
        for q in [
            *client.get(f"{API}/reviews", headers=editor).json()["items"],
            *client.get(f"{API}/reviews", params={"status": "aanvullen"}, headers=editor).json()[
                "items"
            ],
        ]
        if q["id"] == submitted.json()["id"]
    )
    decided = client.post(
        f"{API}/submissions/{submitted.json()['id']}/decision",
        json={
            "decision": "toegelaten",
            "overrides": dict.fromkeys(open_criteria, "Gecontroleerd door de redactie."),
        },
        headers=editor,
    )
    assert decided.status_code == 200, decided.text
    assert (
        client.get(f"{API}/locations/{location['id']}", headers=admin).json()["address"][
            "address_1"
        ]
        == "Kerkstraat 2"
    )
