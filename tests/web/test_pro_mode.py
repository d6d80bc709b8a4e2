"""Professional mode: logging in and out through the pages, the session cookies, the
professional-only block and search tools, and the provider's check of a listing (the link in
the freshness reminder)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.service import create_user
from app.core.config import Environment
from app.municipalities.models import Municipality
from app.services.models import Service
from app.web import views
from app.web.pages import local_path
from tests.conftest import account, make_settings

PASSWORD = "lang-genoeg-wachtwoord-42"
SERVICE = "uve-financieel-cafe"
DIRECT = "0297 123 456"


def uithoorn_id(db: Session) -> uuid.UUID:
    return db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()


def log_in(client: TestClient, email: str, password: str, next_path: str = "/") -> Any:
    return client.post(
        "/inloggen",
        data={"email": email, "wachtwoord": password, "volgende": next_path},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )


def cookies_of(response: Any) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the whole header, lower case)."""
    return {
        header.split("=", 1)[0]: header.lower()
        for header in response.headers.get_list("set-cookie")
    }


def professional(db: Session, email: str = "poh@example.nl", role: Role = Role.professional) -> Any:
    return account(db, email, "Petra de Vries", role, uithoorn_id(db), PASSWORD)


def logged_in_professional(client: TestClient, db: Session) -> None:
    professional(db)
    assert log_in(client, "poh@example.nl", PASSWORD).status_code == 303


def provider_of(db: Session, service_slug: str, email: str = "aanbieder@example.nl") -> Any:
    service = db.exec(select(Service).where(Service.slug == service_slug)).one()
    user = create_user(
        session=db,
        email=email,
        display_name="Aanbieder",
        role=Role.provider,
        municipality_ids=[uithoorn_id(db)],
        organization_ids=[service.organization_id],
        password=PASSWORD,
    )
    db.commit()
    return user


@pytest.fixture
def direct_line(demo_db: Session) -> Service:
    service = demo_db.exec(select(Service).where(Service.slug == SERVICE)).one()
    service.professional_phone = DIRECT
    service.referral_procedure = "Bel de coördinator; zij plant binnen een week een intake."
    demo_db.add(service)
    demo_db.commit()
    return service


# --- anonymous visitors -----------------------------------------------------------------------


def test_anonymous_visitors_get_no_cookies(demo_client: TestClient) -> None:
    for path in (
        "/",
        "/zoeken?q=geldzorgen",
        "/zoeken?q=geldzorgen&weergave=compact",
        f"/voorzieningen/{SERVICE}",
        f"/voorzieningen/{SERVICE}/melden",
        "/inloggen",
        "/wachtwoord-vergeten",
        "/widget?thema=geld-en-schulden",
        "/voorzieningen/bestaat-niet",
    ):
        response = demo_client.get(path)
        assert response.status_code in (200, 404), path
        assert "set-cookie" not in response.headers, path
        assert "Uitloggen" not in response.text
    assert not demo_client.cookies


def test_anonymous_pages_have_no_professional_tools(
    demo_client: TestClient, direct_line: Service
) -> None:
    detail = demo_client.get(f"/voorzieningen/{SERVICE}")
    assert "Alleen voor professionals" not in detail.text
    assert DIRECT not in detail.text
    compact = demo_client.get("/zoeken", params={"q": "geldzorgen", "weergave": "compact"})
    assert 'class="sk-table"' not in compact.text  # the ordinary list
    assert 'class="sk-result"' in compact.text
    assert "Snel filteren" not in compact.text


# --- logging in and out -----------------------------------------------------------------------


def test_login_sets_one_session_cookie_and_a_refresh_cookie(
    demo_client: TestClient, demo_db: Session
) -> None:
    professional(demo_db)
    page = demo_client.get("/inloggen", params={"volgende": "/zoeken?q=schulden"})
    assert page.status_code == 200
    assert '<label for="email">E-mailadres</label>' in page.text
    assert 'name="volgende" value="/zoeken?q=schulden"' in page.text

    response = log_in(demo_client, "poh@example.nl", PASSWORD, "/zoeken?q=schulden")
    assert response.status_code == 303
    assert response.headers["location"] == "/zoeken?q=schulden"
    assert response.headers["cache-control"] == "no-store"
    cookies = cookies_of(response)
    assert set(cookies) == {"sk_session", "sk_refresh"}
    session = cookies["sk_session"]
    for flag in ("httponly", "samesite=strict", "path=/", "max-age=900"):
        assert flag in session
    assert "secure" not in session  # only in production (plain http here)
    assert "max-age=28800" in cookies["sk_refresh"]
    assert "httponly" in cookies["sk_refresh"]
    assert "samesite=strict" in cookies["sk_refresh"]

    results = demo_client.get("/zoeken", params={"q": "schulden"})
    assert "Ingelogd als <strong>Petra de Vries</strong>" in results.text
    assert '<form action="/uitloggen" method="post">' in results.text
    assert results.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in results.headers  # the cookies stay as they are


def test_session_cookies_are_secure_in_production() -> None:
    settings = make_settings().model_copy(update={"environment": Environment.production})
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=settings)))
    response = Response()
    pair = {"access_token": "a", "refresh_token": "r", "expires_in": 900}
    views.start_session(request, response, pair)
    headers = response.headers.getlist("set-cookie")
    assert len(headers) == 2
    for header in headers:
        assert "Secure" in header
        assert "HttpOnly" in header


def test_wrong_password_and_empty_fields(demo_client: TestClient, demo_db: Session) -> None:
    professional(demo_db)
    wrong = log_in(demo_client, "poh@example.nl", "niet-het-goede-wachtwoord")
    assert wrong.status_code == 422
    assert "Het e-mailadres of het wachtwoord klopt niet" in wrong.text
    assert 'value="poh@example.nl"' in wrong.text  # the address stays, the password not
    assert "niet-het-goede-wachtwoord" not in wrong.text
    assert "set-cookie" not in wrong.headers
    empty = log_in(demo_client, "", "")
    assert empty.status_code == 422
    assert 'href="#email">Vul uw e-mailadres in.</a>' in empty.text
    assert 'href="#wachtwoord">Vul uw wachtwoord in.</a>' in empty.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/zoeken?q=x", "/zoeken?q=x"),
        ("/beheer/voorzieningen/a?municipality=u", "/beheer/voorzieningen/a?municipality=u"),
        ("https://kwaadwillend.example/", "/"),
        ("//kwaadwillend.example/pad", "/"),
        ("/\\kwaadwillend.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_a_local_path_only(value: str | None, expected: str) -> None:
    assert local_path(value) == expected


def test_login_never_redirects_to_another_site(demo_client: TestClient, demo_db: Session) -> None:
    professional(demo_db)
    response = log_in(demo_client, "poh@example.nl", PASSWORD, "https://kwaadwillend.example/")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_logout_revokes_the_refresh_token_and_clears_the_cookies(
    demo_client: TestClient, demo_db: Session
) -> None:
    logged_in_professional(demo_client, demo_db)
    refresh = demo_client.cookies["sk_refresh"]
    response = demo_client.post(
        "/uitloggen", headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/inloggen?uitgelogd=1"
    cookies = cookies_of(response)
    assert set(cookies) == {"sk_session", "sk_refresh"}
    assert all("max-age=0" in c for c in cookies.values())
    assert not demo_client.cookies
    assert "U bent uitgelogd." in demo_client.get("/inloggen?uitgelogd=1").text
    reuse = demo_client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert reuse.status_code == 401


def test_an_expired_session_is_renewed_with_the_refresh_cookie(
    demo_client: TestClient, demo_db: Session
) -> None:
    logged_in_professional(demo_client, demo_db)
    old_refresh = demo_client.cookies["sk_refresh"]
    demo_client.cookies.delete("sk_session")  # its Max-Age (15 minutes) has passed
    page = demo_client.get("/")
    assert page.status_code == 200
    assert "Ingelogd als" in page.text
    cookies = cookies_of(page)
    assert "max-age=900" in cookies["sk_session"]
    assert demo_client.cookies["sk_refresh"] != old_refresh  # rotated


def test_a_broken_session_cookie_is_forgotten_not_an_error(demo_client: TestClient) -> None:
    demo_client.cookies.set("sk_session", "geen-token")
    page = demo_client.get(f"/voorzieningen/{SERVICE}")
    assert page.status_code == 200
    assert "Ingelogd als" not in page.text
    assert all("max-age=0" in c for c in cookies_of(page).values())


# --- what professionals see -------------------------------------------------------------------


def test_professional_block_only_for_professional_roles(
    demo_client: TestClient, demo_db: Session, direct_line: Service
) -> None:
    professional(demo_db)
    provider_of(demo_db, SERVICE)
    assert log_in(demo_client, "aanbieder@example.nl", PASSWORD).status_code == 303
    as_provider = demo_client.get(f"/voorzieningen/{SERVICE}")
    assert "Ingelogd als" in as_provider.text
    assert "Alleen voor professionals" not in as_provider.text

    demo_client.cookies.clear()
    assert log_in(demo_client, "poh@example.nl", PASSWORD).status_code == 303
    detail = demo_client.get(f"/voorzieningen/{SERVICE}")
    assert detail.status_code == 200
    assert "Alleen voor professionals" in detail.text
    assert f'<a href="tel:0297123456">{DIRECT}</a>' in detail.text
    assert "zij plant binnen een week een intake" in detail.text
    printed = demo_client.get(f"/voorzieningen/{SERVICE}/afdrukken")
    assert DIRECT not in printed.text  # the paper is for the resident


def test_compact_view_and_quick_filters(
    demo_client: TestClient, demo_db: Session, direct_line: Service
) -> None:
    logged_in_professional(demo_client, demo_db)
    listed = demo_client.get("/zoeken", params={"q": "geldzorgen"})
    assert "Snel filteren" in listed.text
    assert 'href="/zoeken?q=geldzorgen&amp;weergave=compact"' in listed.text

    compact = demo_client.get("/zoeken", params={"q": "geldzorgen", "weergave": "compact"})
    assert compact.status_code == 200
    html = compact.text
    assert 'class="sk-table"' in html
    for column in ("Naam", "Organisatie", "Telefoon", "Toegang", "Kosten"):
        assert f'<th scope="col">{column}</th>' in html
    assert html.count('<th scope="row">') == 10
    assert re.search(r'<td><a href="tel:[0-9-]+">[0-9 -]+</a></td>', html)  # organisations'
    assert 'href="/zoeken?q=geldzorgen&amp;pagina=2&amp;weergave=compact"' in html
    cafe = demo_client.get("/zoeken", params={"q": "financieel café", "weergave": "compact"})
    assert f'{DIRECT}</a> <span class="sk-muted">(direct, alleen voor professionals)' in cafe.text

    api = demo_client.get(
        "/api/v1/search",
        params={
            "q": "geldzorgen",
            "municipality": "uithoorn",
            "access": ["vrij-toegankelijk", "aanmelden"],
        },
    ).json()
    quick = demo_client.get("/zoeken", params={"q": "geldzorgen", "snel": "zonder-verwijzing"})
    assert f"{api['total']} voorzieningen gevonden" in quick.text
    assert "Zonder verwijzing <span aria-hidden" in quick.text  # a chip that removes it
    clash = demo_client.get(
        "/zoeken", params={"snel": "zonder-verwijzing", "toegang": "verwijzing-nodig"}
    )
    assert clash.status_code == 400
    assert "past niet bij" in clash.text


# --- the reminder's link: a provider confirms a listing --------------------------------------


def test_manage_page_asks_to_log_in_first(demo_client: TestClient) -> None:
    response = demo_client.get(
        f"/beheer/voorzieningen/{SERVICE}?municipality=uithoorn", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/inloggen?volgende=%2Fbeheer%2Fvoorzieningen%2Fuve-financieel-cafe%3Fmunicipality%3Duithoorn"
    )
    assert "set-cookie" not in response.headers


def test_provider_confirms_the_listing(demo_client: TestClient, demo_db: Session) -> None:
    provider_of(demo_db, SERVICE)
    path = f"/beheer/voorzieningen/{SERVICE}?municipality=uithoorn"
    assert log_in(demo_client, "aanbieder@example.nl", PASSWORD, path).headers["location"] == path
    page = demo_client.get(path)
    assert page.status_code == 200
    assert "Laatst gecontroleerd" in page.text
    assert "Toegelaten" in page.text
    assert "De gegevens kloppen nog</button>" in page.text
    version = demo_db.exec(select(Service.version).where(Service.slug == SERVICE)).one()
    assert f'name="versie" value="{version}"' in page.text

    confirmed = demo_client.post(
        path,
        data={"versie": str(version)},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"{path}&bevestigd=1"
    demo_db.expire_all()
    service = demo_db.exec(select(Service).where(Service.slug == SERVICE)).one()
    assert service.assured_date == date.today()
    assert (
        "U heeft bevestigd dat de gegevens kloppen"
        in demo_client.get(confirmed.headers["location"]).text
    )


def test_other_organisations_and_professionals_cannot_confirm(
    demo_client: TestClient, demo_db: Session
) -> None:
    mine = demo_db.exec(select(Service).where(Service.slug == SERVICE)).one()
    other = demo_db.exec(
        select(Service).where(Service.organization_id != mine.organization_id)
    ).first()
    assert other is not None
    provider_of(demo_db, other.slug)
    assert log_in(demo_client, "aanbieder@example.nl", PASSWORD).status_code == 303
    page = demo_client.get(f"/beheer/voorzieningen/{SERVICE}")
    assert page.status_code == 200
    assert "De gegevens kloppen nog</button>" not in page.text
    refused = demo_client.post(f"/beheer/voorzieningen/{SERVICE}", data={})
    assert refused.status_code == 403
    assert '<html lang="nl">' in refused.text
    assert demo_client.get("/beheer/voorzieningen/bestaat-niet").status_code == 200  # not public

    demo_client.cookies.clear()
    logged_in_professional(demo_client, demo_db)
    assert demo_client.get(f"/beheer/voorzieningen/{SERVICE}").status_code == 403
