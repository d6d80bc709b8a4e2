"""Command line: ``sociale-kaart --help``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from app.audit.service import install_audit
from app.core.config import Settings, get_settings
from app.core.db import build_engine
from app.geo.geocoding import Geocoder
from app.indexing.engine import SearchEngine
from importers.report import ImportReport

PROJECT_ROOT = Path(__file__).resolve().parents[1]
install_audit()  # writes from the command line (imports, geocoding) are audited as system

cli = typer.Typer(help="sociale-kaart: beheer van de sociale kaart.", no_args_is_help=True)
db_cli = typer.Typer(help="Database: migraties.", no_args_is_help=True)
taxonomy_cli = typer.Typer(
    help="Taxonomie (thema's, doelgroepen, toegang, kosten).", no_args_is_help=True
)
municipality_cli = typer.Typer(help="Gemeenten met hun kernen en wijken.", no_args_is_help=True)
import_cli = typer.Typer(help="Gegevens importeren.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(taxonomy_cli, name="taxonomy")
cli.add_typer(municipality_cli, name="municipality")
search_cli = typer.Typer(help="Zoekindex: bijwerken en opnieuw opbouwen.", no_args_is_help=True)
geo_cli = typer.Typer(help="Postcodes en coördinaten.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")
cli.add_typer(search_cli, name="search")
cli.add_typer(geo_cli, name="geo")
export_cli = typer.Typer(
    help="Gegevens exporteren (open data) en een volledige back-up maken.", no_args_is_help=True
)
cli.add_typer(export_cli, name="export")
users_cli = typer.Typer(help="Accounts (de eerste beheerder aanmaken).", no_args_is_help=True)
cli.add_typer(users_cli, name="users")

console = Console()


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url or get_settings().database_url
    return config


def build_geocoder(settings: Settings) -> Geocoder | None:
    from app.geo.service import build_geocoder as build

    return build(settings)


def _act_as(session: Session, email: str) -> None:
    """Record this editor (or admin) as the actor of the session's writes and decisions."""
    from sqlmodel import select

    from app.accounts.models import Role, UserAccount
    from app.accounts.principal import Principal, PrincipalKind, bind_principal
    from app.accounts.service import memberships

    user = session.exec(
        select(UserAccount).where(UserAccount.email == email.strip().lower())
    ).first()
    if user is None or not user.is_active or user.role not in (Role.editor, Role.admin):
        console.print(f"[red]{email} is geen actieve redacteur of beheerder.[/red]")
        raise typer.Exit(code=2)
    municipality_ids, organization_ids = memberships(session, user.id)
    bind_principal(
        session,
        Principal(
            kind=PrincipalKind.user,
            id=user.id,
            role=Role(user.role),
            municipality_ids=frozenset(municipality_ids),
            organization_ids=frozenset(organization_ids),
        ),
    )


def _session() -> Session:
    return Session(build_engine(get_settings().database_url), expire_on_commit=False)


def _search_engine() -> SearchEngine:
    settings = get_settings()
    return SearchEngine(settings=settings, engine=build_engine(settings.database_url))


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Doelversie")] = "head",
    skip_taxonomy: Annotated[bool, typer.Option(help="Taxonomie niet laden")] = False,
) -> None:
    """Migreer de database naar de nieuwste versie en laad ontbrekende taxonomietermen."""
    command.upgrade(alembic_config(), revision)
    if not skip_taxonomy:
        taxonomy_load(path=None, update=False)


@db_cli.command("current")
def db_current() -> None:
    """Toon de huidige migratieversie."""
    command.current(alembic_config(), verbose=True)


@taxonomy_cli.command("load")
def taxonomy_load(
    path: Annotated[
        Path | None, typer.Argument(help="YAML-bestand (standaard: meegeleverd)")
    ] = None,
    update: Annotated[
        bool, typer.Option("--update", help="Ook bestaande termen overschrijven")
    ] = False,
) -> None:
    """Laad de taxonomie: ontbrekende termen toevoegen (met --update ook bijwerken)."""
    from app.taxonomy.service import load_taxonomy, read_taxonomy_file

    with _session() as session:
        report = load_taxonomy(session=session, source=read_taxonomy_file(path), update=update)
        session.commit()
    console.print(
        f"Taxonomie: {report.created} nieuw, {report.updated} bijgewerkt, {report.unchanged} ongewijzigd."
    )


@municipality_cli.command("load")
def municipality_load(
    path: Annotated[Path, typer.Argument(help="YAML met gemeente, kernen en wijken")],
) -> None:
    """Voeg een gemeente toe of werk haar bij vanuit een configuratiebestand."""
    from app.municipalities.service import load_municipality, read_municipality_file

    with _session() as session:
        report = load_municipality(session=session, config=read_municipality_file(path))
        session.commit()
        console.print(
            f"Gemeente {report.municipality.name}: {report.created} nieuw, {report.updated} bijgewerkt."
        )


DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Alleen controleren: toon per record of rij wat er mis is en wat er zou "
        "gebeuren, maar verander niets",
    ),
]
AdmitOption = Annotated[
    bool,
    typer.Option(
        "--admit",
        help="Ook records die niet aan alle criteria voldoen toelaten (overruled met reden "
        "'trusted import'); zonder: die gaan naar de beoordelingswachtrij",
    ),
]
ReviewerOption = Annotated[
    str | None,
    typer.Option(
        help="E-mailadres van de redacteur die importeert: staat als beoordelaar in de "
        "toelatingsbesluiten en de audit-trail (standaard: system)"
    ),
]
MunicipalityOption = Annotated[
    str, typer.Option("--municipality", "-g", help="Gemeente (slug) waarin je importeert")
]


def run_import(
    *,
    total: int,
    work: Callable[[Session, Callable[[int], None]], ImportReport],
    dry_run: bool,
    reviewer: str | None,
) -> None:
    """Run an import in one transaction: committed, or rolled back for a dry run; print the
    report. Exit code 0: all records imported; 2: one or more records rejected."""
    with _session() as session, _progress("Controleren" if dry_run else "Importeren") as bar:
        if reviewer is not None:
            _act_as(session, reviewer)
        task = bar.add_task("import", total=total)
        report = work(session, lambda n: bar.advance(task, n))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        _drain_quietly()
    print_import_report(report, dry_run=dry_run)
    if report.failed:
        raise typer.Exit(code=2)


def print_import_report(report: ImportReport, *, dry_run: bool) -> None:
    title = "Proefimport (er is niets veranderd)" if dry_run else "Import"
    table = Table(title=title)
    table.add_column("soort")
    table.add_column("uitkomst")
    table.add_column("aantal", justify="right")
    for (kind, outcome), count in sorted(report.counts.items()):
        table.add_row(kind, outcome, str(count))
    if report.failed:
        table.add_row("record", "afgewezen", str(report.failed))
    console.print(table)
    if report.problems:
        problems = Table(title="Meldingen per record")
        for column in ("record", "veld", "probleem", "suggestie", "ernst"):
            problems.add_column(column)
        for p in report.problems:
            problems.add_row(
                p.record,
                p.field,
                p.message,
                p.suggestion or "",
                "fout: overgeslagen" if p.severity == "error" else "let op",
            )
        console.print(problems)
    if report.failed:
        verb = "zou worden" if dry_run else "is"
        console.print(f"[red]{report.failed} record(s) {verb} overgeslagen.[/red]")


@import_cli.command("uithoorn")
def import_uithoorn(
    path: Annotated[
        Path, typer.Argument(help="JSON in het Uithoorn-formaat", exists=True, dir_okay=False)
    ],
    municipality_config: Annotated[
        Path | None, typer.Option(help="YAML van de gemeente (standaard: meegeleverd Uithoorn)")
    ] = None,
    admit: AdmitOption = False,
    reviewer: ReviewerOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Importeer voorzieningen in het Uithoorn-formaat (idempotent). Elke nieuwe of
    gewijzigde organisatie wordt getoetst aan de toelatingscriteria (zie de samenvatting).

    Exitcode 0: alles gelukt; 2: een of meer records overgeslagen (zie de lijst).
    """
    from importers.uithoorn import UithoornImporter

    records = UithoornImporter.read(path)
    run_import(
        total=UithoornImporter.count_records(records),
        work=lambda session, progress: UithoornImporter(
            session=session,
            municipality_config=municipality_config,
            progress=progress,
            geocoder=None if dry_run else build_geocoder(get_settings()),
            admit=admit,
        ).run(records),
        dry_run=dry_run,
        reviewer=reviewer,
    )


@import_cli.command("hsds")
def import_hsds(
    path: Annotated[
        Path,
        typer.Argument(
            help="HSDS 3.0 JSON: een service_full- of organization_full-document, een lijst "
            "daarvan, of ndjson (één document per regel)",
            exists=True,
            dir_okay=False,
        ),
    ],
    municipality: MunicipalityOption = "uithoorn",
    admit: AdmitOption = False,
    reviewer: ReviewerOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Importeer Open Referral HSDS 3.0 JSON (idempotent: de HSDS-id's blijven behouden).
    Nieuwe of gewijzigde organisaties worden getoetst aan de toelatingscriteria.

    Exitcode 0: alles gelukt; 1: het bestand is onleesbaar; 2: records overgeslagen.
    """
    from importers.base import ImportFileError, target_municipality
    from importers.hsds import HsdsImporter, read

    try:
        records = read(path)
        with _session() as session:
            target_municipality(session, municipality)
    except (ImportFileError, UnicodeDecodeError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc
    run_import(
        total=len(records),
        work=lambda session, progress: HsdsImporter(
            session=session,
            municipality=target_municipality(session, municipality),
            progress=progress,
            geocoder=None if dry_run else build_geocoder(get_settings()),
            admit=admit,
        ).run(records),
        dry_run=dry_run,
        reviewer=reviewer,
    )


# --- CSV / Excel (importers/tabular.py, importers/columns.py; docs/import-export.md) -------


def _import_table(
    path: Path,
    *,
    sheet: str | None,
    municipality: str,
    admit: bool,
    reviewer: str | None,
    dry_run: bool,
) -> None:
    from importers.base import ImportFileError, target_municipality
    from importers.tabular import TabularImporter, map_header, read_table

    try:
        table = read_table(path, sheet)
        map_header(table.headers)  # refuse a file without its required columns up front
        with _session() as session:
            target_municipality(session, municipality)
    except ImportFileError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc
    run_import(
        total=len(table.rows),
        work=lambda session, progress: TabularImporter(
            session=session,
            municipality=target_municipality(session, municipality),
            progress=progress,
            geocoder=None if dry_run else build_geocoder(get_settings()),
            admit=admit,
        ).run(table),
        dry_run=dry_run,
        reviewer=reviewer,
    )


@import_cli.command("csv")
def import_csv(
    path: Annotated[
        Path,
        typer.Argument(help="CSV, één rij per voorziening (; of ,)", exists=True, dir_okay=False),
    ],
    municipality: MunicipalityOption = "uithoorn",
    admit: AdmitOption = False,
    reviewer: ReviewerOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Importeer voorzieningen uit een CSV-bestand (kolommen: zie 'import template' en
    docs/import-export.md). Idempotent; een foute rij wordt gemeld en overgeslagen.

    Exitcode 0: alles gelukt; 1: het bestand is niet te lezen of mist een verplichte kolom;
    2: een of meer rijen overgeslagen (zie de lijst).
    """
    _import_table(
        path,
        sheet=None,
        municipality=municipality,
        admit=admit,
        reviewer=reviewer,
        dry_run=dry_run,
    )


@import_cli.command("excel")
def import_excel(
    path: Annotated[
        Path, typer.Argument(help="Excel-bestand (.xlsx)", exists=True, dir_okay=False)
    ],
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Tabblad (standaard: het eerste)")
    ] = None,
    municipality: MunicipalityOption = "uithoorn",
    admit: AdmitOption = False,
    reviewer: ReviewerOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Importeer voorzieningen uit een Excel-bestand (.xlsx), zelfde kolommen als CSV.

    Exitcode 0: alles gelukt; 1: het bestand is niet te lezen of mist een verplichte kolom;
    2: een of meer rijen overgeslagen (zie de lijst).
    """
    _import_table(
        path,
        sheet=sheet,
        municipality=municipality,
        admit=admit,
        reviewer=reviewer,
        dry_run=dry_run,
    )


@import_cli.command("template")
def import_template(
    path: Annotated[Path, typer.Argument(help="Doelbestand: .csv of .xlsx", dir_okay=False)],
    municipality: MunicipalityOption = "uithoorn",
) -> None:
    """Maak een leeg importsjabloon: .csv (alleen de kopregel) of .xlsx (kopregel en een
    tabblad 'Uitleg' met elke kolom, voorbeelden en de toegestane waarden)."""
    from importers.base import ImportFileError, target_municipality
    from importers.template import write_template

    with _session() as session:
        try:
            write_template(
                path, session=session, municipality=target_municipality(session, municipality)
            )
        except (ImportFileError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=1) from exc
    console.print(f"Sjabloon geschreven: {path}")


@export_cli.command("csv")
def export_csv(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Doelbestand, of - voor standaarduitvoer")
    ] = "-",
    municipality: Annotated[
        str, typer.Option("--municipality", "-g", help="Gemeente (slug)")
    ] = "uithoorn",
    public: Annotated[
        bool,
        typer.Option(
            "--openbaar",
            help="Alleen openbare voorzieningen en geen velden voor professionals "
            "(zoals GET /api/v1/export/services.csv)",
        ),
    ] = False,
) -> None:
    """Exporteer voorzieningen als CSV met de kolommen van het importsjabloon (een
    export die je weer importeert, verandert niets). Standaard: alle voorzieningen van de
    gemeente, met de velden voor professionals."""
    import sys

    from app.export.service import iter_csv
    from importers.base import ImportFileError, target_municipality

    with _session() as session:
        try:
            found = target_municipality(session, municipality)
        except ImportFileError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=1) from exc
        chunks = iter_csv(session=session, municipality_id=found.id, public=public)
        if output == "-":
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        with Path(output).open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
    console.print(f"Export geschreven: {output}")


@export_cli.command("hsds")
def export_hsds(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Doelbestand, of - voor standaarduitvoer")
    ] = "-",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="ndjson (één dienst per regel) of zip (CSV's)")
    ] = "ndjson",
) -> None:
    """Exporteer alle openbare vermeldingen in Open Referral HSDS 3.0: ndjson (één volledige
    dienst per regel) of een zip met de HSDS-tabellen als CSV plus datapackage.json."""
    import sys

    from app.hsds.export import iter_ndjson, write_zip

    if fmt not in ("ndjson", "zip"):
        console.print("[red]Kies --format ndjson of --format zip.[/red]")
        raise typer.Exit(code=2)
    with _session() as session:
        if fmt == "zip":
            if output == "-":
                write_zip(session=session, target=sys.stdout.buffer)
                return
            with Path(output).open("wb") as binary:
                counts = write_zip(session=session, target=binary)
            console.print(", ".join(f"{name}: {n}" for name, n in counts.items()))
        elif output == "-":
            sys.stdout.writelines(iter_ndjson(session=session))
            sys.stdout.flush()
            return
        else:
            with Path(output).open("w", encoding="utf-8") as handle:
                handle.writelines(iter_ndjson(session=session))
    console.print(f"Export geschreven: {output}")


# --- backup and restore (app/backup; docs/operations.md "Back-up en herstel") ------------------


@export_cli.command("backup")
def export_backup(
    path: Annotated[Path, typer.Argument(help="Doelbestand (.zip)", dir_okay=False)],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Een bestaand bestand vervangen")
    ] = False,
) -> None:
    """Maak een volledige back-up van de database (alle tabellen) in één zip-bestand. Dit kan
    terwijl de server draait. Terugzetten: 'sociale-kaart restore BESTAND.zip'.

    Exitcode 0: back-up gemaakt; 1: geen back-up gemaakt (zie de melding).
    """
    from app.backup.service import BackupError, create_backup

    if path.exists() and not overwrite:
        console.print(f"[red]{path} bestaat al. Kies een andere naam of gebruik --overwrite.[/red]")
        raise typer.Exit(code=1)
    engine = build_engine(get_settings().database_url)
    try:
        with _progress("Back-up") as progress:
            task = progress.add_task("backup", total=None)
            report = create_backup(
                engine=engine,
                path=path,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    console.print(
        f"Back-up geschreven: {path} ({report.rows} rijen uit {len(report.manifest.tables)} "
        f"tabellen, databaseversie {report.manifest.revision})."
    )
    console.print(
        "Let op: de persoonsgegevens van verwijzingen staan er versleuteld in. Bewaar "
        "FIELD_ENCRYPTION_KEYS veilig en apart van de back-up: zonder die sleutels zijn ze "
        "na herstel niet te lezen."
    )


@cli.command("restore")
def restore(
    path: Annotated[
        Path,
        typer.Argument(help="Back-up (.zip) van 'sociale-kaart export backup'", dir_okay=False),
    ],
) -> None:
    """Zet een back-up terug in een lege database op dezelfde databaseversie (alles of niets)
    en bouw daarna de zoekindex opnieuw op. Zie docs/operations.md, "Back-up en herstel".

    Exitcode 0: hersteld; 1: niet hersteld, er is niets veranderd (zie de melding);
    3: hersteld, maar de zoekindex niet (voer 'sociale-kaart search reindex' uit).
    """
    from app.backup.service import BackupError, read_manifest, restore_backup

    engine = build_engine(get_settings().database_url)
    try:
        manifest = read_manifest(path=path)
        console.print(
            f"Back-up van {manifest.created_at:%d-%m-%Y %H:%M} UTC: databaseversie "
            f"{manifest.revision}, {manifest.rows} rijen, softwareversie {manifest.app_version}."
        )
        with _progress("Herstellen") as progress:
            task = progress.add_task("restore", total=manifest.rows)
            report = restore_backup(
                engine=engine,
                path=path,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    console.print(f"Hersteld: {report.rows} rijen in {len(report.tables)} tabellen.")
    console.print("Nu wordt de zoekindex opnieuw opgebouwd (zoals 'sociale-kaart search reindex').")
    try:
        search_reindex()
    except Exception as exc:
        console.print(
            f"[yellow]De zoekindex is niet opgebouwd ({exc}). De gegevens zijn wel hersteld: "
            "voer 'sociale-kaart search reindex' uit zodra de zoekmachine bereikbaar is.[/yellow]"
        )
        raise typer.Exit(code=3) from None


# --- end backup and restore ----------------------------------------------------------------------


def _drain_quietly() -> None:
    """Send what the outbox holds; when the engine is down the changes wait in the outbox."""
    from app.indexing.service import DrainReport

    try:
        report = _search_engine().drain()
    except Exception as exc:
        report = DrainReport()
        console.print(
            f"[yellow]Zoekindex niet bijgewerkt ({exc}); de wijzigingen wachten in de outbox.[/yellow]"
        )
    if report.sent or report.failed:
        console.print(
            f"Zoekindex: {report.sent} bijgewerkt, {report.failed} mislukt, {report.remaining} wachtend."
        )


@search_cli.command("drain")
def search_drain(
    retry_now: Annotated[
        bool, typer.Option("--retry-now", help="Ook wat nog moet wachten (backoff)")
    ] = False,
) -> None:
    """Stuur wijzigingen uit de outbox naar de zoekindex (mislukte pogingen later opnieuw)."""
    report = _search_engine().drain(retry_now=retry_now)
    console.print(
        f"Zoekindex: {report.sent} verstuurd, {report.failed} mislukt, {report.remaining} wachtend."
    )
    if report.failed:
        raise typer.Exit(code=1)


@search_cli.command("reindex")
def search_reindex() -> None:
    """Bouw een nieuwe zoekindex (instellingen eerst) en wissel hem in één keer om."""
    from sqlalchemy import func
    from sqlmodel import select

    from app.services.models import Service

    engine = _search_engine()
    with engine.sessions() as session:
        total = session.exec(select(func.count()).select_from(Service)).one()
    with _progress("Indexeren") as progress:
        task = progress.add_task("reindex", total=total)
        count = engine.reindex(progress=lambda n: progress.advance(task, n))
        progress.update(task, completed=total)
    console.print(
        f"Zoekindex opnieuw opgebouwd: {count} openbare voorzieningen ({engine.backend_name})."
    )


@search_cli.command("status")
def search_status() -> None:
    """Toon de zoekmachine, haar gezondheid en de wachtrij (outbox)."""
    engine = _search_engine()
    status = engine.status()
    console.print(
        f"Zoekmachine: {status['backend']} · {'gezond' if status['healthy'] else 'niet bereikbaar'} · "
        f"{engine.backend.stats().documents if status['healthy'] else '?'} documenten · "
        f"{engine.backlog()} wachtend in de outbox"
    )


@geo_cli.command("import-postcodes")
def geo_import_postcodes(
    path: Annotated[
        Path,
        typer.Argument(help="CSV met postcode, latitude, longitude", exists=True, dir_okay=False),
    ],
) -> None:
    """Laad postcode-middelpunten (PC4 of PC6) uit een CSV (zie docs/operations.md)."""
    from app.geo.service import import_postcodes

    with _session() as session, _progress("Postcodes") as progress:
        task = progress.add_task("postcodes", total=None)
        report = import_postcodes(
            session=session, path=path, progress=lambda n: progress.advance(task, n)
        )
        session.commit()
    console.print(
        f"Postcodes: {report.created} nieuw, {report.updated} bijgewerkt, {len(report.errors)} fout."
    )
    for line, message in report.errors[:20]:
        console.print(f"  regel {line}: {message}")
    if report.errors:
        raise typer.Exit(code=2)


@geo_cli.command("geocode")
def geo_geocode(
    missing: Annotated[
        bool,
        typer.Option(
            "--missing/--all",
            help="Alleen locaties zonder coördinaten of met een grove plek (standaard), of alle",
        ),
    ] = True,
) -> None:
    """Bepaal coördinaten en wijk van locaties (PDOK als GEOCODER=pdok, anders offline:
    PC6 > PC4 > kern). Handmatige coördinaten en wijken blijven staan."""
    from sqlmodel import col, or_, select

    from app.geo.geocoding import GeoPrecision
    from app.geo.jobs import GeocodeReport, geocode_one
    from app.locations.models import Location

    geocoder = build_geocoder(get_settings())
    report = GeocodeReport()
    with _session() as session:
        statement = select(Location.id).where(col(Location.location_type) != "virtual")
        if missing:
            coarse = [p.value for p in GeoPrecision if p.approximate]
            statement = statement.where(
                or_(col(Location.latitude).is_(None), col(Location.geo_precision).in_(coarse))
            )
        ids = list(session.exec(statement.order_by(col(Location.id))))
    with _progress("Geocoderen") as progress:
        task = progress.add_task("locaties", total=len(ids))
        for start in range(0, len(ids), 50):
            with _session() as session:
                for location_id in ids[start : start + 50]:
                    location = session.get(Location, location_id)
                    if location is not None:
                        geocode_one(
                            session=session, location=location, geocoder=geocoder, report=report
                        )
                    progress.advance(task)
                session.commit()
    _drain_quietly()
    table = Table(title=f"Geocodering ({geocoder.name if geocoder else 'offline'})")
    table.add_column("precisie")
    table.add_column("locaties", justify="right")
    order = [p.value for p in GeoPrecision] + ["geen"]
    for key in sorted(report.by_precision, key=order.index):
        table.add_row(key, str(report.by_precision[key]))
    console.print(table)
    if report.retry_later:
        console.print(
            f"[yellow]{report.retry_later} locatie(s): geocoder niet bereikbaar, offline plek "
            "gebruikt; probeer het later opnieuw.[/yellow]"
        )


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="E-mailadres (inlognaam)")],
    name: Annotated[str, typer.Option(help="Naam")],
    role: Annotated[str, typer.Option(help="admin, editor, provider of professional")] = "admin",
    municipality: Annotated[
        list[str] | None,
        typer.Option(help="Gemeente (slug); vaker op te geven (standaard uithoorn)"),
    ] = None,
    organization: Annotated[
        list[str] | None, typer.Option(help="Organisatie (slug), voor rol provider")
    ] = None,
) -> None:
    """Maak een account met een wachtwoord (gevraagd, niet zichtbaar). Voor de eerste
    beheerder; daarna nodigt die anderen uit via de API (POST /api/v1/invitations)."""
    from sqlmodel import col, select

    from app.accounts.models import Role
    from app.accounts.service import create_user
    from app.core.errors import ProblemError
    from app.municipalities.models import Municipality
    from app.organizations.models import Organization

    municipality = municipality or ["uithoorn"]
    try:
        chosen = Role(role)
    except ValueError:
        console.print(
            f"[red]Onbekende rol {role!r}: kies uit {', '.join(r.value for r in Role)}.[/red]"
        )
        raise typer.Exit(code=2) from None
    password = typer.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        municipality_ids = list(
            session.exec(select(Municipality.id).where(col(Municipality.slug).in_(municipality)))
        )
        organization_ids = list(
            session.exec(
                select(Organization.id).where(col(Organization.slug).in_(organization or []))
            )
        )
        if len(municipality_ids) != len(set(municipality)) or len(organization_ids) != len(
            set(organization or [])
        ):
            console.print("[red]Onbekende gemeente of organisatie.[/red]")
            raise typer.Exit(code=2)
        try:
            user = create_user(
                session=session,
                email=email,
                display_name=name,
                role=chosen,
                municipality_ids=municipality_ids,
                organization_ids=organization_ids,
                password=password,
            )
        except ProblemError as exc:
            details = "; ".join(e.message for e in exc.errors) or exc.detail
            console.print(f"[red]{exc.detail} {details}[/red]")
            raise typer.Exit(code=2) from None
        session.commit()
        console.print(f"Account {user.email} ({chosen.value}) aangemaakt.")


# --- freshness (app/freshness; docs/operations.md "Actualiteit (freshness)") ---------------

freshness_cli = typer.Typer(
    help="Actualiteit: voorzieningen die lang niet gecontroleerd zijn.", no_args_is_help=True
)
cli.add_typer(freshness_cli, name="freshness")


@freshness_cli.command("run")
def freshness_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Alleen tellen: niets opslaan, geen e-mail")
    ] = False,
) -> None:
    """Markeer verouderde voorzieningen (verificatie-nodig, daarna verlopen) en zet
    herinneringen voor de aanbieders klaar. De server doet dit ook zelf, elk uur."""
    from app.core.models import utcnow
    from app.freshness.service import run
    from app.notifications.service import NotificationSender

    settings = get_settings()
    engine = build_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        report = run(session=session, settings=settings, now=utcnow())
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if report.skipped:
        console.print("[yellow]Een andere run is bezig (een server); niets gedaan.[/yellow]")
        return
    console.print(f"Actualiteit{' (proefrun: niets opgeslagen)' if dry_run else ''}:")
    for label, count in (
        ("te lang niet gecontroleerd", report.overdue),
        ("naar verificatie-nodig", report.verification_needed),
        ("naar verlopen", report.expired),
        ("herinnering(en) klaargezet", report.reminders),
        ("voorziening(en) herinnerd", report.reminded),
    ):
        console.print(f"  {label + ':':<28}{count:>6}")
    if report.without_recipient:
        console.print(
            f"[yellow]{report.without_recipient} voorziening(en) zonder aanbieder-account of "
            "e-mailadres van de organisatie: niemand kreeg een herinnering.[/yellow]"
        )
    if dry_run:
        return
    _drain_quietly()
    if report.reminders:
        sender = NotificationSender(
            settings=settings, sessions=lambda: Session(engine, expire_on_commit=False)
        )
        mail = sender.send_pending()
        if mail.disabled:
            console.print("E-mail staat uit (SMTP_ENABLED): de herinneringen wachten in de outbox.")
        else:
            console.print(f"E-mail: {mail.sent} verstuurd, {mail.failed} later opnieuw.")


# --- end freshness ------------------------------------------------------------------------------


# --- admission (toelatingscriteria) -------------------------------------------------------------

admission_cli = typer.Typer(
    help="Toelatingscriteria per gemeente (versies, stroomschema).", no_args_is_help=True
)
cli.add_typer(admission_cli, name="admission")


@admission_cli.command("load-criteria")
def admission_load_criteria(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="YAML met criteria (standaard: meegeleverd bestand van de gemeente)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    municipality: Annotated[
        str | None,
        typer.Option(help="Gemeente (slug); standaard die uit het bestand, of uithoorn"),
    ] = None,
) -> None:
    """Laad toelatingscriteria als nieuwe actieve versie; gelijk aan de actieve: niets nieuws."""
    from app.admission.criteria import CriteriaError, load_criteria_file
    from app.core.errors import ProblemError

    with _session() as session:
        try:
            result = load_criteria_file(session=session, path=path, municipality_slug=municipality)
        except CriteriaError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=1) from None
        except ProblemError as exc:
            console.print(f"[red]{exc.detail}[/red]")
            for error in exc.errors:
                console.print(f"  - {error.field}: {error.message}")
            raise typer.Exit(code=1) from None
        session.commit()
        version = result.version
    state = "nieuw en actief" if result.created else "ongewijzigd, al actief"
    console.print(
        f"Toelatingscriteria: versie {version.version} ({state}), {len(version.criteria)} criteria."
    )


# --- end admission -------------------------------------------------------------------------------


referrals_cli = typer.Typer(
    help="Verwijzingen: persoonsgegevens wissen na de bewaartermijn, sleutel vervangen.",
    no_args_is_help=True,
)
cli.add_typer(referrals_cli, name="referrals")


@referrals_cli.command("purge")
def referrals_purge() -> None:
    """Wis de persoonsgegevens van verwijzingen die langer dan REFERRAL_RETENTION_DAYS zijn
    afgesloten (de server doet dit ook zelf, elk uur). De tellingen blijven."""
    from app.core.models import utcnow
    from app.referrals.service import purge_personal_data

    settings = get_settings()
    with _session() as session:
        report = purge_personal_data(session=session, settings=settings, now=utcnow())
        session.commit()
    console.print(
        f"Persoonsgegevens gewist van {report.erased} verwijzing(en) "
        f"(afgesloten > {settings.referral_retention_days} dagen geleden)."
    )


@referrals_cli.command("rotate-key")
def referrals_rotate_key() -> None:
    """Versleutel alle opgeslagen persoonsgegevens opnieuw met de eerste sleutel uit
    FIELD_ENCRYPTION_KEYS (daarna kan de oude sleutel weg; zie docs/privacy.md)."""
    from app.referrals.service import rotate_key

    with _session() as session:
        changed = rotate_key(session=session, settings=get_settings())
        session.commit()
    console.print(f"{changed} verwijzing(en) opnieuw versleuteld met de nieuwste sleutel.")


# --- privacy (app/privacy; docs/privacy.md "Bewaartermijnen") -------------------------------

privacy_cli = typer.Typer(
    help="Privacy (AVG): persoonsgegevens wissen na hun bewaartermijn.", no_args_is_help=True
)
cli.add_typer(privacy_cli, name="privacy")


@privacy_cli.command("retention")
def privacy_retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Alleen tellen: niets wissen of verwijderen")
    ] = False,
) -> None:
    """Pas de bewaartermijnen toe: tekst van oude meldingen wissen, verlopen uitnodigingen,
    herstellinks, sessies en mislukte inlogpogingen verwijderen. De server doet dit ook zelf
    (elke RETENTION_INTERVAL_S seconden, standaard eens per dag)."""
    from app.core.models import utcnow
    from app.privacy.retention import EXPIRED_GRACE, enforce_retention

    settings = get_settings()
    with _session() as session:
        report = enforce_retention(session=session, settings=settings, now=utcnow())
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if dry_run:
        console.print("Bewaartermijnen (proefrun: er is niets gewist). Aan de beurt zijn:")
    else:
        console.print("Bewaartermijnen: gewist of verwijderd zijn:")
    after = f"{EXPIRED_GRACE.days} dagen na afloop"
    for label, count in (
        (
            f"tekst van meldingen (na {settings.feedback_text_retention_days} dagen)",
            report.feedback_erased,
        ),
        (f"uitnodigingen ({after})", report.invitations_deleted),
        (f"links voor een nieuw wachtwoord ({after})", report.password_resets_deleted),
        (f"sessies ({after})", report.refresh_tokens_deleted),
        ("mislukte inlogpogingen (na 1 dag)", report.login_failures_deleted),
        (
            f"audit: account en persoonsgegevens (na {settings.audit_actor_retention_days} dagen)",
            report.audit_events_pseudonymised,
        ),
    ):
        console.print(f"  {label + ':':<64}{count:>7}")


# --- end privacy -------------------------------------------------------------------------------


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Adres")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Poort")] = 8000,
    reload: Annotated[bool, typer.Option(help="Herladen bij codewijziging")] = False,
    workers: Annotated[int, typer.Option(help="Aantal processen")] = 1,
) -> None:
    """Start de API-server (uvicorn). Toegangslogs bevatten geen IP-adressen."""
    import uvicorn

    console.print(
        f"Sociale kaart: http://{host}:{port}/  ·  API-documentatie: http://{host}:{port}/api/v1/docs"
    )
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def main() -> None:
    cli()
