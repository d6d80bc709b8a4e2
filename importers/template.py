"""The import template: the header row (CSV) or a workbook with an 'Uitleg' sheet (.xlsx)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from app.export.service import BOM, csv_text
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.organizations.models import OrganizationKind
from app.taxonomy.service import terms_by_slug
from importers.columns import COLUMNS, HEADER, Column

EXPLANATION_HEADER = (
    "kolom",
    "betekenis",
    "verplicht",
    "voorbeeld",
    "toegestane waarden",
    "ook goed als kolomnaam",
    "alleen voor professionals",
)


def allowed_values(session: Session, municipality: Municipality, column: Column) -> str:
    """What a cell of this column may hold, from the database (taxonomy, kernen, wijken)."""
    if column.taxonomy is not None:
        terms = terms_by_slug(session=session, taxonomy=column.taxonomy).values()
        return "\n".join(f"{t.slug} ({t.label})" for t in terms)
    if column.name == "organisatie_soort":
        return ", ".join(k.value for k in OrganizationKind)
    if column.name == "werkgebied":
        places = session.exec(
            select(Place.name)
            .where(Place.municipality_id == municipality.id)
            .order_by(col(Place.name))
        ).all()
        wijken = session.exec(
            select(Neighbourhood.name)
            .where(Neighbourhood.municipality_id == municipality.id)
            .order_by(col(Neighbourhood.name))
        ).all()
        return (
            "gemeente (hele gemeente, standaard)\n"
            f"kern: {'; '.join(places)}\n"
            f"wijk: {'; '.join(wijken)}\n"
            "regio: naam van de regio"
        )
    if column.name == "plaats":
        places = session.exec(
            select(Place.name).where(Place.municipality_id == municipality.id)
        ).all()
        return ", ".join(sorted(places))
    if column.name == "wijk":
        wijken = session.exec(
            select(Neighbourhood.name).where(Neighbourhood.municipality_id == municipality.id)
        ).all()
        return ", ".join(sorted(wijken))
    if column.multiple:
        return "meer waarden: zet ; ertussen"
    return ""


def write_template(path: Path, *, session: Session, municipality: Municipality) -> None:
    """``.csv``: the header row (UTF-8 with BOM, ';', so Excel opens it); ``.xlsx``: the
    header row plus an 'Uitleg' sheet that explains every column."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_text(BOM + csv_text([], HEADER, with_header=True), encoding="utf-8", newline="")
        return
    if suffix != ".xlsx":
        raise ValueError("Kies een bestandsnaam die eindigt op .csv of .xlsx.")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Voorzieningen"
    sheet.append(list(HEADER))
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = min(
            40, max(14, len(column.name) + 4, len(column.example) + 2)
        )
    sheet.freeze_panes = "A2"

    explanation = workbook.create_sheet("Uitleg")
    explanation.append(list(EXPLANATION_HEADER))
    for column in COLUMNS:
        explanation.append(
            [
                column.name,
                column.description,
                "ja" if column.required else "",
                column.example,
                allowed_values(session, municipality, column),
                ", ".join(column.aliases),
                "ja" if column.professional else "",
            ]
        )
    for cell in explanation[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (24, 60, 10, 36, 50, 36, 14), strict=True):
        explanation.column_dimensions[letter].width = width
    for row in explanation.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    explanation.freeze_panes = "A2"
    workbook.save(path)
