"""ASGI application: ``app.main:app``.

The public API lives in its own FastAPI application mounted at ``/api/v1``, with its own
OpenAPI document (``/api/v1/openapi.json``); health checks stay at the root.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.accounts.deps import AuthorizeDep
from app.accounts.onboarding import router as onboarding_router
from app.accounts.policy import ANONYMOUS, POLICY
from app.accounts.views import router as accounts_router
from app.admission.submission_views import router as submissions_router
from app.admission.views import router as admission_router  # toelatingscriteria
from app.audit.service import install_audit
from app.audit.views import router as audit_router
from app.core.config import Environment, Settings, get_settings
from app.core.db import build_engine, deferred
from app.core.errors import install_error_handlers
from app.core.middleware import ApiVersionHeader, BodySizeLimit, Cors, SecurityHeaders
from app.core.openapi import API_VERSION, install_openapi
from app.core.ratelimit import ClientRateLimit, ClientRateLimiter, LimitRule
from app.export.views import router as export_router
from app.feedback.views import router as feedback_router
from app.freshness.service import build_worker as build_freshness_worker
from app.freshness.views import router as freshness_router
from app.geo.jobs import GeoWorker
from app.geo.service import build_geocoder
from app.health.views import router as health_router
from app.hsds.api import HSDS_PREFIX, create_hsds_app
from app.indexing.engine import SearchEngine
from app.indexing.service import run_after_commit as sync_search
from app.insights.recorder import SearchRecorder, build_flush_worker, count_again
from app.insights.views import router as insights_router
from app.locations.views import router as locations_router
from app.municipalities.views import router as municipalities_router
from app.notifications.service import NotificationSender
from app.organizations.views import router as organizations_router
from app.privacy.retention import build_retention_worker
from app.referrals.service import build_purge_worker
from app.referrals.views import router as referrals_router
from app.search_api.answers import ANSWER_CACHE, AnswerCache, ServeKeptAnswers
from app.search_api.views import router as search_router
from app.services.views import router as services_router
from app.taxonomy.views import router as taxonomy_router
from app.web.views import install_web

API_PREFIX = "/api/v1"

API_DESCRIPTION = """\
De sociale kaart: voorzieningen (aanbod) van organisaties in een gemeente, vindbaar op
hulpvraag (thema), doelgroep en wijk. Het gegevensmodel volgt Open Referral HSDS 3.0.

* Lezen is openbaar en anoniem; alleen toegelaten voorzieningen zijn zichtbaar.
* Schrijven vraagt de beheersleutel als Bearer-token.
* Fouten zijn `application/problem+json` (RFC 9457) met Nederlandse uitleg.
"""

TAGS = [
    {"name": "Zoeken", "description": "Zoeken op hulpvraag, doelgroep en wijk."},
    {"name": "Voorzieningen", "description": "Het aanbod: activiteiten, spreekuren, loketten."},
    {"name": "Organisaties", "description": "Aanbieders van voorzieningen."},
    {"name": "Locaties", "description": "Waar voorzieningen plaatsvinden (beheer)."},
    {"name": "Taxonomie", "description": "Thema's, doelgroepen, toegang en kosten."},
    {"name": "Gebieden", "description": "Gemeenten, kernen en wijken."},
    {"name": "Accounts", "description": "Inloggen, uitnodigingen, accounts en API-sleutels."},
    {
        "name": "Verwijzingen",
        "description": "Welzijn op Recept en warme overdracht (professionals en aanbieders).",
    },
    {"name": "Monitor", "description": "Monitor sociaal domein: anonieme aantallen per maand."},
    {"name": "Audit", "description": "Wie wijzigde wat en wanneer (redactie, beheer)."},
    {"name": "Meldingen", "description": "Klopt er iets niet? Meldingen van inwoners (redactie)."},
    {
        "name": "Toelating",
        "description": "Toelatingscriteria, stroomschema, aanmelden, toetsen en beoordelen.",
    },
]


access_logger = logging.getLogger("sociale_kaart.access")


class AccessLog:
    """Access log without IP addresses, user agents or query strings (AVG: privacy by design)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            access_logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )


def search_limit_rules(settings: Settings) -> list[LimitRule]:
    """Public search per client and minute (SEARCH_MAX_PER_CLIENT_PER_MINUTE; 0 = none): the
    API, the residents' search page and HSDS search share one count; suggestions while
    typing have their own, four times as large."""
    limit = settings.search_max_per_client_per_minute
    if limit <= 0:
        return []
    detail = (
        "U heeft in korte tijd heel veel zoekopdrachten gedaan. Wacht even en probeer het "
        "dan opnieuw."
    )
    search = frozenset({f"{API_PREFIX}/search", "/zoeken", f"{HSDS_PREFIX}/services"})
    return [
        LimitRule(search, ClientRateLimiter(limit=limit, window_s=60), detail),
        LimitRule(
            frozenset({f"{API_PREFIX}/search/suggest"}),
            ClientRateLimiter(limit=4 * limit, window_s=60),
            detail,
        ),
    ]


def build_geo_worker(settings: Settings, engine: Engine, search: SearchEngine) -> GeoWorker:
    """Geocodes changed locations after their commit; then sends the changes to search."""
    # DEFERRED on SQLite: an online geocoder is asked inside the job's transaction, which must
    # not hold the write lock meanwhile; a write that loses a race is simply retried later.
    geo_engine = deferred(engine)
    return GeoWorker(
        sessions=lambda: Session(geo_engine, expire_on_commit=False),
        geocoder=build_geocoder(settings),
        on_changed=lambda: search.drain(),
    )


def build_mail_sender(settings: Settings, engine: Engine) -> NotificationSender:
    """Sends the notification outbox (e-mail) after commits and every minute."""
    return NotificationSender(
        settings=settings, sessions=lambda: Session(engine, expire_on_commit=False)
    )


def create_api_v1(
    settings: Settings,
    engine: Engine,
    search: SearchEngine | None = None,
    geo: GeoWorker | None = None,
    mail: NotificationSender | None = None,
) -> FastAPI:
    api = FastAPI(
        title="Sociale kaart API",
        version=API_VERSION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        root_path_in_servers=False,
        dependencies=[AuthorizeDep],  # every operation goes through the policy layer
    )
    api.state.settings = settings
    api.state.engine = engine
    api.state.search = search or SearchEngine(settings=settings, engine=engine)
    api.state.geo = geo or build_geo_worker(settings, engine, api.state.search)
    api.state.mail = mail or build_mail_sender(settings, engine)
    api.state.after_commit = [
        lambda session: sync_search(session, api.state.search),
        lambda session: api.state.geo.after_commit(session),
        lambda session: api.state.mail.after_commit(session),
    ]
    for router in (
        accounts_router,
        submissions_router,
        onboarding_router,
        search_router,
        services_router,
        organizations_router,
        locations_router,
        taxonomy_router,
        municipalities_router,
        audit_router,
        freshness_router,
        feedback_router,
        admission_router,
        export_router,
        referrals_router,
        insights_router,
    ):
        api.include_router(router)
    install_error_handlers(api)
    install_openapi(
        api,
        title="Sociale kaart API",
        description=API_DESCRIPTION,
        servers=[{"url": API_PREFIX, "description": "Deze server"}],
        contact={
            "name": settings.api_contact_name,
            "email": settings.api_contact_email,
            "url": settings.api_contact_url,
        },
        tags=TAGS,
        public_operations=frozenset(op for op, rule in POLICY.items() if ANONYMOUS in rule.roles),
    )
    # Innermost: kept answers of anonymous searches skip FastAPI (app/search_api/answers.py).
    answers = AnswerCache(settings.search_answer_cache_mb * 1024 * 1024)
    setattr(api.state, ANSWER_CACHE, answers)
    api.add_middleware(
        ServeKeptAnswers,
        cache=answers,
        engine=api.state.search,
        count=lambda tally: count_again(api.state, tally),
    )
    # Public reads: any origin (*); writes: only CORS_WRITE_ORIGINS (app/core/middleware.py).
    api.add_middleware(Cors, write_origins=settings.cors_write_origins)
    api.add_middleware(ApiVersionHeader)
    return api


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    search: SearchEngine | None = None,
    background_sync: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or build_engine(settings.database_url)
    install_audit()  # every write of every session is recorded (app/audit)
    search = search or SearchEngine(settings=settings, engine=engine)
    geo = build_geo_worker(settings, engine, search)
    mail = build_mail_sender(settings, engine)
    # Freshness (app/freshness): a periodic run; its commits send the search and mail outboxes.
    freshness = build_freshness_worker(
        settings, engine, [lambda session: sync_search(session, search), mail.after_commit]
    )

    # Referrals (app/referrals): personal data is erased after the retention period.
    purge = build_purge_worker(settings, engine)
    # Privacy (app/privacy): feedback text, expired tokens etc. go after their retention period.
    retention = build_retention_worker(settings, engine)
    # The monitor (app/insights): anonymous search counts, gathered in memory, written often.
    recorder = SearchRecorder(sessions=lambda: Session(engine, expire_on_commit=False))
    tallies = build_flush_worker(recorder, engine, settings.insights_flush_interval_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background_sync:
            search.start()  # retries what the outbox still holds
            geo.start()
            mail.start()
            freshness.start()
            purge.start()
            retention.start()
            tallies.start()
        try:
            yield
        finally:
            tallies.stop()
            if background_sync:
                try:
                    tallies.run_once()  # the last counts of this process
                except Exception:
                    logging.getLogger(__name__).exception("writing the search counts failed")
            purge.stop()
            retention.stop()
            await _app.state.web_api.aclose()
            freshness.stop()
            mail.stop()
            geo.stop()
            search.stop()

    app = FastAPI(
        title="sociale-kaart", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.search = search
    app.state.geo = geo
    app.state.mail = mail
    app.state.freshness = freshness
    app.state.retention = retention
    app.include_router(health_router)
    install_error_handlers(app)

    api_v1 = create_api_v1(settings, engine, search, geo, mail)
    api_v1.state.search_recorder = recorder
    app.mount(API_PREFIX, api_v1)
    app.mount(HSDS_PREFIX, create_hsds_app(settings, engine, search))  # Open Referral HSDS 3.0
    install_web(app, api=api_v1, settings=settings)  # the pages at /, on the public API only
    # Outermost last: AccessLog > SecurityHeaders > BodySizeLimit > limits > app (413s and
    # 429s get both).
    app.add_middleware(ClientRateLimit, rules=search_limit_rules(settings))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(
        SecurityHeaders,
        hsts=settings.environment is Environment.production,
        docs_path=f"{API_PREFIX}/docs",
    )
    app.add_middleware(AccessLog)
    return app


logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
app = create_app()
