"""The embeddable widget: ``/widget`` (a small search page for an iframe) and ``/widget.js``
(the script a partner site includes to place that iframe). See docs/web.md "Widget".

The widget never reads or sets cookies and loads nothing from elsewhere; only this route may
be framed, by the sites in ``WEB_WIDGET_ANCESTORS`` (CSP ``frame-ancestors``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.core.config import Settings
from app.web import pages
from app.web.client import ApiError
from app.web.views import _api, _cache, templates

router = APIRouter(include_in_schema=False)

WIDGET_JS = Path(__file__).parent / "static" / "widget.js"
WIDGET_RESULTS = 5
# One CSP source expression: a scheme ("https:"), a host source ("https://*.gemeente.nl",
# "www.voorbeeld.nl:8443"), "*" or a keyword ('self'). Anything else (a ";" or a space that
# would end the directive) is left out.
_SOURCE = re.compile(r"^(\*|'self'|[a-z][a-z0-9+.-]*:|([a-z][a-z0-9+.-]*://)?[\w*.-]+(:\d+)?)$")


def frame_ancestors(settings: Settings) -> str:
    """``WEB_WIDGET_ANCESTORS`` as CSP sources; ``*`` = every http(s) site may frame it."""
    sources = [s for s in settings.web_widget_ancestors if _SOURCE.match(s.lower())]
    return " ".join(sources) or "'none'"


def widget_headers(settings: Settings) -> dict[str, str]:
    ancestors = frame_ancestors(settings)
    csp = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
    # X-Frame-Options knows only DENY and SAMEORIGIN: the security middleware would add DENY
    # when it is missing. Browsers ignore it when the CSP has frame-ancestors; "ALLOWALL" is
    # the value the HTML standard names for "no restriction" (older browsers: not DENY).
    xfo = "SAMEORIGIN" if ancestors == "'self'" else "ALLOWALL"
    if ancestors == "'none'":
        xfo = "DENY"
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": xfo,
        "Cache-Control": "public, max-age=60",
    }


@router.get("/widget", response_class=HTMLResponse)
async def widget(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    query = {key: request.query_params.getlist(key) for key in request.query_params}
    form = pages.SearchForm.from_query(
        {
            "q": query.get("q", []),
            "thema": query.get("thema", []),
            "gebied": query.get("gebied", []),
        }
    )
    context: dict[str, Any] = {"form": form, "data": None, "problem": "", "theme": None}
    status = 200
    try:
        themes = {t["slug"]: t["label"] for t in await _cache(request).terms("themes")}
        context["theme"] = next(
            (themes[s] for s in form.terms.get("thema", []) if s in themes), None
        )
        params = form.api_params(settings.web_municipality) | {"per_page": WIDGET_RESULTS}
        context["data"] = await _api(request).search(params)
    except ApiError as error:
        status = error.status if error.status in (400, 404, 422, 503) else 500
        context["problem"] = (
            "Dit onderwerp of gebied kennen we niet." if status in (400, 422) else error.detail
        )
    context["site"] = settings
    return templates.TemplateResponse(
        request, "widget.html", context, status_code=status, headers=widget_headers(settings)
    )


@router.get("/widget.js")
async def widget_js() -> Response:
    return Response(
        WIDGET_JS.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
