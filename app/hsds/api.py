"""The HSDS 3.0 API: its own read-only, anonymous FastAPI app, mounted at ``/hsds``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from app.core.config import Settings
from app.core.errors import install_error_handlers
from app.core.middleware import ApiVersionHeader, Cors
from app.core.openapi import API_VERSION, install_openapi
from app.hsds.views import router
from app.indexing.engine import SearchEngine

HSDS_PREFIX = "/hsds"
TITLE = "Sociale kaart — Open Referral HSDS 3.0 API"
DESCRIPTION = """\
De openbare gegevens van de sociale kaart in het internationale formaat
[Open Referral HSDS 3.0](https://docs.openreferral.org/en/latest/): diensten (voorzieningen),
organisaties, diensten per locatie en de taxonomieën.

* Alleen lezen, anoniem, CORS `*`; alleen toegelaten (openbare) vermeldingen.
* Lijsten gebruiken de HSDS-pagina (`total_items`, `total_pages`, `page_number`, `size`,
  `first_page`, `last_page`, `empty`, `contents`); `format=ndjson` streamt alles.
* Velden die we niet kennen, ontbreken (geen `null`).
* Fouten zijn `application/problem+json` (RFC 9457) met Nederlandse uitleg.
* Keuzes en de vertaling van onze begrippen: docs/hsds.md.
"""


def create_hsds_app(settings: Settings, engine: Engine, search: SearchEngine) -> FastAPI:
    api = FastAPI(
        title=TITLE,
        version=API_VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.settings = settings
    api.state.engine = engine
    api.state.search = search
    api.include_router(router)
    install_error_handlers(api)

    install_openapi(
        api,
        title=TITLE,
        description=DESCRIPTION,
        servers=[{"url": HSDS_PREFIX, "description": "Deze server"}],
        contact={
            "name": settings.api_contact_name,
            "email": settings.api_contact_email,
            "url": settings.api_contact_url,
        },
        tags=[],
    )
    # Read-only: every origin may read (GET/HEAD/OPTIONS get "*"); there are no writes.
    api.add_middleware(Cors, write_origins=())

    api.add_middleware(ApiVersionHeader)
    return api
