"""Hostile search text: query syntax of FTS5 and Meilisearch, SQL, huge, broken and exotic text.

Every answer is a 200 with a correct result or a 4xx problem+json in Dutch — never a 500.
tests/search/test_search_api.py already checks a first set of FTS5 operators on
``/api/v1/search`` and the 500-character cap; this file widens that to every search surface.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hostile import assert_dutch_problem

HOSTILE_TEXT = [
    # FTS5 syntax
    '"mantelzorg',
    'mantel" OR "schuld',
    "mantel*",
    "^mantelzorg",
    "title:mantelzorg",
    "{name description}: hulp",
    "NEAR(hulp geld, 2)",
    "hulp NOT geld",
    "(((((",
    ")))",
    "*",
    "-",
    "+",
    ":",
    # Meilisearch filter / query syntax
    "municipality = uithoorn OR 1 = 1",
    "themes IN [geld-en-schulden]",
    "_geoRadius(52.2, 4.8, 1000)",
    '"exact phrase" -negation',
    # quotes and SQL
    "'",
    '"',
    "''''",
    "' OR 1=1 --",
    "'; DROP TABLE service; --",
    "; DROP TABLE service;",
    "1; SELECT * FROM user_account",
    "%",
    "_",
    "\\",
    "\\'",
    # exotic text
    "😀🏳️‍🌈👨‍👩‍👧",
    "مرحبا بالعالم",
    "שלום",
    "\u202egnissim\u202c",
    "\u200b\u200c\u200d\ufeff",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "　",  # ideographic space
    "   ",
    "\x00",
    "hulp\x00geld",
    "\x01\x1b[31m\x7f",
]

API_SEARCH = [
    ("/api/v1/search", "q"),
    ("/api/v1/search/suggest", "q"),
    ("/hsds/services", "search"),
    ("/hsds/organizations", "search"),
    ("/hsds/service_at_locations", "search"),
    ("/hsds/taxonomies", "search"),
    ("/hsds/taxonomy_terms", "search"),
]


def _ok_or_problem(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_dutch_problem(response, response.status_code)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
@pytest.mark.parametrize(("path", "param"), API_SEARCH)
def test_hostile_text_is_searched_as_plain_text(
    demo_client: TestClient, path: str, param: str, text: str
) -> None:
    response = demo_client.get(path, params={param: text})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_on_the_search_page(demo_client: TestClient, text: str) -> None:
    response = demo_client.get("/zoeken", params={"q": text})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    # the text is shown escaped, never as markup
    assert "<script>" not in response.text


def test_sql_in_search_does_not_touch_the_tables(demo_client: TestClient) -> None:
    before = demo_client.get("/api/v1/services", params={"per_page": 1}).json()["total"]
    for text in ("'; DROP TABLE service; --", "; DROP TABLE service;", "' OR 1=1 --"):
        body = demo_client.get("/api/v1/search", params={"q": text}).json()
        assert body["total"] < before  # not "everything" because of OR 1=1
    assert demo_client.get("/api/v1/services", params={"per_page": 1}).json()["total"] == before


def test_script_in_search_text_is_escaped_on_the_page(demo_client: TestClient) -> None:
    response = demo_client.get("/zoeken", params={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


@pytest.mark.parametrize(("path", "param"), [*API_SEARCH, ("/zoeken", "q")])
def test_ten_thousand_characters(demo_client: TestClient, path: str, param: str) -> None:
    response = demo_client.get(path, params={param: "hulp " * 2000})
    _ok_or_problem(response)
    if path.startswith("/api/v1"):
        body = assert_dutch_problem(response, 400)
        assert "q" in body["detail"], body  # names the field that is too long


RAW_QUERIES = [
    "%ff%fe%fd",  # invalid UTF-8
    "%c3%28",  # broken two-byte sequence
    "%ed%a0%80",  # an encoded surrogate
    "%00",  # NUL
    "hulp%00geld",
    "%",  # a lone percent
    "%zz%",  # bad percent-escape
    "%%%25%2",
    "%e2%80%ae%e2%80%ad",  # bidi overrides
]


@pytest.mark.parametrize("raw", RAW_QUERIES)
@pytest.mark.parametrize(("path", "param"), [*API_SEARCH, ("/zoeken", "q")])
def test_broken_encodings_and_nul_bytes(
    demo_client: TestClient, path: str, param: str, raw: str
) -> None:
    response = demo_client.get(f"{path}?{param}={raw}")
    _ok_or_problem(response)
