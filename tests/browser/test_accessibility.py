"""axe-core (from npm, node_modules/axe-core) in Chromium: zero WCAG 2.1 A/AA violations on
every public page a resident sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.browser.conftest import AXE

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "home": "/",
    "results": "/zoeken?q=geldzorgen",
    "results with filters": (
        "/zoeken?q=geldzorgen&thema=geld-en-schulden&gebied=kern:uithoorn&leeftijd=70&kosten=gratis"
    ),
    "results by postcode": "/zoeken?postcode=1422&sorteer=afstand",
    "no results": "/zoeken?q=xyzzyquux",
    "input error": "/zoeken?leeftijd=oud",
    "detail": "/voorzieningen/uve-financieel-cafe?terug=%2Fzoeken%3Fq%3Dgeldzorgen",
    "print": "/voorzieningen/uve-financieel-cafe/afdrukken",
    "organisation": "/organisaties/uithoorn-voor-elkaar",
    "not found": "/voorzieningen/bestaat-niet",
}


@pytest.fixture(scope="module")
def axe_context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    """bypass_csp: the pages forbid inline and injected scripts, axe has to be injected."""
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    yield context
    context.close()


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(
            f"    {node['target']}: {node['failureSummary']!r}" for node in violation["nodes"][:5]
        )
    return "\n".join(lines)


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_axe_reports_no_wcag_21_aa_violations(axe_context: BrowserContext, path: str) -> None:
    page = axe_context.new_page()
    try:
        response = page.goto(path, wait_until="load")
        assert response is not None
        assert response.status < 500, f"{path}: {response.status}"
        page.add_script_tag(path=AXE)
        result = page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
                return {violations: r.violations, passes: r.passes.length};
            }""",
            WCAG_21_AA,
        )
        assert result["passes"] > 0  # axe really ran
        violations = result["violations"]
        assert not violations, f"axe on {path}:\n{_describe(violations)}"
    finally:
        page.close()
