"""The Uithoorn importer: complete, idempotent, updates changes, reports bad records."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from app.locations.models import Location
from app.organizations.models import Organization
from app.services.models import Service, ServiceSource
from importers.uithoorn import UithoornImporter
from tests.conftest import DEMO_FILE


def load() -> list[dict[str, Any]]:
    return UithoornImporter.read(DEMO_FILE)


def count(db: Session, model: type[Any]) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def run(db: Session, records: list[dict[str, Any]]) -> Any:
    report = UithoornImporter(session=db).run(records)
    db.flush()
    return report


def test_imports_everything_and_twice_changes_nothing(db: Session) -> None:
    first = run(db, load())
    assert first.failed == 0, first.problems
    assert first.counts[("voorziening", "nieuw")] == 96
    assert first.counts[("organisatie", "nieuw")] == 44
    assert count(db, Service) == 96
    assert count(db, Organization) == 44
    locations = count(db, Location)
    stamps = dict(db.exec(select(Service.slug, Service.updated_at)).all())

    second = run(db, load())
    assert second.failed == 0
    assert second.counts[("voorziening", "ongewijzigd")] == 96
    assert second.counts[("organisatie", "ongewijzigd")] == 44
    assert ("voorziening", "nieuw") not in second.counts
    assert ("voorziening", "bijgewerkt") not in second.counts
    assert count(db, Service) == 96
    assert count(db, Location) == locations
    db.expire_all()
    assert dict(db.exec(select(Service.slug, Service.updated_at)).all()) == stamps


def test_a_changed_file_updates_records(db: Session) -> None:
    run(db, load())
    records = load()
    changed = copy.deepcopy(records)
    uve = next(o for o in changed if o["id"] == "uithoorn-voor-elkaar")
    cafe = next(v for v in uve["voorzieningen"] if v["id"] == "uve-financieel-cafe")
    cafe["naam"] = "Financieel Café Uithoorn"
    cafe["themas"] = ["geld-en-schulden"]
    cafe["bronnen"].append({"url": "https://www.meerbode.nl/nieuw", "datum": "2026-10-01"})
    uve["telefoon"] = "0297 123 456"

    report = run(db, changed)
    assert report.counts[("voorziening", "bijgewerkt")] == 1
    assert report.counts[("voorziening", "ongewijzigd")] == 95
    assert report.counts[("organisatie", "bijgewerkt")] == 1
    service = db.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
    assert service.name == "Financieel Café Uithoorn"
    assert str(service.assured_date) == "2026-10-01"
    sources = db.exec(select(ServiceSource).where(ServiceSource.service_id == service.id)).all()
    assert len(sources) == 5
    assert count(db, Service) == 96


def test_bad_records_are_reported_and_the_rest_is_imported(db: Session) -> None:
    records = load()
    broken = copy.deepcopy(records)
    uve = next(o for o in broken if o["id"] == "uithoorn-voor-elkaar")
    uve["voorzieningen"][0]["themas"] = ["geldzorgen"]
    uve["voorzieningen"][1]["leeftijd_min"] = 70
    uve["voorzieningen"][1]["leeftijd_max"] = 12
    uve["voorzieningen"][2]["naam"] = ""
    uve["voorzieningen"][3]["bronnen"] = [{"url": "geen url", "datum": "2024"}]
    mem = next(o for o in broken if o["id"] == "mantelzorg-en-meer")
    mem["telefoon"] = "12345"  # the organisation fails, so do its services

    report = run(db, broken)
    problems = {(p.record, p.field) for p in report.problems if p.severity == "error"}
    ids = [v["id"] for v in uve["voorzieningen"][:4]]
    assert (ids[0], "themas") in problems
    assert (ids[1], "(record)") in problems or any(r == ids[1] for r, _ in problems)
    assert (ids[2], "naam") in problems
    assert (ids[3], "bronnen.0.url") in problems
    assert ("mantelzorg-en-meer", "telefoon.0.number") in problems
    skipped_services = len(mem["voorzieningen"])
    assert report.failed == 4 + 1 + skipped_services
    assert count(db, Service) == 96 - 4 - skipped_services
    assert all(p.message for p in report.problems)
    assert not any(
        "Input should" in p.message for p in report.problems
    )  # Dutch, not pydantic's English


def test_unknown_wijk_is_a_warning_not_a_loss(db: Session) -> None:
    records = copy.deepcopy(load())
    uve = next(o for o in records if o["id"] == "uithoorn-voor-elkaar")
    uve["voorzieningen"][0]["locatie"]["wijk"] = "Atlantis"
    report = run(db, records)
    assert report.failed == 0
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert [(w.record, w.field) for w in warnings] == [
        (uve["voorzieningen"][0]["id"], "locatie.wijk")
    ]
    assert "Atlantis" in warnings[0].message


def test_structurally_broken_records(db: Session) -> None:
    records: list[Any] = [
        {"id": "zonder-naam", "voorzieningen": [{"id": "kind-van-zonder-naam", "naam": "x"}]},
        "geen object",
        {
            "id": "goed",
            "naam": "Goede organisatie",
            "voorzieningen": [
                {"id": "goed-ding", "naam": "Ding", "themas": ["wonen"], "bronnen": []},
                42,
            ],
        },
    ]
    report = run(db, records)
    failed = {p.record for p in report.problems if p.severity == "error"}
    assert failed == {
        "zonder-naam",
        "kind-van-zonder-naam",
        "organisaties[1]",
        "goed.voorzieningen[1]",
    }
    assert count(db, Service) == 1


def test_cli_import_twice(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    first = run_cli("import", "uithoorn", DEMO_FILE)
    assert first.exit_code == 0, first.output
    assert "96" in first.output
    second = run_cli("import", "uithoorn", DEMO_FILE)
    assert second.exit_code == 0
    assert "ongewijzigd" in second.output
    bad = tmp_path / "bad.json"
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data["organisaties"][0]["voorzieningen"][0]["themas"] = ["bestaat-niet"]
    bad.write_text(json.dumps(data), encoding="utf-8")
    partial = run_cli("import", "uithoorn", bad)
    assert partial.exit_code == 2
    assert "bestaat-niet" in partial.output


def test_cli_dry_run_reports_and_changes_nothing(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data["organisaties"][0]["voorzieningen"][0]["themas"] = ["bestaat-niet"]
    bad.write_text(json.dumps(data), encoding="utf-8")
    dry = run_cli("import", "uithoorn", bad, "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert "Proefimport" in dry.output
    assert "bestaat-niet" in dry.output
    # Nothing was written: a real run still creates all 95 good services.
    real = run_cli("import", "uithoorn", bad)
    assert real.exit_code == 2
    assert "nieuw" in real.output
    assert " 95 " in real.output.replace("│", " ")
