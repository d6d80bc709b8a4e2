"""What a resident does, in Chromium: search, filter, open a voorziening and come back — with
the mouse, with the keyboard only, without JavaScript and on a small phone screen."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

MONEY = re.compile(r"geld|schuld|financ|budget|administrat", re.IGNORECASE)
RESULT_LINKS = ".sk-result__title a"


def _count(page: Page) -> int:
    """The number in "12 voorzieningen gevonden" (0 for "Niets gevonden")."""
    text = page.locator(".sk-results-count").inner_text()
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) if match else 0


def _params(url: str) -> dict[str, list[str]]:
    """The filters of a results URL (blank fields and the default sort left out)."""
    params = parse_qs(urlsplit(url).query)
    if params.get("sorteer") == ["relevantie"]:
        del params["sorteer"]
    return params


def _search_from_home(page: Page, query: str) -> None:
    page.goto("/")
    page.get_by_label("Waar zoekt u hulp bij?").fill(query)
    with page.expect_navigation():
        page.get_by_role("button", name="Zoeken").click()
    expect(page).to_have_url(re.compile(r"/zoeken\?q=" + query))


def _assert_money_help_on_top(page: Page) -> None:
    titles = page.locator(RESULT_LINKS).all_inner_texts()[:5]
    assert titles, "no results"
    assert any(MONEY.search(title) for title in titles), titles


def test_search_geldzorgen_open_detail_and_come_back(page: Page) -> None:
    _search_from_home(page, "geldzorgen")
    assert _count(page) > 0
    _assert_money_help_on_top(page)
    assert page.locator(".sk-result mark").count() > 0  # highlighted matches
    results_url = page.url
    first = page.locator(RESULT_LINKS).first
    name = first.inner_text()
    with page.expect_navigation():
        first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    with page.expect_navigation():
        page.get_by_role("link", name="Terug naar de zoekresultaten").click()
    assert page.url == results_url
    expect(page.get_by_label("Waar zoekt u hulp bij?")).to_have_value("geldzorgen")
    # The browser's own back button works as well.
    with page.expect_navigation():
        page.locator(RESULT_LINKS).first.click()
    page.go_back(wait_until="load")
    assert page.url == results_url


def test_filter_by_kern_and_age_then_remove_the_chips(page: Page) -> None:
    page.goto("/zoeken?q=geldzorgen")
    before = _count(page)
    page.get_by_label("Kern of wijk").select_option("kern:de-kwakel")
    page.get_by_label("Leeftijd (jaar)").fill("70")
    with page.expect_navigation():
        page.get_by_role("button", name="Filters toepassen").click()
    query = parse_qs(urlsplit(page.url).query)
    assert query["gebied"] == ["kern:de-kwakel"]
    assert query["leeftijd"] == ["70"]
    after = _count(page)
    assert after < before
    chips = page.get_by_role("list", name="Gekozen filters").get_by_role("link")
    expect(chips).to_have_count(2)
    expect(chips.filter(has_text="70 jaar")).to_have_count(1)
    expect(chips.filter(has_text="De Kwakel")).to_have_count(1)
    # The form keeps the choices.
    expect(page.get_by_label("Kern of wijk")).to_have_value("kern:de-kwakel")
    expect(page.get_by_label("Leeftijd (jaar)")).to_have_value("70")

    with page.expect_navigation():
        chips.filter(has_text="De Kwakel").click()
    assert "gebied" not in parse_qs(urlsplit(page.url).query)
    expect(page.get_by_label("Kern of wijk")).to_have_value("")
    expect(chips).to_have_count(1)
    assert after <= _count(page) <= before

    with page.expect_navigation():
        chips.filter(has_text="70 jaar").click()
    assert "leeftijd" not in parse_qs(urlsplit(page.url).query)
    expect(page.get_by_role("list", name="Gekozen filters")).to_have_count(0)
    assert _count(page) == before


def test_filter_by_wijk_and_age(page: Page) -> None:
    page.goto("/zoeken")
    everything = _count(page)
    wijken = page.locator("#gebied optgroup[label='Wijken'] option")
    assert wijken.count() > 0
    value = wijken.last.get_attribute("value")
    assert value
    assert value.startswith("wijk:")
    page.get_by_label("Kern of wijk").select_option(value)
    page.get_by_label("Leeftijd (jaar)").fill("12")
    with page.expect_navigation():
        page.get_by_role("button", name="Filters toepassen").click()
    assert parse_qs(urlsplit(page.url).query)["gebied"] == [value]
    # In the demo every voorziening serves the whole gemeente (so every wijk): the age narrows.
    assert 0 < _count(page) < everything
    expect(page.get_by_role("list", name="Gekozen filters").get_by_role("link")).to_have_count(2)
    expect(page.get_by_label("Kern of wijk")).to_have_value(value)


def _focus_is_visible(page: Page) -> bool:
    style = page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow};
        }"""
    )
    outlined = style["outline"] != "none" and style["width"] not in ("0px", "")
    return bool(outlined or style["shadow"] != "none")


def _active(page: Page, js: str) -> object:
    return page.evaluate(f"() => {{ const el = document.activeElement; return {js}; }}")


def test_keyboard_only_walkthrough(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    assert _active(page, "el.className") == "sk-skip-link"
    assert _active(page, "el.getAttribute('href')") == "#inhoud"
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    assert _active(page, "el.id") == "inhoud"  # focus moved to main

    # From main, Tab reaches the search box before anything else.
    page.keyboard.press("Tab")
    assert _active(page, "el.id") == "zoekvraag"
    assert _focus_is_visible(page)
    page.keyboard.type("geldzorgen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/zoeken?q=geldzorgen" in page.url

    first_href = page.locator(RESULT_LINKS).first.get_attribute("href")
    for _ in range(200):  # through the search box and the filters to the first result
        page.keyboard.press("Tab")
        if _active(page, "el.getAttribute('href')") == first_href:
            break
    else:
        pytest.fail("Tab never reached the first result")
    assert _focus_is_visible(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path.startswith("/voorzieningen/")
    expect(page.get_by_role("link", name="Terug naar de zoekresultaten")).to_be_visible()


def test_without_javascript_search_filter_and_detail(browser: Browser, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        assert page.locator("datalist").count() == 0  # app.js (search suggestions) did not run
        _search_from_home(page, "geldzorgen")
        _assert_money_help_on_top(page)
        before = _count(page)
        page.get_by_label("Kern of wijk").select_option("kern:de-kwakel")
        page.get_by_label("Leeftijd (jaar)").fill("70")
        with page.expect_navigation():
            page.get_by_role("button", name="Filters toepassen").click()
        assert 0 < _count(page) < before
        expect(page.get_by_role("list", name="Gekozen filters").get_by_role("link")).to_have_count(
            2
        )
        results_url = page.url
        with page.expect_navigation():
            page.locator(RESULT_LINKS).first.click()
        assert urlsplit(page.url).path.startswith("/voorzieningen/")
        with page.expect_navigation():
            page.get_by_role("link", name="Terug naar de zoekresultaten").click()
        assert _params(page.url) == _params(results_url)
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["/", "/zoeken?q=geldzorgen", "/voorzieningen/uve-financieel-cafe"]
)
def test_small_phone_has_no_horizontal_scrolling(
    browser: Browser, live_server: str, path: str
) -> None:
    context = browser.new_context(base_url=live_server, viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        page.goto(path)
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= 320 + 1, f"{path} is {width} px wide on a 320 px screen"
    finally:
        context.close()


def test_no_third_party_requests_and_no_cookies(context: BrowserContext, live_server: str) -> None:
    page = context.new_page()
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    page.goto("/")
    page.get_by_label("Waar zoekt u hulp bij?").press_sequentially("geld")
    with page.expect_navigation():
        page.get_by_role("button", name="Zoeken").click()
    with page.expect_navigation():
        page.locator(RESULT_LINKS).first.click()
    page.wait_for_load_state("networkidle")
    assert requests
    foreign = [url for url in requests if not url.startswith(live_server + "/")]
    assert not foreign, f"requests to other origins: {foreign}"
    assert context.cookies() == []


def _open(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.ok, f"{path}: {response.status}"


def test_screenshots_of_the_main_pages(
    context: BrowserContext, browser: Browser, live_server: str
) -> None:
    page = context.new_page()
    _open(page, "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    save_screenshot(page, "home")
    _open(page, "/zoeken?q=geldzorgen")
    expect(page.locator(RESULT_LINKS).first).to_be_visible()
    save_screenshot(page, "results")
    _open(page, "/voorzieningen/uve-financieel-cafe")
    expect(page.get_by_role("heading", level=1)).to_have_text("Financieel Café")
    save_screenshot(page, "detail")
    phone = browser.new_context(
        base_url=live_server,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    try:
        mobile = phone.new_page()
        _open(mobile, "/zoeken?q=geldzorgen")
        expect(mobile.locator(RESULT_LINKS).first).to_be_visible()
        save_screenshot(mobile, "results-phone")
    finally:
        phone.close()
