"""``sociale-kaart export hsds``: ndjson lines validate; the zip holds every HSDS table with
the schema's flat columns, and its rows reference each other consistently."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from app.core.visibility import service_is_public
from app.hsds.export import TABLES, iter_ndjson, write_zip
from app.services.models import Service
from tests.conftest import DEMO_FILE
from tests.hsds.conftest import Validate, ndjson

# child file → (column, parent file) for every foreign key we fill
REFERENCES = [
    ("services.csv", "organization_id", "organizations.csv"),
    ("locations.csv", "organization_id", "organizations.csv"),
    ("service_at_location.csv", "service_id", "services.csv"),
    ("service_at_location.csv", "location_id", "locations.csv"),
    ("addresses.csv", "location_id", "locations.csv"),
    ("accessibility.csv", "location_id", "locations.csv"),
    ("phones.csv", "service_id", "services.csv"),
    ("phones.csv", "location_id", "locations.csv"),
    ("phones.csv", "organization_id", "organizations.csv"),
    ("phones.csv", "contact_id", "contacts.csv"),
    ("schedules.csv", "service_id", "services.csv"),
    ("schedules.csv", "location_id", "locations.csv"),
    ("service_areas.csv", "service_id", "services.csv"),
    ("contacts.csv", "service_id", "services.csv"),
    ("contacts.csv", "organization_id", "organizations.csv"),
    ("languages.csv", "service_id", "services.csv"),
    ("organization_identifiers.csv", "organization_id", "organizations.csv"),
    ("taxonomy_terms.csv", "taxonomy_id", "taxonomies.csv"),
    ("attributes.csv", "taxonomy_term_id", "taxonomy_terms.csv"),
]


def read_zip(data: bytes) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[str]], Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        package = json.loads(archive.read("datapackage.json"))
        rows, headers = {}, {}
        for name in names - {"datapackage.json"}:
            reader = csv.DictReader(io.StringIO(archive.read(name).decode("utf-8")))
            rows[name] = list(reader)
            headers[name] = list(reader.fieldnames or [])
    return rows, headers, package


def test_zip_has_every_table_with_consistent_references(
    demo_db: Session, rich: dict[str, str], hsds_schemas: dict[str, dict[str, Any]]
) -> None:
    buffer = io.BytesIO()
    counts = write_zip(session=demo_db, target=buffer)
    rows, headers, package = read_zip(buffer.getvalue())
    expected_files = {path for path, _ in TABLES.values()}
    assert set(rows) == expected_files
    assert {"services.csv", "service_at_location.csv", "attributes.csv"} <= expected_files
    assert {r["path"] for r in package["resources"]} == expected_files
    assert counts == {name: len(rows[name]) for name in expected_files}
    for table, (path, _) in TABLES.items():
        schema = hsds_schemas[f"{table}.json"]
        assert schema["path"] == path
        flat = [
            k
            for k, v in schema["properties"].items()
            if v.get("type") not in ("array", "object", None)
        ]
        assert headers[path] == flat, path
        ids = [r["id"] for r in rows[path]]
        assert len(ids) == len(set(ids)), f"duplicate ids in {path}"
    public = demo_db.exec(
        select(func.count()).select_from(Service).where(service_is_public())
    ).one()
    assert len(rows["services.csv"]) == public
    for child, column, parent in REFERENCES:
        known = {r["id"] for r in rows[parent]}
        used = {r[column] for r in rows[child] if r[column]}
        assert used, f"{child}.{column} is never filled"
        assert used <= known, f"{child}.{column} points outside {parent}: {used - known}"
    service_ids = {r["id"] for r in rows["services.csv"]}
    location_ids = {r["id"] for r in rows["locations.csv"]}
    assert {r["link_id"] for r in rows["attributes.csv"]} <= service_ids | location_ids
    (koffie,) = [r for r in rows["services.csv"] if r["id"] == rich["service_id"]]
    assert koffie["minimum_age"] == "65"
    assert koffie["status"] == "active"
    assert "GEHEIM" not in json.dumps(rows)  # no professional-only fields


def test_ndjson_lines_validate(demo_db: Session, rich: dict[str, str], validate: Validate) -> None:
    lines = list(ndjson("".join(iter_ndjson(session=demo_db))))
    public = demo_db.exec(
        select(func.count()).select_from(Service).where(service_is_public())
    ).one()
    assert len(lines) == public
    for line in lines:
        validate("service.json", line)
    assert rich["service_id"] in {line["id"] for line in lines}
    assert all("service_at_locations" in line and "organization" in line for line in lines)


def test_cli_export_hsds(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    assert run_cli("import", "uithoorn", DEMO_FILE, "--admit").exit_code == 0
    target = tmp_path / "services.ndjson"
    result = run_cli("export", "hsds", "--format", "ndjson", "--output", target)
    assert result.exit_code == 0, result.output
    assert len(target.read_text(encoding="utf-8").splitlines()) == 96
    archive = tmp_path / "hsds.zip"
    result = run_cli("export", "hsds", "--format", "zip", "-o", archive)
    assert result.exit_code == 0, result.output
    rows, _, _ = read_zip(archive.read_bytes())
    assert len(rows["services.csv"]) == 96
    streamed = run_cli("export", "hsds")
    assert streamed.exit_code == 0
    assert len([line for line in streamed.output.splitlines() if line.startswith("{")]) == 96
    assert run_cli("export", "hsds", "--format", "xml").exit_code == 2
