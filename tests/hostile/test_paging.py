"""Huge page numbers, negative and zero sizes on every list endpoint.

tests/test_api_read.py::test_bad_paging_is_a_400_problem covers /api/v1/services; this file
covers every other list: a too-large or non-positive size is a 400 problem in Dutch, a page past
the end is either an empty page (200) or a 400 problem — never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Role
from app.municipalities.models import Municipality
from tests.hostile import assert_dutch_problem
from tests.test_authorization import token_for

PUBLIC_LISTS = [
    "/api/v1/services",
    "/api/v1/organizations",
    "/api/v1/search",
    "/hsds/services",
    "/hsds/organizations",
    "/hsds/service_at_locations",
    "/hsds/taxonomies",
    "/hsds/taxonomy_terms",
]
EDITOR_LISTS = ["/api/v1/referrals", "/api/v1/feedback", "/api/v1/audit-events"]

BAD_SIZES: list[dict[str, Any]] = [
    {"per_page": 0},
    {"per_page": -1},
    {"per_page": -(10**30)},
    {"per_page": 10**30},
    {"per_page": 1_000_000},
    {"per_page": "veel"},
    {"per_page": "1.5"},
    {"page": 0},
    {"page": -1},
    {"page": -(10**30)},
    {"page": 10**30},
    {"page": "NaN"},
    {"page": "Infinity"},
]
HUGE_PAGES: list[dict[str, Any]] = [{"page": 10_000}, {"page": 2**31}, {"page": 2**63}]


@pytest.fixture
def editor(demo_db: Session) -> dict[str, str]:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    headers = token_for(Role.editor, municipality_ids=[uithoorn.id])
    del headers["If-Match"]
    return headers


@pytest.fixture
def professional(demo_db: Session) -> dict[str, str]:
    uithoorn = demo_db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
    headers = token_for(Role.professional, municipality_ids=[uithoorn.id])
    del headers["If-Match"]
    return headers


def _list(client: TestClient, path: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
    if path == "/api/v1/search":
        params = {**params, "q": "hulp"}
    return client.get(path, params=params, headers=headers)


def _headers(path: str, editor: dict[str, str], professional: dict[str, str]) -> dict[str, str]:
    if path == "/api/v1/referrals":
        return professional
    return editor if path in EDITOR_LISTS else {}


@pytest.mark.parametrize("params", BAD_SIZES, ids=str)
@pytest.mark.parametrize("path", PUBLIC_LISTS + EDITOR_LISTS)
def test_bad_sizes_are_a_400_problem(
    demo_client: TestClient,
    editor: dict[str, str],
    professional: dict[str, str],
    path: str,
    params: dict[str, Any],
) -> None:
    response = _list(demo_client, path, params, _headers(path, editor, professional))
    assert_dutch_problem(response, 400)


@pytest.mark.parametrize("params", HUGE_PAGES, ids=str)
@pytest.mark.parametrize("path", PUBLIC_LISTS + EDITOR_LISTS)
def test_a_page_far_past_the_end_is_empty_or_refused(
    demo_client: TestClient,
    editor: dict[str, str],
    professional: dict[str, str],
    path: str,
    params: dict[str, Any],
) -> None:
    response = _list(demo_client, path, params, _headers(path, editor, professional))
    if response.status_code == 200:
        body = response.json()
        items = body.get("items", body.get("contents"))
        assert items == [], body
    else:
        assert_dutch_problem(response, 400)


INSIGHTS = [
    "/api/v1/insights/referrals",
    "/api/v1/insights/searches",
    "/api/v1/insights/supply",
    "/api/v1/insights/export.csv",
]
BAD_PERIODS: list[dict[str, Any]] = [
    {"from": "0000-01-01"},
    {"from": "-0001-01-01"},
    {"to": "99999-12-31"},
    {"from": "2026-13-01"},
    {"from": "2026-02-30"},
    {"from": "gisteren"},
    {"from": "2030-01-01", "to": "2020-01-01"},
    {"municipality": "Niet Een Slug"},
    {"municipality": "x" * 10_000},
]


@pytest.mark.parametrize("params", BAD_PERIODS, ids=str)
@pytest.mark.parametrize("path", INSIGHTS)
def test_insights_refuse_bad_periods(
    demo_client: TestClient, editor: dict[str, str], path: str, params: dict[str, Any]
) -> None:
    response = demo_client.get(path, params={"municipality": "uithoorn", **params}, headers=editor)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert_dutch_problem(response, response.status_code)
        assert response.status_code in (400, 404, 422)


@pytest.mark.parametrize("path", INSIGHTS)
def test_insights_over_a_thousand_years(
    demo_client: TestClient, editor: dict[str, str], path: str
) -> None:
    response = demo_client.get(
        path,
        params={"municipality": "uithoorn", "from": "0001-01-01", "to": "9999-12-31"},
        headers=editor,
    )
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert_dutch_problem(response, response.status_code)
