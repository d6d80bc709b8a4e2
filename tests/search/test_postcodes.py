"""Postcode centroids: CSV import and "bij mij in de buurt"."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.geo.models import PostcodeCentroid
from app.geo.service import import_postcodes
from tests.test_api_read import assert_problem
from tests.test_api_write import make_location, make_org, make_service

SHARED_PC4 = Path(__file__).resolve().parents[3] / "shared" / "data" / "geo" / "pc4-nl-2014.csv"

CSV = """postcode,woonplaats,gemeente,latitude,longitude
1422,Uithoorn,Uithoorn,52.2440878,4.8299261
1424,De Kwakel,Uithoorn,52.2390773,4.7939868
1422 DK,Uithoorn,Uithoorn,52.2396,4.8290
9999,Nergens,Nergens,12.0,4.0
abcd,Fout,Fout,52.0,4.0
1000,Amsterdam,Amsterdam,noord,4.9
"""


def test_import_reports_bad_lines_and_is_idempotent(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "pc.csv"
    path.write_text(CSV, encoding="utf-8")
    report = import_postcodes(session=db, path=path)
    assert (report.created, report.updated) == (3, 0)
    assert [line for line, _ in report.errors] == [5, 6, 7]
    assert "buiten Nederland" in report.errors[0][1]
    assert db.get(PostcodeCentroid, "1422DK") is not None
    again = import_postcodes(session=db, path=path)
    assert (again.created, again.updated) == (0, 0)


def test_missing_columns_are_refused(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "pc.csv"
    path.write_text("pc,lat\n1422,52\n", encoding="utf-8")
    with pytest.raises(ValueError, match="latitude"):
        import_postcodes(session=db, path=path)


@pytest.mark.skipif(
    not SHARED_PC4.exists(), reason="../shared/data/geo/pc4-nl-2014.csv not present"
)
def test_national_pc4_file_loads(db: Session) -> None:
    report = import_postcodes(session=db, path=SHARED_PC4)
    assert report.created > 4000
    assert report.errors == []
    kwakel = db.get(PostcodeCentroid, "1424")
    assert kwakel is not None
    assert kwakel.place_name == "De Kwakel"


def test_search_near_a_postcode(
    client: TestClient, admin: dict[str, str], db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "pc.csv"
    path.write_text(CSV, encoding="utf-8")
    import_postcodes(session=db, path=path)
    db.commit()
    make_org(client, admin)
    thamerdal = make_location(client, admin)  # Kuyperlaan, Uithoorn
    kwakel = make_location(
        client,
        admin,
        name="Dorpshuis",
        neighbourhood="de-kwakel",
        latitude=52.2391,
        longitude=4.7940,
    )
    make_service(
        client, admin, slug="thamerdal-koffie", name="Koffie Thamerdal", locations=[thamerdal["id"]]
    )
    make_service(
        client, admin, slug="kwakel-koffie", name="Koffie De Kwakel", locations=[kwakel["id"]]
    )
    make_service(client, admin, slug="online", name="Koffie online")

    body = client.get(
        "/api/v1/search", params={"q": "koffie", "postcode": "1424", "sort": "distance"}
    ).json()
    assert [i["slug"] for i in body["items"]] == ["kwakel-koffie", "thamerdal-koffie"]
    assert body["items"][0]["distance_km"] < 0.2
    assert 1.5 < body["items"][1]["distance_km"] < 3
    pc6 = client.get("/api/v1/search", params={"postcode": "1422dk", "radius_km": 0.5}).json()
    assert [i["slug"] for i in pc6["items"]] == ["thamerdal-koffie"]
    # PC6 not in the table: the PC4 centroid is used
    fallback = client.get("/api/v1/search", params={"postcode": "1424 ZZ", "radius_km": 1}).json()
    assert [i["slug"] for i in fallback["items"]] == ["kwakel-koffie"]
    assert_problem(client.get("/api/v1/search", params={"postcode": "1234"}), 422)
