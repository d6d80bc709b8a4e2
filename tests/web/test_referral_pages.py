"""Verwijzen through the pages (issue 8, item 5): a huisarts refers a resident (warm, with
consent) to the Financieel Café, the provider sees it in the inbox and closes it with an
outcome, the huisarts sees the outcome; a recept sends no personal data, prints, and is
redeemed with its code; validation, consent, cross-site POSTs, roles and ``no-store``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.service import create_user
from app.organizations.models import Organization
from app.referrals.models import Referral
from app.services.models import Service
from tests.conftest import account
from tests.web.test_pro_mode import PASSWORD, log_in, uithoorn_id

SERVICE = "uve-financieel-cafe"
FORM = f"/verwijzen/{SERVICE}"
SAME_SITE = {"Origin": "http://testserver"}
HUISARTS = "huisarts@praktijk.example"
PROVIDER = "coordinator@uve.example"
OUTSIDER = "andere@aanbieder.example"
WARM = {
    "modus": "warm",
    "verwijzer": "huisarts",
    "thema": ["geld-en-schulden"],
    "urgentie": "snel",
    "naam": "Jan Jansen",
    "telefoon": "06 12345678",
    "email": "",
    "toelichting": "Belt liever 's ochtends.",
    "toestemming": "ja",
}


@pytest.fixture
def people(demo_db: Session) -> None:
    municipality = uithoorn_id(demo_db)
    cafe = demo_db.exec(select(Service).where(Service.slug == SERVICE)).one()
    other = demo_db.exec(
        select(Organization).where(Organization.id != cafe.organization_id)
    ).first()
    assert other is not None
    account(demo_db, HUISARTS, "Dokter Bakker", Role.professional, municipality, PASSWORD)
    for email, org in ((PROVIDER, cafe.organization_id), (OUTSIDER, other.id)):
        create_user(
            session=demo_db,
            email=email,
            display_name="Aanbieder",
            role=Role.provider,
            municipality_ids=[municipality],
            organization_ids=[org],
            password=PASSWORD,
        )
    demo_db.commit()


def as_user(client: TestClient, email: str) -> None:
    client.cookies.clear()
    assert log_in(client, email, PASSWORD).status_code == 303


def post(client: TestClient, path: str, data: dict[str, Any], **headers: str) -> Any:
    return client.post(path, data=data, headers={**SAME_SITE, **headers}, follow_redirects=False)


def refer(client: TestClient, data: dict[str, Any]) -> str:
    sent = post(client, FORM, data)
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    match = re.fullmatch(r"/verwijzingen/([0-9a-f-]{36})\?verstuurd=1", location)
    assert match, location
    return match.group(1)


def version_of(page: str) -> str:
    found = re.search(r'name="versie" value="(\d+)"', page)
    assert found, "no status form"
    return found.group(1)


@pytest.mark.usefixtures("people")
def test_warm_referral_through_the_pages(demo_client: TestClient, demo_db: Session) -> None:
    as_user(demo_client, HUISARTS)
    # Results and detail offer "Verwijs" to the professional.
    results = demo_client.get("/zoeken", params={"q": "financieel café"})
    assert f'href="/verwijzen/{SERVICE}"' in results.text
    assert 'href="/verwijzingen"' in results.text  # the header link
    detail = demo_client.get(f"/voorzieningen/{SERVICE}")
    assert f'href="/verwijzen/{SERVICE}"' in detail.text

    form = demo_client.get(FORM)
    assert form.status_code == 200
    assert "no-store" in form.headers["cache-control"]
    assert "Warme overdracht" in form.text
    assert "Welzijn op Recept" in form.text
    # The consent label says what the resident agrees to: organisation, service, days.
    consent = re.search(r'<label for="toestemming">(.*?)</label>', form.text, re.S)
    assert consent is not None
    assert "Uithoorn voor Elkaar" in consent.group(1)
    assert "Financieel Café" in consent.group(1)
    assert "90 dagen" in consent.group(1)
    # The service's themes, preselected.
    assert re.search(r'value="geld-en-schulden" checked', form.text)

    rid = refer(demo_client, WARM)
    page = demo_client.get(f"/verwijzingen/{rid}?verstuurd=1")
    assert page.status_code == 200
    assert "no-store" in page.headers["cache-control"]
    assert "De verwijzing is verstuurd." in page.text
    assert "Jan Jansen" in page.text
    assert "Status: Verstuurd" in page.text
    assert "Status bijwerken" not in page.text  # only the receiving provider
    mine = demo_client.get("/verwijzingen")
    assert "Mijn verwijzingen" in mine.text
    assert rid in mine.text
    assert "Recept met code inleveren" not in mine.text

    # The provider's inbox.
    as_user(demo_client, PROVIDER)
    inbox = demo_client.get("/verwijzingen")
    assert inbox.status_code == 200
    assert "Binnengekomen verwijzingen" in inbox.text
    assert f"/verwijzingen/{rid}" in inbox.text
    assert "Recept met code inleveren" in inbox.text
    assert "no-store" in inbox.headers["cache-control"]
    page = demo_client.get(f"/verwijzingen/{rid}")
    assert "Jan Jansen" in page.text
    assert "06 12345678" in page.text
    assert "Belt liever" in page.text
    received = post(
        demo_client,
        f"/verwijzingen/{rid}/status",
        {"status": "ontvangen", "versie": version_of(page.text)},
    )
    assert received.status_code == 303
    assert received.headers["location"] == f"/verwijzingen/{rid}?bijgewerkt=1"
    page = demo_client.get(received.headers["location"])
    assert "Status: Ontvangen" in page.text
    assert 'value="ontvangen"' not in page.text  # no way back
    # An outcome only when closing.
    early = post(
        demo_client,
        f"/verwijzingen/{rid}/status",
        {"status": "in-contact", "uitkomst": "Te vroeg", "versie": version_of(page.text)},
    )
    assert early.status_code == 422
    assert 'id="uitkomst-fout"' in early.text
    # A stale version is refused and explained.
    stale = post(
        demo_client, f"/verwijzingen/{rid}/status", {"status": "in-contact", "versie": "1"}
    )
    assert stale.status_code == 409
    assert "intussen veranderd" in stale.text
    done = post(
        demo_client,
        f"/verwijzingen/{rid}/status",
        {
            "status": "afgerond",
            "uitkomst": "Komt elke dinsdag naar het café.",
            "versie": version_of(page.text),
        },
    )
    assert done.status_code == 303
    closed = demo_client.get(f"/verwijzingen/{rid}")
    assert "Status: Afgerond" in closed.text
    assert "Status bijwerken" not in closed.text  # closed: nothing more to do
    filtered = demo_client.get("/verwijzingen", params={"status": "verstuurd"})
    assert rid not in filtered.text
    assert rid in demo_client.get("/verwijzingen", params={"status": "afgerond"}).text

    # The huisarts sees the outcome and the timeline.
    as_user(demo_client, HUISARTS)
    seen = demo_client.get(f"/verwijzingen/{rid}")
    assert "Komt elke dinsdag naar het café." in seen.text
    timeline = seen.text.split('id="verloop-titel"', 1)[1]
    for label in ("Verstuurd", "Ontvangen", "Afgerond"):
        assert label in timeline

    # After the retention period the page says the personal data is gone.
    row = demo_db.exec(select(Referral)).one()
    demo_db.refresh(row)
    row.contact_name_enc = row.contact_phone_enc = row.note_enc = row.outcome_enc = None
    row.erased_at = row.closed_at
    demo_db.add(row)
    demo_db.commit()
    erased = demo_client.get(f"/verwijzingen/{rid}")
    assert "persoonsgegevens zijn gewist" in erased.text
    assert "Jan Jansen" not in erased.text


@pytest.mark.usefixtures("people")
def test_recept_sends_no_personal_data_prints_and_is_redeemed(
    demo_client: TestClient, demo_db: Session
) -> None:
    as_user(demo_client, HUISARTS)
    # Personal fields typed by mistake are never sent with a recept.
    rid = refer(demo_client, {**WARM, "modus": "recept"})
    row = demo_db.exec(text("SELECT * FROM referral")).mappings().one()  # type: ignore[call-overload]
    for name in ("note_enc", "contact_name_enc", "contact_phone_enc", "contact_email_enc"):
        assert row[name] is None
    assert row["consent_at"] is None
    page = demo_client.get(f"/verwijzingen/{rid}?verstuurd=1")
    assert "Jan Jansen" not in page.text
    assert 'class="sk-print-recept"' in page.text  # print CSS: only the recept
    recept = page.text.split('class="sk-recept"', 1)[1]
    code = row["reference_code"]
    assert f'<p class="sk-recept__code">{code}</p>' in recept
    assert "Financieel Café" in recept

    as_user(demo_client, PROVIDER)
    wrong = post(demo_client, "/verwijzingen/inleveren", {"code": "WR-XXXX-XXXX"})
    assert wrong.status_code == 422
    assert 'id="code-fout"' in wrong.text
    assert "Fout:" in wrong.text
    used = post(demo_client, "/verwijzingen/inleveren", {"code": code.lower()})
    assert used.status_code == 303
    assert used.headers["location"] == f"/verwijzingen/{rid}?ingeleverd=1"
    page = demo_client.get(used.headers["location"])
    assert "Recept gebruikt op" in page.text
    again = post(demo_client, "/verwijzingen/inleveren", {"code": code})
    assert again.status_code == 422
    assert "al gebruikt" in again.text


@pytest.mark.usefixtures("people")
def test_validation_errors_next_to_the_fields(demo_client: TestClient, demo_db: Session) -> None:
    as_user(demo_client, HUISARTS)
    # Page checks: no role, no name, no phone or e-mail.
    empty = post(demo_client, FORM, {"modus": "warm", "toestemming": "ja"})
    assert empty.status_code == 422
    assert empty.text.count('class="sk-field-error"') >= 3
    assert "<title>Fout:" in empty.text
    assert 'href="#naam"' in empty.text
    assert 'id="naam-fout"' in empty.text
    # The API's checks, mapped to the fields: a phone number and an e-mail that are not.
    bad = post(demo_client, FORM, {**WARM, "telefoon": "12", "email": "geen-mail"})
    assert bad.status_code == 422
    assert 'id="telefoon-fout"' in bad.text
    assert 'id="email-fout"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert 'value="Jan Jansen"' in bad.text  # typed values stay
    assert demo_db.exec(select(Referral)).first() is None


@pytest.mark.usefixtures("people")
def test_without_consent_nothing_is_sent(demo_client: TestClient, demo_db: Session) -> None:
    as_user(demo_client, HUISARTS)
    refused = post(demo_client, FORM, {**WARM, "toestemming": ""})
    assert refused.status_code == 422
    assert 'id="toestemming-fout"' in refused.text
    assert "toestemming" in refused.text.split('id="fouten"', 1)[1].split("</div>", 1)[0]
    assert demo_db.exec(select(Referral)).first() is None


@pytest.mark.usefixtures("people")
def test_cross_site_posts_are_refused(demo_client: TestClient, demo_db: Session) -> None:
    as_user(demo_client, HUISARTS)
    for headers in ({"Origin": "https://elders.example"}, {"Sec-Fetch-Site": "cross-site"}):
        forged = demo_client.post(FORM, data=WARM, headers=headers, follow_redirects=False)
        assert forged.status_code == 403
        assert "andere website" in forged.text
    assert demo_db.exec(select(Referral)).first() is None
    rid = refer(demo_client, WARM)
    as_user(demo_client, PROVIDER)
    forged = demo_client.post(
        f"/verwijzingen/{rid}/status",
        data={"status": "afgewezen"},
        headers={"Origin": "https://elders.example"},
    )
    assert forged.status_code == 403
    forged = demo_client.post(
        "/verwijzingen/inleveren", data={"code": "WR-AAAA-BBBB"}, headers={"Origin": "null"}
    )
    assert forged.status_code == 403


@pytest.mark.usefixtures("people")
def test_roles(demo_client: TestClient) -> None:
    # Not logged in: to the login page, back here afterwards.
    for path in (FORM, "/verwijzingen", "/verwijzingen/00000000-0000-0000-0000-000000000000"):
        anonymous = demo_client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/inloggen?volgende=%2Fverwijz")
    assert post(demo_client, FORM, WARM).headers["location"].startswith("/inloggen?")

    as_user(demo_client, HUISARTS)
    rid = refer(demo_client, WARM)
    assert demo_client.get("/verwijzingen/geen-id").status_code == 404

    # A provider cannot refer (no link, the form is refused).
    as_user(demo_client, PROVIDER)
    assert "/verwijzen/" not in demo_client.get("/zoeken", params={"q": "geldzorgen"}).text
    assert demo_client.get(FORM).status_code == 403
    assert post(demo_client, FORM, WARM).status_code == 403
    assert 'href="/verwijzingen"' in demo_client.get("/").text

    # Another organisation's provider: a 404 page, nothing of the resident.
    as_user(demo_client, OUTSIDER)
    other = demo_client.get(f"/verwijzingen/{rid}")
    assert other.status_code == 404
    assert "Jan Jansen" not in other.text
    assert rid not in demo_client.get("/verwijzingen").text
    moved = post(demo_client, f"/verwijzingen/{rid}/status", {"status": "afgewezen"})
    assert moved.status_code == 404

    # The huisarts cannot change the status.
    as_user(demo_client, HUISARTS)
    assert (
        post(demo_client, f"/verwijzingen/{rid}/status", {"status": "afgewezen"}).status_code == 403
    )


def test_editors_get_no_referral_pages(demo_client: TestClient, demo_db: Session) -> None:
    account(demo_db, "redactie@example.nl", "Redactie", Role.editor, uithoorn_id(demo_db), PASSWORD)
    as_user(demo_client, "redactie@example.nl")
    assert demo_client.get("/verwijzingen").status_code == 403
    assert demo_client.get(FORM).status_code == 403
    assert 'href="/verwijzingen"' not in demo_client.get("/").text
