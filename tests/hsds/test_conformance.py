"""Every HSDS response validates against the (strict) HSDS 3.0 JSON Schemas; every id in a
list resolves on its detail endpoint (Open Referral UK validator, level 1 and 2)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hsds.conftest import Validate, ndjson

# (list path, extra query, schema of a list item, schema of the detail)
LISTS = [
    ("/hsds/services", {}, "service.json", "service.json"),
    ("/hsds/services", {"minimal": "true"}, "service.json", None),
    ("/hsds/services", {"full": "true"}, "service.json", None),
    ("/hsds/organizations", {}, "organization.json", "compiled_organization.json"),
    ("/hsds/organizations", {"full": "true"}, "compiled_organization.json", None),
    ("/hsds/organizations", {"full_service": "true"}, "compiled_organization.json", None),
    (
        "/hsds/service_at_locations",
        {},
        "service_at_location.json",
        "compiled_service_at_location.json",
    ),
    ("/hsds/service_at_locations", {"full": "true"}, "compiled_service_at_location.json", None),
    ("/hsds/taxonomies", {}, "taxonomy.json", "taxonomy.json"),
    ("/hsds/taxonomy_terms", {}, "taxonomy_term.json", "taxonomy_term.json"),
]
IDS = [f"{path.removeprefix('/hsds/')}{'?' + '&'.join(q) if q else ''}" for path, q, *_ in LISTS]


def all_pages(client: TestClient, path: str, query: dict[str, str]) -> list[dict[str, Any]]:
    pages = []
    page = 1
    while True:
        response = client.get(path, params={**query, "page": page, "per_page": 100})
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if pages[-1]["last_page"]:
            return pages
        page += 1


def test_the_strict_schemas_reject_unknown_properties(validate: Validate) -> None:
    service = {"id": "0bcbc3c2-246f-4b46-bd6c-e2f886949cc4", "name": "x", "status": "active"}
    validate("service.json", service)
    with pytest.raises(AssertionError, match="admission_status"):
        validate("service.json", {**service, "admission_status": "toegelaten"})
    with pytest.raises(AssertionError, match="uuid"):
        validate("service.json", {**service, "id": "uve-financieel-cafe"})
    with pytest.raises(AssertionError, match="date-time"):
        validate("service.json", {**service, "last_modified": "gisteren"})
    with pytest.raises(AssertionError, match="services"):
        validate(
            "organization.json",
            {"id": service["id"], "name": "x", "description": "", "services": []},
        )


def test_meta(demo_client: TestClient) -> None:
    body = demo_client.get("/hsds/").json()
    assert body["version"] == "3.0"
    assert body["profile"].startswith("https://")
    assert body["openapi_url"] == "http://testserver/hsds/openapi.json"
    assert demo_client.get(body["openapi_url"]).json()["servers"][0]["url"] == "/hsds"


@pytest.mark.parametrize(("path", "query", "item_schema", "detail_schema"), LISTS, ids=IDS)
def test_every_list_page_and_detail_validates(
    demo_client: TestClient,
    rich: dict[str, str],
    validate: Validate,
    path: str,
    query: dict[str, str],
    item_schema: str,
    detail_schema: str | None,
) -> None:
    pages = all_pages(demo_client, path, query)
    ids = []
    for page in pages:
        validate(f"page:{item_schema}", page)
        ids += [item["id"] for item in page["contents"]]
    assert ids, f"{path} is empty on the demo data"
    assert len(ids) == len(set(ids)) == pages[0]["total_items"]
    if detail_schema is None:
        return
    for item_id in ids:
        response = demo_client.get(f"{path}/{item_id}")
        assert response.status_code == 200, (item_id, response.text)
        detail = response.json()
        assert detail["id"] == item_id
        validate(detail_schema, detail)


@pytest.mark.parametrize(("path", "query", "item_schema", "detail_schema"), LISTS, ids=IDS)
def test_ndjson_streams_every_record_and_each_line_validates(
    demo_client: TestClient,
    rich: dict[str, str],
    validate: Validate,
    path: str,
    query: dict[str, str],
    item_schema: str,
    detail_schema: str | None,
) -> None:
    response = demo_client.get(path, params={**query, "format": "ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = list(ndjson(response.text))
    for line in lines:
        validate(item_schema, line)
    paged = [i["id"] for p in all_pages(demo_client, path, query) for i in p["contents"]]
    assert [line["id"] for line in lines] == paged  # same records, same order, unpaged


def test_the_test_data_fills_every_nested_object(
    demo_client: TestClient, rich: dict[str, str]
) -> None:
    """The conformance runs above are only meaningful if the nested objects really occur."""
    services = [
        s for p in all_pages(demo_client, "/hsds/services", {"full": "true"}) for s in p["contents"]
    ]
    seen = {
        key
        for s in services
        for key in (
            "phones",
            "schedules",
            "service_areas",
            "service_at_locations",
            "languages",
            "attributes",
            "organization",
        )
        if s.get(key)
    }
    assert seen == {
        "phones",
        "schedules",
        "service_areas",
        "service_at_locations",
        "languages",
        "attributes",
        "organization",
    }
    locations = [sal["location"] for s in services for sal in s["service_at_locations"]]
    assert any(loc.get("addresses") for loc in locations)
    assert any(loc.get("latitude") is not None for loc in locations)
    assert any(a["link_type"] == "place" for loc in locations for a in loc["attributes"])
    taxonomies = {a["taxonomy_term"]["taxonomy"] for s in services for a in s["attributes"]}
    assert taxonomies == {"themes", "target-groups", "access-routes", "costs"}
    assert any(s.get("minimum_age") is not None for s in services)
    (full,) = [s for s in services if s["id"] == rich["service_id"]]
    assert full["phones"][0]["extension"] == 3
    assert full["schedules"][0]["opens_at"] == "09:30"
    assert full["service_areas"][0] == {
        "id": full["service_areas"][0]["id"],
        "service_id": rich["service_id"],
        "name": "De Kwakel",
        "extent_type": "neighbourhood",
    } | (
        {"extent": full["service_areas"][0]["extent"]}
        if "extent" in full["service_areas"][0]
        else {}
    )
    assert [(lang["code"], lang["name"]) for lang in full["languages"]] == [
        ("nl", "Nederlands"),
        ("en", "Engels"),
    ]
    location = full["service_at_locations"][0]["location"]
    assert location["addresses"][0]["postal_code"] == "1424 AA"
    assert location["accessibility"][0]["description"].startswith("Rolstoel")
    assert {a["link_type"]: a["value"] for a in location["attributes"]} == {
        "place": "De Kwakel",
        "neighbourhood": "De Kwakel",
    }
    organization = full["organization"]
    assert organization["organization_identifiers"][0]["identifier"] == "41216593"
    assert organization["contacts"][0]["phones"][0]["number"]
