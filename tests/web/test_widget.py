"""The embeddable widget: /widget (framed by partner sites) and /widget.js (the snippet's
script)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.web.widget import frame_ancestors


def test_widget_shows_a_search_box_and_top_results_for_a_theme(demo_client: TestClient) -> None:
    response = demo_client.get("/widget", params={"thema": "geld-en-schulden"})
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nl">' in html
    assert '<label for="widget-zoekvraag"' in html
    assert "Geld en schulden" in html
    assert '<input type="hidden" name="thema" value="geld-en-schulden">' in html
    links = re.findall(r'<a href="/voorzieningen/[a-z0-9-]+" target="_top">', html)
    assert 1 <= len(links) <= 5
    assert re.search(r'<a href="/zoeken\?thema=geld-en-schulden" target="_top">Alle \d+', html)
    assert "<script" not in html  # works without any script
    assert "set-cookie" not in response.headers


def test_widget_may_be_framed_by_any_site_by_default(demo_client: TestClient) -> None:
    response = demo_client.get("/widget", params={"gebied": "kern:de-kwakel", "q": "koffie"})
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors *" in csp
    assert "script-src 'none'" in csp
    assert "form-action 'self'" in csp
    assert response.headers["x-frame-options"] == "ALLOWALL"  # not the middleware's DENY
    assert '<input type="hidden" name="gebied" value="kern:de-kwakel">' in response.text
    # Every other page still refuses to be framed.
    home = demo_client.get("/")
    assert home.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]


def test_widget_ancestors_come_from_the_settings(demo_client: TestClient) -> None:
    settings: Settings = demo_client.app.state.settings  # type: ignore[attr-defined]
    demo_client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"web_widget_ancestors": ["https://www.uithoorn.nl", "https://*.partner.nl"]}
    )
    response = demo_client.get("/widget")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors https://www.uithoorn.nl https://*.partner.nl" in csp
    assert response.headers["x-frame-options"] == "ALLOWALL"  # CSP decides; XFO cannot list


def test_frame_ancestors_leave_out_what_is_not_a_source() -> None:
    def ancestors(*values: str) -> str:
        return frame_ancestors(Settings(web_widget_ancestors=list(values)))

    assert ancestors("*") == "*"
    assert ancestors("'self'") == "'self'"
    assert ancestors("https:", "http://localhost:8080") == "https: http://localhost:8080"
    assert ancestors("https://a.nl; script-src *", "https://b.nl") == "https://b.nl"
    assert ancestors("evil.nl report-uri x") == "'none'"
    assert ancestors() == "'none'"


def test_widget_with_an_unknown_theme_or_area_is_a_friendly_page(demo_client: TestClient) -> None:
    for params in ({"thema": "bestaat-niet"}, {"gebied": "wijk:Geen Slug!"}):
        response = demo_client.get("/widget", params=params)
        assert response.status_code in (400, 422), params
        assert "Dit onderwerp of gebied kennen we niet." in response.text
        assert "frame-ancestors *" in response.headers["content-security-policy"]


def test_widget_js_places_an_accessible_lazy_iframe(demo_client: TestClient) -> None:
    response = demo_client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "set-cookie" not in response.headers
    script = response.text
    assert len(script.encode()) < 2500
    for needle in (
        'createElement("iframe")',
        "frame.title",
        'frame.loading = "lazy"',
        '"/widget"',
        "data-",
        "thema",
        "gebied",
        "hoogte",
        "document.currentScript",
    ):
        assert needle in script, needle
    assert "document.cookie" not in script
