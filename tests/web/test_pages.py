"""The public pages, server-side: what a resident sees, without JavaScript and without
cookies, rendered from the public API only."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.services.models import Service


def results_count(html: str) -> str:
    match = re.search(r'class="sk-results-count"[^>]*>\s*([^<]*?)\s*<', html)
    return match.group(1) if match else ""


def result_slugs(html: str) -> list[str]:
    return re.findall(r'class="sk-result__title"><a href="/voorzieningen/([a-z0-9-]+)\?', html)


def test_home_has_one_search_box_and_theme_tiles(demo_client: TestClient) -> None:
    response = demo_client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nl">' in html
    assert "Waar zoekt u hulp bij?" in html
    assert html.count('role="search"') == 1
    assert 'href="#inhoud"' in html  # skip link
    assert 'href="/zoeken?thema=geld-en-schulden"' in html
    assert "Geld en schulden" in html
    assert "set-cookie" not in response.headers
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_search_geldzorgen_finds_money_help(demo_client: TestClient) -> None:
    response = demo_client.get("/zoeken", params={"q": "geldzorgen"})
    assert response.status_code == 200
    assert "voorzieningen gevonden" in results_count(response.text)
    slugs = result_slugs(response.text)
    assert len(slugs) == 10  # a page
    assert any("geld" in s or "schuld" in s or "financieel" in s for s in slugs[:5]), slugs
    assert "<mark>" in response.text  # highlighted matches
    assert "set-cookie" not in response.headers


def test_filters_by_theme_area_and_age_narrow_the_results(demo_client: TestClient) -> None:
    everything = demo_client.get("/zoeken", params={"thema": "geld-en-schulden"})
    narrowed = demo_client.get(
        "/zoeken",
        params={"thema": "geld-en-schulden", "gebied": "kern:de-kwakel", "leeftijd": "8"},
    )
    total = int(results_count(everything.text).split()[0])
    fewer = results_count(narrowed.text)
    assert fewer == "Niets gevonden" or int(fewer.split()[0]) < total
    # The chosen filters show as chips that remove them again.
    assert 'aria-label="Gekozen filters"' in narrowed.text
    assert "8 jaar" in narrowed.text
    assert "De Kwakel" in narrowed.text


def test_facet_counts_and_pagination(demo_client: TestClient) -> None:
    first = demo_client.get("/zoeken", params={"pagina": "1", "sorteer": "naam"})
    assert "96 voorzieningen gevonden" in first.text
    assert re.search(r'Geld en schulden <span class="sk-count">\(\d+\)</span>', first.text)
    assert 'aria-current="page"' in first.text
    second = demo_client.get("/zoeken", params={"pagina": "2", "sorteer": "naam"})
    assert set(result_slugs(first.text)).isdisjoint(result_slugs(second.text))


def test_postcode_sorts_by_distance(demo_client: TestClient) -> None:
    response = demo_client.get("/zoeken", params={"postcode": "1424", "sorteer": "afstand"})
    assert response.status_code == 200
    assert "Afstand: ongeveer" in response.text  # the demo's points are PC4/kern centroids


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"thema": "bestaat-niet"}, 422, "bestaat niet"),
        ({"postcode": "9999ZZ"}, 422, "9999ZZ"),
        ({"leeftijd": "oud"}, 400, "Vul bij leeftijd een getal in"),
        ({"q": "x" * 600}, 200, "gevonden"),  # cut to the API's 500 characters
    ],
)
def test_bad_input_is_explained_in_dutch(
    demo_client: TestClient, params: dict[str, str], status: int, message: str
) -> None:
    response = demo_client.get("/zoeken", params=params)
    assert response.status_code == status
    assert message in response.text


def test_query_text_is_escaped(demo_client: TestClient) -> None:
    response = demo_client.get("/zoeken", params={"q": '<script>alert("x")</script>'})
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text


def test_detail_page_shows_what_where_cost_and_checked_date(demo_client: TestClient) -> None:
    response = demo_client.get(
        "/voorzieningen/uve-financieel-cafe", params={"terug": "/zoeken?q=geld"}
    )
    assert response.status_code == 200
    html = response.text
    assert "<h1>Financieel Café</h1>" in html
    assert "Uithoorn voor Elkaar" in html
    assert "Kosten" in html
    assert "Laatst gecontroleerd: 1 november 2024" in html
    assert 'href="/zoeken?q=geld"' in html  # back to the results
    assert "/voorzieningen/uve-financieel-cafe/melden" in html  # klopt er iets niet?
    printable = demo_client.get("/voorzieningen/uve-financieel-cafe/afdrukken")
    assert printable.status_code == 200
    assert "Financieel Café" in printable.text


def test_back_link_only_to_our_own_results(demo_client: TestClient) -> None:
    response = demo_client.get(
        "/voorzieningen/uve-financieel-cafe", params={"terug": "https://evil.example/zoeken?"}
    )
    assert "evil.example" not in response.text


def test_hidden_listings_are_not_shown(demo_client: TestClient, demo_db: Session) -> None:
    service = demo_db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    service.admission_status = "ingediend"
    demo_db.add(service)
    demo_db.commit()
    response = demo_client.get("/voorzieningen/uve-financieel-cafe")
    assert response.status_code == 404
    assert "Niet gevonden" in response.text or "bestaat niet" in response.text


def test_organisation_page_lists_its_public_services(demo_client: TestClient) -> None:
    response = demo_client.get("/organisaties/uithoorn-voor-elkaar")
    assert response.status_code == 200
    assert 'href="/voorzieningen/uve-financieel-cafe"' in response.text
    assert demo_client.get("/organisaties/bestaat-niet").status_code == 404


def test_theme_css_comes_from_settings(demo_client: TestClient) -> None:
    response = demo_client.get("/theme.css")
    assert response.headers["content-type"].startswith("text/css")
    assert "--sk-color-primary:#00587a" in response.text


def test_static_files_are_local_and_small(demo_client: TestClient) -> None:
    js = demo_client.get("/static/app.js")
    assert js.status_code == 200
    assert len(js.content) < 5_000  # the results page works with a few kB of JS
    page = demo_client.get("/zoeken", params={"q": "eenzaam"}).text
    assert not re.search(r'(src|href)="(https?:)?//', page.split("<main")[0])  # nothing remote


def test_detail_page_falls_back_to_the_organisations_phone(demo_client: TestClient) -> None:
    """Most demo listings have no phone of their own; the organisation's number is shown."""
    detail = demo_client.get("/api/v1/services/mem-mantelzorgondersteuning").json()
    assert not detail["phones"]
    organization = demo_client.get("/api/v1/organizations/mantelzorg-en-meer").json()
    assert organization["phones"], "the demo organisation has a phone number"
    page = demo_client.get("/voorzieningen/mem-mantelzorgondersteuning").text
    assert f"Telefoon van {html.escape(organization['name'])}" in page
    assert organization["phones"][0]["number"] in page


def test_filters_fold_away_on_small_screens_but_work_without_javascript(
    demo_client: TestClient,
) -> None:
    page = demo_client.get("/zoeken", params={"thema": "geld-en-schulden", "leeftijd": "70"}).text
    assert '<details class="sk-results-layout__filters" open data-fold-on-small-screens>' in page
    assert "(2 gekozen)" in page
