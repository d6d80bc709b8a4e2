"""Verwijzen through the pages: a professional refers a resident (warme overdracht or Welzijn
op Recept), the receiving provider follows it up, both see its status (docs/web.md
"Verwijzen").

Everything goes through the public API (``/referrals``, ``/referrals/{id}``,
``/referrals/{id}/status``, ``/referrals/redeem``) with the visitor's token. Personal data
travels only in POST bodies and in the pages themselves (``Cache-Control: no-store``); never
in a URL, a redirect or a log line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.referrals.schemas import CONSENT_STATEMENT
from app.web import pages
from app.web.account_views import login_url
from app.web.client import ApiError, QueryValue
from app.web.views import (
    SameOrigin,
    Visitor,
    VisitorDep,
    _api,
    _settings,
    error_page,
    load_visitor,
    message_page,
    read_form,
    redirect,
    render,
    templates,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_visitor)])

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PER_PAGE = 20
MODES = {
    "warm": (
        "Warme overdracht",
        "De organisatie belt of mailt de inwoner. U geeft daarvoor, met toestemming, naam en "
        "telefoon of e-mail door.",
    ),
    "recept": (
        "Welzijn op Recept",
        "U geeft de inwoner een recept mee en de inwoner neemt zelf contact op. Er worden geen "
        "persoonsgegevens bewaard.",
    ),
}
REFERRER_KINDS = {
    "huisarts": "Huisarts",
    "poh": "Praktijkondersteuner (POH)",
    "loket": "Sociaal loket",
    "sociaal-team": "Sociaal team",
    "anders": "Anders",
}
URGENCIES = {"normaal": "Normaal", "snel": "Snel: graag binnen een week"}
STATUS_LABELS = {
    "verstuurd": "Verstuurd",
    "ontvangen": "Ontvangen",
    "in-contact": "In contact",
    "afgerond": "Afgerond",
    "niet-bereikt": "Niet bereikt",
    "afgewezen": "Afgewezen",
}
STATUS_TEXT = {
    "verstuurd": "De verwijzing is verstuurd. De organisatie heeft haar nog niet geopend.",
    "ontvangen": "De organisatie heeft de verwijzing gezien en gaat ermee aan de slag.",
    "in-contact": "De organisatie heeft contact met de inwoner.",
    "afgerond": "De organisatie heeft de verwijzing afgerond.",
    "niet-bereikt": "De organisatie kon de inwoner niet bereiken. De verwijzing is afgesloten.",
    "afgewezen": "De organisatie kan deze verwijzing niet aannemen. De verwijzing is afgesloten.",
}
RECEPT_SENT = "Het recept is gemaakt. De inwoner neemt het mee en neemt zelf contact op."
OPEN_STEPS = ("ontvangen", "in-contact")
CLOSING = ("afgerond", "niet-bereikt", "afgewezen")
ORDER = ("verstuurd", *OPEN_STEPS)
OUTCOME_MAX = 500
NOTE_MAX = 500
# The API's field (problem+json ``errors``) -> this form's field.
API_FIELDS = {
    "body.mode": "modus",
    "body.referrer_kind": "verwijzer",
    "body.themes": "thema",
    "body.urgency": "urgentie",
    "body.note": "toelichting",
    "body.consent": "toestemming",
    "body.contact.name": "naam",
    "body.contact.phone": "telefoon",
    "body.contact.email": "email",
    "body.contact": "telefoon",
}
FORM_FIELDS = (
    "modus",
    "verwijzer",
    "urgentie",
    "naam",
    "telefoon",
    "email",
    "toelichting",
    "toestemming",
)
WARM_ONLY = ("naam", "telefoon", "email", "toelichting", "toestemming")


def dutch_datetime(value: str | None) -> str:
    """ "2026-11-03T13:05:00Z" -> "3 november 2026, 14.05 uur" (Dutch time)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value).astimezone(AMSTERDAM)
    except ValueError:
        return pages.dutch_date(value)
    return f"{pages.dutch_date(moment.date().isoformat())}, {moment:%H.%M} uur"


templates.env.filters["dutch_datetime"] = dutch_datetime
templates.env.globals.update(
    referral_status_labels=STATUS_LABELS, referrer_kinds=REFERRER_KINDS, urgencies=URGENCIES
)


def _referral_path(referral_id: str | uuid.UUID, **query: str) -> str:
    return f"/verwijzingen/{referral_id}" + (f"?{urlencode(query)}" if query else "")


def _not_for_you(request: Request, title: str, detail: str) -> HTMLResponse:
    return message_page(request, 403, title, detail, links={"Zoeken": "/zoeken"})


NOT_A_REFERRER = (
    "Verwijzen is voor professionals",
    "Huisartsen, praktijkondersteuners, het sociaal loket en het sociaal team kunnen hier "
    "verwijzen. Met uw account kan dat niet.",
)
NO_REFERRALS = (
    "Verwijzingen zijn voor professionals en aanbieders",
    "Alleen wie verwijst en de organisatie die de verwijzing krijgt, zien verwijzingen.",
)


# --- the referral form (professionals) --------------------------------------------------------


@router.get("/verwijzen/{slug}", response_class=HTMLResponse)
async def referral_form(request: Request, slug: str, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url(f"/verwijzen/{slug}"))
    if visitor.role != "professional":
        return _not_for_you(request, *NOT_A_REFERRER)
    form = pages.FormState(values={"modus": "warm", "verwijzer": "", "urgentie": "normaal"})
    return await _form_page(request, visitor, slug, form, themes=None)


@router.post("/verwijzen/{slug}", response_class=HTMLResponse, dependencies=[SameOrigin])
async def referral_send(request: Request, slug: str, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url(f"/verwijzen/{slug}"))
    if visitor.role != "professional":
        return _not_for_you(request, *NOT_A_REFERRER)
    form = await read_form(request, *FORM_FIELDS)
    themes = [t for t in (await request.form()).getlist("thema") if isinstance(t, str)][:5]
    body = _referral_body(request, slug, form, themes)
    if not form.failed:
        try:
            created = await _api(request).post("/referrals", json=body, token=visitor.token)
        except ApiError as error:
            if error.status != 422:
                return error_page(request, error)
            _api_errors(form, error)
        else:
            return redirect(request, _referral_path(created["id"], verstuurd="1"))
    return await _form_page(request, visitor, slug, form, themes=themes)


def _referral_body(
    request: Request, slug: str, form: pages.FormState, themes: list[str]
) -> dict[str, Any]:
    """The API's ReferralCreate from the form; simple checks in Dutch on the way. A recept
    never sends personal data, whatever was typed."""
    values = form.values
    mode = values["modus"]
    if mode not in MODES:
        form.error("modus", "Kies hoe u verwijst: warme overdracht of Welzijn op Recept.")
    if values["verwijzer"] not in REFERRER_KINDS:
        form.error("verwijzer", "Kies als wie u verwijst.")
    if values["urgentie"] not in URGENCIES:
        values["urgentie"] = "normaal"
    body: dict[str, Any] = {
        "municipality": _settings(request).web_municipality,
        "service": slug,
        "mode": mode,
        "referrer_kind": values["verwijzer"],
        "themes": themes,
        "urgency": values["urgentie"],
    }
    if mode != "warm":
        for name in WARM_ONLY:  # not shown again either
            values[name] = ""
        return body
    if not values["naam"]:
        form.error("naam", "Vul de naam van de inwoner in.")
    if not (values["telefoon"] or values["email"]):
        form.error("telefoon", "Vul een telefoonnummer of een e-mailadres van de inwoner in.")
    if len(values["toelichting"]) > NOTE_MAX:
        form.error("toelichting", f"Schrijf de toelichting in hoogstens {NOTE_MAX} tekens.")
    if values["toestemming"] != "ja":
        form.error(
            "toestemming",
            "Vraag de inwoner eerst om toestemming. Zet daarna een vinkje in het vakje.",
        )
    body["consent"] = values["toestemming"] == "ja"
    body["note"] = values["toelichting"] or None
    body["contact"] = {
        "name": values["naam"],
        "phone": values["telefoon"] or None,
        "email": values["email"] or None,
    }
    return body


def _api_errors(form: pages.FormState, error: ApiError) -> None:
    """The API's 422 next to the fields; what fits no field goes to the summary."""
    for name, message in error.errors.items():
        key = name.split(".")
        field = API_FIELDS.get(".".join(key[:3])) or API_FIELDS.get(".".join(key[:2]))
        if field:
            form.error(field, message)
        elif not form.problem:
            form.problem = message
    if not form.failed:
        form.problem = error.detail


async def _form_page(
    request: Request,
    visitor: Visitor,
    slug: str,
    form: pages.FormState,
    *,
    themes: list[str] | None,
) -> HTMLResponse:
    try:
        service = await _api(request).service(slug, token=visitor.token)
    except ApiError as error:
        return error_page(request, error)
    chosen = [t["slug"] for t in service.get("themes") or []] if themes is None else themes
    consent = CONSENT_STATEMENT.format(
        organisation=service["organization"]["name"],
        service=service["name"],
        days=_settings(request).referral_retention_days,
    )
    context = {
        "service": service,
        "form": form,
        "chosen_themes": chosen,
        "modes": MODES,
        "consent": consent,
        "note_max": NOTE_MAX,
    }
    return render(request, "referral_form.html", context, status_code=422 if form.failed else 200)


# --- one referral -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """What the receiving provider may do next."""

    forward: tuple[str, ...]
    closing: tuple[str, ...]


def next_steps(referral: dict[str, Any], visitor: Visitor) -> Steps:
    organization = referral.get("organization") or {}
    if visitor.role != "provider" or organization.get("slug") not in visitor.organizations:
        return Steps((), ())
    status = str(referral["status"])
    if status in CLOSING:
        return Steps((), ())
    position = ORDER.index(status) if status in ORDER else 0
    return Steps(ORDER[position + 1 :], CLOSING)


def status_text(referral: dict[str, Any]) -> str:
    if referral["mode"] == "recept" and referral["status"] == "verstuurd":
        return RECEPT_SENT
    return STATUS_TEXT.get(str(referral["status"]), str(referral["status"]))


def _referral_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _not_found(request: Request) -> HTMLResponse:
    return message_page(
        request,
        404,
        "Deze verwijzing bestaat niet, of u kunt haar niet zien",
        "Alleen wie verwijst en de organisatie die de verwijzing krijgt, kunnen haar zien.",
        links={"Naar de verwijzingen": "/verwijzingen"},
    )


@router.get("/verwijzingen/{referral_id}", response_class=HTMLResponse)
async def referral_page(request: Request, referral_id: str, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url(f"/verwijzingen/{referral_id}"))
    if visitor.role not in ("professional", "provider"):
        return _not_for_you(request, *NO_REFERRALS)
    rid = _referral_id(referral_id)
    if rid is None:
        return _not_found(request)
    try:
        referral = await _api(request).get(f"/referrals/{rid}", token=visitor.token)
    except ApiError as error:
        return _not_found(request) if error.status == 404 else error_page(request, error)
    return _referral_page(request, visitor, referral, pages.FormState())


def _referral_page(
    request: Request,
    visitor: Visitor,
    referral: dict[str, Any],
    form: pages.FormState,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    notices = {
        "verstuurd": "De verwijzing is verstuurd."
        if referral["mode"] == "warm"
        else "Het recept is klaar. Druk het af of geef de code door aan de inwoner.",
        "bijgewerkt": "De status is bijgewerkt. De verwijzer krijgt daarvan een e-mail.",
        "ingeleverd": "Het recept is ingeleverd: de code is nu gebruikt.",
    }
    notice = next((text for key, text in notices.items() if key in request.query_params), "")
    context = {
        "referral": referral,
        "steps": next_steps(referral, visitor),
        "status_text": status_text(referral),
        "form": form,
        "notice": notice,
        "outcome_max": OUTCOME_MAX,
    }
    return render(request, "referral_page.html", context, status_code=status_code)


@router.post("/verwijzingen/{referral_id}/status", dependencies=[SameOrigin])
async def referral_status(request: Request, referral_id: str, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url(f"/verwijzingen/{referral_id}"))
    rid = _referral_id(referral_id)
    if rid is None:
        return _not_found(request)
    form = await read_form(request, "status", "uitkomst", "versie")
    status, outcome, version = (form.values[n] for n in ("status", "uitkomst", "versie"))
    api = _api(request)
    if status not in STATUS_LABELS:
        form.problem = "Kies een nieuwe status."
    elif outcome and status not in CLOSING:
        form.error("uitkomst", "Een uitkomst schrijft u pas bij het afsluiten.")
    elif len(outcome) > OUTCOME_MAX:
        form.error("uitkomst", f"Schrijf de uitkomst in hoogstens {OUTCOME_MAX} tekens.")
    if not form.failed:
        body: dict[str, Any] = {"status": status}
        if outcome:
            body["outcome"] = outcome
        headers = {"If-Match": f'"{version}"'} if version.isdigit() else None
        try:
            await api.post(
                f"/referrals/{rid}/status", json=body, token=visitor.token, headers=headers
            )
        except ApiError as error:
            if error.status == 404:
                return _not_found(request)
            if error.status == 412:
                return message_page(
                    request,
                    409,
                    "De verwijzing is intussen veranderd",
                    "Iemand anders heeft de status net bijgewerkt. Bekijk de verwijzing opnieuw "
                    "en kies dan de nieuwe status.",
                    links={"Bekijk de verwijzing opnieuw": _referral_path(rid)},
                )
            if error.status not in (409, 422):
                return error_page(request, error)
            form.problem = error.detail
            for message in error.field_errors().values():
                form.error("uitkomst", message)
        else:
            return redirect(request, _referral_path(rid, bijgewerkt="1"))
    try:
        referral = await api.get(f"/referrals/{rid}", token=visitor.token)
    except ApiError as error:
        return _not_found(request) if error.status == 404 else error_page(request, error)
    return _referral_page(request, visitor, referral, form, status_code=422)


# --- the overview: sent (professionals) or received (providers) --------------------------------


@router.get("/verwijzingen", response_class=HTMLResponse)
async def referral_list(request: Request, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url("/verwijzingen"))
    return await _list_page(request, visitor, pages.FormState())


async def _list_page(
    request: Request, visitor: Visitor, redeem: pages.FormState, *, status_code: int = 200
) -> Response:
    if visitor.role not in ("professional", "provider"):
        return _not_for_you(request, *NO_REFERRALS)
    status = request.query_params.get("status", "")
    status = status if status in STATUS_LABELS else ""
    page_text = request.query_params.get("pagina", "")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) <= 1000 else 1
    params: dict[str, QueryValue] = {"status": status, "page": page, "per_page": PER_PAGE}
    try:
        data = await _api(request).get("/referrals", params, token=visitor.token)
    except ApiError as error:
        return error_page(request, error)
    pages_total = max(1, -(-int(data["total"]) // PER_PAGE))

    def link(number: int) -> str:
        query = {k: v for k, v in (("status", status), ("pagina", str(number))) if v}
        return "/verwijzingen" + (f"?{urlencode(query)}" if query else "")

    context = {
        "data": data,
        "status": status,
        "inbox": visitor.role == "provider",
        "redeem": redeem,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages_total else None,
        "page": page,
        "pages_total": pages_total,
    }
    return render(request, "referral_list.html", context, status_code=status_code)


@router.post("/verwijzingen/inleveren", dependencies=[SameOrigin])
async def redeem_code(request: Request, visitor: VisitorDep) -> Response:
    if visitor is None:
        return redirect(request, login_url("/verwijzingen"))
    if visitor.role != "provider":
        return _not_for_you(
            request,
            "Recepten inleveren is voor aanbieders",
            "Alleen de organisatie die het recept krijgt, meldt de code als gebruikt.",
        )
    form = await read_form(request, "code")
    code = form.values["code"].upper()
    form.values["code"] = code
    if not code:
        form.error("code", "Vul de code van het recept in, bijvoorbeeld WR-7K3M-Q9PX.")
    else:
        try:
            used = await _api(request).post(
                "/referrals/redeem", json={"reference_code": code}, token=visitor.token
            )
        except ApiError as error:
            if error.status not in (404, 409, 422):
                return error_page(request, error)
            form.error(
                "code",
                "Dit is geen geldige code. Een code ziet er zo uit: WR-7K3M-Q9PX."
                if error.status == 422
                else error.detail,
            )
        else:
            return redirect(request, _referral_path(used["id"], ingeleverd="1"))
    return await _list_page(request, visitor, form, status_code=422)
