"""The monitor sociaal domein: anonymous monthly counts of referrals, searches and supply."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Role
from app.core.models import utcnow
from app.insights.models import SearchTally, ZeroResultQuery
from app.insights.recorder import SearchRecorder, area_of, clean_query
from app.municipalities.models import Municipality
from app.referrals.models import Referral
from app.referrals.service import purge_personal_data
from tests.conftest import make_settings
from tests.test_authorization import token_for

THIS_MONTH = utcnow().date().replace(day=1)


@pytest.fixture
def editor(demo_db: Session) -> dict[str, str]:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    return token_for(Role.editor, municipality_ids=[uithoorn.id])


def referral(municipality_id: uuid.UUID, **values: Any) -> Referral:
    defaults: dict[str, Any] = {
        "service_name": "Financieel Café",
        "referrer_kind": "huisarts",
        "mode": "recept",
        "themes": ["geld-en-schulden"],
        "reference_code": f"WR-{uuid.uuid4().hex[:8].upper()}",
        "month": THIS_MONTH,
    }
    return Referral(municipality_id=municipality_id, **{**defaults, **values})


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("schulden", "schulden"),
        ("hulp bij Jan de Vries 0612345678", "hulp bij de"),
        ("mail naar piet@example.nl over huur", "mail naar over huur"),
        ("Geldzorgen in 1422AB", "geldzorgen in"),
        ("Ik zoek Fatima", "ik zoek"),
        ("12345", ""),
    ],
)
def test_zero_result_texts_lose_digits_mail_and_names(text: str, cleaned: str) -> None:
    assert clean_query(text) == cleaned


def test_area_of_a_search() -> None:
    assert area_of(neighbourhood="thamerdal", place=None, postcode=None) == "wijk:thamerdal"
    assert area_of(neighbourhood=None, place="de-kwakel", postcode=None) == "kern:de-kwakel"
    assert area_of(neighbourhood=None, place=None, postcode="1422 AB") == "pc4:1422"
    assert area_of(neighbourhood=None, place=None, postcode=None) == ""


def test_recorder_counts_in_memory_and_flushes_upserts(db: Session) -> None:
    recorder = SearchRecorder(sessions=lambda: db)
    day = date(2026, 11, 5)
    recorder.record(
        session=db,
        query="geldzorgen",
        themes=[],
        municipality="uithoorn",
        area="",
        zero_results=False,
        today=day,
    )
    recorder.record(
        session=db,
        query="",
        themes=["eenzaamheid-en-ontmoeting"],
        municipality="uithoorn",
        area="wijk:thamerdal",
        zero_results=False,
        today=day,
    )
    recorder.record(
        session=db,
        query="hulp voor Jan 06123",
        themes=[],
        municipality="uithoorn",
        area="",
        zero_results=True,
        today=day,
    )
    assert recorder.pending() >= 3
    recorder.flush(db)
    recorder.record(
        session=db,
        query="hulp voor Piet",
        themes=[],
        municipality="uithoorn",
        area="",
        zero_results=True,
        today=day,
    )
    recorder.flush(db)
    assert recorder.pending() == 0
    rows = db.exec(select(SearchTally).where(SearchTally.month == date(2026, 11, 1))).all()
    totals = sum(r.count for r in rows if r.theme == "")
    assert totals == 4
    themed = {r.theme: r.count for r in rows if r.theme}
    assert themed["geld-en-schulden"] == 1  # "geldzorgen" is one of its words
    assert themed["eenzaamheid-en-ontmoeting"] == 1
    zero = db.exec(select(ZeroResultQuery)).all()
    assert [(z.text, z.count) for z in zero] == [("hulp voor", 2)]  # names and digits gone


def test_referral_insights_count_and_survive_erasure(
    demo_client: TestClient, demo_db: Session, editor: dict[str, str]
) -> None:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    closed = utcnow() - timedelta(days=400)
    demo_db.add(referral(uithoorn.id))
    demo_db.add(
        referral(
            uithoorn.id,
            mode="warm",
            referrer_kind="loket",
            status="afgerond",
            closed_at=closed,
            consent_at=closed,
            contact_name_enc="x",
        )
    )
    demo_db.commit()
    before = demo_client.get(
        "/api/v1/insights/referrals", params={"municipality": "uithoorn"}, headers=editor
    )
    assert before.status_code == 200, before.text
    month = before.json()["months"][-1]
    assert month["month"] == f"{THIS_MONTH:%Y-%m}"
    assert month["total"] == 2
    assert {c["key"]: c["count"] for c in month["by_mode"]} == {"recept": 1, "warm": 1}
    assert {c["key"]: c["count"] for c in month["by_outcome"]} == {"afgerond": 1}
    assert {c["key"]: c["count"] for c in month["by_theme"]} == {"geld-en-schulden": 2}
    assert len(before.json()["months"]) == 12  # this month and the 11 before it

    purge_personal_data(session=demo_db, settings=make_settings(), now=utcnow())
    demo_db.commit()
    after = demo_client.get(
        "/api/v1/insights/referrals", params={"municipality": "uithoorn"}, headers=editor
    )
    assert after.json() == before.json()  # erasing personal data changes no count


def test_supply_shows_gaps_per_theme_and_wijk(
    demo_client: TestClient, editor: dict[str, str]
) -> None:
    response = demo_client.get(
        "/api/v1/insights/supply", params={"municipality": "uithoorn"}, headers=editor
    )
    assert response.status_code == 200
    body = response.json()
    assert "thamerdal" in body["areas"]
    assert body["themes"]["geld-en-schulden"]["thamerdal"] >= 1
    for gap in body["gaps"]:
        assert body["themes"][gap["theme"]][gap["area"]] == 0


def test_search_insights_and_csv(
    demo_client: TestClient, demo_db: Session, editor: dict[str, str]
) -> None:
    recorder = SearchRecorder(sessions=lambda: demo_db)
    recorder.record(
        session=demo_db,
        query="geldzorgen",
        themes=[],
        municipality="uithoorn",
        area="wijk:thamerdal",
        zero_results=False,
    )
    recorder.record(
        session=demo_db,
        query="paardrijden",
        themes=[],
        municipality="uithoorn",
        area="",
        zero_results=True,
    )
    recorder.flush(demo_db)
    demo_db.commit()
    response = demo_client.get(
        "/api/v1/insights/searches",
        params={"municipality": "uithoorn", "from": f"{THIS_MONTH:%Y-%m}"},
        headers=editor,
    )
    assert response.status_code == 200, response.text
    month = response.json()["months"][0]
    assert month["searches"] == 2
    assert month["zero_result_share"] == 0.5
    assert {"key": "paardrijden", "count": 1} in month["zero_result_texts"]
    assert {"key": "wijk:thamerdal", "count": 1} in month["by_area"]
    csv = demo_client.get(
        "/api/v1/insights/export.csv",
        params={"municipality": "uithoorn", "from": f"{THIS_MONTH:%Y-%m}"},
        headers=editor,
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeffonderdeel;maand;indeling;waarde;aantal")
    assert f"zoekvragen;{THIS_MONTH:%Y-%m};zonder resultaat;;1" in csv.text
    assert "aanbod;;thema geld-en-schulden;thamerdal;" in csv.text


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"municipality": "uithoorn", "from": "2026-13"}, 400),
        ({"municipality": "uithoorn", "from": "2026-10", "to": "2026-01"}, 400),
        ({"municipality": "uithoorn", "from": "2000-01", "to": "2026-01"}, 400),
        ({"municipality": "nergens"}, 404),
        ({}, 400),
    ],
)
def test_bad_periods_and_places(
    demo_client: TestClient, editor: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = demo_client.get("/api/v1/insights/searches", params=params, headers=editor)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_only_staff_of_the_municipality(demo_client: TestClient, demo_db: Session) -> None:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    params = {"municipality": "uithoorn"}
    assert demo_client.get("/api/v1/insights/referrals", params=params).status_code == 401
    professional = token_for(Role.professional, municipality_ids=[uithoorn.id])
    assert (
        demo_client.get(
            "/api/v1/insights/referrals", params=params, headers=professional
        ).status_code
        == 403
    )
    elsewhere = token_for(Role.editor, municipality_ids=[uuid.uuid4()])
    assert (
        demo_client.get("/api/v1/insights/referrals", params=params, headers=elsewhere).status_code
        == 403
    )


def test_the_search_api_counts_first_pages_only(demo_client: TestClient) -> None:
    api = next(r.app for r in demo_client.app.routes if getattr(r, "path", "") == "/api/v1")  # type: ignore[attr-defined]
    recorder: SearchRecorder = api.state.search_recorder
    before = recorder.pending()
    demo_client.get("/api/v1/search", params={"q": "geldzorgen", "municipality": "uithoorn"})
    demo_client.get("/api/v1/search", params={"q": "geldzorgen", "page": 2})
    demo_client.get("/api/v1/search", params={"q": "xyzzyqq", "neighbourhood": "thamerdal"})
    # one total row + one theme row for "geldzorgen", one total row for the empty search
    assert recorder.pending() - before == 3
    assert any(k.zero_results and k.area == "wijk:thamerdal" for k in recorder._tallies)
