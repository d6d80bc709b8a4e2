"""Open data: GET /api/v1/export/services.csv and ``sociale-kaart export csv``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.services.models import Service
from importers.columns import COLUMNS, HEADER, PUBLIC_HEADER
from tests.conftest import DEMO_FILE

URL = "/api/v1/export/services.csv"
PROFESSIONAL = {c.name for c in COLUMNS if c.professional}


def parse(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))


def test_public_export_of_the_demo(demo_client: TestClient, demo_db: Session) -> None:
    hidden = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    hidden.admission_status = "ingediend"
    hidden.professional_phone = "06 12345678"
    demo_db.add(hidden)
    demo_db.commit()

    response = demo_client.get(URL, headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="voorzieningen.csv"'
    assert response.headers["access-control-allow-origin"] == "*"
    rows = parse(response.content.decode("utf-8"))
    assert list(rows[0]) == list(PUBLIC_HEADER)
    assert not PROFESSIONAL & set(rows[0])
    total = demo_client.get("/api/v1/services", params={"per_page": 1}).json()["total"]
    assert len(rows) == total == 95
    assert "uve-financieel-cafe" not in {r["voorziening_slug"] for r in rows}
    assert "06 12345678" not in response.text


def test_public_export_of_one_municipality(demo_client: TestClient) -> None:
    response = demo_client.get(URL, params={"municipality": "uithoorn"})
    assert response.status_code == 200
    assert 'filename="voorzieningen-uithoorn.csv"' in response.headers["content-disposition"]
    assert len(parse(response.text)) == 96
    missing = demo_client.get(URL, params={"municipality": "nergens"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "nergens" in missing.json()["detail"]
    assert demo_client.get(URL, params={"municipality": "Niet Goed!"}).status_code == 400


def test_public_export_without_listings(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.text == "\ufeff" + ";".join(PUBLIC_HEADER) + "\r\n"


def test_cli_export_all_and_public(run_cli: Callable[..., Any]) -> None:
    assert run_cli("import", "uithoorn", DEMO_FILE, "--admit").exit_code == 0
    staff = run_cli("export", "csv")
    assert staff.exit_code == 0
    rows = parse(staff.output)
    assert list(rows[0]) == list(HEADER)
    assert len(rows) == 96
    public = run_cli("export", "csv", "--openbaar")
    assert public.exit_code == 0
    rows = parse(public.output)
    assert list(rows[0]) == list(PUBLIC_HEADER)
    assert len(rows) == 96
    assert run_cli("export", "csv", "--municipality", "nergens").exit_code == 1
