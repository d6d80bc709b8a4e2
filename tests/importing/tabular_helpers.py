"""Helpers of the CSV/Excel import tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from app.export.service import iter_csv
from app.municipalities.models import Municipality
from importers.report import ImportReport
from importers.tabular import Table, TabularImporter, read_table

HEADER = [
    "naam",
    "organisatie_naam",
    "themas",
    "doelgroepen",
    "toegang",
    "kosten",
    "leeftijd_min",
    "leeftijd_max",
    "telefoon",
    "locatie_naam",
    "adres",
    "postcode",
    "plaats",
    "werkgebied",
    "bronnen",
    "openingstijden",
    "telefoon_professionals",
]
ROWS = [
    [
        "Taalcafé",
        "Bibliotheek Amstelland",
        "Taal en digitale vaardigheden; informatie-en-advies",
        "iedereen",
        "vrij-toegankelijk",
        "gratis",
        "",
        "",
        "+31 297 531 000",
        "Bibliotheek Uithoorn",
        "Dorpsstraat 1",
        "1421 AB",
        "Uithoorn",
        "gemeente",
        "https://www.example.nl/taalcafe (2025-06); https://www.example.nl/bieb",
        "Elke woensdag 10.00-12.00 uur",
        "",
    ],
    [
        "Digitaal spreekuur",
        "Bibliotheek Amstelland",
        "taal-en-digitale-vaardigheden",
        "Ouderen (65+)",
        "Eerst aanmelden",
        "Gratis",
        "65",
        "",
        "",
        "Bibliotheek Uithoorn",
        "Dorpsstraat 1",
        "1421 AB",
        "Uithoorn",
        "kern: De Kwakel; Uithoorn",
        "https://www.example.nl/spreekuur (2025)",
        "",
        "06 12345678",
    ],
    [
        "Schuldhulp aan huis",
        "Stichting Geldzorg",
        "geld-en-schulden",
        "mensen-met-laag-inkomen",
        "aanmelden",
        "gratis",
        "18",
        "99",
        "0297 123 456",
        "",
        "",
        "",
        "",
        "wijk: Thamerdal; Oude Dorp",
        "",
        "",
        "",
    ],
]


def csv_file(
    path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ";", bom: bool = True
) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(("\ufeff" if bom else "") + out.getvalue(), encoding="utf-8", newline="")
    return path


def uithoorn(db: Session) -> Municipality:
    return db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()


def run(db: Session, table: Table | Path, *, admit: bool = False) -> ImportReport:
    if isinstance(table, Path):
        table = read_table(table)
    report = TabularImporter(session=db, municipality=uithoorn(db), admit=admit).run(table)
    db.flush()
    return report


def export(db: Session, path: Path, *, public: bool = False) -> Path:
    text = "".join(iter_csv(session=db, municipality_id=uithoorn(db).id, public=public))
    path.write_text(text, encoding="utf-8", newline="")
    return path


def count(db: Session, model: type[Any]) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def errors(report: ImportReport) -> dict[str, list[tuple[str, str, str | None]]]:
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for p in report.problems:
        if p.severity == "error":
            found.setdefault(p.record, []).append((p.field, p.message, p.suggestion))
    return found
