"""Geocoding through the API: PDOK (recorded responses), the offline chain, wijk assignment,
the cache, jobs after the commit and what search reports. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.geo.geocoding import GeoPrecision
from app.geo.jobs import GeoWorker
from app.geo.locate import in_boundary, in_postcode_ranges, parse_postcode_range
from app.geo.models import GeocodeCache, GeocodeJob, PostcodeCentroid
from app.geo.pdok import PdokGeocoder
from app.geo.service import import_postcodes
from app.municipalities.models import Neighbourhood
from tests.conftest import ADMIN_KEY

API = "/api/v1"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FIXTURES = Path(__file__).parent / "fixtures" / "pdok"
SHIPPED_PC4 = Path(__file__).resolve().parents[2] / "app" / "geo" / "data" / "pc4-uithoorn.csv"
GEMEENTEHUIS = {"address_1": "Laan van Meerwijk 16", "postal_code": "1423 AB", "city": "Uithoorn"}


class Pdok:
    """A PDOK stand-in that answers from the recorded responses and counts requests."""

    def __init__(self, *answers: str | int) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, int):
            return httpx.Response(answer, json={"message": "fout"})
        return httpx.Response(200, json=json.loads((FIXTURES / answer).read_text("utf-8")))

    def geocoder(self) -> PdokGeocoder:
        return PdokGeocoder(
            transport=httpx.MockTransport(self),
            sleep=lambda _s: None,
            min_interval_s=0,
            retries=1,
        )


def worker(client: TestClient) -> GeoWorker:
    geo: GeoWorker = client.app.state.geo  # type: ignore[attr-defined]
    return geo


def create_location(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"municipality": "uithoorn", "name": "Gemeentehuis", **body}
    response = client.post(f"{API}/locations", json=payload, headers=admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def fetch(client: TestClient, location_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/locations/{location_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def postcodes(db: Session) -> None:
    """The shipped Uithoorn PC4 centroids (also the source of the kern centroids)."""
    import_postcodes(session=db, path=SHIPPED_PC4)
    db.commit()


def set_wijk_config(db: Session, slug: str, **values: Any) -> None:
    wijk = db.exec(select(Neighbourhood).where(Neighbourhood.slug == slug)).one()
    for key, value in values.items():
        setattr(wijk, key, value)
    db.add(wijk)
    db.commit()


# --- PDOK (recorded responses) -----------------------------------------------------------------


def test_a_full_address_gets_exact_coordinates_and_its_wijk_once(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    set_wijk_config(db, "meerwijk", cbs_codes=["WK045104"])
    pdok = Pdok("uithoorn_exact.json")
    worker(client).geocoder = pdok.geocoder()

    created = create_location(client, admin, address=GEMEENTEHUIS)
    assert created["geo_precision"] is None  # the write did not wait for the geocoder
    worker(client).run_pending()

    located = fetch(client, created["id"])
    assert located["geo_precision"] == "adres"
    assert located["latitude"] == pytest.approx(52.23712307)
    assert located["longitude"] == pytest.approx(4.82612964)  # POINT(lon lat) read correctly
    assert located["neighbourhood"]["slug"] == "meerwijk"
    assert located["neighbourhood_source"] == "pdok"
    assert located["place"]["slug"] == "uithoorn"  # kern from PDOK's woonplaats
    assert len(pdok.requests) == 1
    assert dict(pdok.requests[0].url.params)["q"] == "Laan van Meerwijk 16 1423 AB Uithoorn"

    second = create_location(client, admin, name="Loket", address=GEMEENTEHUIS)
    worker(client).run_pending()
    assert fetch(client, second["id"])["geo_precision"] == "adres"
    assert len(pdok.requests) == 1  # the same address twice: the cache answered
    assert db.exec(select(GeocodeCache)).one().found
    assert not db.exec(select(GeocodeJob)).all()  # both jobs done


def test_pdok_down_uses_the_offline_chain_and_retries_later(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    db.add(PostcodeCentroid(postcode="1423AB", latitude=52.2371, longitude=4.8260))
    db.commit()
    pdok = Pdok(503)
    worker(client).geocoder = pdok.geocoder()
    created = create_location(client, admin, address=GEMEENTEHUIS)
    worker(client).run_pending()

    assert fetch(client, created["id"])["geo_precision"] == "pc6"  # offline: PC6 centroid
    job = db.exec(select(GeocodeJob)).one()
    assert job.attempts == 1
    assert job.next_attempt_at > job.created_at  # backoff
    assert not db.exec(select(GeocodeCache)).all()  # an error is never cached

    pdok.answers = ["uithoorn_exact.json"]  # PDOK is back; the job is due again
    job.next_attempt_at = job.created_at
    db.add(job)
    db.commit()
    worker(client).submit([job.location_id])
    worker(client).run_pending()
    assert fetch(client, created["id"])["geo_precision"] == "adres"
    assert not db.exec(select(GeocodeJob)).all()


def test_an_address_pdok_does_not_know_falls_back_and_is_not_asked_again_soon(
    client: TestClient, admin: dict[str, str], postcodes: None
) -> None:
    pdok = Pdok("not_found.json")
    worker(client).geocoder = pdok.geocoder()
    body = {"address_1": "Nergensstraat 1", "city": "De Kwakel"}
    first = create_location(client, admin, address=body)
    second = create_location(client, admin, name="Tweede", address=body)
    worker(client).run_pending()
    for created in (first, second):
        located = fetch(client, created["id"])
        assert located["geo_precision"] == "kern"  # De Kwakel's centroid (PC4 1424)
        assert located["place"]["slug"] == "de-kwakel"
    assert len(pdok.requests) == 1


# --- offline chain ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({"address_1": "Dorpsstraat 5", "postal_code": "1424 AB", "city": "De Kwakel"}, "pc6"),
        ({"address_1": "Dorpsstraat 5", "postal_code": "1424 ZZ", "city": "De Kwakel"}, "pc4"),
        ({"address_1": "Dorpsstraat 5", "city": "De Kwakel"}, "kern"),
        ({"address_1": "Ergens 1", "city": "Atlantis"}, None),
    ],
)
def test_offline_chain_with_its_precision(
    client: TestClient,
    admin: dict[str, str],
    db: Session,
    postcodes: None,
    address: dict[str, str],
    expected: str | None,
) -> None:
    db.add(PostcodeCentroid(postcode="1424AB", latitude=52.2401, longitude=4.7921))
    db.commit()
    created = create_location(client, admin, address=address)
    worker(client).run_pending()
    located = fetch(client, created["id"])
    assert located["geo_precision"] == expected
    if expected is None:
        assert located["latitude"] is None  # nothing known: no point, no crash
    else:
        assert 52.2 < located["latitude"] < 52.3
    if expected in ("pc6", "pc4"):  # De Kwakel's postcodes are configured as its wijk
        assert located["neighbourhood"]["slug"] == "de-kwakel"
        assert located["neighbourhood_source"] == "postcode"


def test_a_location_without_any_geo_data_stays_without_a_point(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = create_location(client, admin, location_type="virtual", url="https://example.nl")
    worker(client).run_pending()
    located = fetch(client, created["id"])
    assert located["geo_precision"] is located["latitude"] is None


# --- what is never overwritten -----------------------------------------------------------------


def test_manual_coordinates_and_wijk_are_kept(
    client: TestClient, admin: dict[str, str], postcodes: None
) -> None:
    pdok = Pdok("uithoorn_exact.json")
    worker(client).geocoder = pdok.geocoder()
    created = create_location(
        client,
        admin,
        address={"address_1": "Dorpsstraat 5", "postal_code": "1424 AB", "city": "De Kwakel"},
        latitude=52.25,
        longitude=4.80,
        neighbourhood="thamerdal",
    )
    assert created["geo_precision"] == "handmatig"
    assert created["neighbourhood_source"] == "handmatig"
    worker(client).run_pending()
    located = fetch(client, created["id"])
    assert (located["latitude"], located["longitude"]) == (52.25, 4.80)
    assert located["geo_precision"] == "handmatig"
    assert located["neighbourhood"]["slug"] == "thamerdal"  # not the postcode's de-kwakel
    assert not pdok.requests  # a manual point needs no geocoder

    cleared = client.patch(
        f"{API}/locations/{created['id']}",
        json={"latitude": None, "longitude": None, "neighbourhood": None},
        headers=admin,
    )
    assert cleared.status_code == 200, cleared.text
    worker(client).run_pending()
    located = fetch(client, created["id"])
    assert located["geo_precision"] == "pc4"  # derived again once the manual values are gone
    assert located["neighbourhood"]["slug"] == "de-kwakel"


# --- wijk configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "ranges", "inside"),
    [
        ("1421AB", ["1421"], True),
        ("1421", ["1421"], True),
        ("1422BC", ["1422AA-1422BZ"], True),
        ("1422CA", ["1422AA-1422BZ"], False),
        ("1422", ["1422AA-1422BZ"], False),  # a PC4 says nothing about part of it
        ("1424ZZ", ["1423-1424"], True),
        ("1425AA", ["1423-1424"], False),
        ("1422AB", ["1422AB"], True),
    ],
)
def test_postcode_ranges(postcode: str, ranges: list[str], inside: bool) -> None:
    assert in_postcode_ranges(postcode, ranges) is inside


def test_postcode_range_syntax() -> None:
    assert parse_postcode_range("1422 aa - 1422 bz") == ("1422AA", "1422BZ", False)
    assert parse_postcode_range("Thamerdal") is None


def test_point_in_boundary_with_a_hole() -> None:
    square = [[4.80, 52.20], [4.84, 52.20], [4.84, 52.24], [4.80, 52.24], [4.80, 52.20]]
    hole = [[4.81, 52.21], [4.83, 52.21], [4.83, 52.23], [4.81, 52.23], [4.81, 52.21]]
    polygon = {"type": "Polygon", "coordinates": [square, hole]}
    assert in_boundary(52.205, 4.805, polygon)
    assert not in_boundary(52.22, 4.82, polygon)  # in the hole
    assert not in_boundary(52.30, 4.82, polygon)
    assert in_boundary(52.205, 4.805, {"type": "MultiPolygon", "coordinates": [[square]]})


def test_a_boundary_assigns_the_wijk_of_an_exact_point_only(
    client: TestClient, admin: dict[str, str], db: Session, postcodes: None
) -> None:
    # around Koningin Máximalaan 30 (no_wijk_buurt.json: POINT(4.83098125 52.23352906))
    ring = [[4.825, 52.23], [4.835, 52.23], [4.835, 52.24], [4.825, 52.24], [4.825, 52.23]]
    set_wijk_config(db, "zijdelwaard", boundary={"type": "Polygon", "coordinates": [ring]})
    pdok = Pdok("no_wijk_buurt.json")
    worker(client).geocoder = pdok.geocoder()
    address = {"address_1": "Koningin Máximalaan 30", "postal_code": "1421LC", "city": "Uithoorn"}
    exact = create_location(client, admin, address=address)
    worker(client).run_pending()
    located = fetch(client, exact["id"])
    assert located["geo_precision"] == "adres"
    assert located["neighbourhood"]["slug"] == "zijdelwaard"
    assert located["neighbourhood_source"] == "grens"

    # a kern centroid inside the same boundary says nothing about the wijk
    set_wijk_config(
        db,
        "zijdelwaard",
        boundary={
            "type": "Polygon",
            "coordinates": [
                [[4.70, 52.10], [4.90, 52.10], [4.90, 52.40], [4.70, 52.40], [4.70, 52.10]]
            ],
        },
    )
    worker(client).geocoder = None
    coarse = create_location(
        client, admin, name="Ergens", address={"address_1": "Ergens 1", "city": "Uithoorn"}
    )
    worker(client).run_pending()
    located = fetch(client, coarse["id"])
    assert located["geo_precision"] == "kern"
    assert located["neighbourhood"] is None


# --- search -----------------------------------------------------------------------------------


def test_demo_postcode_1424_puts_de_kwakel_first_marked_approximate(
    demo_client: TestClient,
) -> None:
    response = demo_client.get(
        f"{API}/search", params={"postcode": "1424", "sort": "distance", "per_page": 100}
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items, "the demo has located services"
    kwakel = [i for i, item in enumerate(items) if item["place"] == "de-kwakel"]
    assert kwakel
    assert kwakel == list(range(len(kwakel)))
    first = items[0]
    assert first["distance_precision"] == "kern"
    assert first["distance_approximate"] is True
    assert first["distance_km"] == pytest.approx(0, abs=0.05)
    assert items[len(kwakel)]["place"] == "uithoorn"
    distances = [i["distance_km"] for i in items]
    assert distances == sorted(distances)


def test_demo_locations_are_located_offline(demo_db: Session) -> None:
    from app.locations.models import Location

    precisions = set(
        demo_db.exec(select(Location.geo_precision).where(col(Location.place_id).is_not(None)))
    )
    assert precisions == {GeoPrecision.place.value}


def test_cli_geocode_reports_per_precision(run_cli: Callable[..., Any]) -> None:
    from tests.conftest import DEMO_FILE

    loaded = run_cli("geo", "import-postcodes", SHIPPED_PC4)
    assert loaded.exit_code == 0, loaded.output
    imported = run_cli("import", "uithoorn", DEMO_FILE)
    assert imported.exit_code == 0, imported.output
    assert "geocodering" in imported.output
    result = run_cli("geo", "geocode", "--all")
    assert result.exit_code == 0, result.output
    assert "Geocodering (offline)" in result.output
    assert "kern" in result.output
