"""Public reads on the Uithoorn demo data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.organizations.models import Organization
from app.services.models import Service
from tests.conftest import DEMO_FILE

PROBLEM = "application/problem+json"
DEMO = {o["id"]: o for o in json.loads(DEMO_FILE.read_text(encoding="utf-8"))["organisaties"]}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def test_lists_all_96_demo_services(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/services", params={"per_page": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 96
    assert body["page"] == 1
    assert body["per_page"] == 100
    assert len(body["items"]) == 96
    assert len({item["slug"] for item in body["items"]}) == 96
    names = [item["name"].lower() for item in body["items"]]
    assert names == sorted(names)


def test_pagination_walks_every_service_once(demo_client: TestClient) -> None:
    seen: list[str] = []
    for page in range(1, 6):
        body = demo_client.get("/api/v1/services", params={"page": page, "per_page": 20}).json()
        assert body["total"] == 96
        seen += [item["slug"] for item in body["items"]]
    assert len(seen) == 96
    assert len(set(seen)) == 96
    beyond = demo_client.get("/api/v1/services", params={"page": 6, "per_page": 20}).json()
    assert beyond["items"] == []
    assert beyond["total"] == 96


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 101},
        {"per_page": 0},
        {"page": 0},
        {"page": -1},
        {"page": "een"},
        {"per_page": "1e9"},
        {"page": 10_001},
        {"municipality": "Niet Een Slug"},
    ],
)
def test_bad_paging_is_a_400_problem(demo_client: TestClient, params: dict[str, Any]) -> None:
    body = assert_problem(demo_client.get("/api/v1/services", params=params), 400)
    assert body["errors"], body


def test_service_detail_is_complete(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/services/uve-financieel-cafe")
    assert response.status_code == 200
    assert response.headers["API-Version"] == "1.0.0"
    body = response.json()
    assert body["name"] == "Financieel Café"
    assert body["organization"]["slug"] == "uithoorn-voor-elkaar"
    assert body["municipality"] == {"slug": "uithoorn", "name": "Uithoorn"}
    assert [t["slug"] for t in body["themes"]] == ["geld-en-schulden", "administratie-en-juridisch"]
    assert [t["slug"] for t in body["target_groups"]] == ["iedereen", "mensen-met-laag-inkomen"]
    assert body["access"]["slug"] == "vrij-toegankelijk"
    assert body["cost"]["slug"] == "onbekend"
    assert body["service_area"]["extent_type"] == "municipality"
    assert body["service_area"]["municipality"]["slug"] == "uithoorn"
    assert len(body["sources"]) == 4
    assert {"url": "https://www.meerbode.nl/57800-2/", "date": "2020-05"} in body["sources"]
    assert body["assured_date"] == "2024-11-01"  # newest dated source (2024-11)
    assert body["schedules"][0]["description"].startswith("Binnenlopen kan ook zonder afspraak")
    assert body["admission_status"] == "toegelaten"
    (location,) = body["locations"]
    assert location["address"]["city"] == "Uithoorn"
    assert location["place"]["slug"] == "uithoorn"
    assert body["updated_at"].endswith(("+00:00", "Z"))
    for key in (
        "minimum_age",
        "maximum_age",
        "eligibility_description",
        "fees_description",
        "languages",
    ):
        assert key in body


def test_detail_with_location_neighbourhood_and_ages(demo_client: TestClient) -> None:
    body = demo_client.get("/api/v1/services/samens-taalcafe").json()
    (location,) = body["locations"]
    assert location["name"] == "Bibliotheek Uithoorn"
    assert location["address"]["address_1"] == "Marktplein 65"
    # "Centrum" in the source is an alias of the wijk Oude Dorp (municipality configuration).
    assert location["neighbourhood"] == {"slug": "oude-dorp", "name": "Oude Dorp"}


def test_venue_shared_by_services_is_one_location(demo_client: TestClient) -> None:
    a = demo_client.get("/api/v1/services/uve-ouderenadviseur").json()["locations"]
    b = demo_client.get("/api/v1/services/alzheimer-cafe-uithoorn").json()["locations"]
    assert a[0]["name"] == "Wijkcentrum Bilderdijkhof"
    assert a[0]["id"] == b[0]["id"]


def test_unknown_service_is_a_404_problem(demo_client: TestClient) -> None:
    body = assert_problem(demo_client.get("/api/v1/services/bestaat-niet"), 404)
    assert "bestaat-niet" in body["detail"]
    assert body["instance"] == "/api/v1/services/bestaat-niet"


def test_invalid_slug_in_path_is_a_400_problem(demo_client: TestClient) -> None:
    assert_problem(demo_client.get("/api/v1/services/Hoofd%20Letters"), 400)


def test_unknown_route_is_a_problem(demo_client: TestClient) -> None:
    assert_problem(demo_client.get("/api/v1/bestaat-niet"), 404)
    assert_problem(demo_client.put("/api/v1/services"), 405)


def test_non_public_services_are_hidden(demo_client: TestClient, demo_db: Session) -> None:
    service = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    service.admission_status = "aanvullen"
    demo_db.add(service)
    demo_db.commit()
    assert demo_client.get("/api/v1/services/uve-financieel-cafe").status_code == 404
    assert demo_client.get("/api/v1/services").json()["total"] == 95
    org = demo_client.get("/api/v1/organizations/uithoorn-voor-elkaar").json()
    assert "uve-financieel-cafe" not in [s["slug"] for s in org["services"]]


def test_services_of_a_non_public_organization_are_hidden(
    demo_client: TestClient, demo_db: Session
) -> None:
    org = demo_db.exec(
        select(Organization).where(Organization.slug == "uithoorn-voor-elkaar")
    ).one()
    org.admission_status = "afgewezen"
    demo_db.add(org)
    demo_db.commit()
    assert demo_client.get("/api/v1/organizations/uithoorn-voor-elkaar").status_code == 404
    assert demo_client.get("/api/v1/services/uve-financieel-cafe").status_code == 404
    total = demo_client.get("/api/v1/services").json()["total"]
    assert total == 96 - len(DEMO["uithoorn-voor-elkaar"]["voorzieningen"])


def test_verificatie_nodig_is_still_public(demo_client: TestClient, demo_db: Session) -> None:
    service = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    service.admission_status = "verificatie-nodig"
    demo_db.add(service)
    demo_db.commit()
    body = demo_client.get("/api/v1/services/uve-financieel-cafe").json()
    assert body["admission_status"] == "verificatie-nodig"


def test_organizations(demo_client: TestClient) -> None:
    body = demo_client.get("/api/v1/organizations", params={"per_page": 100}).json()
    assert body["total"] == 44
    assert sum(o["service_count"] for o in body["items"]) == 96
    detail = demo_client.get("/api/v1/organizations/mantelzorg-en-meer").json()
    assert detail["phones"] == [
        {"number": "020 512 7250", "extension": None, "type": "voice", "description": None}
    ]
    assert detail["email"] == "info@mantelzorgenmeer.nl"
    assert len(detail["services"]) == detail["service_count"] == 3


def test_themes_with_counts(demo_client: TestClient) -> None:
    body = demo_client.get("/api/v1/themes").json()
    assert body["total"] == 20
    counts = {t["slug"]: t["service_count"] for t in body["items"]}
    assert body["items"][0]["slug"] == "geld-en-schulden"  # configured order
    assert counts["geld-en-schulden"] >= 5
    assert all(isinstance(c, int) for c in counts.values())
    # the counts add up to the number of (service, theme) links of public services
    services = demo_client.get("/api/v1/services", params={"per_page": 100}).json()["items"]
    assert sum(counts.values()) == sum(len(s["themes"]) for s in services)


def test_target_groups_access_routes_and_costs(demo_client: TestClient) -> None:
    groups = demo_client.get("/api/v1/target-groups").json()["items"]
    assert {g["slug"] for g in groups} >= {"iedereen", "ouderen", "mantelzorgers"}
    kinderen = next(g for g in groups if g["slug"] == "kinderen")
    assert (kinderen["minimum_age"], kinderen["maximum_age"]) == (0, 12)
    costs = {
        c["slug"]: c["service_count"] for c in demo_client.get("/api/v1/costs").json()["items"]
    }
    assert costs == {"gratis": 30, "eigen-bijdrage": 6, "onbekend": 60}
    access = {
        a["slug"]: a["service_count"]
        for a in demo_client.get("/api/v1/access-routes").json()["items"]
    }
    assert access == {
        "vrij-toegankelijk": 22,
        "aanmelden": 39,
        "verwijzing-nodig": 5,
        "indicatie-nodig": 0,
        "onbekend": 30,
    }


def test_counts_per_municipality(demo_client: TestClient) -> None:
    assert_problem(demo_client.get("/api/v1/themes", params={"municipality": "amsterdam"}), 404)
    same = demo_client.get("/api/v1/themes", params={"municipality": "uithoorn"}).json()
    assert same == demo_client.get("/api/v1/themes").json()


def test_neighbourhoods(demo_client: TestClient) -> None:
    body = demo_client.get("/api/v1/neighbourhoods", params={"municipality": "uithoorn"}).json()
    kernen = {a["slug"]: a for a in body["items"] if a["kind"] == "kern"}
    wijken = {a["slug"]: a for a in body["items"] if a["kind"] == "wijk"}
    assert set(kernen) == {"uithoorn", "de-kwakel"}
    assert set(wijken) == {
        "oude-dorp",
        "thamerdal",
        "zijdelwaard",
        "europarei",
        "meerwijk",
        "de-legmeer",
        "de-kwakel",
    }
    # every demo service covers the whole municipality, so every kern and wijk
    assert all(a["service_count"] == 96 for a in body["items"])
    assert kernen["de-kwakel"]["located_service_count"] == 5
    assert wijken["thamerdal"]["located_service_count"] == 8
    assert wijken["thamerdal"]["place"]["slug"] == "uithoorn"
    assert_problem(
        demo_client.get("/api/v1/neighbourhoods", params={"municipality": "nergens"}), 404
    )


def test_municipalities(demo_client: TestClient) -> None:
    body = demo_client.get("/api/v1/municipalities").json()
    assert body["items"] == [{"code": "GM0451", "slug": "uithoorn", "name": "Uithoorn"}]


def test_openapi_is_served_with_cors(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/openapi.json", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["servers"][0]["url"] == "/api/v1"


def test_public_reads_allow_any_origin(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/services", headers={"Origin": "https://gemeente.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["API-Version"] == "1.0.0"
