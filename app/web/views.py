"""The public pages (served at ``/``): thin handlers that ask the public API and render.

Every page works without JavaScript (ordinary links, form GETs and form POSTs); no cookies
are set for anonymous visitors and nothing is loaded from third parties. A logged-in
professional, provider or editor has one session cookie (``sk_session``, the API access
token) plus the refresh token (``sk_refresh``); see docs/web.md "Privacy".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp

from app.core.config import Environment, Settings
from app.feedback.schemas import MESSAGE_MAX, MESSAGE_MIN
from app.web import pages
from app.web.client import ApiError, PublicApi

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["dutch_date"] = pages.dutch_date
templates.env.filters["marked"] = pages.marked
templates.env.globals.update(
    age_text=pages.age_text,
    distance_text=pages.distance_text,
    map_url=pages.map_url,
    schedule_text=pages.schedule_text,
    role_labels=pages.ROLE_LABELS,
    quick_filters=pages.QUICK_FILTERS,
)

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

SESSION_COOKIE = "sk_session"  # the API access token (15 minutes)
REFRESH_COOKIE = "sk_refresh"  # the API refresh token, kept at most one working day here
REFRESH_MAX_AGE = 8 * 3600
PROFESSIONAL_ROLES = frozenset({"professional", "editor", "admin"})
MANAGER_ROLES = frozenset({"provider", "editor", "admin"})


@dataclass(frozen=True)
class Visitor:
    """Who is logged in (from ``GET /auth/me``), with the access token for the API."""

    token: str
    name: str
    email: str
    role: str
    organizations: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)

    @property
    def professional(self) -> bool:
        """Sees professional-only details and the professional search tools."""
        return self.role in PROFESSIONAL_ROLES

    @property
    def manager(self) -> bool:
        """May confirm listings (providers: of their own organisations)."""
        return self.role in MANAGER_ROLES


def _api(request: Request) -> PublicApi:
    api: PublicApi = request.app.state.web_api
    return api


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def load_visitor(request: Request) -> Visitor | None:
    """The logged-in visitor, or None; cached for the request. Without session cookies (every
    resident) this asks nothing. An expired access token is renewed with the refresh token;
    an unusable session is forgotten (its cookies are cleared on the response)."""
    if hasattr(request.state, "web_visitor"):
        cached: Visitor | None = request.state.web_visitor
        return cached
    request.state.web_visitor = None
    token = request.cookies.get(SESSION_COOKIE)
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not token and not refresh:
        return None
    api = _api(request)
    me: dict[str, Any] | None = None
    try:
        if token:
            me = await _me(api, token)
        if me is None and refresh:
            pair = await api.post(
                "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
            )
            token = str(pair["access_token"])
            request.state.web_new_session = pair
            me = await _me(api, token)
    except ApiError as error:
        if error.status >= 500:  # the API is away: keep the cookies, show the public page
            return None
        me = None
    if me is None or not token:
        request.state.web_end_session = True
        return None
    visitor = Visitor(
        token=token,
        name=str(me.get("display_name") or me.get("email") or ""),
        email=str(me.get("email") or ""),
        role=str(me.get("role") or ""),
        organizations=list(me.get("organizations") or []),
        municipalities=list(me.get("municipalities") or []),
    )
    request.state.web_visitor = visitor
    return visitor


async def _me(api: PublicApi, token: str) -> dict[str, Any] | None:
    try:
        me = await api.get("/auth/me", token=token)
    except ApiError as error:
        if error.status == 401:
            return None
        raise
    return me if isinstance(me, dict) and me.get("kind") == "user" else None


VisitorDep = Annotated[Visitor | None, Depends(load_visitor)]


def start_session(request: Request, response: Response, pair: dict[str, Any]) -> None:
    """Set the session cookies from an API token pair (login, invitation accepted)."""
    secure = _settings(request).environment is Environment.production
    common: dict[str, Any] = {"httponly": True, "samesite": "strict", "secure": secure, "path": "/"}
    response.set_cookie(
        SESSION_COOKIE, str(pair["access_token"]), max_age=int(pair["expires_in"]), **common
    )
    response.set_cookie(
        REFRESH_COOKIE, str(pair["refresh_token"]), max_age=REFRESH_MAX_AGE, **common
    )
    response.headers["Cache-Control"] = "no-store"


def end_session(request: Request, response: Response) -> None:
    secure = _settings(request).environment is Environment.production
    for name in (SESSION_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")


def _session_cookies(request: Request, response: Response) -> None:
    """What load_visitor decided about the session, on the response."""
    pair = getattr(request.state, "web_new_session", None)
    if pair is not None:
        start_session(request, response, pair)
    elif getattr(request.state, "web_end_session", False):
        end_session(request, response)


def redirect(request: Request, url: str) -> RedirectResponse:
    """303 See Other (after a POST, or to the login page), with the session's cookies."""
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    _session_cookies(request, response)
    return response


class CrossSite(Exception):
    """A form POST from another website (CSRF): refused with a 403 page."""


def same_origin(request: Request) -> None:
    """Form POSTs only from our own pages: ``Sec-Fetch-Site`` (modern browsers) or else
    ``Origin`` must say so. Without either (old browsers, scripts) the POST goes through:
    anonymous forms have nothing to forge, and the session cookies are ``SameSite=Strict``."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise CrossSite
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {request.headers.get("host", "").lower()}
    allowed.add(urlsplit(_settings(request).public_base_url).netloc.lower())
    if origin == "null" or urlsplit(origin).netloc.lower() not in allowed:
        raise CrossSite


SameOrigin = Depends(same_origin)
router = APIRouter(include_in_schema=False, dependencies=[Depends(load_visitor)])
FEEDBACK_MIN, FEEDBACK_MAX = MESSAGE_MIN, MESSAGE_MAX
assets = APIRouter(include_in_schema=False)


def _cache(request: Request) -> pages.TermCache:
    cache: pages.TermCache = request.app.state.web_terms
    return cache


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    visitor: Visitor | None = getattr(request.state, "web_visitor", None)
    response = templates.TemplateResponse(
        request,
        template,
        {"site": _settings(request), "visitor": visitor, **context},
        status_code=status_code,
        headers={
            "Content-Security-Policy": PAGE_CSP,
            # A logged-in page holds professional details: never stored anywhere.
            "Cache-Control": "private, no-store" if visitor else "no-cache",
            "Vary": "Cookie",
        },
    )
    _session_cookies(request, response)
    return response


ERROR_STATUSES = frozenset({400, 401, 403, 404, 409, 412, 422, 429, 503})


def error_page(request: Request, error: ApiError) -> HTMLResponse:
    status = error.status if error.status in ERROR_STATUSES else 500
    return render(
        request,
        "error.html",
        {"title": error.title, "detail": error.detail, "status": status},
        status_code=status,
    )


def message_page(
    request: Request, status: int, title: str, detail: str, links: dict[str, str] | None = None
) -> HTMLResponse:
    """A friendly page with a Dutch title and explanation, and next steps (label -> URL)."""
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "status": status, "links": links or {}},
        status_code=status,
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    try:
        themes = await _cache(request).terms("themes")
    except ApiError as error:
        return error_page(request, error)
    return render(request, "home.html", {"themes": themes})


@router.get("/zoeken", response_class=HTMLResponse)
async def results(request: Request, visitor: VisitorDep) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    form = pages.SearchForm.from_query(
        {key: request.query_params.getlist(key) for key in request.query_params}
    )
    cache = _cache(request)
    try:
        # One after the other (cached for minutes): the API calls share nothing but time.
        labels = {
            name: await cache.labels(taxonomy)
            for name, (taxonomy, _a, _l) in pages.TAXONOMIES.items()
        }
        areas = await cache.areas(settings.web_municipality)
    except ApiError as error:
        return error_page(request, error)
    data: dict[str, Any] | None = None
    status = 400 if form.problems else 200
    if not form.problems:
        try:
            data = await _api(request).search(form.api_params(settings.web_municipality))
        except ApiError as error:
            if error.status >= 500:
                return error_page(request, error)
            form.problems.append(error.detail)
            status = 422 if error.status == 422 else 400
    compact = bool(visitor and visitor.professional and form.view == "compact" and data)
    context = {
        "form": form,
        "data": data,
        "compact": compact,
        "phones": await _phones(request, data, visitor) if compact and data else {},
        "labels": labels,
        "taxonomies": pages.TAXONOMIES,
        "areas": areas,
        "area_names": pages.area_names(areas),
        "pages": pages.pagination(form, data["total"]) if data else [],
        "per_page": pages.PER_PAGE,
    }
    return render(request, "results.html", context, status_code=status)


async def _phones(
    request: Request, data: dict[str, Any], visitor: Visitor | None
) -> dict[str, tuple[str, bool]]:
    """The compact view's phone number per listing: (number, professionals-only line).

    From each listing's detail (with the professional's token: direct lines), else its
    organisation's number. A page is at most PER_PAGE listings; the calls go one after the
    other, like the term lookups. A listing that fails just shows no number."""
    token = visitor.token if visitor else None
    api = _api(request)
    organizations: dict[str, str | None] = {}
    phones: dict[str, tuple[str, bool]] = {}
    for item in data["items"]:
        try:
            detail = await api.service(item["slug"], token=token)
            found = pages.service_phone(detail)
            if found is None:
                org = item["organization"]["slug"]
                if org not in organizations:
                    organizations[org] = pages.first_phone(await api.organization(org))
                number = organizations[org]
                found = (number, False) if number else None
        except ApiError:
            continue
        if found is not None:
            phones[item["slug"]] = found
    return phones


@router.get("/voorzieningen/{slug}", response_class=HTMLResponse)
async def service_page(request: Request, slug: str, visitor: VisitorDep) -> HTMLResponse:
    # The professional's token: the API adds the professional-only block for their role.
    return await _service(request, slug, "service.html", visitor.token if visitor else None)


@router.get("/voorzieningen/{slug}/afdrukken", response_class=HTMLResponse)
async def service_print(request: Request, slug: str) -> HTMLResponse:
    # Printed to hand to a resident: never with professional-only details.
    return await _service(request, slug, "service_print.html")


async def _service(
    request: Request, slug: str, template: str, token: str | None = None
) -> HTMLResponse:
    try:
        service = await _api(request).service(slug, token=token)
    except ApiError as error:
        return error_page(request, error)
    back = request.query_params.get("terug", "")
    # Many listings have no phone of their own: then the organisation's number helps.
    organization_phones: list[dict[str, Any]] = []
    own = service.get("phones") or [
        p for loc in service.get("locations", []) for p in loc["phones"]
    ]
    if not own and service.get("organization"):
        try:
            organization = await _api(request).organization(service["organization"]["slug"])
            organization_phones = list(organization.get("phones") or [])
        except ApiError:
            organization_phones = []
    return render(
        request,
        template,
        {
            "service": service,
            "organization_phones": organization_phones,
            "back": back if back.startswith("/zoeken?") else None,
        },
    )


@router.get("/organisaties/{slug}", response_class=HTMLResponse)
async def organization_page(request: Request, slug: str) -> HTMLResponse:
    try:
        organization = await _api(request).organization(slug)
    except ApiError as error:
        return error_page(request, error)
    return render(request, "organization.html", {"organization": organization})


# --- Klopt er iets niet? (resident feedback) ------------------------------------------------


@router.get("/voorzieningen/{slug}/melden", response_class=HTMLResponse)
async def feedback_form(request: Request, slug: str) -> HTMLResponse:
    return await _feedback(request, slug, pages.FormState())


@router.post("/voorzieningen/{slug}/melden", response_class=HTMLResponse, dependencies=[SameOrigin])
async def feedback_send(request: Request, slug: str) -> Response:
    form = await read_form(request, "categorie", "bericht")
    category, message = form.values["categorie"], form.values["bericht"]
    if category not in pages.FEEDBACK_LABELS:
        form.error("categorie", "Kies wat er niet klopt.")
    if len(message) < FEEDBACK_MIN:
        form.error(
            "bericht",
            f"Schrijf wat er niet klopt, in minstens {FEEDBACK_MIN} tekens."
            if message
            else "Schrijf wat er niet klopt.",
        )
    elif len(message) > FEEDBACK_MAX:
        form.error("bericht", f"Schrijf het in hoogstens {FEEDBACK_MAX} tekens.")
    if not form.failed:
        client = request.client.host if request.client else None
        try:
            await _api(request).post(
                f"/services/{slug}/feedback",
                json={"category": category, "message": message},
                client_address=client,
            )
        except ApiError as error:
            if error.status != 422:
                return error_page(request, error)
            api_fields = {"category": "categorie", "message": "bericht"}
            for name, text in error.field_errors().items():
                form.error(api_fields.get(name, "bericht"), text)
        else:
            return redirect(request, f"/voorzieningen/{slug}/melden/bedankt")
    return await _feedback(request, slug, form)


async def _feedback(request: Request, slug: str, form: pages.FormState) -> HTMLResponse:
    try:
        service = await _api(request).service(slug)
    except ApiError as error:
        return error_page(request, error)
    context = {"service": service, "form": form, "categories": pages.FEEDBACK_LABELS}
    context |= {"min_length": FEEDBACK_MIN, "max_length": FEEDBACK_MAX}
    return render(request, "feedback.html", context, status_code=422 if form.failed else 200)


@router.get("/voorzieningen/{slug}/melden/bedankt", response_class=HTMLResponse)
async def feedback_thanks(request: Request, slug: str) -> HTMLResponse:
    try:
        service = await _api(request).service(slug)
    except ApiError as error:
        return error_page(request, error)
    return render(request, "feedback_thanks.html", {"service": service})


async def read_form(request: Request, *names: str) -> pages.FormState:
    """The posted fields ``names`` as text (stripped, at most 2,000 characters each)."""
    data = await request.form()
    values = {}
    for name in names:
        value = data.get(name)
        values[name] = value.strip()[:2000] if isinstance(value, str) else ""
    return pages.FormState(values=values)


@assets.get("/theme.css")
async def theme_css(request: Request) -> Response:
    """The gemeente's colours as design tokens (configuration, no rebuild)."""
    settings: Settings = request.app.state.settings
    css = (
        ":root{"
        f"--sk-color-primary:{settings.web_primary_color};"
        f"--sk-color-primary-text:{settings.web_primary_text_color};"
        "}\n"
    )
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


def install_web(app: FastAPI, *, api: ASGIApp, settings: Settings) -> None:
    """Serve the pages and their static files at ``/`` on ``app``, reading ``api``."""
    app.state.web_api = PublicApi(api=api, base_url=settings.web_api_url)
    app.state.web_terms = pages.TermCache(app.state.web_api)
    app.include_router(router)
    app.include_router(assets)
    from app.web import account_views, referral_views, widget  # they build on this module

    app.include_router(account_views.router)
    app.include_router(widget.router)
    app.include_router(referral_views.router)
    app.add_exception_handler(CrossSite, _cross_site)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


async def _cross_site(request: Request, _exc: Exception) -> Response:
    return message_page(
        request,
        403,
        "Dit formulier kwam van een andere website",
        "Om u te beschermen, nemen we alleen formulieren aan die op deze website zijn ingevuld. "
        "Open de pagina opnieuw op deze website en probeer het nog eens.",
    )
