"""Behaviour of the HSDS API, after the Open Referral UK validator levels: pagination, filters
(each returns a record known to match and excludes one known not to), visibility, errors."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.organizations.models import Organization
from app.services.models import Service
from tests.hsds.conftest import ndjson


def ids(client: TestClient, path: str, **params: Any) -> set[str]:
    response = client.get(path, params={**params, "per_page": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_items"] <= 100
    return {item["id"] for item in body["contents"]}


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
    return body


@pytest.mark.parametrize("path", ["/hsds/services", "/hsds/service_at_locations"])
def test_pagination_first_middle_last_page(demo_client: TestClient, path: str) -> None:
    per_page = 7
    first = demo_client.get(path, params={"per_page": per_page}).json()
    total = first["total_items"]
    pages = math.ceil(total / per_page)
    assert total > 2 * per_page
    assert first["total_pages"] == pages
    seen: list[str] = []
    for number in (1, pages // 2, pages):
        body = demo_client.get(path, params={"per_page": per_page, "page": number}).json()
        expected_size = per_page if number < pages else total - per_page * (pages - 1)
        assert body["total_items"] == total
        assert body["total_pages"] == pages
        assert body["page_number"] == number
        assert body["size"] == len(body["contents"])
        assert body["size"] == expected_size
        assert body["first_page"] is (number == 1)
        assert body["last_page"] is (number == pages)
        assert body["empty"] is False
        seen += [item["id"] for item in body["contents"]]
    assert len(seen) == len(set(seen))  # no duplicates across pages
    beyond = demo_client.get(path, params={"per_page": per_page, "page": pages + 1}).json()
    assert beyond["contents"] == []
    assert beyond["empty"] is True
    assert beyond["last_page"] is True
    assert beyond["total_items"] == total


def test_an_empty_result(demo_client: TestClient) -> None:
    body = demo_client.get("/hsds/services", params={"search": "xyzzyquux"}).json()
    assert body == {
        "total_items": 0,
        "total_pages": 0,
        "page_number": 1,
        "size": 0,
        "first_page": True,
        "last_page": True,
        "empty": True,
        "contents": [],
    }


def test_filters_match_and_exclude(demo_client: TestClient, rich: dict[str, str]) -> None:
    koffie = rich["service_id"]
    services = ids(demo_client, "/hsds/services", search="koffieochtend senioren")
    assert koffie in services
    everything = demo_client.get("/hsds/services").json()["total_items"]
    financieel = next(
        s["id"]
        for s in demo_client.get("/hsds/services", params={"search": "financieel café"}).json()[
            "contents"
        ]
        if s["name"] == "Financieel Café"
    )
    assert financieel not in services

    # taxonomy term and taxonomy
    terms = demo_client.get("/hsds/taxonomy_terms", params={"per_page": 100}).json()["contents"]
    ouderen = next(t for t in terms if t["code"] == "ouderen")
    jeugd = next(t for t in terms if t["taxonomy"] == "target-groups" and t["code"] != "ouderen")
    with_term = ids(demo_client, "/hsds/services", taxonomy_term_id=ouderen["id"])
    assert koffie in with_term
    assert financieel not in with_term
    assert koffie not in ids(demo_client, "/hsds/services", taxonomy_term_id=jeugd["id"])
    costs = next(
        t for t in demo_client.get("/hsds/taxonomies").json()["contents"] if t["name"] == "Kosten"
    )
    assert koffie in ids(demo_client, "/hsds/services", taxonomy_id=costs["id"])
    assert ids(demo_client, "/hsds/services", taxonomy_id=str(uuid.uuid4())) == set()

    # organization
    of_org = ids(demo_client, "/hsds/services", organization_id=rich["organization_id"])
    assert of_org == {koffie}

    # ages: the service's range (65-120) overlaps the asked one
    assert koffie in ids(demo_client, "/hsds/services", minimum_age=70, search="koffieochtend")
    assert koffie not in ids(
        demo_client, "/hsds/services", maximum_age=30, taxonomy_term_id=ouderen["id"]
    )
    assert koffie in ids(
        demo_client,
        "/hsds/services",
        minimum_age=60,
        maximum_age=66,
        organization_id=rich["organization_id"],
    )
    assert koffie not in ids(
        demo_client,
        "/hsds/services",
        minimum_age=10,
        maximum_age=20,
        organization_id=rich["organization_id"],
    )

    # modified_after
    recent = demo_client.get("/hsds/services", params={"modified_after": "2999-01-01"}).json()
    assert recent["total_items"] == 0
    assert (
        demo_client.get("/hsds/services", params={"modified_after": "2000-01-01T00:00:00Z"}).json()[
            "total_items"
        ]
        == everything
    )


def test_service_at_location_filters(demo_client: TestClient, rich: dict[str, str]) -> None:
    koffie = rich["service_id"]

    def services(**params: Any) -> set[str]:
        response = demo_client.get("/hsds/service_at_locations", params={**params, "per_page": 100})
        assert response.status_code == 200, response.text
        return {sal["service_id"] for sal in response.json()["contents"]}

    # The location is in De Kwakel (52.2349, 4.7891); PC4 1421 is Uithoorn, a few km away.
    assert koffie in services(postcode="1424", proximity=2000)
    assert koffie in services(postcode="1424")  # default proximity 5000 m
    assert koffie not in services(postcode="1421", proximity=500)
    near = services(postcode="1421", proximity=500)
    assert near
    assert koffie not in near
    assert koffie in services(minimum_age=80)
    assert koffie not in services(maximum_age=12)
    assert koffie in services(search="koffieochtend", organization_id=rich["organization_id"])
    assert services(search="koffieochtend", organization_id=str(uuid.uuid4())) == set()
    assert koffie in services(modified_after="2000-01-01")
    assert services(modified_after="2999-01-01") == set()


def test_non_public_listings_never_appear(
    demo_client: TestClient, demo_db: Session, rich: dict[str, str]
) -> None:
    service = demo_db.exec(select(Service).where(Service.name == "Financieel Café")).one()
    org = demo_db.get(Organization, uuid.UUID(rich["organization_id"]))
    assert org is not None
    service.admission_status = "concept"
    org.admission_status = "aanvullen"  # hides the organization and all its services
    demo_db.add_all([service, org])
    demo_db.commit()
    hidden = {str(service.id), rich["service_id"]}
    all_services = {
        line["id"] for line in ndjson(demo_client.get("/hsds/services?format=ndjson").text)
    }
    assert all_services
    assert not hidden & all_services
    sals = list(ndjson(demo_client.get("/hsds/service_at_locations?format=ndjson&full=true").text))
    assert not hidden & {sal["service_id"] for sal in sals}
    orgs = demo_client.get("/hsds/organizations?format=ndjson&full_service=true").text
    assert rich["organization_id"] not in orgs
    assert str(service.id) not in orgs
    for path in (f"/hsds/services/{service.id}", f"/hsds/services/{rich['service_id']}"):
        assert_problem(demo_client.get(path), 404)
    assert_problem(demo_client.get(f"/hsds/organizations/{rich['organization_id']}"), 404)
    assert "Stichting Rijke Test" not in demo_client.get("/hsds/organizations?search=rijke").text


def test_professional_fields_never_appear(demo_client: TestClient, rich: dict[str, str]) -> None:
    texts = [
        demo_client.get(f"/hsds/services/{rich['service_id']}").text,
        demo_client.get("/hsds/services?format=ndjson&full=true").text,
        demo_client.get("/hsds/service_at_locations?format=ndjson&full=true").text,
        demo_client.get(f"/hsds/organizations/{rich['organization_id']}?full_service=true").text,
    ]
    for text in texts:
        assert rich["service_id"] in text
        for secret in (
            "GEHEIM",
            "999888",
            '"professional_phone"',
            '"referral_procedure"',
            '"internal_remarks"',
            '"admission_status"',
        ):
            assert secret not in text


def test_cors_on_public_gets_and_no_write_methods(demo_client: TestClient) -> None:
    for path in ("/hsds/", "/hsds/services", "/hsds/taxonomies", "/hsds/services/nope"):
        response = demo_client.get(path, headers={"Origin": "https://elders.example"})
        assert response.headers["access-control-allow-origin"] == "*"
    preflight = demo_client.options(
        "/hsds/services",
        headers={"Origin": "https://elders.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    for method in ("post", "put", "patch", "delete"):
        assert_problem(getattr(demo_client, method)("/hsds/services"), 405)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=101", "query.per_page"),
        ("per_page=-1", "query.per_page"),
        ("per_page=0", "query.per_page"),
        ("page=0", "query.page"),
        ("page=99999999999999999999999", "query.page"),
        ("page=abc", "query.page"),
        ("full=misschien", "query.full"),
        ("minimal=2", "query.minimal"),
        ("format=xml", "query.format"),
        ("modified_after=gisteren", "query.modified_after"),
        ("modified_after=2025-13-45", "query.modified_after"),
        ("taxonomy_term_id=thema", "query.taxonomy_term_id"),
        ("organization_id=1", "query.organization_id"),
        ("minimum_age=-1", "query.minimum_age"),
        ("maximum_age=200", "query.maximum_age"),
        ("postcode=abcd", "query.postcode"),
        ("postcode=9999", "query.postcode"),
        ("postcode=1424&proximity=0", "query.proximity"),
        ("proximity=100", "query.proximity"),
    ],
)
def test_bad_parameters_are_400_in_dutch(demo_client: TestClient, query: str, field: str) -> None:
    for path in ("/hsds/services", "/hsds/service_at_locations"):
        if path.endswith("locations") and "minimal" in query:
            continue
        body = assert_problem(demo_client.get(f"{path}?{query}"), 400, field)
        assert body["errors"][0]["message"]
        assert "Input should" not in body["detail"] + body["errors"][0]["message"]


@pytest.mark.parametrize(
    "path",
    ["services", "organizations", "service_at_locations", "taxonomies", "taxonomy_terms"],
)
def test_unknown_or_malformed_ids_are_404(demo_client: TestClient, path: str) -> None:
    for raw in (str(uuid.uuid4()), "niet-een-uuid", "1", "%20"):
        body = assert_problem(demo_client.get(f"/hsds/{path}/{raw}"), 404)
        assert "bestaat niet" in body["detail"]
