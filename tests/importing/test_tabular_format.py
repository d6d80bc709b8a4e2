"""CSV/Excel format: headers and aliases, delimiters, encodings, labels, formula cells,
the template and the documentation of every column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from app.contacts.models import Phone
from app.export.service import protect, unprotect
from app.organizations.models import Organization
from app.services.models import Service
from importers.columns import COLUMNS, closest_header, find_column
from importers.tabular import FileRefused, map_header, read_csv
from tests.importing.tabular_helpers import HEADER, ROWS, csv_file, errors, run

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-export.md"


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Leeftijd min", "leeftijd_min"),
        ("LEEFTIJD-MIN", "leeftijd_min"),
        ("minimum_age", "leeftijd_min"),
        ("Thema's", "themas"),
        ("Thema’s", "themas"),
        ("thèmas", "themas"),
        ("name", "naam"),
        ("description", "beschrijving"),
        ("organization_name", "organisatie_naam"),
        ("E-mail", "email"),
        ("Postal code", "postcode"),
        ("Aanbieder", "organisatie_naam"),
    ],
)
def test_header_variants_and_aliases(header: str, column: str) -> None:
    found = find_column(header)
    assert found is not None
    assert found.name == column


def test_unknown_header_is_a_warning_with_a_suggestion(db: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path / "a.csv",
        ["naam", "organisatie_naam", "beschrijvng", "kleur"],
        [["Taalcafé", "Bibliotheek Amstelland", "tekst", "blauw"]],
    )
    report = run(db, path)
    assert report.failed == 0
    warnings = {p.field: p for p in report.problems if p.severity == "warning"}
    assert warnings["beschrijvng"].record == "rij 1"
    assert warnings["beschrijvng"].suggestion == "Bedoelde je 'beschrijving'?"
    assert warnings["kleur"].suggestion is None
    assert db.exec(select(Service)).one().description is None  # unknown column: not read
    assert closest_header("organisatie naaam") == "organisatie_naam"


def test_a_missing_required_column_refuses_the_file(db: Session, tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="verplichte kolom"):
        map_header(["naam", "beschrijving"])
    with pytest.raises(FileRefused, match="naam"):
        map_header(["organisatie_naam", "beschrijving"])
    with pytest.raises(FileRefused, match="allebei"):
        map_header(["naam", "name", "organisatie_naam"])
    map_header(["Naam", "organisatie_slug"])  # the slug is enough for an existing organisation
    path = csv_file(tmp_path / "a.csv", ["naam", "beschrijving"], [["Taalcafé", "tekst"]])
    with pytest.raises(FileRefused):
        run(db, path)
    assert db.exec(select(Service)).first() is None


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(";", True), (",", False), (",", True), (";", False)]
)
def test_delimiters_and_bom(db: Session, tmp_path: Path, delimiter: str, bom: bool) -> None:
    path = csv_file(tmp_path / "a.csv", HEADER, ROWS, delimiter=delimiter, bom=bom)
    table = read_csv(path)
    assert table.headers == HEADER
    report = run(db, table)
    assert report.failed == 0, report.problems
    assert report.counts[("voorziening", "nieuw")] == 3


def test_windows_1252_is_read_with_a_warning(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("naam;organisatie_naam\r\nTaalcafé;Bibliotheek\r\n".encode("cp1252"))
    report = run(db, path)
    assert report.failed == 0
    assert any("Windows-1252" in p.message for p in report.problems)
    assert db.exec(select(Service)).one().name == "Taalcafé"


def test_labels_instead_of_slugs_and_suggestions(db: Session, tmp_path: Path) -> None:
    header = ["naam", "organisatie_naam", "themas", "doelgroepen", "toegang", "kosten"]
    rows = [
        [
            "A",
            "Org",
            "GELD EN SCHULDEN; Eenzaamheid en ontmoeting",
            "Ouderen (65+)",
            "Eerst aanmelden",
            "gratis",
        ],
        ["B", "Org", "geldzaken", "iedereen", "aanmelden", "gratis"],
        ["C", "Org", "wonen", "iedereen", "aanmelden; vrij-toegankelijk", "gratis"],
        ["D", "Org", "wonen", "bejaarden", "aanmelden", "gratis"],
    ]
    report = run(db, csv_file(tmp_path / "a.csv", header, rows))
    service = db.exec(select(Service).where(Service.name == "A")).one()
    from app.services.service import detail

    shown = detail(session=db, service=service)
    assert [t.slug for t in shown.themes] == ["geld-en-schulden", "eenzaamheid-en-ontmoeting"]
    assert shown.access is not None
    assert shown.access.slug == "aanmelden"
    found = errors(report)
    assert set(found) == {"rij 3", "rij 4", "rij 5"}
    assert found["rij 3"][0][2] == "Bedoelde je 'geld-en-schulden' (Geld en schulden)?"
    assert found["rij 4"][0][1] == "Kies hier één waarde."
    assert found["rij 5"][0][0] == "doelgroepen"


def test_formula_protection_round_trip() -> None:
    for value in ("+31 297 123 456", "=SUM(A1)", "-5", "@home", "'=x", "''+1", "gewoon", "'quote"):
        assert unprotect(protect(value)) == value
    assert protect("+31 297") == "'+31 297"
    assert protect("'quote") == "'quote"


def test_formula_prefixed_cells_are_read_back(db: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path / "a.csv",
        ["naam", "organisatie_naam", "telefoon", "beschrijving"],
        [["Taalcafé", "Bibliotheek", "'+31 297 123 456", "'-- alles over taal"]],
    )
    report = run(db, path)
    assert report.failed == 0, report.problems
    service = db.exec(select(Service)).one()
    assert service.description == "-- alles over taal"
    phone = db.exec(select(Phone).where(Phone.service_id == service.id)).one()
    assert "'" not in phone.number


def test_organisation_columns_of_later_rows_are_warned(db: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path / "a.csv",
        ["naam", "organisatie_naam", "organisatie_website"],
        [
            ["A", "Org", "https://www.org.nl"],
            ["B", "Org", "https://www.anders.nl"],
        ],
    )
    report = run(db, path)
    assert report.failed == 0
    (warning,) = [p for p in report.problems if p.severity == "warning"]
    assert (warning.record, warning.field) == ("rij 3", "organisatie_website")
    assert "rij 2" in warning.message
    org = db.exec(select(Organization)).one()
    assert org.website == "https://www.org.nl/"


def test_a_row_without_organisation_or_name_is_rejected(db: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path / "a.csv",
        ["naam", "organisatie_naam", "organisatie_slug", "leeftijd_min", "werkgebied", "bronnen"],
        [
            ["", "Org", "", "", "", ""],
            ["B", "", "", "", "", ""],
            ["C", "", "bestaat-niet", "", "", ""],
            ["D", "Org", "", "twaalf", "wijk: Nergens", "geen url (2024)"],
            ["", "", "", "", "", ""],  # an empty row: skipped without a word
        ],
    )
    found = errors(run(db, path))
    assert set(found) == {"rij 2", "rij 3", "rij 4", "rij 5"}
    assert found["rij 2"][0][:2] == ("naam", "Vul de naam van de voorziening in.")
    assert "bestaat niet" in found["rij 4"][0][1]
    assert {f for f, _, _ in found["rij 5"]} == {"leeftijd_min", "werkgebied", "bronnen"}


def test_template_csv_and_xlsx(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    from app.municipalities.service import shipped_municipality_path

    assert run_cli("municipality", "load", shipped_municipality_path("uithoorn")).exit_code == 0
    csv_path = tmp_path / "sjabloon.csv"
    assert run_cli("import", "template", csv_path).exit_code == 0
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").strip() == ";".join(c.name for c in COLUMNS)

    xlsx = tmp_path / "sjabloon.xlsx"
    result = run_cli("import", "template", xlsx)
    assert result.exit_code == 0, result.output
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Voorzieningen", "Uitleg"]
    sheet = book["Voorzieningen"]
    assert [c.value for c in sheet[1]] == [c.name for c in COLUMNS]
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    explanation = {row[0]: row for row in book["Uitleg"].iter_rows(min_row=2, values_only=True)}
    assert set(explanation) == {c.name for c in COLUMNS}
    assert "geld-en-schulden (Geld en schulden)" in str(explanation["themas"][4])
    assert "gratis (Gratis)" in str(explanation["kosten"][4])
    assert "Thamerdal" in str(explanation["werkgebied"][4])
    assert explanation["naam"][2] == "ja"
    assert explanation["verwijsprocedure"][6] == "ja"
    # the template's own header imports (no rows): nothing to do, no errors
    assert run_cli("import", "csv", csv_path).exit_code == 0
    assert run_cli("import", "template", tmp_path / "x.txt").exit_code == 1


def test_the_documentation_lists_every_column() -> None:
    text = DOC.read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"| `{column.name}` |" in text, column.name
