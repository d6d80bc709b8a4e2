"""A synthetic national-size directory in a fresh SQLite database.

Every Dutch municipality of the PC4 centroid file gets services in proportion to its number
of PC4 areas with addresses (a rough proxy for population), at least one each when there are
enough services. Texts are B1 Dutch built from templates and the taxonomy's labels and lay
words, with a seeded random generator: the same arguments give the same database.

Rows go in with SQLAlchemy Core ``executemany`` (the service layer is far too slow for 100k);
the schema comes from the Alembic migrations and the taxonomy from ``load_taxonomy``, exactly
as in production.
"""

from __future__ import annotations

import random
import re
import resource
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, col, select

from app.cli import alembic_config
from app.core.db import build_engine, read_only
from app.core.models import AdmissionStatus, metadata
from app.core.types import slugify
from app.locations.models import LocationType
from app.organizations.models import OrganizationKind
from app.services.models import ExtentType
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from app.taxonomy.service import TaxonomyKey, load_taxonomy
from bench.common import DatasetInfo, Pc4, read_pc4

ADMITTED = AdmissionStatus.toegelaten.value
FLUSH_ROWS = 20_000
# Insert order (foreign keys are on).
TABLES = (
    "municipality",
    "place",
    "organization",
    "location",
    "service",
    "service_term",
    "service_area",
    "service_at_location",
)

# --- vocabulary ---------------------------------------------------------------------------

# Service names per theme (B1, as found on real sociale kaarten); {place} is the woonplaats
# of the location, {gemeente} the municipality.
THEME_NAMES: dict[str, tuple[str, ...]] = {
    "geld-en-schulden": (
        "Spreekuur geldzaken {place}",
        "Financieel café {place}",
        "Schuldhulpverlening {gemeente}",
        "Budgetmaatje {place}",
        "Hulp bij thuisadministratie",
        "Inloop geldzorgen {place}",
        "Bijzondere bijstand aanvragen",
    ),
    "administratie-en-juridisch": (
        "Formulierenhulp {place}",
        "Sociaal raadslieden {gemeente}",
        "Spreekuur rechtshulp {place}",
        "Hulp bij brieven en formulieren",
    ),
    "voeding-en-basisbehoeften": (
        "Voedselbank {place}",
        "Kledingbank {place}",
        "Kringloopwinkel {place}",
        "Noodhulp {gemeente}",
    ),
    "wonen": (
        "Woonspreekuur {place}",
        "Hulp bij huurachterstand",
        "Woningaanpassing aanvragen",
        "Advies bij verhuizen",
    ),
    "zelfstandig-wonen-en-ouder-worden": (
        "Ouderenadviseur {gemeente}",
        "Valpreventie voor senioren",
        "Huishoudelijke hulp (Wmo)",
        "Personenalarmering {place}",
        "Hulpmiddelen en rollator (Wmo)",
    ),
    "dementie": (
        "Alzheimer Café {gemeente}",
        "Ontmoetingsgroep dementie {place}",
        "Casemanager dementie",
        "Geheugenspreekuur {place}",
    ),
    "mantelzorg": (
        "Steunpunt mantelzorg {gemeente}",
        "Respijtzorg {place}",
        "Logeeropvang voor mantelzorgers",
        "Mantelzorgcafé {place}",
    ),
    "eenzaamheid-en-ontmoeting": (
        "Buurtkamer {place}",
        "Koffieochtend {place}",
        "Maatje voor een praatje",
        "Bezoekdienst {gemeente}",
        "Samen eten in {place}",
        "Open inloop {place}",
    ),
    "psychische-gezondheid": (
        "Luisterend oor {place}",
        "Rouwgroep {gemeente}",
        "Gespreksgroep somberheid",
        "Spreekuur stress en burn-out",
    ),
    "verslaving": (
        "Spreekuur verslaving {gemeente}",
        "Stoppen met roken",
        "Hulp bij gokken",
        "Alcohol de baas",
    ),
    "gezondheid-en-bewegen": (
        "Wandelgroep {place}",
        "Beweegmaatje {place}",
        "Welzijn op Recept {gemeente}",
        "Fit in {place}",
        "Leefstijlcoach",
    ),
    "opvoeden-en-opgroeien": (
        "Opvoedspreekuur {place}",
        "Huiswerkbegeleiding {place}",
        "Ouder-kindgroep {place}",
        "Consultatiebureau {place}",
        "Jeugdhulp {gemeente}",
    ),
    "werk-en-dagbesteding": (
        "Dagbesteding {place}",
        "Werkcafé {gemeente}",
        "Hulp bij solliciteren",
        "Re-integratie naar werk",
    ),
    "vrijwilligerswerk": (
        "Vacaturebank vrijwilligerswerk {gemeente}",
        "Vrijwilligerscentrale {gemeente}",
        "Meehelpen in {place}",
    ),
    "taal-en-digitale-vaardigheden": (
        "Taalcafé {place}",
        "Taalhuis {gemeente}",
        "Klik en Tik {place}",
        "Digitaal spreekuur DigiD",
        "Taalmaatje {place}",
    ),
    "nieuwkomers-en-inburgering": (
        "Vluchtelingenwerk {gemeente}",
        "Inburgering en taal",
        "Maatje voor nieuwkomers {place}",
    ),
    "vervoer": (
        "AutoMaatje {place}",
        "Regiotaxi {gemeente}",
        "Boodschappenbus {place}",
        "Rolstoelvervoer",
    ),
    "veiligheid-en-huiselijk-geweld": (
        "Veilig Thuis {gemeente}",
        "Buurtbemiddeling {gemeente}",
        "Spreekuur huiselijk geweld",
    ),
    "sport-cultuur-en-vrije-tijd": (
        "Jeugdfonds Sport & Cultuur",
        "Zwemles {place}",
        "Muziekles voor kinderen",
        "Scouting {place}",
        "Sportclub {place}",
    ),
    "informatie-en-advies": (
        "Sociaal loket {gemeente}",
        "Informatiepunt {place}",
        "Welzijnscoach {place}",
        "Cliëntondersteuning {gemeente}",
        "Wegwijzer {place}",
    ),
}
# Names built from a lay word of the theme: "Spreekuur respijtzorg Delft".
GENERIC_NAMES = (
    "Spreekuur {word}",
    "Inloop {word}",
    "Informatie over {word}",
    "Cursus {word}",
    "Hulp bij {word}",
    "Groep {word}",
)
# Target groups that fit a theme (chosen more often for it).
THEME_GROUPS: dict[str, tuple[str, ...]] = {
    "geld-en-schulden": ("mensen-met-laag-inkomen",),
    "voeding-en-basisbehoeften": ("mensen-met-laag-inkomen",),
    "zelfstandig-wonen-en-ouder-worden": ("ouderen", "mensen-met-een-beperking"),
    "dementie": ("mensen-met-dementie", "mantelzorgers", "ouderen"),
    "mantelzorg": ("mantelzorgers",),
    "eenzaamheid-en-ontmoeting": ("ouderen", "iedereen"),
    "opvoeden-en-opgroeien": ("ouders", "kinderen", "jongeren"),
    "werk-en-dagbesteding": ("werkzoekenden", "mensen-met-een-beperking"),
    "vrijwilligerswerk": ("vrijwilligers",),
    "nieuwkomers-en-inburgering": ("nieuwkomers",),
    "sport-cultuur-en-vrije-tijd": ("kinderen", "jongeren"),
}
ORGANIZATION_NAMES: tuple[tuple[str, OrganizationKind], ...] = (
    ("Stichting Welzijn {gemeente}", OrganizationKind.welzijnsorganisatie),
    ("{gemeente} voor Elkaar", OrganizationKind.welzijnsorganisatie),
    ("Vrijwilligerscentrale {gemeente}", OrganizationKind.vrijwilligersorganisatie),
    ("Buurtteam {place}", OrganizationKind.welzijnsorganisatie),
    ("Humanitas {gemeente}", OrganizationKind.vrijwilligersorganisatie),
    ("Bibliotheek {place}", OrganizationKind.bibliotheek),
    ("Gemeente {gemeente}", OrganizationKind.gemeente),
    ("Sociaal Team {place}", OrganizationKind.gemeente),
    ("Zorggroep {gemeente}", OrganizationKind.zorgaanbieder),
    ("Maatschappelijk werk {gemeente}", OrganizationKind.welzijnsorganisatie),
    ("Stichting {word} {place}", OrganizationKind.stichting),
    ("Vereniging {word} {place}", OrganizationKind.vereniging),
)
LOCATION_NAMES = (
    "Wijkcentrum",
    "Buurthuis",
    "Dorpshuis",
    "Bibliotheek",
    "Gezondheidscentrum",
    "Gemeentehuis",
    "Ontmoetingscentrum",
    "Kerkgebouw De Ark",
)
OPENERS = (
    "Heeft u zorgen over {w1} of {w2}?",
    "Maakt u zich zorgen over {w1}?",
    "Zoekt u hulp bij {w1}?",
    "Loopt u vast met {w1} of {w2}?",
    "Voor inwoners van {gemeente} met vragen over {w1}.",
    "Wilt u meer weten over {w1}?",
)
MIDDLES = (
    "Bij {name} kunt u terecht met vragen over {label}.",
    "Medewerkers en vrijwilligers van {org} luisteren, denken mee en zoeken samen met u de juiste hulp.",
    "We helpen u ook met {w2} en {w3}.",
    "U praat in een klein groepje met mensen die hetzelfde meemaken.",
    "Er is koffie en thee, en altijd tijd voor een praatje.",
    "De bijeenkomsten zijn in {location} in {place}.",
    "Dit aanbod is er voor {group}.",
    "Samen kijken we wat u zelf kunt en waar u hulp bij nodig heeft.",
)
ACCESS_SENTENCES = {
    "vrij-toegankelijk": "U kunt zonder afspraak binnenlopen.",
    "aanmelden": "Meld u eerst aan via de website, per e-mail of telefonisch.",
    "verwijzing-nodig": "U heeft een verwijzing nodig van de huisarts, het sociaal loket of het sociaal team.",
    "indicatie-nodig": "U heeft een indicatie of beschikking van de gemeente nodig (Wmo of Jeugdwet).",
}
COST_SENTENCES = {
    "gratis": "Meedoen is gratis.",
    "eigen-bijdrage": "U betaalt een kleine eigen bijdrage.",
}
ACCESS_WEIGHTS = {
    "vrij-toegankelijk": 40,
    "aanmelden": 30,
    "verwijzing-nodig": 10,
    "indicatie-nodig": 8,
    "onbekend": 12,
}
COST_WEIGHTS = {"gratis": 55, "eigen-bijdrage": 25, "onbekend": 20}


@dataclass(frozen=True)
class Term:
    id: uuid.UUID
    slug: str
    label: str
    words: tuple[str, ...]
    minimum_age: int | None
    maximum_age: int | None


def read_terms(session: Session) -> dict[str, list[Term]]:
    """Taxonomy terms (as loaded in the database) by taxonomy slug, in taxonomy order."""
    rows = session.exec(
        select(TaxonomyTerm, Taxonomy.slug)
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .order_by(col(TaxonomyTerm.position))
    ).all()
    terms: dict[str, list[Term]] = {key.value: [] for key in TaxonomyKey}
    for term, taxonomy in rows:
        terms.setdefault(taxonomy, []).append(
            Term(
                id=term.id,
                slug=term.slug,
                label=term.label,
                words=tuple(term.words),
                minimum_age=term.minimum_age,
                maximum_age=term.maximum_age,
            )
        )
    return terms


# --- the plan of the directory -------------------------------------------------------------


@dataclass
class MunicipalityPlan:
    id: uuid.UUID
    name: str
    slug: str
    code: str
    centroids: list[Pc4]
    places: dict[str, uuid.UUID] = field(default_factory=dict)  # woonplaats -> place id
    service_slugs: set[str] = field(default_factory=set)
    organization_slugs: set[str] = field(default_factory=set)

    @property
    def weight(self) -> int:
        return len(self.centroids)


@dataclass(frozen=True)
class LocationPlan:
    id: uuid.UUID
    name: str
    woonplaats: str


@dataclass
class OrganizationPlan:
    id: uuid.UUID
    name: str
    theme: Term
    locations: list[LocationPlan]


def _municipalities(rows: Sequence[Pc4]) -> list[MunicipalityPlan]:
    by_name: dict[str, list[Pc4]] = {}
    for row in rows:
        by_name.setdefault(row.gemeente, []).append(row)
    plans: list[MunicipalityPlan] = []
    slugs: set[str] = set()
    for number, name in enumerate(sorted(by_name), start=1):
        centroids = [r for r in by_name[name] if r.has_addresses] or by_name[name]
        slug = base = slugify(name) or f"gemeente-{number}"
        suffix = 2
        while slug in slugs:
            slug = f"{base}-{suffix}"
            suffix += 1
        slugs.add(slug)
        plans.append(
            MunicipalityPlan(
                id=uuid.uuid4(),
                name=name,
                slug=slug,
                code=f"GM{number:04d}",
                centroids=centroids,
            )
        )
    return plans


def _unique(slug: str, taken: set[str]) -> str:
    candidate, suffix = slug, 2
    while candidate in taken:
        candidate = f"{slug[:95]}-{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def _group_text(label: str) -> str:
    return re.sub(r"\s*\(.*?\)", "", label).strip().lower()


ROW_DEFAULTS: dict[str, Any] = {"version": 1}  # optimistic-locking counters start at 1


class _Loader:
    """Buffers rows per table and inserts them with executemany, in foreign-key order."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.tables = {name: metadata.tables[name] for name in TABLES}
        self.buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._pending = 0

    def add(self, table: str, row: dict[str, Any]) -> None:
        for column in self.tables[table].columns:
            if column.name not in row:
                if column.name in ROW_DEFAULTS:  # defaults the models set in Python
                    row[column.name] = ROW_DEFAULTS[column.name]
                elif isinstance(column.type, sa.JSON) and not column.nullable:
                    row[column.name] = []
                elif not column.nullable:
                    raise KeyError(f"{table}.{column.name} is required")
                else:
                    row[column.name] = None
        self.buffers[table].append(row)
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for name in TABLES:
            rows = self.buffers[name]
            if rows:
                self.conn.execute(sa.insert(self.tables[name]), rows)
                self.counts[name] += len(rows)
                rows.clear()
        self._pending = 0


class _Generator:
    def __init__(
        self,
        rng: random.Random,
        terms: dict[str, list[Term]],
        loader: _Loader,
        now: datetime,
    ) -> None:
        self.rng = rng
        self.loader = loader
        self.now = now
        self.themes = terms[TaxonomyKey.themes.value]
        self.groups = terms[TaxonomyKey.target_groups.value]
        self.groups_by_slug = {t.slug: t for t in self.groups}
        self.access = {t.slug: t for t in terms[TaxonomyKey.access_routes.value]}
        self.costs = {t.slug: t for t in terms[TaxonomyKey.costs.value]}
        self.access_slugs = [s for s in ACCESS_WEIGHTS if s in self.access]
        self.cost_slugs = [s for s in COST_WEIGHTS if s in self.costs]
        if not self.themes or not self.groups or not self.access_slugs or not self.cost_slugs:
            raise RuntimeError("the taxonomy is incomplete: load_taxonomy first")

    def _stamp(self) -> dict[str, datetime]:
        created = self.now - timedelta(days=self.rng.randint(30, 1500))
        updated = min(self.now, created + timedelta(days=self.rng.randint(0, 400)))
        return {"created_at": created, "updated_at": updated}

    def municipality(self, plan: MunicipalityPlan) -> None:
        self.loader.add(
            "municipality",
            {"id": plan.id, "code": plan.code, "slug": plan.slug, "name": plan.name}
            | self._stamp(),
        )
        taken: set[str] = set()
        for row in plan.centroids:
            if row.woonplaats in plan.places:
                continue
            slug = slugify(row.woonplaats) or "kern"
            if slug in taken:  # two spellings of one kern: keep the first
                plan.places[row.woonplaats] = next(
                    pid for name, pid in plan.places.items() if slugify(name) == slug
                )
                continue
            taken.add(slug)
            place_id = uuid.uuid4()
            plan.places[row.woonplaats] = place_id
            self.loader.add(
                "place",
                {
                    "id": place_id,
                    "municipality_id": plan.id,
                    "slug": slug,
                    "name": row.woonplaats,
                },
            )

    def organization(self, plan: MunicipalityPlan) -> OrganizationPlan:
        rng = self.rng
        theme = rng.choice(self.themes)
        home = rng.choice(plan.centroids)
        template, kind = rng.choice(ORGANIZATION_NAMES)
        word = rng.choice(theme.words or (theme.label,))
        name = template.format(gemeente=plan.name, place=home.woonplaats, word=word.capitalize())
        slug = _unique(slugify(name) or "organisatie", plan.organization_slugs)
        org_id = uuid.uuid4()
        self.loader.add(
            "organization",
            {
                "id": org_id,
                "municipality_id": plan.id,
                "slug": slug,
                "name": name,
                "description": f"{name} helpt inwoners van {plan.name} met {theme.label.lower()}.",
                "website": f"https://www.{slug[:60]}.nl",
                "kind": kind.value,
                "admission_status": ADMITTED,
            }
            | self._stamp(),
        )
        locations: list[LocationPlan] = []
        for index in range(1 if rng.random() < 0.7 else 2):
            centroid = home if index == 0 else rng.choice(plan.centroids)
            location = LocationPlan(
                id=uuid.uuid4(),
                name=f"{rng.choice(LOCATION_NAMES)} {centroid.woonplaats}",
                woonplaats=centroid.woonplaats,
            )
            self.loader.add(
                "location",
                {
                    "id": location.id,
                    "municipality_id": plan.id,
                    "organization_id": org_id,
                    "location_type": LocationType.physical.value,
                    "name": location.name,
                    # within roughly 600 m of the PC4 centroid
                    "latitude": round(centroid.lat + rng.uniform(-0.0055, 0.0055), 6),
                    "longitude": round(centroid.lon + rng.uniform(-0.0085, 0.0085), 6),
                    "geo_precision": "adres",  # as if geocoded (synthetic addresses)
                    "place_id": plan.places[centroid.woonplaats],
                }
                | self._stamp(),
            )
            locations.append(location)
        return OrganizationPlan(id=org_id, name=name, theme=theme, locations=locations)

    def _target_groups(self, theme: Term) -> list[Term]:
        rng = self.rng
        hints = [
            self.groups_by_slug[s]
            for s in THEME_GROUPS.get(theme.slug, ())
            if s in self.groups_by_slug
        ]
        first = rng.choice(hints) if hints and rng.random() < 0.7 else rng.choice(self.groups)
        chosen = [first]
        if rng.random() < 0.4:
            second = rng.choice(self.groups)
            if second is not first:
                chosen.append(second)
        return chosen

    def _ages(self, groups: list[Term]) -> tuple[int | None, int | None]:
        for group in groups:
            if group.minimum_age is not None or group.maximum_age is not None:
                return group.minimum_age, group.maximum_age
        if self.rng.random() < 0.05:
            return 18, None  # "voor volwassenen"
        return None, None

    def service(self, plan: MunicipalityPlan, org: OrganizationPlan) -> None:
        rng = self.rng
        primary = org.theme if rng.random() < 0.6 else rng.choice(self.themes)
        others = [t for t in self.themes if t is not primary]
        themes = [primary, *rng.sample(others, k=rng.choice((0, 0, 1, 1, 2)))]
        groups = self._target_groups(primary)
        access = rng.choices(
            self.access_slugs, weights=[ACCESS_WEIGHTS[s] for s in self.access_slugs]
        )[0]
        cost = rng.choices(self.cost_slugs, weights=[COST_WEIGHTS[s] for s in self.cost_slugs])[0]
        location = rng.choice(org.locations) if rng.random() < 0.9 else None
        place = location.woonplaats if location else rng.choice(plan.centroids).woonplaats

        words = list(primary.words or (primary.label.lower(),))
        w1, w2, w3 = rng.sample(words, 3) if len(words) >= 3 else rng.choices(words, k=3)
        if rng.random() < 0.65 and primary.slug in THEME_NAMES:
            template = rng.choice(THEME_NAMES[primary.slug])
        else:
            template = rng.choice(GENERIC_NAMES) + (" {place}" if rng.random() < 0.5 else "")
        name = template.format(place=place, gemeente=plan.name, word=w1)
        name = name[0].upper() + name[1:]
        slug = _unique(slugify(name) or "voorziening", plan.service_slugs)

        values = {
            "w1": w1,
            "w2": w2,
            "w3": w3,
            "gemeente": plan.name,
            "name": name,
            "org": org.name,
            "label": primary.label.lower(),
            "location": location.name if location else "het buurthuis",
            "place": place,
            "group": _group_text(groups[0].label),
        }
        sentences = [rng.choice(OPENERS).format(**values)]
        sentences += [m.format(**values) for m in rng.sample(MIDDLES, k=rng.randint(1, 2))]
        if access in ACCESS_SENTENCES:
            sentences.append(ACCESS_SENTENCES[access])
        if cost in COST_SENTENCES:
            sentences.append(COST_SENTENCES[cost])
        description = " ".join(sentences[: rng.randint(2, 4)])
        minimum_age, maximum_age = self._ages(groups)

        service_id = uuid.uuid4()
        self.loader.add(
            "service",
            {
                "id": service_id,
                "municipality_id": plan.id,
                "organization_id": org.id,
                "slug": slug,
                "name": name[:200],
                "description": description,
                "minimum_age": minimum_age,
                "maximum_age": maximum_age,
                "languages": ["nl"],
                "admission_status": ADMITTED,
                "assured_date": date(2025, 1, 1) + timedelta(days=rng.randint(0, 600)),
            }
            | self._stamp(),
        )
        term_ids = [t.id for t in themes] + [g.id for g in groups]
        term_ids += [self.access[access].id, self.costs[cost].id]
        for term_id in dict.fromkeys(term_ids):
            self.loader.add("service_term", {"service_id": service_id, "taxonomy_term_id": term_id})
        self.loader.add(
            "service_area",
            {
                "id": uuid.uuid4(),
                "service_id": service_id,
                "extent_type": ExtentType.municipality.value,
                "municipality_id": plan.id,
            },
        )
        if location is not None:
            self.loader.add(
                "service_at_location",
                {"id": uuid.uuid4(), "service_id": service_id, "location_id": location.id},
            )


def _distribute(total: int, plans: Sequence[MunicipalityPlan], rng: random.Random) -> list[int]:
    """Services per municipality: proportional to its PC4 areas, at least one when possible."""
    base = 1 if total >= len(plans) else 0
    counts = [base] * len(plans)
    for index in rng.choices(
        range(len(plans)), weights=[p.weight for p in plans], k=total - base * len(plans)
    ):
        counts[index] += 1
    return counts


def migrate(database_url: str) -> None:
    config = alembic_config(database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def generate(*, database_url: str, pc4_path: str, services: int, seed: int) -> DatasetInfo:
    """Migrate a fresh database, load the taxonomy and write the synthetic directory."""
    started = time.perf_counter()
    pc4 = read_pc4(Path(pc4_path))
    migrate(database_url)
    engine = build_engine(database_url)
    try:
        with Session(engine) as session:
            load_taxonomy(session=session)
            session.commit()
            terms = read_terms(session)
        rng = random.Random(seed)  # noqa: S311 (synthetic data, not security)
        plans = _municipalities(pc4)
        counts = _distribute(services, plans, rng)
        with engine.begin() as conn:
            loader = _Loader(conn)
            generator = _Generator(rng, terms, loader, datetime.now(UTC))
            for plan, count in zip(plans, counts, strict=True):
                generator.municipality(plan)
                if not count:
                    continue
                organizations = [
                    generator.organization(plan) for _ in range(max(1, round(count / 3)))
                ]
                for index in range(count):
                    org = (
                        organizations[index]
                        if index < len(organizations)
                        else rng.choice(organizations)
                    )
                    generator.service(plan, org)
            loader.flush()
        with read_only(engine).connect() as conn:  # a checkpoint cannot run in a write lock
            # no ANALYZE: a deployed database does not get one either
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return DatasetInfo(
        municipalities=[(p.slug, c) for p, c in zip(plans, counts, strict=True)],
        centroids=[c for p in plans for c in p.centroids],
        themes=[t.slug for t in terms[TaxonomyKey.themes.value]],
        target_groups=[t.slug for t in terms[TaxonomyKey.target_groups.value]],
        costs=[t.slug for t in terms[TaxonomyKey.costs.value]],
        counts=dict(loader.counts),
        seconds=time.perf_counter() - started,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
