"""The admission API: criteria, versions (who may change them), the flowchart and the report
(SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from app.admission.flowchart import DOC, doc_block, shipped_flowchart
from app.municipalities.models import Municipality
from tests.admission.conftest import API, MakeOrg, MakeService, token_for

NEW_CRITERION: dict[str, Any] = {
    "id": "T11",
    "slug": "huisregels",
    "name": "Huisregels",
    "text": "U heeft huisregels. Iedereen kan ze lezen.",
    "applies_to": {"themes": ["eenzaamheid-en-ontmoeting"]},
    "check": {"type": "attestation", "link_required": True},
    "severity": "blocking",
    "on_fail": "aanvullen",
    "explanation": "Zo weet iedereen wat wel en niet kan.",
    "next_step": "Bevestig dat u huisregels heeft. Zet de link erbij.",
}


@pytest.fixture
def editor(uithoorn: Municipality) -> dict[str, str]:
    return token_for(Role.editor, municipality_ids=[uithoorn.id])


def shipped(client: TestClient) -> list[dict[str, Any]]:
    response = client.get(f"{API}/admission/criteria", params={"municipality": "uithoorn"})
    assert response.status_code == 200, response.text
    criteria: list[dict[str, Any]] = response.json()["criteria"]
    return criteria


# --- criteria and flowchart: public ---------------------------------------------------------------


def test_anyone_reads_the_criteria(client: TestClient) -> None:
    response = client.get(f"{API}/admission/criteria", params={"municipality": "uithoorn"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["municipality"] == {"slug": "uithoorn", "name": "Uithoorn"}
    assert body["version"] == 1
    assert [c["id"] for c in body["criteria"]] == [f"T{i}" for i in range(1, 11)]
    t1 = body["criteria"][0]
    assert t1["check"] == {
        "type": "automatic",
        "name": "werkgebied",
        "params": {},
        "link_required": False,
        "reviewer_confirms": False,
    }
    assert t1["on_fail"] == "afgewezen"


def test_unknown_or_missing_municipality(client: TestClient) -> None:
    assert (
        client.get(f"{API}/admission/criteria", params={"municipality": "nergens"}).status_code
        == 404
    )
    response = client.get(f"{API}/admission/flowchart")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_the_flowchart_in_the_docs_is_the_generated_one(client: TestClient) -> None:
    response = client.get(f"{API}/admission/flowchart", params={"municipality": "uithoorn"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["municipality"] == "uithoorn"
    documented = doc_block(DOC.read_text(encoding="utf-8"))
    assert documented == body["mermaid"] == shipped_flowchart(), (
        "docs/admission.md is out of date: python -m app.admission.flowchart"
    )


def test_the_flowchart_follows_the_configuration() -> None:
    mermaid = shipped_flowchart()
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart TD"
    nodes = [line.strip() for line in lines if line.startswith("    c_T") and "-->" not in line]
    order = [node.split("{")[0].split("[")[0] for node in nodes]
    assert order == ["c_T1", "c_T2", "c_T3", "c_T4", "c_T5", "c_T6", "c_T7", "c_T9", "c_T10"]
    assert "    c_T1 -->|nee| afgewezen" in lines
    assert "    c_T1 -->|ontbreekt| aanvullen" in lines
    assert "    c_T3 -->|nee| aanvullen" in lines
    # T5 and T6 share one condition; T7 is shown only for vulnerable groups
    assert '    geldt2{"geldt voor soort welzijnsorganisatie, zorgaanbieder of bedrijf?"}' in lines
    assert "    geldt2 -->|ja| c_T5" in lines
    assert "    c_T5 -->|ja| c_T6" in lines
    assert any("doelgroep kinderen" in line and "mensen met dementie" in line for line in lines)
    assert "    geldt3 -->|nee| c_T9" in lines
    assert "    c_T9 --> c_T10" in lines  # a warning never leads to an outcome
    assert any(line.startswith("    redactie[[") and "T8 neutraal" in line for line in lines)
    assert "    redactie -->|akkoord| toegelaten" in lines


def test_a_criterion_added_through_the_api_shows_in_the_flowchart(
    client: TestClient, editor: dict[str, str]
) -> None:
    criteria = [*shipped(client), NEW_CRITERION]
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": criteria, "note": "huisregels erbij"},
        headers=editor,
    )
    assert response.status_code == 201, response.text
    mermaid = client.get(f"{API}/admission/flowchart", params={"municipality": "uithoorn"}).json()
    assert mermaid["version"] == 2
    text = mermaid["mermaid"]
    assert 'c_T11{"T11 huisregels: verklaring + link?"}' in text
    assert "geldt voor thema eenzaamheid en ontmoeting?" in text
    assert "c_T11 -->|nee| aanvullen" in text
    assert "c_T11 -->|ja| redactie" in text


# --- versions: editors only -----------------------------------------------------------------------


def test_an_editor_adds_a_version_and_the_same_content_changes_nothing(
    client: TestClient, editor: dict[str, str]
) -> None:
    criteria = shipped(client)
    same = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": criteria},
        headers=editor,
    )
    assert same.status_code == 200, same.text
    assert same.json()["created"] is False
    assert same.json()["version"] == 1

    criteria[2]["text"] = "Inwoners kunnen u bellen, mailen of vinden."
    new = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": criteria, "note": "T3 eenvoudiger"},
        headers=editor,
    )
    assert new.status_code == 201, new.text
    body = new.json()
    assert (body["created"], body["version"], body["is_active"], body["source"]) == (
        True,
        2,
        True,
        "api",
    )
    assert body["note"] == "T3 eenvoudiger"
    assert shipped(client)[2]["text"] == "Inwoners kunnen u bellen, mailen of vinden."

    listed = client.get(
        f"{API}/admission/criteria-versions", params={"municipality": "uithoorn"}, headers=editor
    )
    assert listed.status_code == 200, listed.text
    assert [(v["version"], v["is_active"]) for v in listed.json()["items"]] == [
        (2, True),
        (1, False),
    ]
    assert listed.json()["items"][1]["source"] == "yaml:uithoorn.yaml"


def test_the_bootstrap_admin_may_add_a_version(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": [*shipped(client), NEW_CRITERION]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["created_by_id"] is None


@pytest.mark.parametrize("role", [Role.provider, Role.professional])
def test_providers_and_professionals_may_not_change_criteria(
    client: TestClient, uithoorn: Municipality, role: Role
) -> None:
    headers = token_for(role, municipality_ids=[uithoorn.id])
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": shipped(client)},
        headers=headers,
    )
    assert response.status_code == 403
    listed = client.get(
        f"{API}/admission/criteria-versions", params={"municipality": "uithoorn"}, headers=headers
    )
    assert listed.status_code == 403


def test_an_editor_of_another_municipality_may_not(client: TestClient) -> None:
    elsewhere = token_for(Role.editor, municipality_ids=[uuid.uuid4()])
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": shipped(client)},
        headers=elsewhere,
    )
    assert response.status_code == 403
    assert "eigen gemeente" in response.json()["detail"]


def test_anonymous_may_not_list_versions(client: TestClient) -> None:
    response = client.get(f"{API}/admission/criteria-versions", params={"municipality": "uithoorn"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kleur": "rood"}, "body.criteria.0.kleur", "Dit veld bestaat niet."),
        (
            {"check": {"type": "automatic", "name": "horoscoop"}},
            "body.criteria.0.check",
            "Onbekende check 'horoscoop'",
        ),
        ({"on_fail": None}, "body.criteria.0", "ook on_fail"),
    ],
)
def test_invalid_criteria_are_a_422_that_names_the_field(
    client: TestClient, editor: dict[str, str], change: dict[str, Any], field: str, message: str
) -> None:
    criteria = shipped(client)
    criteria[0].update(change)
    if change.get("on_fail", "") is None:
        criteria[0].pop("on_fail")
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": criteria},
        headers=editor,
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_unknown_target_groups_are_a_422(client: TestClient, editor: dict[str, str]) -> None:
    criteria = shipped(client)
    criteria[6]["applies_to"]["target_groups"] = ["marsmannetjes"]
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": criteria},
        headers=editor,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "criteria.6.applies_to.target_groups"


def test_duplicate_ids_are_a_422(client: TestClient, editor: dict[str, str]) -> None:
    criteria = shipped(client)
    response = client.post(
        f"{API}/admission/criteria-versions",
        json={"municipality": "uithoorn", "criteria": [*criteria, criteria[0]]},
        headers=editor,
    )
    assert response.status_code == 422
    assert "mag maar één keer voorkomen" in response.text


# --- the report -----------------------------------------------------------------------------------


def test_the_report_for_providers_editors_and_admins(
    client: TestClient,
    db: Session,
    uithoorn: Municipality,
    admin: dict[str, str],
    editor: dict[str, str],
    make_org: MakeOrg,
    make_service: MakeService,
) -> None:
    org = make_org(kind="stichting")
    service = make_service(org, description="Wij faciliteren participatie.")
    provider = token_for(Role.provider, municipality_ids=[uithoorn.id], organization_ids=[org.id])
    db.commit()  # a savepoint: visible to the app's sessions on the same connection
    for headers in (provider, editor, admin):
        response = client.get(f"{API}/organizations/{org.slug}/admission-report", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["organization"] == {"slug": org.slug, "name": org.name}
        assert body["services"] == [{"slug": service.slug, "name": service.name}]
        assert body["criteria_version"] == 1
        assert body["outcome"] == "ingediend"  # T8 waits for the editor
        results = {r["id"]: r for r in body["results"]}
        assert results["T8"]["status"] == "needs_review"
        assert results["T5"]["status"] == "not_applicable"
        assert results["T9"]["status"] == "warning"
        assert any("'meedoen'" in s for s in results["T9"]["suggestions"])
        assert set(results["T1"]) >= {"finding", "explanation", "next_step", "services"}


def test_the_report_is_not_for_other_organisations(
    client: TestClient,
    db: Session,
    uithoorn: Municipality,
    make_org: MakeOrg,
    make_service: MakeService,
) -> None:
    mine, theirs = make_org(), make_org()
    make_service(theirs)
    db.commit()
    provider = token_for(Role.provider, municipality_ids=[uithoorn.id], organization_ids=[mine.id])
    url = f"{API}/organizations/{theirs.slug}/admission-report"
    assert client.get(url, headers=provider).status_code == 403
    assert client.get(url).status_code == 401
    elsewhere = token_for(Role.editor, municipality_ids=[uuid.uuid4()])
    assert client.get(url, headers=elsewhere).status_code == 403
    missing = f"{API}/organizations/bestaat-niet/admission-report"
    assert client.get(missing, headers=provider).status_code == 404
