"""An Excel file with good rows and 3 bad rows: the good rows go in, the bad ones are
reported (row number, column, Dutch problem, suggestion) — in a dry run and a real run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from app.services.models import Service
from importers.tabular import FileRefused, read_excel
from tests.importing.tabular_helpers import HEADER, ROWS, count, errors, run

BAD = {
    # row number in the sheet → (what is wrong, the column reported)
    5: "themas",  # unknown theme
    6: "Leeftijd min",  # leeftijd_min > leeftijd_max
    7: "E-mail",  # not an e-mail address
}


def workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Lijst"
    header = [*HEADER, "Leeftijd min", "Leeftijd max", "E-mail", "gecontroleerd op"]
    header = [h for h in header if h not in ("leeftijd_min", "leeftijd_max")]
    sheet.append(header)

    def row(
        values: list[Any], *, minimum: Any = None, maximum: Any = None, email: Any = None
    ) -> None:
        base = dict(zip(HEADER, values, strict=True))
        base.pop("leeftijd_min")
        base.pop("leeftijd_max")
        sheet.append([*base.values(), minimum, maximum, email, datetime(2025, 3, 1)])

    row(ROWS[0])  # rij 2
    row(ROWS[1], minimum=65.0)  # rij 3: a number cell 65.0 is "65"
    row(ROWS[2], minimum=18, maximum=99, email="info@geldzorg.nl")  # rij 4
    bad_theme = list(ROWS[2])
    bad_theme[0], bad_theme[2] = "Budgetcursus", "geld en schuld"
    row(bad_theme)  # rij 5
    row([*["Ouderensoos"], *ROWS[2][1:]], minimum=70, maximum=65)  # rij 6
    row([*["Formulierenhulp"], *ROWS[2][1:]], email="geen-adres")  # rij 7
    book.create_sheet("Tweede")
    book.save(path)
    return path


def _check_report(report: Any) -> None:
    assert report.failed == 3
    found = errors(report)
    assert set(found) == {f"rij {n}" for n in BAD}
    for number, column in BAD.items():
        fields = [f for f, _, _ in found[f"rij {number}"]]
        assert column in fields, (number, found[f"rij {number}"])
    ((_, message, suggestion),) = found["rij 5"]
    assert message == "'geld en schuld' staat niet in de lijst van themas."
    assert suggestion == "Bedoelde je 'geld-en-schulden' (Geld en schulden)?"
    (_, message, suggestion), *_ = found["rij 6"]
    assert message == "De minimumleeftijd is hoger dan de maximumleeftijd."
    assert "leeftijd_max" in str(suggestion)
    (_, message, suggestion), *_ = found["rij 7"]
    assert "e-mailadres" in message.lower()
    assert suggestion == "Bijvoorbeeld: info@voorbeeld.nl"


def test_excel_good_rows_in_bad_rows_reported(db: Session, tmp_path: Path) -> None:
    table = read_excel(workbook(tmp_path / "lijst.xlsx"))
    assert table.headers[-1] == "gecontroleerd op"
    report = run(db, table)
    _check_report(report)
    assert report.counts[("voorziening", "nieuw")] == 3
    assert count(db, Service) == 3
    spreekuur = db.exec(select(Service).where(Service.name == "Digitaal spreekuur")).one()
    assert spreekuur.minimum_age == 65
    assert str(spreekuur.assured_date) == "2025-03-01"


def test_excel_sheet_by_name(tmp_path: Path) -> None:
    path = workbook(tmp_path / "lijst.xlsx")
    assert len(read_excel(path, "Lijst").rows) == 6
    with pytest.raises(FileRefused, match="leeg"):
        read_excel(path, "Tweede")
    with pytest.raises(FileRefused, match="bestaat niet"):
        read_excel(path, "Derde")


def test_cli_excel_dry_run_then_real_run(
    run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.municipalities.service import shipped_municipality_path

    monkeypatch.setenv("COLUMNS", "300")  # the report table on one line per problem

    assert run_cli("municipality", "load", shipped_municipality_path("uithoorn")).exit_code == 0
    path = workbook(tmp_path / "lijst.xlsx")
    dry = run_cli("import", "excel", path, "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert "Proefimport" in dry.output
    for number in BAD:
        assert f"rij {number}" in dry.output
    assert "Bedoelde je 'geld-en-schulden'" in dry.output
    assert "3 record(s) zou worden overgeslagen" in dry.output
    exported = run_cli("export", "csv")
    assert exported.exit_code == 0
    assert len(exported.output.strip().splitlines()) == 1  # dry run: nothing was written

    real = run_cli("import", "excel", path, "--sheet", "Lijst")
    assert real.exit_code == 2, real.output
    assert "3 record(s) is overgeslagen" in real.output
    exported = run_cli("export", "csv")
    assert len(exported.output.strip().splitlines()) == 4  # header + 3 good rows
    again = run_cli("import", "excel", path)
    assert again.exit_code == 2
    assert "nieuw" not in again.output.split("Meldingen")[0]
