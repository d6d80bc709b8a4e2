"""Verwijzen in Chromium (issue 8, "Done when"): a huisarts logs in, searches, clicks
"Verwijs", fills the form with the resident's consent and lands on the referral page; the
Financieel Café's provider finds it in the inbox and closes it as afgerond with an outcome;
the huisarts sees the outcome. axe-core finds no WCAG 2.1 AA violations on the form, the
referral page and the inbox; printing a recept prints only the recept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.service import create_user
from app.core.db import build_engine
from app.municipalities.models import Municipality
from app.organizations.models import Organization
from tests.browser.conftest import save_screenshot
from tests.browser.test_accessibility import WCAG_21_AA, _describe

pytestmark = pytest.mark.browser

PASSWORD = "lang-genoeg-wachtwoord-42"
HUISARTS = "huisarts@praktijk.example"
PROVIDER = "coordinator@uve.example"
ORGANISATION = "uithoorn-voor-elkaar"  # the Financieel Café's organisation
OUTCOME = "Komt elke dinsdag naar het café."


def _demo_database(base: Path) -> Path:
    """The SQLite file the live server runs on (tests/browser/conftest.py ``_build_demo``:
    <basetemp>/browser*/db/<uuid>.db; one per test session)."""
    found = sorted(base.glob("browser*/db/*.db"), key=lambda p: p.stat().st_mtime)
    assert found, f"no demo database under {base}"
    return found[-1]


@pytest.fixture(scope="module")
def accounts(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A huisarts (professional) and a provider of Uithoorn voor Elkaar, with passwords, in
    the live server's database (the app reads accounts from the database on every login)."""
    engine = build_engine(f"sqlite:///{_demo_database(tmp_path_factory.getbasetemp())}")
    try:
        with Session(engine) as session:
            uithoorn = session.exec(
                select(Municipality.id).where(Municipality.slug == "uithoorn")
            ).one()
            organisation = session.exec(
                select(Organization.id).where(Organization.slug == ORGANISATION)
            ).one()
            for email, name, role, organisations in (
                (HUISARTS, "Dokter Bakker", Role.professional, []),
                (PROVIDER, "Coördinator Financieel Café", Role.provider, [organisation]),
            ):
                create_user(
                    session=session,
                    email=email,
                    display_name=name,
                    role=role,
                    municipality_ids=[uithoorn],
                    organization_ids=organisations,
                    password=PASSWORD,
                )
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def people(
    browser: Browser, live_server: str, accounts: None
) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """Two browsers side by side (huisarts, provider); bypass_csp: axe has to be injected."""
    contexts = []
    for _ in range(2):
        ctx = browser.new_context(
            base_url=live_server, viewport={"width": 1280, "height": 800}, bypass_csp=True
        )
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
    yield contexts[0], contexts[1]
    for ctx in contexts:
        ctx.close()


def log_in(page: Page, email: str) -> None:
    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


def assert_accessible(page: Page) -> None:
    page.add_script_tag(path=str(Path(__file__).parents[2] / "node_modules/axe-core/axe.min.js"))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return {violations: r.violations, passes: r.passes.length};
        }""",
        WCAG_21_AA,
    )
    assert result["passes"] > 0
    assert not result["violations"], f"axe on {page.url}:\n{_describe(result['violations'])}"


def test_warm_referral_from_huisarts_to_provider_and_back(
    people: tuple[BrowserContext, BrowserContext],
) -> None:
    huisarts = people[0].new_page()
    log_in(huisarts, HUISARTS)
    huisarts.goto("/")
    huisarts.get_by_label("Waar zoekt u hulp bij?").fill("financieel café")
    with huisarts.expect_navigation():
        huisarts.get_by_role("button", name="Zoeken").click()
    with huisarts.expect_navigation():
        huisarts.get_by_role("link", name="Verwijs een inwoner naar Financieel Café").click()
    expect(huisarts).to_have_url(re.compile(r"/verwijzen/uve-financieel-cafe$"))
    expect(huisarts.get_by_role("heading", level=1)).to_have_text("Verwijzen")
    assert_accessible(huisarts)

    # Recept hides the resident's fields (CSS only); warm shows them again.
    huisarts.get_by_label("Welzijn op Recept").check()
    expect(huisarts.get_by_label("Naam van de inwoner")).to_be_hidden()
    huisarts.get_by_label("Warme overdracht").check()
    expect(huisarts.get_by_label("Naam van de inwoner")).to_be_visible()

    huisarts.get_by_label("Huisarts", exact=True).check()
    huisarts.get_by_label("Naam van de inwoner").fill("Jan Jansen")
    huisarts.get_by_label("Telefoonnummer", exact=True).fill("06 12345678")
    huisarts.get_by_label(re.compile("Ik heb dit aan de inwoner voorgelezen")).check()
    save_screenshot(huisarts, "referral-form")
    with huisarts.expect_navigation():
        huisarts.get_by_role("button", name="Verwijzing versturen").click()
    expect(huisarts).to_have_url(re.compile(r"/verwijzingen/[0-9a-f-]{36}\?verstuurd=1$"))
    referral_path = urlsplit(huisarts.url).path
    expect(huisarts.get_by_role("status")).to_contain_text("De verwijzing is verstuurd.")
    expect(huisarts.get_by_role("heading", level=2, name="Status: Verstuurd")).to_be_visible()
    assert_accessible(huisarts)

    # The provider: header link → inbox → the referral → afgerond with an outcome.
    provider = people[1].new_page()
    log_in(provider, PROVIDER)
    with provider.expect_navigation():
        provider.get_by_role("link", name="Verwijzingen", exact=True).click()
    expect(provider.get_by_role("heading", level=1)).to_have_text("Binnengekomen verwijzingen")
    assert_accessible(provider)
    save_screenshot(provider, "referral-inbox")
    with provider.expect_navigation():
        provider.locator(f'a[href="{referral_path}"]').click()
    expect(provider.get_by_text("Jan Jansen")).to_be_visible()
    assert_accessible(provider)  # with the status forms
    with provider.expect_navigation():
        provider.get_by_role("button", name="Ontvangen").click()
    expect(provider.get_by_role("heading", name="Status: Ontvangen")).to_be_visible()
    provider.get_by_label("Uitkomst voor de verwijzer (kort)").fill(OUTCOME)
    with provider.expect_navigation():
        provider.get_by_role("button", name="Afgerond").click()
    expect(provider.get_by_role("heading", name="Status: Afgerond")).to_be_visible()
    expect(provider.get_by_role("heading", name="Status bijwerken")).to_have_count(0)

    # The huisarts sees the outcome.
    huisarts.goto(referral_path)
    expect(huisarts.get_by_role("heading", name="Status: Afgerond")).to_be_visible()
    expect(huisarts.get_by_text(OUTCOME)).to_be_visible()
    save_screenshot(huisarts, "referral-outcome")


def test_a_printed_recept_shows_only_the_recept(
    people: tuple[BrowserContext, BrowserContext],
) -> None:
    page = people[0].new_page()
    log_in(page, HUISARTS)
    page.goto("/verwijzen/uve-financieel-cafe")
    page.get_by_label("Welzijn op Recept").check()
    page.get_by_label("Praktijkondersteuner (POH)").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Verwijzing versturen").click()
    code = page.locator(".sk-recept__code")
    expect(code).to_have_text(re.compile(r"^WR-[0-9A-Z]{4}-[0-9A-Z]{4}$"))
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(code).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_hidden()
    expect(page.locator(".sk-header")).to_be_hidden()
    expect(page.locator(".sk-timeline")).to_be_hidden()
