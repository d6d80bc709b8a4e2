"""``sociale-kaart export hsds``: the public listings as HSDS 3.0 ndjson or tabular CSVs.

* ndjson: one fully nested HSDS service per line (the shape of ``GET /hsds/services/{id}``).
* zip: one CSV per HSDS table with the table's flat (non-array, non-object) columns in the
  order of the HSDS schema, foreign keys filled, plus a Frictionless ``datapackage.json``.
  File names are HSDS's own (``datapackage_metadata`` / ``path`` of each schema).

Only public listings (``app/core/visibility.py``) and no professional-only fields: the export
is built from the same presenters as the API.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from app.core.visibility import organization_is_public, service_is_public
from app.hsds import present
from app.hsds import schemas as hsds
from app.hsds.present import Shape
from app.hsds.service import batches
from app.organizations.models import Organization
from app.services.models import Service
from app.taxonomy.models import TaxonomyTerm

# HSDS table → (file, its flat columns in schema order; ``:number`` / ``:uuid`` give the type
# and format, else a string). Copied from the HSDS 3.0 schemas (tests check them).
_TABLES = {
    "organization": (
        "organizations.csv",
        "id:uuid name alternate_name description email website tax_status tax_id "
        "year_incorporated:number legal_status logo uri parent_organization_id:uuid",
    ),
    "service": (
        "services.csv",
        "id:uuid organization_id:uuid program_id:uuid name alternate_name description url "
        "email status interpretation_services application_process fees_description wait_time "
        "fees accreditations eligibility_description minimum_age:number maximum_age:number "
        "assured_date assurer_email licenses alert last_modified",
    ),
    "location": (
        "locations.csv",
        "id:uuid location_type url organization_id:uuid name alternate_name description "
        "transportation latitude:number longitude:number external_identifier "
        "external_identifier_type",
    ),
    "service_at_location": (
        "service_at_location.csv",
        "id:uuid service_id:uuid location_id:uuid description",
    ),
    "address": (
        "addresses.csv",
        "id:uuid location_id:uuid attention address_1 address_2 city region state_province "
        "postal_code country address_type",
    ),
    "phone": (
        "phones.csv",
        "id:uuid location_id:uuid service_id:uuid organization_id:uuid contact_id:uuid "
        "service_at_location_id:uuid number extension:number type description",
    ),
    "schedule": (
        "schedules.csv",
        "id:uuid service_id:uuid location_id:uuid service_at_location_id:uuid valid_from "
        "valid_to dtstart timezone:number until count:number wkst freq interval:number byday "
        "byweekno bymonthday byyearday description opens_at closes_at schedule_link "
        "attending_type notes",
    ),
    "service_area": (
        "service_areas.csv",
        "id:uuid service_id:uuid name description extent extent_type uri",
    ),
    "contact": (
        "contacts.csv",
        "id:uuid organization_id:uuid service_id:uuid service_at_location_id:uuid "
        "location_id:uuid name title department email",
    ),
    "language": (
        "languages.csv",
        "id:uuid service_id:uuid location_id:uuid phone_id:uuid name code note",
    ),
    "organization_identifier": (
        "organization_identifiers.csv",
        "id:uuid organization_id:uuid identifier_scheme identifier_type identifier",
    ),
    "accessibility": ("accessibility.csv", "id:uuid location_id:uuid description details url"),
    "taxonomy": ("taxonomies.csv", "id:uuid name description uri version"),
    "taxonomy_term": (
        "taxonomy_terms.csv",
        "id:uuid code name description parent_id:uuid taxonomy language taxonomy_id:uuid term_uri",
    ),
    "attribute": (
        "attributes.csv",
        "id:uuid link_id:uuid taxonomy_term_id:uuid link_type link_entity value",
    ),
}
TABLES: dict[str, tuple[str, list[str]]] = {
    table: (path, columns.split()) for table, (path, columns) in _TABLES.items()
}


def _public_services() -> Any:
    return (
        select(Service)
        .where(service_is_public())
        .order_by(func.lower(Service.name), col(Service.id))
    )


def iter_ndjson(*, session: Session) -> Iterator[str]:
    """One full HSDS service per line, in name order, read in batches."""
    for batch in batches(session, _public_services()):
        for service in present.services_out(session, batch, shape=Shape.full):
            yield service.model_dump_json(exclude_none=True) + "\n"


class _Tables:
    """Rows per HSDS table, each record once (locations and organizations are shared)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in TABLES}

    def add(self, table: str, item: BaseModel) -> None:
        data = item.model_dump(mode="json", exclude_none=True)
        columns = [name.split(":")[0] for name in TABLES[table][1]]
        self.rows[table].setdefault(str(data["id"]), {c: data.get(c) for c in columns})

    def add_location(self, location: hsds.Location) -> None:
        self.add("location", location)
        for address in location.addresses or []:
            self.add("address", address)
        for phone in location.phones or []:
            self.add("phone", phone)
        for schedule in location.schedules or []:
            self.add("schedule", schedule)
        for accessibility in location.accessibility or []:
            self.add("accessibility", accessibility)
        for attribute in location.attributes or []:
            self.add("attribute", attribute)

    def add_contacts(self, contacts: list[hsds.Contact] | None) -> None:
        for contact in contacts or []:
            self.add("contact", contact)
            for phone in contact.phones or []:
                self.add("phone", phone)

    def add_organization(self, org: hsds.Organization) -> None:
        self.add("organization", org)
        for identifier in org.organization_identifiers or []:
            self.add("organization_identifier", identifier)
        for phone in org.phones or []:
            self.add("phone", phone)
        self.add_contacts(org.contacts)
        for location in org.locations or []:
            self.add_location(location)

    def add_service(self, service: hsds.Service) -> None:
        self.add("service", service)
        for phone in service.phones or []:
            self.add("phone", phone)
        for schedule in service.schedules or []:
            self.add("schedule", schedule)
        for area in service.service_areas or []:
            self.add("service_area", area)
        for language in service.languages or []:
            self.add("language", language)
        for attribute in service.attributes or []:
            self.add("attribute", attribute)
        self.add_contacts(service.contacts)
        for link in service.service_at_locations or []:
            self.add("service_at_location", link)
            if link.location is not None:
                self.add_location(link.location)


def _csv(columns: list[str], rows: Iterator[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return buffer.getvalue().encode("utf-8")


def datapackage() -> dict[str, Any]:
    """Frictionless Data Package descriptor of the zip (as HSDS publishes its tables)."""
    resources = []
    for table, (path, columns) in TABLES.items():
        fields = []
        for column in columns:
            name, _, kind = column.partition(":")
            field: dict[str, Any] = {
                "name": name,
                "type": "number" if kind == "number" else "string",
            }
            if kind == "uuid":
                field["format"] = "uuid"
            fields.append(field)
        resources.append(
            {
                "name": table,
                "path": path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "primaryKey": "id"},
            }
        )
    return {
        "name": "sociale-kaart-hsds",
        "title": "Sociale kaart — openbare vermeldingen (Open Referral HSDS 3.0)",
        "profile": "tabular-data-package",
        "resources": resources,
    }


def write_zip(*, session: Session, target: BinaryIO) -> dict[str, int]:
    """The HSDS tabular export of every public listing; returns the row count per file."""
    tables = _Tables()
    taxes = present.taxonomies_by_id(session)
    for tax in taxes.values():
        tables.add("taxonomy", present.taxonomy(tax))
    terms = session.exec(
        select(TaxonomyTerm).order_by(
            col(TaxonomyTerm.taxonomy_id), col(TaxonomyTerm.position), col(TaxonomyTerm.slug)
        )
    )
    for term in terms:
        tables.add("taxonomy_term", present.taxonomy_term(term, taxes[term.taxonomy_id]))
    orgs = select(Organization).where(organization_is_public()).order_by(col(Organization.id))
    for batch in batches(session, orgs):
        for org in present.organizations_full(session, batch, services=None):
            tables.add_organization(org)
    for service_batch in batches(session, _public_services()):
        for service in present.services_out(session, service_batch, shape=Shape.full):
            tables.add_service(service.model_copy(update={"organization": None}))
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table, (path, columns) in TABLES.items():
            rows = tables.rows[table]
            names = [c.split(":")[0] for c in columns]
            archive.writestr(path, _csv(names, iter(rows.values())))
            counts[path] = len(rows)
        archive.writestr(
            "datapackage.json", json.dumps(datapackage(), indent=2, ensure_ascii=False)
        )
    return counts
