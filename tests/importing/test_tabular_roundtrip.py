"""CSV → import → export → import again changes nothing (issue 6, "done when")."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlmodel import Session, select

from app.locations.models import Location
from app.organizations.models import Organization
from app.services.models import Service, ServiceSource
from tests.importing.tabular_helpers import HEADER, ROWS, count, csv_file, export, run


def _stamps(db: Session) -> dict[str, object]:
    db.expire_all()
    services = dict(db.exec(select(Service.slug, Service.updated_at)).all())
    orgs = dict(db.exec(select(Organization.slug, Organization.updated_at)).all())
    return {**services, **{f"org:{k}": v for k, v in orgs.items()}}


def _counts(db: Session) -> tuple[int, ...]:
    return tuple(count(db, m) for m in (Service, Organization, Location, ServiceSource))


def test_csv_import_export_import_changes_nothing(db: Session, tmp_path: Path) -> None:
    first = run(db, csv_file(tmp_path / "lijst.csv", HEADER, ROWS))
    assert first.failed == 0, first.problems
    assert first.counts[("voorziening", "nieuw")] == 3
    assert first.counts[("organisatie", "nieuw")] == 2
    taal = db.exec(select(Service).where(Service.name == "Taalcafé")).one()
    assert taal.languages == ["nl"]
    spreekuur = db.exec(select(Service).where(Service.name == "Digitaal spreekuur")).one()
    assert spreekuur.minimum_age == 65
    assert spreekuur.professional_phone == "06 12345678"

    exported = export(db, tmp_path / "export.csv")
    counts, stamps = _counts(db), _stamps(db)
    second = run(db, exported)
    assert second.failed == 0, second.problems
    assert second.counts[("voorziening", "ongewijzigd")] == 3
    assert second.counts[("organisatie", "ongewijzigd")] == 2
    assert {o for (_, o) in second.counts} == {"ongewijzigd"}
    assert _counts(db) == counts
    assert _stamps(db) == stamps
    # and the original file, imported again, matches by name: nothing changes either
    third = run(db, csv_file(tmp_path / "lijst.csv", HEADER, ROWS))
    assert {o for (_, o) in third.counts} == {"ongewijzigd"}, third.counts
    assert _stamps(db) == stamps
    assert export(db, tmp_path / "again.csv").read_text() == exported.read_text()


def test_demo_export_imported_into_the_same_database_changes_nothing(
    demo_db: Session, tmp_path: Path
) -> None:
    exported = export(demo_db, tmp_path / "demo.csv")
    assert len(exported.read_text(encoding="utf-8").splitlines()) == 97
    counts, stamps = _counts(demo_db), _stamps(demo_db)
    report = run(demo_db, exported)
    assert report.failed == 0, report.problems
    assert report.counts[("voorziening", "ongewijzigd")] == 96
    assert report.counts[("organisatie", "ongewijzigd")] == 44
    assert {o for (_, o) in report.counts} == {"ongewijzigd"}
    assert _counts(demo_db) == counts
    assert _stamps(demo_db) == stamps


def test_a_changed_cell_updates_only_that_field(db: Session, tmp_path: Path) -> None:
    run(db, csv_file(tmp_path / "lijst.csv", HEADER, ROWS))
    exported = export(db, tmp_path / "export.csv").read_text(encoding="utf-8")
    changed = tmp_path / "changed.csv"
    changed.write_text(exported.replace("Elke woensdag", "Elke donderdag"), encoding="utf-8")
    report = run(db, changed)
    assert report.counts[("voorziening", "bijgewerkt")] == 1
    assert report.counts[("voorziening", "ongewijzigd")] == 2
    taal = db.exec(select(Service).where(Service.name == "Taalcafé")).one()
    assert taal.description is None


def test_only_present_columns_are_written_and_empty_cells_clear(
    db: Session, tmp_path: Path
) -> None:
    run(db, csv_file(tmp_path / "lijst.csv", HEADER, ROWS))
    report = run(
        db,
        csv_file(
            tmp_path / "few.csv",
            ["naam", "organisatie_naam", "leeftijd_min", "beschrijving"],
            [["Digitaal spreekuur", "Bibliotheek Amstelland", "", "Hulp met uw telefoon."]],
        ),
    )
    assert report.failed == 0, report.problems
    assert report.counts[("voorziening", "bijgewerkt")] == 1
    spreekuur = db.exec(select(Service).where(Service.name == "Digitaal spreekuur")).one()
    assert spreekuur.minimum_age is None  # cleared
    assert spreekuur.description == "Hulp met uw telefoon."
    assert spreekuur.professional_phone == "06 12345678"  # column absent: kept


def test_other_locations_of_a_service_are_kept(db: Session, tmp_path: Path) -> None:
    from app.services.models import ServiceAtLocation

    run(db, csv_file(tmp_path / "lijst.csv", HEADER, ROWS))
    schuld = db.exec(select(Service).where(Service.name == "Schuldhulp aan huis")).one()

    def located_at(venue: str, address: str) -> set[uuid.UUID]:
        header = ["naam", "organisatie_naam", "locatie_naam", "adres", "plaats"]
        row = [schuld.name, "Stichting Geldzorg", venue, address, "Uithoorn"]
        run(db, csv_file(tmp_path / f"{venue}.csv", header, [row]))
        links = select(ServiceAtLocation.location_id).where(
            ServiceAtLocation.service_id == schuld.id
        )
        return set(db.exec(links))

    first = located_at("Buurthuis", "Laan 2")
    assert len(first) == 1
    # another main location replaces the main one; a second location (added via the API) stays
    # (the main location is the first by name: this one sorts after the new main one)
    extra = db.exec(select(Location).where(Location.name == "Bibliotheek Uithoorn")).one()
    extra.name = "Zalencentrum"
    db.add(extra)
    db.add(ServiceAtLocation(service_id=schuld.id, location_id=extra.id))
    db.flush()
    now = located_at("Aaa-huis", "Weg 3")
    assert extra.id in now
    assert len(now) == 2
    assert not first & now
