"""OpenAPI document that passes the Dutch API Design Rules (ADR) linter.

* every 2xx/3xx response documents the ``API-Version`` header;
* every 4xx/5xx response is ``application/problem+json`` with the RFC 9457 members;
* ``servers`` carries the major version (``/api/v1``) and ``info.contact`` is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_MEDIA_TYPE, Problem

API_VERSION = "1.0.0"

_DESCRIPTIONS = {
    400: "Ongeldige invoer in de url (query- of padparameter)",
    401: "Geen of een ongeldige beheersleutel",
    404: "Niet gevonden of niet openbaar",
    409: "Conflict met bestaande gegevens",
    422: "De inhoud van het verzoek klopt niet",
    429: "Te veel verzoeken van deze client; probeer het na Retry-After seconden opnieuw",
    503: "Tijdelijk niet beschikbaar",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "Fout")}
        for status in statuses
    }


def _postprocess(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"]["description"] = (
        "RFC 9457 probleemdetails. Bij invoerfouten staat per veld een uitleg in het "
        "extra lid `errors` (lijst van {field, message})."
    )
    components.setdefault("headers", {})["API-Version"] = {
        "description": "Volledige versie van de API (semver).",
        "schema": {"type": "string", "example": API_VERSION},
    }
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                has_body = "requestBody" in operation
                responses.pop("422")
                if has_body:
                    responses["422"] = {"description": _DESCRIPTIONS[422]}
                responses.setdefault("400", {"description": _DESCRIPTIONS[400]})
            if any(p.get("in") in ("path", "query") for p in operation.get("parameters", [])):
                # an invalid path or query parameter is a 400 (app/core/errors.py), whatever
                # else the route documents
                responses.setdefault("400", {"description": _DESCRIPTIONS[400]})
            for status, response in responses.items():
                code = int(status) if status.isdigit() else 0
                if 200 <= code < 400:
                    response.setdefault("headers", {})["API-Version"] = {
                        "$ref": "#/components/headers/API-Version"
                    }
                elif code >= 400:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
            operation["responses"] = dict(sorted(responses.items()))


def install_openapi(
    app: FastAPI,
    *,
    title: str,
    description: str,
    servers: list[dict[str, str]],
    contact: dict[str, str],
    tags: list[dict[str, str]],
    public_operations: frozenset[str] = frozenset(),
) -> Callable[[], dict[str, Any]]:
    """``public_operations``: callable without a login; their bearer security is optional."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=title,
                version=API_VERSION,
                description=description,
                routes=app.routes,
                servers=servers,
                contact=contact,
                license_info={"name": "EUPL-1.2", "url": "https://eupl.eu/1.2/nl/"},
                tags=tags,
            )
            _postprocess(schema)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if operation.get("operationId") in public_operations and operation.get(
                        "security"
                    ):
                        operation["security"] = [{}, *operation["security"]]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
