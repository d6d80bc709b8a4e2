"""Hostile JSON bodies: too deep, too large, wrong types, unknown fields, NUL bytes, NaN,
duplicate slugs, postcodes and coordinates that are not in the Netherlands.

Already covered elsewhere (not repeated here): broken JSON, empty body, array/string/null
bodies, lone surrogates and non-UTF-8 bytes (tests/test_api_write.py::
test_malformed_bodies_are_4xx_problems); bodies over MAX_REQUEST_BODY_BYTES with and without
Content-Length (tests/test_security_basics.py); latitude/longitude outside WGS84 and bad
postcodes on locations (tests/test_api_write.py::test_create_location_rejects); an explicit
duplicate service slug (tests/test_api_write.py::test_explicit_duplicate_slug_is_a_409).
After every refused write the database is checked: nothing was written.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.locations.models import Location
from app.organizations.models import Organization
from app.services.models import Service
from tests.hostile import assert_dutch_problem
from tests.test_api_write import make_org, service_body

API = "/api/v1"
JSON = {"Content-Type": "application/json"}


def counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.exec(select(func.count()).select_from(Organization)).one(),
        db.exec(select(func.count()).select_from(Service)).one(),
        db.exec(select(func.count()).select_from(Location)).one(),
    )


WRITES = [("post", "/organizations"), ("post", "/services"), ("post", "/locations")]


def _post_raw(client: TestClient, admin: dict[str, str], path: str, content: bytes) -> Any:
    return client.post(API + path, content=content, headers={**admin, **JSON})


@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deeply_nested_bodies_are_refused(
    client: TestClient, db: Session, admin: dict[str, str], method: str, path: str, depth: int
) -> None:
    before = counts(db)
    nested = b"[" * depth + b"]" * depth
    content = b'{"municipality": "uithoorn", "name": "Diep", "description": ' + nested + b"}"
    response = _post_raw(client, admin, path, content)
    assert 400 <= response.status_code < 500, response.text
    assert_dutch_problem(response, response.status_code)
    assert counts(db) == before


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_deep_object_as_the_whole_body(
    client: TestClient, db: Session, admin: dict[str, str], method: str, path: str
) -> None:
    before = counts(db)
    content = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    response = _post_raw(client, admin, path, content)
    assert_dutch_problem(response, 400)
    assert counts(db) == before


def test_body_of_many_small_fields_over_the_limit_is_413(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    before = counts(db)
    body = {"municipality": "uithoorn", "name": "Breed", **{f"f{i}": i for i in range(120_000)}}
    response = _post_raw(client, admin, "/organizations", json.dumps(body).encode())
    body413 = assert_dutch_problem(response, 413)
    assert body413["title"] == "Verzoek te groot"
    assert counts(db) == before


WRONG_TYPES: list[tuple[str, dict[str, Any]]] = [
    ("/services", service_body(minimum_age="achttien")),
    ("/services", service_body(minimum_age="18.5")),
    ("/services", service_body(minimum_age=1e308)),
    ("/services", service_body(minimum_age=10**40)),
    ("/services", service_body(themes="eenzaamheid-en-ontmoeting")),
    ("/services", service_body(themes={"0": "eenzaamheid-en-ontmoeting"})),
    ("/services", service_body(name=["Koffie"])),
    ("/services", service_body(name={"nl": "Koffie"})),
    ("/services", service_body(name=12)),
    ("/organizations", {"municipality": ["uithoorn"], "name": "A"}),
    ("/organizations", {"municipality": "uithoorn", "name": "A", "admission_status": 1}),
    ("/locations", {"municipality": "uithoorn", "name": "A", "latitude": "52.2", "longitude": []}),
    ("/locations", {"municipality": "uithoorn", "name": "A", "address": "Kuyperlaan 50"}),
    ("/locations", {"municipality": "uithoorn", "name": "A", "address": ["Kuyperlaan 50"]}),
]


@pytest.mark.parametrize(("path", "body"), WRONG_TYPES)
def test_wrong_types_are_a_422_naming_the_field(
    client: TestClient, db: Session, admin: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    make_org(client, admin)
    before = counts(db)
    problem = assert_dutch_problem(client.post(API + path, json=body, headers=admin), 422)
    assert problem["errors"]
    assert all(e["field"].startswith("body") for e in problem["errors"])
    assert counts(db) == before


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/organizations", {"is_admin": True}),
        ("/organizations", {"id": "00000000-0000-0000-0000-000000000000"}),
        ("/organizations", {"version": 99}),
        ("/services", {"created_at": "2000-01-01T00:00:00Z"}),
        ("/services", {"__proto__": {"admin": True}}),
        ("/locations", {"Name": "Hoofdletter"}),
    ],
)
def test_unknown_fields_are_a_422(
    client: TestClient, db: Session, admin: dict[str, str], path: str, extra: dict[str, Any]
) -> None:
    make_org(client, admin)
    before = counts(db)
    base: dict[str, Any] = {
        "/organizations": {"municipality": "uithoorn", "name": "Onbekend veld"},
        "/services": service_body(),
        "/locations": {"municipality": "uithoorn", "name": "Huis"},
    }[path]
    problem = assert_dutch_problem(
        client.post(API + path, json={**base, **extra}, headers=admin), 422
    )
    assert any(e["field"].endswith(next(iter(extra))) for e in problem["errors"]), problem
    assert counts(db) == before


@pytest.mark.parametrize(
    "content",
    [
        b'{"municipality": "uithoorn", "name": "A", "latitude": NaN, "longitude": 4.8}',
        b'{"municipality": "uithoorn", "name": "A", "latitude": 52.2, "longitude": Infinity}',
        b'{"municipality": "uithoorn", "name": "A", "latitude": -Infinity, "longitude": 4.8}',
        b'{"municipality": "uithoorn", "name": "A", "latitude": 1e999, "longitude": 4.8}',
    ],
    ids=["nan", "infinity", "minus-infinity", "overflow"],
)
def test_non_finite_coordinates_are_refused(
    client: TestClient, db: Session, admin: dict[str, str], content: bytes
) -> None:
    before = counts(db)
    response = _post_raw(client, admin, "/locations", content)
    assert 400 <= response.status_code < 500, response.text
    assert_dutch_problem(response, response.status_code)
    assert counts(db) == before


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (0.0, 0.0),  # "null island"
        (48.8566, 2.3522),  # Paris
        (-33.86, 151.21),  # Sydney
        (52.2, -4.8),  # the sign of the longitude flipped: in the Atlantic
        (4.8, 52.2),  # latitude and longitude swapped
    ],
)
def test_coordinates_outside_the_netherlands_are_refused(
    client: TestClient, db: Session, admin: dict[str, str], latitude: float, longitude: float
) -> None:
    before = counts(db)
    body = {"municipality": "uithoorn", "name": "Ver weg", "latitude": latitude}
    body["longitude"] = longitude
    problem = assert_dutch_problem(client.post(f"{API}/locations", json=body, headers=admin), 422)
    assert any(e["field"] in ("body.latitude", "body.longitude", "body") for e in problem["errors"])
    assert counts(db) == before


@pytest.mark.parametrize(
    "postcode",
    ["1422 ab", "１４２２ＡＢ", "1422\x00AB", "1422 AB; DROP TABLE location", "1" * 10_000, "🏠"],
)
def test_odd_postcodes_on_a_location(
    client: TestClient, db: Session, admin: dict[str, str], postcode: str
) -> None:
    before = counts(db)
    body = {"municipality": "uithoorn", "name": "Huis", "address": {"postal_code": postcode}}
    response = client.post(f"{API}/locations", json=body, headers=admin)
    if postcode == "1422 ab":
        assert response.status_code == 201, response.text
        assert response.json()["address"]["postal_code"] == "1422 AB"
        return
    problem = assert_dutch_problem(response, 422)
    assert any(e["field"].startswith("body.address") for e in problem["errors"]), problem
    assert counts(db) == before


@pytest.mark.parametrize(
    "params",
    [
        {"postcode": "1422\x00"},
        {"postcode": "🏠🏠"},
        {"postcode": "1" * 10_000},
        {"postcode": "1422 AB' OR 1=1 --"},
        {"lat": "NaN", "lon": 4.8},
        {"lat": 52.2, "lon": "Infinity"},
        {"lat": 1e308, "lon": 4.8},
        {"lat": 48.8566, "lon": 2.3522},
    ],
    ids=str,
)
def test_search_near_odd_places(demo_client: TestClient, params: dict[str, Any]) -> None:
    response = demo_client.get(f"{API}/search", params=params)
    if params.get("lat") == 48.8566:  # Paris: a correct (empty or far) result
        assert response.status_code in (200, 422), response.text
        return
    assert response.status_code in (400, 422), response.text
    assert_dutch_problem(response, response.status_code)


NUL_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("/organizations", {"municipality": "uithoorn", "name": "Nul\x00byte"}),
    ("/organizations", {"municipality": "uithoorn", "name": "A", "description": "x\x00y"}),
    ("/services", service_body(name="Koffie\x00")),
    ("/locations", {"municipality": "uithoorn", "name": "Huis\x00"}),
]


@pytest.mark.parametrize(("path", "body"), NUL_BODIES)
def test_nul_bytes_in_texts_are_refused(
    client: TestClient, db: Session, admin: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    make_org(client, admin)
    before = counts(db)
    problem = assert_dutch_problem(client.post(API + path, json=body, headers=admin), 422)
    assert problem["errors"], problem
    assert counts(db) == before


def test_emoji_and_rtl_text_are_stored_as_given(client: TestClient, admin: dict[str, str]) -> None:
    name = "مركز 😀 הבית"
    response = client.post(
        f"{API}/organizations",
        json={"municipality": "uithoorn", "name": name, "admission_status": "toegelaten"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    assert client.get(f"{API}/organizations/{slug}", headers=admin).json()["name"] == name


def test_duplicate_organization_slug_is_a_409(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_org(client, admin, slug="samen")
    before = counts(db)
    response = client.post(
        f"{API}/organizations",
        json={"municipality": "uithoorn", "name": "Een ander", "slug": "samen"},
        headers=admin,
    )
    assert_dutch_problem(response, 409)
    assert counts(db) == before


def test_renaming_onto_an_existing_slug_is_a_409(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_org(client, admin)
    client.post(f"{API}/services", json=service_body(slug="koffie"), headers=admin)
    client.post(f"{API}/services", json=service_body(slug="thee", name="Thee"), headers=admin)
    response = client.patch(f"{API}/services/thee", json={"slug": "koffie"}, headers=admin)
    assert_dutch_problem(response, 409)
    assert client.get(f"{API}/services/thee", headers=admin).json()["name"] == "Thee"
