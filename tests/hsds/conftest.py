"""HSDS 3.0 JSON Schemas from ``../shared/standards/hsds-3.0/schema``, made strict.

Each schema file is registered in a ``referencing`` registry under its file name and under
its canonical address (``https://raw.githubusercontent.com/openreferral/specification/3.0/
schema/<file>``); absolute ``$ref``s are rewritten to the local files. The strict variant adds
``additionalProperties: false`` to the top level of every object schema, so a property HSDS
does not define fails (every nested object is a ``$ref`` to another strict schema).

HSDS's compiled shapes (``organization_full``, ``service_at_location_full`` in the examples;
the ``compiled/*.json`` the OpenAPI document refers to are not in the distribution) add one
member each to the table schema: ``organization.services`` and
``service_at_location.service``. They are registered as ``compiled_organization.json`` and
``compiled_service_at_location.json``.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlmodel import Session, select

from app.contacts.models import Contact, Phone

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "standards" / "hsds-3.0" / "schema"
BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
NOT_TABLES = {"openapi.json", "compiled_service_with_definitions.json"}
PAGE_KEYS = (
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
)

Validate = Callable[[str, Any], None]


def _rewrite(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rewrite(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(BASE):
        out["$ref"] = ref.removeprefix(BASE)
    return out


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    if schema.get("type") == "object":
        schema["additionalProperties"] = False
    return schema


def _format_checker() -> FormatChecker:
    """uuid and email are built in; date-time and uri need extra packages, so here they are."""
    checker = FormatChecker()

    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return "T" in value and parsed.tzinfo is not None

    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value

    checker.checks("date-time", raises=ValueError)(_date_time)
    checker.checks("uri")(_uri)
    return checker


def load_schemas() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        if path.name not in NOT_TABLES:
            schemas[path.name] = _strict(_rewrite(json.loads(path.read_text(encoding="utf-8"))))
    compiled_org = copy.deepcopy(schemas["organization.json"])
    compiled_org["properties"]["services"] = {"type": "array", "items": {"$ref": "service.json"}}
    compiled_sal = copy.deepcopy(schemas["service_at_location.json"])
    compiled_sal["properties"]["service"] = {"$ref": "service.json"}
    schemas["compiled_organization.json"] = compiled_org
    schemas["compiled_service_at_location.json"] = compiled_sal
    return schemas


@pytest.fixture(scope="session")
def hsds_schemas() -> dict[str, dict[str, Any]]:
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"HSDS 3.0 schemas not found at {SCHEMA_DIR} — HSDS conformance skipped")
    return load_schemas()


@pytest.fixture(scope="session")
def validate(hsds_schemas: dict[str, dict[str, Any]]) -> Validate:
    """``validate(name, instance)``: ``name`` is a schema file (``service.json``, ...) or
    ``page:<file>`` for a Page envelope whose contents are of that schema."""
    registry: Registry[Any] = Registry()
    for name, schema in hsds_schemas.items():
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        registry = registry.with_resources([(name, resource), (BASE + name, resource)])
    checker = _format_checker()

    def validate(name: str, instance: Any) -> None:
        if name.startswith("page:"):
            schema: dict[str, Any] = {
                "type": "object",
                "additionalProperties": False,
                "required": [*PAGE_KEYS, "contents"],
                "properties": {
                    **{k: {"type": "integer"} for k in PAGE_KEYS[:4]},
                    **{k: {"type": "boolean"} for k in PAGE_KEYS[4:]},
                    "contents": {"type": "array", "items": {"$ref": name.removeprefix("page:")}},
                },
            }
        else:
            schema = {"$ref": name}
        validator = Draft202012Validator(schema, registry=registry, format_checker=checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{name} at {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
        )

    return validate


def ndjson(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        assert line.strip(), "empty line in ndjson"
        yield json.loads(line)


@pytest.fixture
def rich(demo_client: TestClient, demo_db: Session, admin: dict[str, str]) -> dict[str, str]:
    """The demo data plus one admitted listing that fills every HSDS object we map: KvK
    number, contacts (one with a phone), phones with an extension, a location in De Kwakel
    with address, coordinates, wijk, accessibility and opening hours, ages 65-120, two
    languages, a wijk as service area and the professional-only fields."""
    org = demo_client.post(
        "/api/v1/organizations",
        headers=admin,
        json={
            "municipality": "uithoorn",
            "name": "Stichting Rijke Test",
            "description": "Organisatie met alles ingevuld.",
            "website": "https://rijke-test.example.nl",
            "email": "info@rijke-test.example.nl",
            "identifiers": [{"type": "kvk", "identifier": "41216593"}],
            "phones": [{"number": "0297 123456", "extension": "12"}],
            "contacts": [{"name": "Balie", "email": "balie@rijke-test.example.nl"}],
            "kind": "stichting",
            "admission_status": "toegelaten",
        },
    )
    assert org.status_code == 201, org.text
    location = demo_client.post(
        "/api/v1/locations",
        headers=admin,
        json={
            "municipality": "uithoorn",
            "organization": org.json()["slug"],
            "name": "Dorpshuis De Kwakel",
            "address": {
                "address_1": "Kwakelsepad 1",
                "postal_code": "1424 AA",
                "city": "De Kwakel",
            },
            "latitude": 52.2349,
            "longitude": 4.7891,
            "place": "de-kwakel",
            "neighbourhood": "de-kwakel",
            "accessibility": "Rolstoeltoegankelijk, invalidentoilet",
            "transportation": "Bus 242, halte Dorpshuis",
            "phones": [{"number": "0297 654321", "type": "voice"}],
            "schedules": [
                {"freq": "WEEKLY", "byday": "TU", "opens_at": "10:00", "closes_at": "12:00"}
            ],
        },
    )
    assert location.status_code == 201, location.text
    service = demo_client.post(
        "/api/v1/services",
        headers=admin,
        json={
            "municipality": "uithoorn",
            "organization": org.json()["slug"],
            "name": "Zilveren koffieochtend",
            "description": "Koffie en een praatje voor ouderen in De Kwakel.",
            "url": "https://rijke-test.example.nl/koffie",
            "email": "koffie@rijke-test.example.nl",
            "themes": ["eenzaamheid-en-ontmoeting"],
            "target_groups": ["ouderen"],
            "access": "vrij-toegankelijk",
            "cost": "gratis",
            "minimum_age": 65,
            "maximum_age": 120,
            "languages": ["nl", "en"],
            "service_area": {"extent_type": "neighbourhood", "neighbourhoods": ["de-kwakel"]},
            "locations": [location.json()["id"]],
            "phones": [{"number": "0297 111222", "extension": "3"}],
            "contacts": [{"title": "Gastvrouw", "email": "gastvrouw@rijke-test.example.nl"}],
            "schedules": [
                {
                    "freq": "WEEKLY",
                    "byday": "WE",
                    "opens_at": "09:30",
                    "closes_at": "11:30",
                    "valid_from": "2025-01-01",
                    "description": "Elke woensdag",
                    "attending_type": "in_person",
                }
            ],
            "assured_date": "2025-06-01",
            "professional_phone": "0297 999888",
            "referral_procedure": "GEHEIM-VERWIJZEN",
            "internal_remarks": "GEHEIM-INTERN",
            "admission_status": "toegelaten",
        },
    )
    assert service.status_code == 201, service.text
    contact = demo_db.exec(
        select(Contact).where(Contact.organization_id == uuid.UUID(org.json()["id"]))
    ).one()
    demo_db.add(Phone(contact_id=contact.id, number="0297 333444"))
    demo_db.commit()
    return {
        "organization_id": org.json()["id"],
        "location_id": location.json()["id"],
        "service_id": service.json()["id"],
    }
