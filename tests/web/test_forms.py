"""The pages' forms: "klopt er iets niet?", the invitation and password-reset links from the
mails, "wachtwoord vergeten"; Dutch errors next to the fields, cross-site POSTs refused."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Invitation, PasswordReset, Role, UserAccount
from app.core.models import utcnow
from app.feedback.models import FeedbackCategory, ServiceFeedback
from tests.conftest import account
from tests.web.test_pro_mode import PASSWORD, log_in, uithoorn_id

SERVICE = "uve-financieel-cafe"
MELDEN = f"/voorzieningen/{SERVICE}/melden"
NEW_PASSWORD = "een-heel-ander-wachtwoord-7"
TOKEN = "vast-token-uit-de-mail-0123456789"


def choose_password(
    client: TestClient,
    path: str,
    password: str,
    *,
    repeat: str | None = None,
    token: str = TOKEN,
    **kwargs: Any,
) -> Any:
    data = {"token": token, "wachtwoord": password, "herhaling": repeat or password}
    return client.post(path, data=data, **kwargs)


def feedback_rows(db: Session) -> list[ServiceFeedback]:
    db.expire_all()
    return list(db.exec(select(ServiceFeedback)))


def error_summary(html: str) -> str:
    found = re.search(
        r'<div class="sk-alert sk-alert--error sk-error-summary".*?</div>', html, re.S
    )
    return found.group(0) if found else ""


# --- klopt er iets niet? ----------------------------------------------------------------------


def test_feedback_form_has_labelled_categories_and_a_message_field(
    demo_client: TestClient,
) -> None:
    response = demo_client.get(MELDEN)
    assert response.status_code == 200
    html = response.text
    assert "<h1>Klopt er iets niet?</h1>" in html
    assert "Financieel Café" in html
    assert "<legend>Wat klopt er niet?</legend>" in html
    for category in FeedbackCategory:
        assert f'id="categorie-{category.value}" name="categorie" value="{category.value}"' in html
        assert f'<label for="categorie-{category.value}">' in html
    assert '<label for="bericht">' in html
    assert 'aria-describedby="bericht-uitleg"' in html
    assert 'method="post"' in html
    assert "set-cookie" not in response.headers
    # The detail page links to it.
    assert f'href="{MELDEN}"' in demo_client.get(f"/voorzieningen/{SERVICE}").text


def test_feedback_is_sent_to_the_api_and_thanked(demo_client: TestClient, demo_db: Session) -> None:
    message = "De openingstijden zijn sinds januari anders: nu op dinsdag."
    response = demo_client.post(
        MELDEN,
        data={"categorie": "tijden", "bericht": message},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{MELDEN}/bedankt"
    assert "set-cookie" not in response.headers
    [row] = feedback_rows(demo_db)
    assert row.category == FeedbackCategory.times
    assert row.message == message
    thanks = demo_client.get(response.headers["location"])
    assert thanks.status_code == 200
    assert "Bedankt voor uw melding" in thanks.text
    assert f'href="/voorzieningen/{SERVICE}"' in thanks.text


def test_feedback_errors_are_text_linked_to_their_fields(
    demo_client: TestClient, demo_db: Session
) -> None:
    empty = demo_client.post(MELDEN, data={})
    assert empty.status_code == 422
    summary = error_summary(empty.text)
    assert 'role="alert"' in summary
    assert 'href="#categorie-contactgegevens">Kies wat er niet klopt.</a>' in summary
    assert 'href="#bericht">Schrijf wat er niet klopt.</a>' in summary
    assert "<title>Fout: " in empty.text
    assert 'aria-describedby="categorie-fout" aria-invalid="true"' in empty.text
    assert 'id="categorie-fout" class="sk-field-error"><span class="sk-visually-hidden">Fout: ' in (
        empty.text
    )
    assert 'aria-describedby="bericht-uitleg bericht-fout" aria-invalid="true"' in empty.text

    short = demo_client.post(MELDEN, data={"categorie": "anders", "bericht": "Fout <b>"})
    assert short.status_code == 422
    assert "minstens 10 tekens" in short.text
    assert "Fout &lt;b&gt;</textarea>" in short.text  # kept, escaped
    assert 'value="anders" aria-describedby="categorie-anders-uitleg" checked' in short.text
    assert "Kies wat er niet klopt" not in short.text

    unknown = demo_client.post(MELDEN, data={"categorie": "iets", "bericht": "x" * 20})
    assert unknown.status_code == 422
    assert feedback_rows(demo_db) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://kwaadwillend.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
    ],
)
def test_cross_site_posts_are_refused(
    demo_client: TestClient, demo_db: Session, headers: dict[str, str]
) -> None:
    data = {"categorie": "tijden", "bericht": "Dit komt van een andere website."}
    response = demo_client.post(MELDEN, data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403
    assert "andere website" in response.text
    assert "content-security-policy" in response.headers
    assert feedback_rows(demo_db) == []
    for path in ("/inloggen", "/uitloggen", "/wachtwoord-vergeten", "/uitnodiging"):
        assert demo_client.post(path, data={}, headers=headers).status_code == 403


def test_feedback_for_an_unknown_listing_is_a_dutch_404(demo_client: TestClient) -> None:
    for response in (
        demo_client.get("/voorzieningen/bestaat-niet/melden"),
        demo_client.post(
            "/voorzieningen/bestaat-niet/melden",
            data={"categorie": "tijden", "bericht": "Dit klopt helemaal niet meer."},
        ),
        demo_client.get("/voorzieningen/bestaat-niet/melden/bedankt"),
    ):
        assert response.status_code == 404
        assert '<html lang="nl">' in response.text


# --- the invitation link ----------------------------------------------------------------------


def test_invitation_link_sets_a_password_and_logs_in(
    demo_client: TestClient,
    demo_db: Session,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("app.accounts.onboarding.new_secret", lambda: TOKEN)
    invited = demo_client.post(
        "/api/v1/invitations",
        json={
            "email": "huisarts@example.nl",
            "display_name": "Dokter Jansen",
            "role": "professional",
            "municipality": "uithoorn",
        },
        headers=admin,
    )
    assert invited.status_code == 201, invited.text

    with caplog.at_level(logging.INFO):
        page = demo_client.get("/uitnodiging", params={"token": TOKEN})
        assert page.status_code == 200
        assert "Kies uw wachtwoord" in page.text
        assert f'<input type="hidden" name="token" value="{TOKEN}">' in page.text
        assert 'autocomplete="new-password"' in page.text

        different = choose_password(demo_client, "/uitnodiging", PASSWORD, repeat=PASSWORD + "x")
        assert different.status_code == 422
        assert "niet hetzelfde" in different.text
        assert PASSWORD not in different.text  # passwords are never sent back
        short = choose_password(demo_client, "/uitnodiging", "kort")
        assert short.status_code == 422
        assert "minstens 12 tekens" in short.text
        spaces = choose_password(demo_client, "/uitnodiging", f" {PASSWORD} ")  # the API's rule
        assert spaces.status_code == 422
        assert 'id="wachtwoord-fout"' in spaces.text

        accepted = choose_password(demo_client, "/uitnodiging", PASSWORD, follow_redirects=False)
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/welkom"
        assert "sk_session=" in accepted.headers["set-cookie"]
        welcome = demo_client.get("/welkom")
        assert welcome.status_code == 200
        assert "Welkom, Dokter Jansen" in welcome.text
        assert "U bent ingelogd als professional" in welcome.text

        again = choose_password(demo_client, "/uitnodiging", PASSWORD)
        assert again.status_code == 400
        assert "al gebruikt" in again.text
    assert TOKEN not in caplog.text  # never in a log line
    assert PASSWORD not in caplog.text
    demo_db.expire_all()
    user = demo_db.exec(select(UserAccount).where(UserAccount.email == "huisarts@example.nl"))
    assert user.one().role == "professional"


def test_bad_and_expired_invitation_links_get_friendly_pages(
    demo_client: TestClient,
    demo_db: Session,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = demo_client.get("/uitnodiging")
    assert missing.status_code == 400
    assert "niet volledig" in missing.text
    unknown = choose_password(demo_client, "/uitnodiging", PASSWORD, token="verzonnen")
    assert unknown.status_code == 400
    assert "niet geldig" in unknown.text

    monkeypatch.setattr("app.accounts.onboarding.new_secret", lambda: TOKEN)
    body = {"email": "later@example.nl", "display_name": "Later", "role": "professional"}
    invited = demo_client.post(
        "/api/v1/invitations", json={**body, "municipality": "uithoorn"}, headers=admin
    )
    assert invited.status_code == 201
    invitation = demo_db.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    demo_db.add(invitation)
    demo_db.commit()
    expired = choose_password(demo_client, "/uitnodiging", PASSWORD)
    assert expired.status_code == 400
    assert "verlopen" in expired.text
    assert "set-cookie" not in expired.headers


# --- password reset ---------------------------------------------------------------------------


def test_forgotten_password_and_the_reset_link(
    demo_client: TestClient, demo_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account(demo_db, "loket@example.nl", "Loket", Role.professional, uithoorn_id(demo_db), PASSWORD)
    form = demo_client.get("/wachtwoord-vergeten")
    assert form.status_code == 200
    assert '<label for="email">E-mailadres</label>' in form.text

    invalid = demo_client.post("/wachtwoord-vergeten", data={"email": "geen-adres"})
    assert invalid.status_code == 422
    assert 'id="email-fout"' in invalid.text

    monkeypatch.setattr("app.accounts.onboarding.new_secret", lambda: TOKEN)
    sent = demo_client.post("/wachtwoord-vergeten", data={"email": "loket@example.nl"})
    unknown = demo_client.post("/wachtwoord-vergeten", data={"email": "niemand@example.nl"})
    assert sent.status_code == unknown.status_code == 200
    assert "Als er een account is met dit e-mailadres" in sent.text
    assert sent.text.replace("loket@", "x@") == unknown.text.replace("niemand@", "x@")

    page = demo_client.get("/wachtwoord-herstellen", params={"token": TOKEN})
    assert page.status_code == 200
    assert "Kies een nieuw wachtwoord" in page.text
    done = choose_password(
        demo_client, "/wachtwoord-herstellen", NEW_PASSWORD, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/inloggen?wachtwoord=nieuw"
    assert "Uw nieuwe wachtwoord is opgeslagen" in demo_client.get(done.headers["location"]).text

    assert log_in(demo_client, "loket@example.nl", PASSWORD).status_code == 422
    assert log_in(demo_client, "loket@example.nl", NEW_PASSWORD).status_code == 303

    used = choose_password(demo_client, "/wachtwoord-herstellen", NEW_PASSWORD)
    assert used.status_code == 400
    assert "werkt niet meer" in used.text
    demo_db.expire_all()
    assert (
        demo_db.exec(select(PasswordReset).where(col(PasswordReset.used_at).is_(None))).all() == []
    )
    assert demo_client.get("/wachtwoord-herstellen").status_code == 400
