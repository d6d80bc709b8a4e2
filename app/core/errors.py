"""RFC 9457 problem details: one error base class and one set of handlers.

Every error leaves the API as ``application/problem+json`` with a Dutch ``title`` and
``detail``. Field errors are listed in the ``errors`` extension member, each with the
field's location and a Dutch message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sociale-kaart.nl/problemen/"


class FieldError(BaseModel):
    field: str = Field(description="Plaats van de fout, bijvoorbeeld `body.phones.0.number`.")
    message: str = Field(description="Wat er mis is, in gewone taal.")


class Problem(BaseModel):
    """RFC 9457 problem details. Validation errors add an ``errors`` list (extension member)."""

    type: str = Field(default="about:blank", description="URI die het soort probleem aanduidt.")
    title: str = Field(description="Korte samenvatting van het probleem.")
    status: int = Field(description="HTTP-statuscode.")
    detail: str = Field(description="Uitleg voor deze keer.")
    instance: str | None = Field(default=None, description="Het pad van het verzoek.")


class ProblemError(Exception):
    """Base class of every error the API reports on purpose."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "ongeldig-verzoek"
    title: ClassVar[str] = "Ongeldig verzoek"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


class BadRequest(ProblemError):
    status = 400
    code = "ongeldig-verzoek"
    title = "Ongeldig verzoek"


class Unauthorized(ProblemError):
    status = 401
    code = "niet-ingelogd"
    title = "Niet geautoriseerd"


class Forbidden(ProblemError):
    status = 403
    code = "geen-toegang"
    title = "Geen toegang"


class PreconditionFailed(ProblemError):
    status = 412
    code = "verouderd"
    title = "Gegevens zijn intussen gewijzigd"


class PreconditionRequired(ProblemError):
    status = 428
    code = "versie-nodig"
    title = "Versie ontbreekt"


class TooManyRequests(ProblemError):
    status = 429
    code = "te-veel-pogingen"
    title = "Te veel pogingen"


class NotFound(ProblemError):
    status = 404
    code = "niet-gevonden"
    title = "Niet gevonden"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(ProblemError):
    status = 422
    code = "ongeldige-invoer"
    title = "Ongeldige invoer"


class ServiceUnavailable(ProblemError):
    status = 503
    code = "niet-beschikbaar"
    title = "Tijdelijk niet beschikbaar"


def problem_json(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response outside the routes (pure ASGI middleware)."""
    return JSONResponse(
        {
            "type": PROBLEM_TYPE_BASE + code,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
        },
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    request: Request,
    code: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code if code else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# --- Dutch messages for pydantic's error types ----------------------------------------

_MESSAGES: dict[str, str] = {
    "missing": "Dit veld is verplicht.",
    "extra_forbidden": "Dit veld bestaat niet.",
    "string_type": "Vul tekst in.",
    "string_too_short": "De tekst is te kort (minimaal {min_length} tekens).",
    "string_too_long": "De tekst is te lang (maximaal {max_length} tekens).",
    "string_pattern_mismatch": "De waarde heeft niet de juiste vorm.",
    "int_type": "Vul een geheel getal in.",
    "int_parsing": "Vul een geheel getal in.",
    "int_from_float": "Vul een geheel getal in.",
    "float_type": "Vul een getal in.",
    "float_parsing": "Vul een getal in.",
    "bool_type": "Vul true of false in.",
    "bool_parsing": "Vul true of false in.",
    "greater_than": "De waarde moet groter zijn dan {gt}.",
    "greater_than_equal": "De waarde moet minstens {ge} zijn.",
    "less_than": "De waarde moet kleiner zijn dan {lt}.",
    "less_than_equal": "De waarde mag hoogstens {le} zijn.",
    "finite_number": "Vul een eindig getal in.",
    "list_type": "Vul een lijst in.",
    "too_long": "De lijst is te lang (maximaal {max_length} elementen).",
    "too_short": "De lijst is te kort (minimaal {min_length} elementen).",
    "dict_type": "Vul een object in.",
    "model_type": "Vul een object in.",
    "model_attributes_type": "Vul een object in.",
    "enum": "Kies een van deze waarden: {expected}.",
    "literal_error": "Kies een van deze waarden: {expected}.",
    "url_parsing": "Vul een geldig webadres in, bijvoorbeeld https://www.voorbeeld.nl.",
    "url_scheme": "Een webadres begint met http:// of https://.",
    "url_type": "Vul een geldig webadres in.",
    "url_too_long": "Het webadres is te lang.",
    "uuid_parsing": "Vul een geldige id (UUID) in.",
    "uuid_type": "Vul een geldige id (UUID) in.",
    "date_parsing": "Vul een datum in als JJJJ-MM-DD.",
    "date_from_datetime_parsing": "Vul een datum in als JJJJ-MM-DD.",
    "date_type": "Vul een datum in als JJJJ-MM-DD.",
    "time_parsing": "Vul een tijd in als UU:MM.",
    "time_type": "Vul een tijd in als UU:MM.",
    "json_invalid": "De inhoud is geen geldige JSON.",
    "json_type": "De inhoud is geen geldige JSON.",
    "value_error": "{error}",
    "assertion_error": "{error}",
}


def _field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def dutch_message(error: dict[str, Any]) -> str:
    error_type = str(error.get("type", ""))
    template = _MESSAGES.get(error_type)
    ctx = dict(error.get("ctx") or {})
    if error_type in {"value_error", "assertion_error"}:
        exc = ctx.get("error")
        text = str(exc) if exc is not None else str(error.get("msg", "Ongeldige waarde."))
        if "not a valid email address" in text:  # pydantic's EmailStr speaks English
            return "Dit is geen geldig e-mailadres (bijvoorbeeld naam@voorbeeld.nl)."
        return text
    if template is None:
        if error_type and error_type == error.get("msg"):
            return "Ongeldige waarde."
        # Our own PydanticCustomError messages are Dutch already; pydantic's are not.
        msg = str(error.get("msg", ""))
        return msg if error_type.startswith("nl_") else "Ongeldige waarde."
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split("{")[0].strip() or "Ongeldige waarde."


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    return [
        FieldError(field=_field_path(err.get("loc", ())), message=dutch_message(err))
        for err in errors
    ]


SQLITE_BUSY = 5  # "database is locked"; extended codes (BUSY_SNAPSHOT = 517) share the low byte

_STATUS_TITLES: dict[int, tuple[str, str, str]] = {
    400: ("ongeldig-verzoek", "Ongeldig verzoek", "Het verzoek is niet goed opgebouwd."),
    401: ("niet-ingelogd", "Niet geautoriseerd", "Log in of stuur een geldige sleutel mee."),
    403: ("geen-toegang", "Geen toegang", "U heeft geen toegang tot deze gegevens."),
    404: ("niet-gevonden", "Niet gevonden", "Deze pagina of dit gegeven bestaat niet."),
    405: (
        "methode-niet-toegestaan",
        "Methode niet toegestaan",
        "Deze actie kan niet op dit adres.",
    ),
    406: ("niet-acceptabel", "Niet acceptabel", "Dit formaat kunnen we niet leveren."),
    413: ("te-groot", "Verzoek te groot", "Het verzoek is te groot."),
    415: ("verkeerd-formaat", "Verkeerd formaat", "Stuur de gegevens als JSON."),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            code=exc.code,
            errors=exc.errors,
            headers=exc.headers,
            request=request,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        in_body = any(err.get("loc", ("",))[0] == "body" for err in errors)
        json_broken = any(err.get("type") in {"json_invalid", "json_type"} for err in errors)
        if json_broken:
            return problem_response(
                status=400,
                title="Ongeldige JSON",
                detail="De inhoud van het verzoek is geen geldige JSON.",
                code="ongeldige-json",
                errors=field_errors(errors),
                request=request,
            )
        status = 422 if in_body else 400
        fields = field_errors(errors)
        names = ", ".join(sorted({f.field for f in fields}))
        return problem_response(
            status=status,
            title="Ongeldige invoer",
            detail=f"Controleer deze velden: {names}.",
            code="ongeldige-invoer",
            errors=fields,
            request=request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title, detail = _STATUS_TITLES.get(
            exc.status_code, ("fout", "Fout", "Er ging iets mis met dit verzoek.")
        )
        return problem_response(
            status=exc.status_code,
            title=title,
            detail=detail,
            code=code,
            headers=dict(exc.headers or {}),
            request=request,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _exc: StaleDataError) -> JSONResponse:
        # Two updates of the same version raced past the If-Match check: the later one loses.
        return _stale_problem(request)

    def _stale_problem(request: Request) -> JSONResponse:
        return problem_response(
            status=409,
            title="Gegevens zijn intussen gewijzigd",
            detail="Iemand anders wijzigde dit tegelijk met u. Haal de nieuwste versie op en "
            "probeer het opnieuw.",
            code="verouderd",
            request=request,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Reached only when a concurrent write won a race our own checks could not see. Only
        # the first line (which constraint): PostgreSQL's DETAIL quotes the values, e.g. an
        # e-mail address, and logs hold no personal data (docs/privacy.md "Logs").
        logger.warning("integrity error: %s", str(exc.orig).split("\n", 1)[0])
        return problem_response(
            status=409,
            title="Conflict",
            detail="Dit gegeven botst met een ander gegeven dat net is opgeslagen. "
            "Probeer het opnieuw.",
            code="conflict",
            request=request,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        code = getattr(exc.orig, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == SQLITE_BUSY and request.method != "GET":
            # SQLite allows one writer: a write that read first and then found another write
            # in progress is refused at once (no wait, that could deadlock) — the same race
            # as a StaleDataError on PostgreSQL, so the same 409, not "database down".
            return _stale_problem(request)
        logger.error("database unavailable: %s", exc.orig)
        return problem_response(
            status=503,
            title="Tijdelijk niet beschikbaar",
            detail="De database is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
            code="niet-beschikbaar",
            headers={"Retry-After": "30"},
            request=request,
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        # Every database connection is busy (a load peak): ask to retry, never a 500.
        logger.warning("database connection pool exhausted: %s", exc)
        return problem_response(
            status=503,
            title="Tijdelijk niet beschikbaar",
            detail="Het is even te druk. Probeer het over een paar seconden opnieuw.",
            code="niet-beschikbaar",
            headers={"Retry-After": "5"},
            request=request,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            status=500,
            title="Interne fout",
            detail="Er ging iets mis aan onze kant. Probeer het later opnieuw.",
            code="interne-fout",
            request=request,
        )
