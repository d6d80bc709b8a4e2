"""GET /api/v1/search and /search/suggest on the Uithoorn demo data."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.search_api.schemas import SearchResponse
from tests.test_api_read import assert_problem

URL = "/api/v1/search"


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    # The endpoint encodes plain dictionaries (service.search_json): they must be exactly
    # what the documented model makes of them.
    assert SearchResponse.model_validate_json(response.content).model_dump(mode="json") == body
    return body


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("geldzorgen", "gem-schuldhulpverlening"),
        ("mantlezorg", "mem-mantelzorgondersteuning"),
        ("schuld hulp", "gem-schuldhulpverlening"),
        ("ik kan mijn rekeningen niet meer betalen", "gem-schuldhulpverlening"),
        ("voedselbank", "voedselbank-pakket"),
        ("taal cafe", "samens-taalcafe"),
    ],
)
def test_needs_in_own_words_land_on_the_right_service(
    demo_client: TestClient, q: str, expected: str
) -> None:
    assert expected in slugs(search(demo_client, q=q))[:10]


def test_dementia_day_care_for_a_huisarts(demo_client: TestClient) -> None:
    top = slugs(search(demo_client, q="dagbesteding dementie"))[:5]
    assert "uve-ontmoetingsgroepen-dementie" in top


def test_response_shape_highlight_and_facets(demo_client: TestClient) -> None:
    body = search(demo_client, q="mantelzorg", per_page=5)
    assert set(body) == {"items", "total", "page", "per_page", "facets"}
    assert body["per_page"] == 5
    assert len(body["items"]) == 5
    item = body["items"][0]
    assert set(item) == {
        "id",
        "slug",
        "name",
        "summary",
        "organization",
        "themes",
        "target_groups",
        "access",
        "cost",
        "minimum_age",
        "maximum_age",
        "neighbourhoods",
        "place",
        "distance_km",
        "distance_precision",
        "distance_approximate",
        "highlight",
    }
    assert item["distance_km"] is item["distance_precision"] is item["distance_approximate"] is None
    assert "<mark>" in item["highlight"]["name"] + item["highlight"]["summary"]
    assert set(body["facets"]) == {"theme", "target_group", "access", "cost", "neighbourhood"}
    assert body["facets"]["theme"]["mantelzorg"] >= 5
    assert body["facets"]["neighbourhood"]["thamerdal"] == body["total"]  # all are gemeente-wide


def test_filters_or_within_and_across(demo_client: TestClient) -> None:
    both = search(demo_client, theme=["dementie", "mantelzorg"], per_page=100)
    dementie = search(demo_client, theme="dementie", per_page=100)
    mantelzorg = search(demo_client, theme="mantelzorg", per_page=100)
    assert set(slugs(both)) == set(slugs(dementie)) | set(slugs(mantelzorg))
    narrowed = search(demo_client, theme=["dementie", "mantelzorg"], cost="gratis", per_page=100)
    assert set(slugs(narrowed)) < set(slugs(both))
    assert all(item["cost"] == "gratis" for item in narrowed["items"])


def test_empty_query_with_filters_lists_by_name(demo_client: TestClient) -> None:
    body = search(demo_client, theme="opvoeden-en-opgroeien", per_page=100)
    names = [item["name"].lower() for item in body["items"]]
    assert body["total"] == len(names) > 5
    assert names == sorted(names)
    assert all("opvoeden-en-opgroeien" in item["themes"] for item in body["items"])


def test_age_keeps_services_whose_range_includes_it(demo_client: TestClient) -> None:
    body = search(demo_client, age=8, per_page=100)
    for item in body["items"]:
        assert (
            (item["minimum_age"] or 0)
            <= 8
            <= (item["maximum_age"] if item["maximum_age"] is not None else 120)
        )
    assert "gem-declaratiefonds-kinderen" in slugs(body)  # 4-17 years
    # a 70-year-old is not offered the youth services
    seventy = slugs(search(demo_client, age=70, per_page=100))
    assert "groep-meidenwerk" not in seventy


def test_gemeente_wide_services_match_every_wijk_and_kern(demo_client: TestClient) -> None:
    everything = search(demo_client, per_page=1)["total"]
    assert search(demo_client, neighbourhood="meerwijk", per_page=1)["total"] == everything
    assert search(demo_client, place="de-kwakel", per_page=1)["total"] == everything
    assert search(demo_client, municipality="uithoorn", per_page=1)["total"] == everything


def test_unknown_slugs_are_named_in_a_422(demo_client: TestClient) -> None:
    body = assert_problem(
        demo_client.get(
            URL, params={"theme": ["geld-en-schulden", "bestaat-niet"], "neighbourhood": "atlantis"}
        ),
        422,
    )
    assert "bestaat-niet" in body["detail"]
    assert "atlantis" in body["detail"]
    assert {e["field"] for e in body["errors"]} == {"query.theme", "query.neighbourhood"}


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 101},
        {"page": 0},
        {"age": -1},
        {"age": "oud"},
        {"lat": 91, "lon": 4.8},
        {"radius_km": 0, "lat": 52.2, "lon": 4.8},
        {"sort": "popular"},
        {"theme": "Geld En Schulden"},
        {"q": "x" * 501},
    ],
)
def test_bad_parameters_are_400(demo_client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(demo_client.get(URL, params=params), 400)


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "distance"},
        {"lat": 52.2},
        {"radius_km": 3},
        {"postcode": "9999"},
        {"postcode": "14"},
        {"postcode": "1422 AB", "lat": 52.2, "lon": 4.8},
    ],
)
def test_inconsistent_geo_parameters_are_422(
    demo_client: TestClient, params: dict[str, Any]
) -> None:
    assert_problem(demo_client.get(URL, params=params), 422)


@pytest.mark.parametrize(
    "q",
    [
        '"mantelzorg',
        "mantel*",
        'NEAR("a" "b")',
        "a AND b",
        "-mantelzorg",
        "((((",
        "😀",
        "'; DROP TABLE service; --",
        "\x00",
        "مرحبا",
    ],
)
def test_hostile_text_is_plain_text(demo_client: TestClient, q: str) -> None:
    response = demo_client.get(URL, params={"q": q})
    assert response.status_code == 200, response.text


def test_pagination(demo_client: TestClient) -> None:
    first = search(demo_client, q="hulp", per_page=5, page=1)
    second = search(demo_client, q="hulp", per_page=5, page=2)
    assert first["total"] == second["total"] > 10
    assert not set(slugs(first)) & set(slugs(second))


def test_suggest(demo_client: TestClient) -> None:
    items = demo_client.get(f"{URL}/suggest", params={"q": "mant"}).json()["items"]
    assert items[0] == {"type": "theme", "slug": "mantelzorg", "label": "Mantelzorg"}
    assert any(i["type"] == "service" for i in items)
    assert demo_client.get(f"{URL}/suggest", params={"q": "😀"}).json() == {"items": []}
    assert_problem(demo_client.get(f"{URL}/suggest", params={"q": "x" * 101}), 400)


def test_distances_are_the_documented_shape(demo_client: TestClient) -> None:
    body = search(demo_client, q="hulp", lat=52.2379, lon=4.8256, radius_km=10, sort="distance")
    assert body["items"]
    distances = [item["distance_km"] for item in body["items"]]
    assert all(isinstance(d, float) for d in distances)
    assert {item["distance_precision"] for item in body["items"]} <= {
        "handmatig",
        "adres",
        "pc6",
        "pc4",
        "kern",
    }
    assert all(isinstance(item["distance_approximate"], bool) for item in body["items"])
