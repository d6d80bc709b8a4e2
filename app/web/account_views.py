"""Pages for people with an account: logging in and out, the links in the API's mails
(invitation, password reset, the freshness reminder) and the provider's check of a listing.

All of it goes through the public API (``/auth/token``, ``/auth/me``, ``/auth/revoke``,
``/invitations/accept``, ``/auth/password-reset[/confirm]``, ``/services/{slug}[/confirm]``).
Tokens from a mail's link travel in a hidden form field, never in a redirect or a log line
(the access log has no query strings).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.web import pages
from app.web.client import ApiError
from app.web.views import (
    REFRESH_COOKIE,
    SameOrigin,
    Visitor,
    VisitorDep,
    _api,
    end_session,
    error_page,
    load_visitor,
    message_page,
    read_form,
    redirect,
    render,
    start_session,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_visitor)])

PASSWORD_MIN = 12  # the API's rule (app/accounts/service.py check_password_strength)
LOGIN_NOTICES = {
    "uitgelogd": "U bent uitgelogd.",
    "wachtwoord": "Uw nieuwe wachtwoord is opgeslagen. Log in met uw nieuwe wachtwoord.",
}
BAD_LINK = (
    "Deze link is niet volledig",
    "Gebruik de hele link uit de e-mail. Lukt het niet? Vraag dan om een nieuwe link.",
)


def login_url(next_path: str) -> str:
    return "/inloggen?" + urlencode({"volgende": next_path})


# --- logging in and out -----------------------------------------------------------------------


@router.get("/inloggen", response_class=HTMLResponse)
async def login_form(request: Request, visitor: VisitorDep) -> Response:
    next_path = pages.local_path(request.query_params.get("volgende"))
    if visitor is not None:
        return redirect(request, next_path)
    notice = next((text for key, text in LOGIN_NOTICES.items() if key in request.query_params), "")
    form = pages.FormState(values={"volgende": next_path})
    return render(request, "login.html", {"form": form, "notice": notice})


@router.post("/inloggen", response_class=HTMLResponse, dependencies=[SameOrigin])
async def login(request: Request) -> Response:
    form = await read_form(request, "email", "wachtwoord", "volgende")
    form.values["volgende"] = pages.local_path(form.values["volgende"])
    status = 422
    if not form.values["email"]:
        form.error("email", "Vul uw e-mailadres in.")
    if not form.values["wachtwoord"]:
        form.error("wachtwoord", "Vul uw wachtwoord in.")
    if not form.failed:
        try:
            pair = await _api(request).post(
                "/auth/token",
                data={
                    "grant_type": "password",
                    "username": form.values["email"],
                    "password": form.values["wachtwoord"],
                },
            )
        except ApiError as error:
            if error.status >= 500:
                return error_page(request, error)
            status = 429 if error.status == 429 else status  # locked for a while
            form.problem = (
                "Het e-mailadres of het wachtwoord klopt niet. Let op hoofdletters."
                if error.status == 401
                else error.detail
            )
        else:
            response = redirect(request, form.values["volgende"])
            start_session(request, response, pair)
            return response
    form.values["wachtwoord"] = ""  # never sent back to the browser
    return render(request, "login.html", {"form": form, "notice": ""}, status_code=status)


@router.post("/uitloggen", dependencies=[SameOrigin])
async def logout(request: Request) -> Response:
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:  # the cookies go anyway; the access token ends within 15 minutes
        with contextlib.suppress(ApiError):
            await _api(request).post("/auth/revoke", json={"token": refresh})
    response = redirect(request, "/inloggen?uitgelogd=1")
    end_session(request, response)
    return response


@router.get("/welkom", response_class=HTMLResponse)
async def welcome(request: Request, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url("/welkom"))
    return render(request, "welcome.html", {})


# --- the links in the mails: invitation and password reset -----------------------------------


def _token_from_link(request: Request) -> str:
    token = request.query_params.get("token", "").strip()
    return token if 0 < len(token) <= 200 else ""


@router.get("/uitnodiging", response_class=HTMLResponse)
async def invitation_form(request: Request) -> HTMLResponse:
    return _password_page(request, "invitation", _token_from_link(request), pages.FormState())


@router.post("/uitnodiging", response_class=HTMLResponse, dependencies=[SameOrigin])
async def invitation_accept(request: Request) -> Response:
    return await _set_password(request, "invitation")


@router.get("/wachtwoord-herstellen", response_class=HTMLResponse)
async def reset_form(request: Request) -> HTMLResponse:
    return _password_page(request, "reset", _token_from_link(request), pages.FormState())


@router.post("/wachtwoord-herstellen", response_class=HTMLResponse, dependencies=[SameOrigin])
async def reset_confirm(request: Request) -> Response:
    return await _set_password(request, "reset")


async def _set_password(request: Request, kind: str) -> Response:
    """Invitation: the account is made and logged in. Reset: every session of the account
    ended, so does this browser's; log in with the new password."""
    form = await _password_form(request)
    if not form.failed:
        path = "/invitations/accept" if kind == "invitation" else "/auth/password-reset/confirm"
        body = {"token": form.values["token"], "password": form.values["wachtwoord"]}
        try:
            pair = await _api(request).post(path, json=body)
        except ApiError as error:
            if error.status != 422:
                return error_page(request, error)
            _password_errors(form, error)
        else:
            if kind == "invitation":
                response = redirect(request, "/welkom")
                start_session(request, response, pair)
            else:
                response = redirect(request, "/inloggen?wachtwoord=nieuw")
                end_session(request, response)
            return response
    return _password_page(request, kind, form.values["token"], form)


async def _password_form(request: Request) -> pages.FormState:
    form = await read_form(request, "token", "wachtwoord", "herhaling")
    # Passwords are taken as typed (the API refuses leading or trailing spaces).
    raw = await request.form()
    for name in ("wachtwoord", "herhaling"):
        value = raw.get(name)
        form.values[name] = value[:200] if isinstance(value, str) else ""
    password = form.values["wachtwoord"]
    if not password:
        form.error("wachtwoord", "Kies een wachtwoord.")
    elif len(password) < PASSWORD_MIN:
        form.error("wachtwoord", f"Kies een wachtwoord van minstens {PASSWORD_MIN} tekens.")
    elif form.values["herhaling"] != password:
        form.error("herhaling", "De twee wachtwoorden zijn niet hetzelfde. Typ het nog een keer.")
    return form


def _password_errors(form: pages.FormState, error: ApiError) -> None:
    fields = error.field_errors()
    if "token" in fields:
        form.problem = BAD_LINK[1]
    for name, text in fields.items():
        if name != "token":
            form.error("wachtwoord", text)
    if not form.errors and not form.problem:
        form.problem = error.detail


def _password_page(request: Request, kind: str, token: str, form: pages.FormState) -> HTMLResponse:
    if not token:
        links = {"Een nieuwe link aanvragen": "/wachtwoord-vergeten"} if kind == "reset" else {}
        return message_page(request, 400, *BAD_LINK, links=links)
    form.values.update(token=token, wachtwoord="", herhaling="")  # passwords never sent back
    return render(
        request,
        "password.html",
        {"form": form, "kind": kind, "password_min": PASSWORD_MIN},
        status_code=422 if form.failed else 200,
    )


@router.get("/wachtwoord-vergeten", response_class=HTMLResponse)
async def forgotten_form(request: Request) -> HTMLResponse:
    return render(request, "forgotten.html", {"form": pages.FormState(), "sent": ""})


@router.post("/wachtwoord-vergeten", response_class=HTMLResponse, dependencies=[SameOrigin])
async def forgotten_send(request: Request) -> HTMLResponse:
    form = await read_form(request, "email")
    if not form.values["email"]:
        form.error("email", "Vul uw e-mailadres in.")
    sent = ""
    if not form.failed:
        try:
            answer = await _api(request).post(
                "/auth/password-reset", json={"email": form.values["email"]}
            )
        except ApiError as error:
            if error.status not in (400, 422):
                return error_page(request, error)
            form.error("email", "Dit is geen geldig e-mailadres. Bijvoorbeeld: naam@voorbeeld.nl")
        else:
            sent = str(answer["detail"])
    status = 422 if form.failed else 200
    return render(request, "forgotten.html", {"form": form, "sent": sent}, status_code=status)


# --- the freshness reminder: a provider checks a listing -------------------------------------


def _manage_path(slug: str, municipality: str) -> str:
    query = f"?{urlencode({'municipality': municipality})}" if municipality else ""
    return f"/beheer/voorzieningen/{slug}{query}"


def _may_confirm(visitor: Visitor, service: dict[str, Any] | None) -> bool:
    """Whether to offer the button; the API decides (providers: own organisations only)."""
    if visitor.role != "provider" or service is None:
        return visitor.manager
    return service["organization"]["slug"] in visitor.organizations


@router.get("/beheer/voorzieningen/{slug}", response_class=HTMLResponse)
async def manage_service(request: Request, slug: str, visitor: VisitorDep) -> Response:
    municipality = request.query_params.get("municipality", "")
    if visitor is None:
        return redirect(request, login_url(_manage_path(slug, municipality)))
    if not visitor.manager:
        return message_page(
            request,
            403,
            "Deze pagina is voor aanbieders en de redactie",
            "Met uw account kunt u voorzieningen zoeken en bekijken, maar niet beheren.",
        )
    service: dict[str, Any] | None = None
    try:
        service = await _api(request).get(
            f"/services/{slug}", {"municipality": municipality}, token=visitor.token
        )
    except ApiError as error:
        if error.status != 404:
            return error_page(request, error)
    context = {
        "service": service,
        "slug": slug,
        "municipality": municipality,
        "may_confirm": _may_confirm(visitor, service),
        "confirmed": "bevestigd" in request.query_params,
        "action": _manage_path(slug, municipality),
    }
    return render(request, "manage_service.html", context)


@router.post("/beheer/voorzieningen/{slug}", dependencies=[SameOrigin])
async def confirm_service(request: Request, slug: str, visitor: VisitorDep) -> Response:
    municipality = request.query_params.get("municipality", "")
    if visitor is None:
        return redirect(request, login_url(_manage_path(slug, municipality)))
    form = await read_form(request, "versie")
    version = form.values["versie"]
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else None
    try:
        await _api(request).post(
            f"/services/{slug}/confirm",
            params={"municipality": municipality} if municipality else None,
            json={},
            token=visitor.token,
            headers=headers,
        )
    except ApiError as error:
        if error.status == 412:
            return message_page(
                request,
                409,
                "De gegevens zijn intussen veranderd",
                "Iemand anders heeft deze voorziening net gewijzigd. Bekijk de gegevens opnieuw "
                "en bevestig dan nog een keer.",
                links={"Bekijk de gegevens opnieuw": _manage_path(slug, municipality)},
            )
        return error_page(request, error)
    separator = "&" if municipality else "?"
    return redirect(request, f"{_manage_path(slug, municipality)}{separator}bevestigd=1")
