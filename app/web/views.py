"""The public pages (served at ``/``): thin handlers that ask the public API and render.

Every page works without JavaScript (ordinary links and form GETs); no cookies are set
for anonymous visitors and nothing is loaded from third parties.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp

from app.core.config import Settings
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
)

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _api(request: Request) -> PublicApi:
    api: PublicApi = request.app.state.web_api
    return api


def _cache(request: Request) -> pages.TermCache:
    cache: pages.TermCache = request.app.state.web_terms
    return cache


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        template,
        {"site": settings, **context},
        status_code=status_code,
        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
    )


def error_page(request: Request, error: ApiError) -> HTMLResponse:
    status = error.status if error.status in (400, 404, 422, 503) else 500
    return render(
        request,
        "error.html",
        {"title": error.title, "detail": error.detail, "status": status},
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
async def results(request: Request) -> HTMLResponse:
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
    context = {
        "form": form,
        "data": data,
        "labels": labels,
        "taxonomies": pages.TAXONOMIES,
        "areas": areas,
        "area_names": pages.area_names(areas),
        "pages": pages.pagination(form, data["total"]) if data else [],
        "per_page": pages.PER_PAGE,
    }
    return render(request, "results.html", context, status_code=status)


@router.get("/voorzieningen/{slug}", response_class=HTMLResponse)
async def service_page(request: Request, slug: str) -> HTMLResponse:
    return await _service(request, slug, "service.html")


@router.get("/voorzieningen/{slug}/afdrukken", response_class=HTMLResponse)
async def service_print(request: Request, slug: str) -> HTMLResponse:
    return await _service(request, slug, "service_print.html")


async def _service(request: Request, slug: str, template: str) -> HTMLResponse:
    try:
        service = await _api(request).service(slug)
    except ApiError as error:
        return error_page(request, error)
    back = request.query_params.get("terug", "")
    return render(
        request,
        template,
        {"service": service, "back": back if back.startswith("/zoeken?") else None},
    )


@router.get("/organisaties/{slug}", response_class=HTMLResponse)
async def organization_page(request: Request, slug: str) -> HTMLResponse:
    try:
        organization = await _api(request).organization(slug)
    except ApiError as error:
        return error_page(request, error)
    return render(request, "organization.html", {"organization": organization})


@router.get("/theme.css")
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
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
