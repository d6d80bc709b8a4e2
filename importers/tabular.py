"""Import voorzieningen from a CSV file or an Excel (.xlsx) sheet: one row per voorziening.

The columns are those of importers/columns.py (Dutch headers, aliases accepted). Each row is
a record "rij N" (N: the row number in the spreadsheet, the header is rij 1); a bad row is
reported (column, problem, suggestion) and skipped, the good rows are imported.

Idempotent: a voorziening is matched on ``voorziening_id``, else ``voorziening_slug``, else on
its exact name within its organisation; an organisation on ``organisatie_slug``, else on its
exact name. Only columns present in the file are written, and only cells that differ from
what an export would write: a file exported with ``sociale-kaart export csv`` and imported
again changes nothing. An empty cell clears that field. The location columns describe the
voorziening's main location; other locations of the voorziening are kept.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from rapidfuzz import fuzz, process
from sqlmodel import Session, select

from app.core.errors import ProblemError, dutch_message
from app.core.lookup import unique_slug
from app.export.service import (
    OrganizationCells,
    main_locations,
    service_rows,
    unprotect,
)
from app.municipalities.models import Municipality
from app.municipalities.service import find_neighbourhood_by_name, find_place_by_name
from app.organizations.models import Organization, OrganizationKind
from app.organizations.schemas import OrganizationUpdate
from app.services.models import Service
from app.services.schemas import ServiceUpdate
from app.taxonomy.service import TaxonomyKey, terms_by_slug
from importers.base import Importer, ImportFileError, Venue
from importers.columns import (
    BY_NAME,
    COLUMNS,
    LIST_SEPARATOR,
    Column,
    Group,
    closest_header,
    find_column,
)
from importers.report import ImportReport

FILE = "bestand"
HEADER_ROW = "rij 1"
LOCATION_COLUMNS = ("locatie_naam", "adres", "postcode", "plaats", "wijk")
_SOURCE = re.compile(r"^(?P<url>\S+)(?:\s*\((?P<date>[^)]*)\))?$")
_DUTCH_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")


class FileRefused(ImportFileError):
    """The file as a whole cannot be imported (nothing was written)."""


@dataclass
class Layout:
    """Which column of the file holds what."""

    index: dict[str, int]  # canonical column → position in the row
    headers: dict[str, str]  # canonical column → the file's own header
    unknown: list[tuple[str, str | None]]  # unknown header, closest known header


def map_header(headers: list[str]) -> Layout:
    """Match the headers of a file; refuse it when a required column is missing."""
    layout = Layout({}, {}, [])
    for position, text in enumerate(headers):
        if not text:
            continue
        column = find_column(text)
        if column is None:
            layout.unknown.append((text, closest_header(text)))
            continue
        if column.name in layout.index:
            raise FileRefused(
                f"De kolommen '{layout.headers[column.name]}' en '{text}' betekenen allebei "
                f"'{column.name}'. Laat er één staan."
            )
        layout.index[column.name] = position
        layout.headers[column.name] = text
    missing = []
    if "naam" not in layout.index:
        missing.append("naam")
    if "organisatie_naam" not in layout.index and "organisatie_slug" not in layout.index:
        missing.append("organisatie_naam (of organisatie_slug)")
    if missing:
        raise FileRefused(
            f"Het bestand mist de verplichte kolom(men): {', '.join(missing)}. Er is niets "
            "ingelezen. Gebruik de kopregel van het sjabloon (sociale-kaart import template)."
        )
    return layout


# --- reading files ---------------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the spreadsheet, cells)
    notes: list[str] = field(default_factory=list)  # warnings about the file itself


def read_csv(path: Path) -> Table:
    """UTF-8 (with or without BOM), else Windows-1252 with a warning; ';' or ','."""
    raw = path.read_bytes()
    notes = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        notes.append(
            "Het bestand is geen UTF-8; gelezen als Windows-1252 (Excel). Controleer letters "
            "als é en ë, of sla het bestand op als 'CSV UTF-8'."
        )
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _table(records, notes)


def read_excel(path: Path, sheet: str | None = None) -> Table:
    """The first sheet (or ``sheet``) of an .xlsx file; numbers and dates as text."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise FileRefused(f"Dit is geen leesbaar Excel-bestand (.xlsx): {exc}") from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise FileRefused(
                f"Het tabblad '{sheet}' bestaat niet. Tabbladen: {', '.join(workbook.sheetnames)}."
            )
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        records = [[cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return _table(records, [])


def read_table(path: Path, sheet: str | None = None) -> Table:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_excel(path, sheet)
    return read_csv(path)


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text it shows: 1424.0 → '1424', a date → '2024-06-01'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _table(records: list[list[str]], notes: list[str]) -> Table:
    while records and not any(c.strip() for c in records[0]):
        records.pop(0)  # leading empty lines
    if not records:
        raise FileRefused("Het bestand is leeg: er staat geen kopregel met kolomnamen in.")
    return Table(
        headers=[h.strip() for h in records[0]],
        rows=list(enumerate(records[1:], start=2)),
        notes=notes,
    )


# --- the importer ----------------------------------------------------------------------------


@dataclass
class RowProblems:
    problems: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add(self, column: str, message: str, suggestion: str | None = None) -> None:
        self.problems.append((column, message, suggestion))


@dataclass
class OrganizationPlan:
    key: str
    slug: str
    existing: Organization | None
    payload: dict[str, Any]
    cells: dict[str, str]  # the row's organisation cells (to compare with later rows)


@dataclass
class _OrganizationDone:
    slug: str
    cells: dict[str, str]
    row: int


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain)


def split_list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


class TabularImporter(Importer):
    """One spreadsheet (CSV or the sheet of an .xlsx file) into one municipality."""

    def __init__(self, *, session: Session, municipality: Municipality, **options: Any) -> None:
        """``options``: those of Importer (progress, geocoder, admit)."""
        super().__init__(session=session, municipality=municipality, **options)
        self.index: dict[str, int] = {}  # canonical column → position in the row
        self.headers: dict[str, str] = {}  # canonical column → the file's header
        self._terms: dict[TaxonomyKey, dict[str, str]] = {}
        self._term_labels: dict[TaxonomyKey, dict[str, str]] = {}
        self._organizations: dict[str, _OrganizationDone] = {}
        self._org_cells = OrganizationCells(session)

    # --- reporting in the words of the file -------------------------------------------------

    def header_of(self, column: str) -> str:
        return self.headers.get(column, column)

    def field_name(self, loc: Any) -> str:
        parts = [str(p) for p in loc if p != "body"]
        if not parts:
            return "(rij)"
        if parts[0] in ("minimum_age", "maximum_age") or parts[0] == "":
            return self.header_of(f"leeftijd_{'max' if parts[0] == 'maximum_age' else 'min'}")
        for column in COLUMNS:
            if column.group in (Group.service, Group.professional) and column.field == parts[0]:
                return self.header_of(column.name)
        if parts[0] == "locations":
            return self.header_of("locatie_naam")
        if parts[0] == "organization":
            return self.header_of("organisatie_slug")
        return ".".join(parts)

    def suggest(self, field: str, message: str) -> str | None:  # noqa: ARG002
        column = find_column(field)
        if column is not None and column.example:
            return f"Bijvoorbeeld: {column.example}"
        return None

    # --- the run ----------------------------------------------------------------------------

    def run(self, table: Table) -> ImportReport:
        """Import every row; raises FileRefused (before writing anything) for a bad header."""
        self.read_header(table.headers)
        for note in table.notes:
            self.report.warning(FILE, "(bestand)", note)
        for number, cells in table.rows:
            self._row(number, cells)
            self._progress(1)
        return self.finish()

    def read_header(self, headers: list[str]) -> None:
        layout = map_header(headers)
        self.index, self.headers = layout.index, layout.headers
        for header, guess in layout.unknown:
            self.report.warning(
                HEADER_ROW,
                header,
                "Onbekende kolom: deze kolom wordt niet ingelezen.",
                f"Bedoelde je '{guess}'?" if guess else None,
            )

    def _cells(self, cells: list[str]) -> dict[str, str]:
        return {
            name: unprotect(cells[i].strip()) if i < len(cells) else ""
            for name, i in self.index.items()
        }

    def _row(self, number: int, raw: list[str]) -> None:
        record = f"rij {number}"
        cells = self._cells(raw)
        if not any(cells.values()):
            return  # an empty row
        problems = RowProblems()
        org = self._plan_organization(record, cells, problems)
        existing = self._match_service(cells, org, problems)
        payload = self._service_payload(cells, existing, problems)
        if problems.problems or org is None or payload is None:
            for column, message, suggestion in problems.problems:
                self.report.error(record, self.header_of(column), message, suggestion)
            return
        location = self._location_plan(cells, existing)

        def work() -> None:
            if org.key not in self._organizations:
                self.upsert_organization(
                    slug=org.slug,
                    payload=org.payload,
                    organization_id=org.existing.id if org.existing else None,
                )
                if org.existing is not None:
                    self._org_cells.forget(org.existing.id)
            if location is not None:
                payload["locations"] = self._locations(record, org.slug, *location)
            self.upsert_service(
                organization_slug=org.slug,
                slug=existing.slug if existing else cells.get("voorziening_slug") or None,
                payload=payload,
                service_id=existing.id if existing else _uuid(cells.get("voorziening_id")),
            )

        if self.savepoint(record, work) and org.key not in self._organizations:
            self._organizations[org.key] = _OrganizationDone(org.slug, org.cells, number)

    # --- organisations ----------------------------------------------------------------------

    def _plan_organization(
        self, record: str, cells: dict[str, str], problems: RowProblems
    ) -> OrganizationPlan | None:
        slug = cells.get("organisatie_slug", "")
        name = cells.get("organisatie_naam", "")
        org_cells = {
            c.name: cells[c.name]
            for c in COLUMNS
            if c.group is Group.organization and c.name in cells
        }
        if not slug and not name:
            problems.add(
                "organisatie_naam" if "organisatie_naam" in self.index else "organisatie_slug",
                "Vul de naam van de organisatie in.",
                "Elke rij noemt de organisatie (aanbieder) van de voorziening.",
            )
            return None
        key = slug or f"naam:{name}"
        done = self._organizations.get(key)
        if done is not None:
            for column, value in org_cells.items():
                if _same(BY_NAME[column], value, done.cells.get(column, "")):
                    continue
                self.report.warning(
                    record,
                    self.header_of(column),
                    f"Andere waarde dan in rij {done.row} voor dezelfde organisatie; "
                    f"de waarde uit rij {done.row} telt.",
                    f"Maak de organisatiekolommen gelijk aan rij {done.row}.",
                )
            return OrganizationPlan(key, done.slug, None, {}, done.cells)
        existing = self.find_organization(slug=slug) if slug else None
        if existing is None and name:
            existing = self.session.exec(
                select(Organization).where(
                    Organization.municipality_id == self.municipality.id,
                    Organization.name == name,
                )
            ).first()
        if existing is None and not name:
            problems.add(
                "organisatie_slug",
                f"Organisatie '{slug}' bestaat niet in {self.municipality.name}.",
                "Vul ook organisatie_naam in, dan wordt de organisatie aangemaakt.",
            )
            return None
        current = self._org_cells(existing.id) if existing is not None else {}
        payload: dict[str, Any] = {}
        for column, value in org_cells.items():
            if column == "organisatie_slug" or (
                existing is not None and _same(BY_NAME[column], value, current.get(column, ""))
            ):
                continue
            self._organization_value(BY_NAME[column], value, existing, payload, problems)
        self._validate(OrganizationUpdate, payload, problems, group=Group.organization)
        if existing is not None:
            org_slug = existing.slug
        else:
            org_slug = slug or unique_slug(
                session=self.session,
                model=Organization,
                municipality_id=self.municipality.id,
                name=name,
            )
        return OrganizationPlan(key, org_slug, existing, payload, org_cells)

    def _organization_value(
        self,
        column: Column,
        value: str,
        existing: Organization | None,
        payload: dict[str, Any],
        problems: RowProblems,
    ) -> None:
        if column.name == "organisatie_naam":
            if not value:
                problems.add(column.name, "Vul de naam van de organisatie in.")
            else:
                payload["name"] = value
        elif column.name == "organisatie_telefoon":
            payload["phones"] = [{"number": n} for n in split_list(value)]
        elif column.name == "organisatie_soort":
            kinds = [k.value for k in OrganizationKind]
            kind = _fold(value).replace(" ", "") if value else "overig"
            if kind not in kinds:
                guess = process.extractOne(kind, kinds, scorer=fuzz.WRatio)
                problems.add(
                    column.name,
                    f"Onbekende soort organisatie '{value}'.",
                    f"Bedoelde je '{guess[0]}'? Kies uit: {', '.join(kinds)}.",
                )
            else:
                payload["kind"] = kind
        elif column.name == "kvk_nummer":
            others = (
                [
                    {"type": i.type, "identifier": i.identifier}
                    for i in self._identifiers(existing)
                    if i.type != "kvk"
                ]
                if existing is not None
                else []
            )
            payload["identifiers"] = others + (
                [{"type": "kvk", "identifier": value}] if value else []
            )
        else:
            payload[column.field] = value or None

    def _identifiers(self, org: Organization) -> list[Any]:
        from app.organizations.models import OrganizationIdentifier

        return list(
            self.session.exec(
                select(OrganizationIdentifier).where(
                    OrganizationIdentifier.organization_id == org.id
                )
            )
        )

    # --- services ---------------------------------------------------------------------------

    def _match_service(
        self, cells: dict[str, str], org: OrganizationPlan | None, problems: RowProblems
    ) -> Service | None:
        raw_id = cells.get("voorziening_id", "")
        service_id = _uuid(raw_id)
        if raw_id and service_id is None:
            problems.add(
                "voorziening_id",
                f"'{raw_id}' is geen geldig id.",
                "Laat de cel leeg bij een nieuwe voorziening; neem anders het id over uit de export.",
            )
            return None
        slug = cells.get("voorziening_slug") or None
        if service_id is not None or slug is not None:
            try:
                return self.find_service(slug=slug, service_id=service_id)
            except ProblemError as exc:
                problems.add("voorziening_id", exc.detail, "Importeer haar in haar eigen gemeente.")
                return None
        name = cells.get("naam", "")
        if org is None or (org.existing is None and org.key not in self._organizations) or not name:
            return None
        org_id = (
            org.existing.id
            if org.existing is not None
            else self.find_organization(slug=org.slug).id  # type: ignore[union-attr]
        )
        return self.session.exec(
            select(Service).where(Service.organization_id == org_id, Service.name == name)
        ).first()

    def _service_payload(
        self, cells: dict[str, str], existing: Service | None, problems: RowProblems
    ) -> dict[str, Any] | None:
        if "naam" in cells and not cells["naam"]:
            problems.add(
                "naam", "Vul de naam van de voorziening in.", "Bijvoorbeeld: Financieel Café"
            )
            return None
        current = (
            service_rows(session=self.session, services=[existing], organizations=self._org_cells)[
                0
            ]
            if existing is not None
            else {}
        )
        payload: dict[str, Any] = {}
        for name, value in cells.items():
            column = BY_NAME[name]
            if column.group not in (Group.service, Group.professional) or name in (
                "voorziening_id",
                "voorziening_slug",
            ):
                continue
            if existing is not None and _same(column, value, current.get(name, "")):
                continue
            if existing is None and not value:
                continue
            self._service_value(column, value, payload, problems)
        if (
            isinstance(payload.get("minimum_age"), int)
            and isinstance(payload.get("maximum_age"), int)
            and payload["minimum_age"] > payload["maximum_age"]
        ):
            problems.add(
                "leeftijd_min",
                "De minimumleeftijd is hoger dan de maximumleeftijd.",
                "Wissel leeftijd_min en leeftijd_max om, of maak een van beide leeg.",
            )
        if existing is not None and "voorziening_slug" in cells:
            slug = cells["voorziening_slug"]
            if slug and slug != existing.slug and _uuid(cells.get("voorziening_id")):
                payload["slug"] = slug  # matched on id: a new slug renames the voorziening
        self._validate(ServiceUpdate, payload, problems, group=Group.service)
        return payload

    def _service_value(
        self, column: Column, value: str, payload: dict[str, Any], problems: RowProblems
    ) -> None:
        name = column.name
        if column.taxonomy is not None:
            slugs = self._resolve_terms(column, value, problems)
            if column.multiple:
                payload[column.field] = slugs
            elif len(slugs) > 1:
                problems.add(name, "Kies hier één waarde.", f"Bijvoorbeeld: {column.example}")
            else:
                payload[column.field] = slugs[0] if slugs else None
        elif name in ("leeftijd_min", "leeftijd_max"):
            payload[column.field] = self._age(column, value, problems)
        elif name == "telefoon":
            payload["phones"] = [{"number": n} for n in split_list(value)]
        elif name == "talen":
            payload["languages"] = [code.lower() for code in split_list(value)]
        elif name == "openingstijden":
            payload["schedules"] = [{"description": text} for text in split_list(value)]
        elif name == "bronnen":
            payload["sources"] = self._sources(column, value, problems)
        elif name == "werkgebied":
            payload["service_area"] = self._service_area(column, value, problems)
        elif name == "gecontroleerd_op":
            payload["assured_date"] = _date(value) if value else None
        elif column.group is Group.location:
            return
        else:
            payload[column.field] = value or None

    def _age(self, column: Column, value: str, problems: RowProblems) -> int | None:
        if not value:
            return None
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            number = -1.5
        if not number.is_integer() or not 0 <= number <= 120:
            problems.add(
                column.name,
                f"'{value}' is geen leeftijd: vul een heel getal van 0 tot en met 120 in.",
                f"Bijvoorbeeld: {column.example or 18}",
            )
            return None
        return int(number)

    def _sources(self, column: Column, value: str, problems: RowProblems) -> list[dict[str, Any]]:
        sources = []
        for part in split_list(value):
            match = _SOURCE.match(part)
            if match is None:
                problems.add(
                    column.name,
                    f"'{part}' is geen bron: schrijf een web-adres, eventueel met datum.",
                    f"Bijvoorbeeld: {column.example}",
                )
                continue
            sources.append({"url": match["url"], "date": _date(match["date"] or "") or None})
        return sources

    def _service_area(self, column: Column, value: str, problems: RowProblems) -> dict[str, Any]:
        kind, _, rest = value.partition(":")
        kind = _fold(kind)
        if kind in ("", "gemeente", "hele gemeente"):
            return {"extent_type": "municipality"}
        if kind == "regio" and rest.strip():
            return {"extent_type": "region", "name": rest.strip()}
        mid = self.municipality.id
        if kind in ("kern", "kernen", "wijk", "wijken"):
            is_place = kind.startswith("kern")
            slugs = []
            for name in split_list(rest):
                area = (
                    find_place_by_name(session=self.session, municipality_id=mid, name=name)
                    if is_place
                    else find_neighbourhood_by_name(
                        session=self.session, municipality_id=mid, name=name
                    )
                )
                if area is None:
                    problems.add(
                        column.name,
                        f"{'Kern' if is_place else 'Wijk'} '{name}' bestaat niet in "
                        f"{self.municipality.name}.",
                        self._area_hint(is_place),
                    )
                else:
                    slugs.append(area.slug)
            if slugs:
                return (
                    {"extent_type": "place", "places": slugs}
                    if is_place
                    else {"extent_type": "neighbourhood", "neighbourhoods": slugs}
                )
        problems.add(
            column.name,
            f"'{value}' is geen werkgebied.",
            "Schrijf 'gemeente', 'kern: naam', 'wijk: naam; naam' of 'regio: naam'.",
        )
        return {"extent_type": "municipality"}

    def _area_hint(self, is_place: bool) -> str:
        from app.municipalities.models import Neighbourhood, Place

        model: Any = Place if is_place else Neighbourhood
        names = self.session.exec(
            select(model.name).where(model.municipality_id == self.municipality.id)
        ).all()
        return f"Kies uit: {', '.join(sorted(names))}."

    # --- taxonomy ---------------------------------------------------------------------------

    def _lookup(self, key: TaxonomyKey) -> dict[str, str]:
        """Folded slug or label → slug."""
        if key not in self._terms:
            terms = terms_by_slug(session=self.session, taxonomy=key)
            self._terms[key] = {
                **{_fold(t.label): t.slug for t in terms.values()},
                **{_fold(t.slug): t.slug for t in terms.values()},
            }
            self._term_labels[key] = {t.slug: t.label for t in terms.values()}
        return self._terms[key]

    def _resolve_terms(self, column: Column, value: str, problems: RowProblems) -> list[str]:
        assert column.taxonomy is not None
        known = self._lookup(column.taxonomy)
        labels = self._term_labels[column.taxonomy]
        slugs = []
        for part in split_list(value):
            slug = known.get(_fold(part))
            if slug is not None:
                slugs.append(slug)
                continue
            guess = process.extractOne(_fold(part), list(known), scorer=fuzz.WRatio)
            hint = (
                f"Bedoelde je '{known[guess[0]]}' ({labels[known[guess[0]]]})?"
                if guess and guess[1] >= 60
                else f"Kies uit: {', '.join(labels)}."
            )
            problems.add(column.name, f"'{part}' staat niet in de lijst van {column.name}.", hint)
        return list(dict.fromkeys(slugs))

    # --- validation -------------------------------------------------------------------------

    def _validate(
        self,
        model: type[BaseModel],
        payload: dict[str, Any],
        problems: RowProblems,
        *,
        group: Group,
    ) -> None:
        try:
            model.model_validate(payload)
        except ValidationError as exc:
            for err in exc.errors():
                column = self._column_of(err["loc"], group)
                message = dutch_message(dict(err))
                problems.add(column, message, self.suggest(column, message))

    def _column_of(self, loc: Any, group: Group) -> str:
        first = str(loc[0]) if loc else ""
        if group is Group.organization:
            for column in COLUMNS:
                if column.group is Group.organization and column.field == first:
                    return column.name
            return "organisatie_naam"
        name = self.field_name([first])
        found = find_column(name)
        return found.name if found else name

    # --- locations --------------------------------------------------------------------------

    def _location_plan(
        self, cells: dict[str, str], existing: Service | None
    ) -> tuple[Venue | None, list[uuid.UUID]] | None:
        """None: leave the locations alone; else the main venue (or none) and the others."""
        present = [c for c in LOCATION_COLUMNS if c in cells]
        if not present:
            return None
        others: list[uuid.UUID] = []
        if existing is not None:
            current = service_rows(
                session=self.session, services=[existing], organizations=self._org_cells
            )[0]
            if all(_same(BY_NAME[c], cells[c], current[c]) for c in present):
                return None
            located = main_locations(self.session, [existing.id])[existing.id]
            others = [loc.id for loc in located[1:]]
        venue = Venue(
            name=cells.get("locatie_naam") or None,
            address_1=cells.get("adres") or None,
            postal_code=cells.get("postcode") or None,
            city=cells.get("plaats") or None,
            neighbourhood=cells.get("wijk") or None,
        )
        if venue.empty and existing is None:
            return None
        return (None if venue.empty else venue), others

    def _locations(
        self,
        record: str,
        org_slug: str,
        venue: Venue | None,
        others: list[uuid.UUID],
    ) -> list[uuid.UUID]:
        if venue is None:
            return others
        main = self.upsert_venue(
            record,
            dataclasses.replace(venue, owner_hint=org_slug),
            field="locatie",
        )
        return [main, *(i for i in others if i != main)]


# --- helpers ---------------------------------------------------------------------------------


def _same(column: Column, cell: str, current: str) -> bool:
    """Does this cell say what is stored (as the export writes it)?"""
    if column.multiple:
        return [_fold(p) for p in split_list(cell)] == [_fold(p) for p in split_list(current)]
    return re.sub(r"\s+", " ", cell.strip()) == re.sub(r"\s+", " ", current.strip())


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _date(value: str) -> str:
    """'2024-06-01' as it is; Dutch '1-6-2024' → '2024-06-01' (else unchanged: validated)."""
    value = value.strip()
    match = _DUTCH_DATE.match(value)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return value
