"""Backup and restore (app/backup; docs/operations.md, "Back-up en herstel").

The source is built on SQLite by the application itself: the Uithoorn demo data (96
listings) plus rows of every odd kind — accounts with a password, a login (refresh token), a
failed-login counter, a referral with encrypted personal data, resident feedback, an edited
listing (audit events), an API key, an invitation (mail outbox), a taxonomy term whose parent
sorts after it (self-referencing foreign key), monitor counts keyed by a date, geocoder answers
with a JSON ``null`` and with an SQL NULL, a float that needs 17 digits. Its backup is restored
into a fresh, empty SQLite database and into PostgreSQL; that PostgreSQL database is backed up
in turn and restored into another one. After every restore:

(a) every table holds the same rows (whole rows, SQL NULL and JSON ``null`` told apart, no
    audit event added);
(b) the API answers byte for byte the same as the source: every public list (all pages), every
    service and organisation in detail, searches, taxonomies, areas, the CSV export, every page
    of the HSDS collections, and — with the same keys — the audit trail, the feedback queue,
    the API keys, a listing read with the restored API key and a referral's decrypted personal
    data.

Refusals write nothing: a database that is not empty, not migrated or at another revision, a
truncated or damaged file, a table shorter than its manifest, a file that is not a backup. The
CLI commands run end to end on SQLite.
"""

from __future__ import annotations

import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import LoginFailure, Role
from app.accounts.security import email_digest
from app.accounts.service import create_user
from app.audit.service import install_audit
from app.backup.service import (
    MANIFEST,
    BackupError,
    BackupReport,
    backup_tables,
    create_backup,
    database_revision,
    read_manifest,
    restore_backup,
)
from app.cli import alembic_config
from app.core.db import build_engine
from app.core.models import metadata, utcnow
from app.geo.models import GeocodeCache, PostcodeCentroid
from app.indexing.engine import SearchEngine
from app.insights.models import SearchTally, ZeroResultQuery
from app.main import create_app
from app.municipalities.models import Municipality
from app.services.models import Service
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from tests.conftest import (
    ADMIN_KEY,
    _quiet,
    _seed,
    make_settings,
    migrated_database,
)

API = "/api/v1"
HSDS = "/hsds"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PASSWORD = "een-lang-wachtwoord-voor-de-huisarts"
SEARCHES: list[dict[str, Any]] = [
    {"q": "schulden"},
    {"q": "eenzaam"},
    {"q": "koffie ochtend"},
    {"q": "mantelzorg", "per_page": 50},
    {"theme": "dementie"},
    {"q": "taal", "neighbourhood": "thamerdal"},
    {"q": "xyzzy-niets"},
    {"postcode": "1421", "radius_km": 3},
]

Dump = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
Answer = tuple[int, str | None, str | None, bytes]


# --- databases ----------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    engine: Engine
    index: Path

    def client(self) -> TestClient:
        settings = make_settings(self.url, index_path=str(self.index))
        app = create_app(settings, engine=self.engine, background_sync=False)
        return TestClient(app, raise_server_exceptions=False)

    def reindex(self) -> int:
        settings = make_settings(self.url, index_path=str(self.index))
        return SearchEngine(settings=settings, engine=self.engine).reindex()


@dataclass(frozen=True)
class Keys:
    """What the crawl needs for its restricted pages."""

    referral_id: str
    professional: dict[str, str]
    api_key: dict[str, str]


@dataclass
class Source:
    db: Database
    backup: Path
    report: BackupReport
    keys: Keys
    dump: Dump
    answers: dict[str, Answer] = field(default_factory=dict)


@dataclass
class Restored:
    db: Database
    seconds: float
    rows: int
    dump: Dump


class Databases:
    """Sources, restored copies and empty targets, made on first use, dropped at the end."""

    def __init__(self, stack: ExitStack, tmp: pytest.TempPathFactory) -> None:
        self.stack = stack
        self.tmp = tmp
        self.sources: dict[str, Source] = {}
        self.restored: dict[tuple[str, str], Restored] = {}
        self.empties: dict[str, Database] = {}

    def empty(self, backend: str) -> Database:
        """One empty target per backend for the refusals (each checks it stays empty)."""
        if backend not in self.empties:
            self.empties[backend] = self.fresh(backend)
        return self.empties[backend]

    def fresh(self, backend: str) -> Database:
        """A new database at head, without a single row."""
        folder = self.tmp.mktemp(f"backup-{backend}")
        url = self.stack.enter_context(migrated_database(backend, folder))
        engine = build_engine(url)
        self.stack.callback(engine.dispose)
        return Database(url=url, engine=engine, index=folder / "search-index.db")

    def source(self, backend: str) -> Source:
        """SQLite: the demo data and the odd rows, written by the application. PostgreSQL:
        that database restored into PostgreSQL (the cross-backend restore) and backed up
        there, so every restore is compared with one crawl of the API."""
        if backend not in self.sources:
            if backend == "sqlite":
                db = self.fresh(backend)
                _seed(db.engine, demo=True)
                keys = _add_odd_rows(db)
                db.reindex()
            else:
                first = self.source("sqlite")
                db = self.fresh(backend)
                restored = self._restore(first.backup, db)
                self.restored[("sqlite", backend)] = restored
                keys = first.keys
            path = self.tmp.mktemp("backup-file") / f"backup-{backend}.zip"
            report = create_backup(engine=db.engine, path=path)
            source = Source(db=db, backup=path, report=report, keys=keys, dump=dump(db.engine))
            if backend == "sqlite":
                with db.client() as client:
                    source.answers = crawl(client, source)
            else:
                source.answers = self.sources["sqlite"].answers
            self.sources[backend] = source
        return self.sources[backend]

    def restore(self, source_backend: str, target_backend: str) -> tuple[Source, Restored]:
        source = self.source(source_backend)
        if source_backend == "sqlite" and target_backend != "sqlite":
            self.source(target_backend)  # made there, backed up before any request
        key = (source_backend, target_backend)
        if key not in self.restored:
            self.restored[key] = self._restore(source.backup, self.fresh(target_backend))
        return source, self.restored[key]

    def _restore(self, backup: Path, db: Database) -> Restored:
        started = time.perf_counter()
        report = restore_backup(engine=db.engine, path=backup)
        seconds = time.perf_counter() - started
        rows = dump(db.engine)  # before any request: reading a referral is audited
        db.reindex()  # what `sociale-kaart restore` does next
        return Restored(db=db, seconds=seconds, rows=report.rows, dump=rows)


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    install_audit()  # as in the app and the CLI: a restore must still add no audit events
    with ExitStack() as stack:
        yield Databases(stack, tmp_path_factory)


def _add_odd_rows(db: Database) -> Keys:
    """Rows the demo import does not make, written the way the application writes them."""
    with Session(db.engine) as session:
        uithoorn = session.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()
        cafe = session.exec(select(Service).where(Service.slug == "uve-financieel-cafe")).one()
        create_user(
            session=session,
            email="huisarts@praktijk.example",
            display_name="Dokter Ä. de Vries",
            role=Role.professional,
            municipality_ids=[uithoorn.id],
            password=PASSWORD,
        )
        create_user(
            session=session,
            email="coordinator@uve.example",
            display_name="Coördinator",
            role=Role.provider,
            municipality_ids=[uithoorn.id],
            organization_ids=[cafe.organization_id],
        )
        themes = session.exec(select(Taxonomy).where(Taxonomy.slug == "themes")).one()
        # The child's id sorts before its parent's: rows in key order alone cannot be inserted.
        parent = TaxonomyTerm(
            id=uuid.UUID(int=2**128 - 1),
            taxonomy_id=themes.id,
            slug="backup-ouder",
            label="Ouder (test)",
            position=98,  # unique: the theme list orders by position alone
            words=["ouder", "é"],
        )
        child = TaxonomyTerm(
            id=uuid.UUID(int=1),
            taxonomy_id=themes.id,
            parent_id=parent.id,
            slug="backup-kind",
            label="Kind (test)",
            position=99,
        )
        session.add_all([parent, child])
        session.flush()
        session.add_all(
            [
                SearchTally(
                    month=date(2025, 1, 1),
                    municipality="uithoorn",
                    theme="geld-en-schulden",
                    area="wijk:thamerdal",
                    zero_results=True,
                    count=3,
                ),
                ZeroResultQuery(
                    month=date(2025, 2, 1), municipality="uithoorn", text="klusjesman", count=2
                ),
                GeocodeCache(
                    key="dorpsstraat 1 uithoorn",
                    provider="pdok",
                    found=True,
                    result={"lat": 52.2381, "lines": ["é", None, 1.5e-7]},
                    expires_at=utcnow() + timedelta(days=30, microseconds=7),
                ),
                GeocodeCache(key="nergens 99", provider="pdok", found=False, result=None),
                PostcodeCentroid(
                    postcode="1421AB", latitude=52.300000000000004, longitude=4.8199999999999994
                ),
                LoginFailure(email_hash=email_digest("niemand@praktijk.example"), at=utcnow()),
            ]
        )
        session.commit()
    with db.engine.begin() as conn:  # an SQL NULL in a JSON column (the ORM writes JSON null)
        conn.execute(
            sa.insert(metadata.tables["geocode_cache"]),
            [
                {
                    "key": "leeg",
                    "provider": "pdok",
                    "found": False,
                    "result": sa.null(),
                    "created_at": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
                }
            ],
        )
    with db.client() as client:
        login = client.post(  # a refresh token, last_login_at
            f"{API}/auth/token",
            data={
                "grant_type": "password",
                "username": "huisarts@praktijk.example",
                "password": PASSWORD,
            },
        )
        assert login.status_code == 200, login.text
        professional = {"Authorization": f"Bearer {login.json()['access_token']}"}
        referral = client.post(
            f"{API}/referrals",
            json={
                "municipality": "uithoorn",
                "service": "uve-financieel-cafe",
                "mode": "warm",
                "referrer_kind": "huisarts",
                "themes": ["geld-en-schulden"],
                "note": "Heeft veel post liggen, belt liever 's ochtends.",
                "consent": True,
                "contact": {"name": "Jan Jansen", "phone": "06 12345678"},
            },
            headers=professional,
        )
        assert referral.status_code == 201, referral.text
        feedback = client.post(
            f"{API}/services/uve-financieel-cafe/feedback",
            json={"category": "tijden", "message": "De tijden op dinsdag kloppen niet."},
        )
        assert feedback.status_code in (201, 202), feedback.text
        edited = client.patch(
            f"{API}/services/uve-financieel-cafe",
            json={"description": "Hulp bij post en geldzaken — élke dinsdag, ook in de zomer."},
            headers={**ADMIN, "If-Match": "*"},
        )
        assert edited.status_code == 200, edited.text
        key = client.post(
            f"{API}/api-keys",
            json={
                "name": "Koppeling CMS",
                "role": "editor",
                "municipality": "uithoorn",
                "scopes": ["getService", "updateService"],
            },
            headers=ADMIN,
        )
        assert key.status_code == 201, key.text
        invitation = client.post(
            f"{API}/invitations",
            json={
                "email": "nieuw@example.nl",
                "display_name": "Nieuwe collega",
                "role": "professional",
                "municipality": "uithoorn",
            },
            headers=ADMIN,
        )
        assert invitation.status_code == 201, invitation.text
    api_key = {"Authorization": f"Bearer {key.json()['key']}"}
    return Keys(referral_id=str(referral.json()["id"]), professional=professional, api_key=api_key)


def dump(engine: Engine) -> Dump:
    """Every row of every table by primary key, with for each JSON column whether it is SQL
    NULL (a JSON ``null`` reads as None too)."""
    tables: Dump = {}
    with engine.connect() as conn:
        for table in backup_tables():
            nulls = [
                c.is_(None).label(f"{c.name} IS NULL")
                for c in table.columns
                if isinstance(c.type, sa.JSON)
            ]
            keys = [c.name for c in table.primary_key.columns]
            tables[table.name] = {
                tuple(row[k] for k in keys): dict(row)
                for row in conn.execute(sa.select(*table.columns, *nulls)).mappings()
            }
    return tables


def crawl(client: TestClient, source: Source) -> dict[str, Answer]:
    """GET the public API (and a few restricted pages): status, content type, ETag and body
    by request. Every list page by page; every service and organisation in detail; HSDS: every
    page of each collection and the first items in detail."""
    answers: dict[str, Answer] = {}
    roles = {
        "": {},
        "admin": ADMIN,
        "editor key": source.keys.api_key,
        "professional": source.keys.professional,
    }

    def get(path: str, params: dict[str, Any] | None = None, *, who: str = "") -> Any:
        response = client.get(path, params=params, headers=roles[who])
        key = path + ("?" + urlencode(params or {}, doseq=True) if params else "")
        answers[f"{key} ({who})" if who else key] = (
            response.status_code,
            response.headers.get("content-type"),
            response.headers.get("etag"),
            response.content,
        )
        return response.json() if "json" in (response.headers.get("content-type") or "") else None

    def pages(path: str, items: str, total: str, size: int = 25, who: str = "") -> list[Any]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = get(path, {"page": page, "per_page": size}, who=who)
            found += body[items]
            if not body[items] or len(found) >= body[total]:
                return found
            page += 1

    for service in pages(f"{API}/services", "items", "total"):
        get(f"{API}/services/{service['slug']}")
    for organization in pages(f"{API}/organizations", "items", "total"):
        get(f"{API}/organizations/{organization['slug']}")
    for params in SEARCHES:
        get(f"{API}/search", params)
    get(f"{API}/search/suggest", {"q": "sch"})
    for path in (
        "themes",
        "target-groups",
        "access-routes",
        "costs",
        "municipalities",
        "neighbourhoods",
        "export/services.csv",
    ):
        get(f"{API}/{path}")
    for path in ("admission/criteria", "admission/flowchart"):
        get(f"{API}/{path}", {"municipality": "uithoorn"})
    get(HSDS + "/")
    for collection in (
        "services",
        "organizations",
        "service_at_locations",
        "taxonomies",
        "taxonomy_terms",
    ):
        for item in pages(f"{HSDS}/{collection}", "contents", "total_items")[:3]:
            get(f"{HSDS}/{collection}/{item['id']}")
    # Restricted, with the same keys: the audit trail, the feedback queue, and a referral's
    # decrypted personal data — last, because that read is itself audited.
    pages(f"{API}/audit-events", "items", "total", size=100, who="admin")
    get(f"{API}/feedback", {"municipality": "uithoorn"}, who="admin")
    get(f"{API}/api-keys", who="admin")
    # The editor key (stored as a hash) still works: the listing with its professional fields.
    get(f"{API}/services/uve-financieel-cafe", who="editor key")
    get(f"{API}/referrals/{source.keys.referral_id}", who="professional")
    return answers


# --- the round trip -----------------------------------------------------------------------


def test_backup_holds_every_table_with_a_manifest(databases: Databases, backend: str) -> None:
    source = databases.source(backend)
    manifest = read_manifest(path=source.backup)
    assert manifest.revision == database_revision_of(source.db.engine)
    assert manifest.tables == {name: len(rows) for name, rows in source.dump.items()}
    assert list(manifest.tables) == [t.name for t in backup_tables()]
    assert manifest.tables["service"] == 96
    assert manifest.created_at.tzinfo is not None
    with zipfile.ZipFile(source.backup) as archive:
        assert sorted(archive.namelist()) == sorted(
            [MANIFEST, *(f"{name}.ndjson" for name in manifest.tables)]
        )
        referral = archive.read("referral.ndjson").decode()
        neighbourhood = archive.read("neighbourhood.ndjson").decode()
    # Personal data stays ciphertext; JSON null is written as [null], SQL NULL as null.
    assert "Jansen" not in referral
    assert "contact_name_enc" in referral
    assert '"boundary": [null]' in neighbourhood
    # The odd rows are really there (or the round trip below would prove little): a JSON
    # null and an SQL NULL in one column, a child term before its parent, and the rest.
    results = [
        (row["result"], row["result IS NULL"]) for row in _rows(source.dump, "geocode_cache")
    ]
    assert sorted(r for r in results if r[0] is None) == [(None, False), (None, True)]
    terms = {row["slug"]: row for row in _rows(source.dump, "taxonomy_term")}
    assert terms["backup-kind"]["parent_id"] == terms["backup-ouder"]["id"]
    assert terms["backup-kind"]["id"] < terms["backup-ouder"]["id"]
    for table in (
        "user_account",
        "login_failure",
        "refresh_token",
        "referral",
        "referral_event",
        "service_feedback",
        "audit_event",
        "search_tally",
        "zero_result_query",
        "schedule",
        "api_key",
        "invitation",
    ):
        assert manifest.tables[table] > 0, table


def database_revision_of(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return database_revision(conn)


def _rows(tables: Dump, name: str) -> list[dict[str, Any]]:
    return list(tables[name].values())


def test_restore_gives_the_same_rows(databases: Databases, backend: str) -> None:
    source, restored = databases.restore(backend, backend)
    restored_dump = restored.dump
    assert restored_dump == source.dump
    assert restored.rows == source.report.rows == sum(len(t) for t in source.dump.values())
    # No audit event of its own: the trail is the source's, event for event.
    assert restored_dump["audit_event"].keys() == source.dump["audit_event"].keys()


def test_restore_gives_the_same_api_answers(databases: Databases, backend: str) -> None:
    source, restored = databases.restore(backend, backend)
    with restored.db.client() as client:
        answers = crawl(client, source)
    _assert_same_answers(source.answers, answers)


def _assert_same_answers(expected: dict[str, Answer], actual: dict[str, Answer]) -> None:
    assert len(expected) > 200
    assert {key: status for key, (status, *_) in expected.items() if status != 200} == {}
    assert actual.keys() == expected.keys()
    different = [key for key in expected if actual[key] != expected[key]]
    assert different == [], different[:5]


def test_restore_from_sqlite_into_postgresql(databases: Databases, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("runs once, in the PostgreSQL half")
    source, restored = databases.restore("sqlite", "postgresql")
    assert restored.dump == source.dump
    with restored.db.client() as client:
        _assert_same_answers(source.answers, crawl(client, source))


def test_ids_go_on_after_the_restored_ones(databases: Databases, backend: str) -> None:
    """PostgreSQL: the sequence of audit_event.id (a serial) was set past the restored ids."""
    _, restored = databases.restore(backend, backend)
    audit = metadata.tables["audit_event"]
    with restored.db.engine.connect() as conn, conn.begin() as transaction:
        highest = conn.execute(sa.select(sa.func.max(audit.c.id))).scalar_one()
        new = conn.execute(
            sa.insert(audit).returning(audit.c.id),
            {
                "occurred_at": utcnow(),
                "actor_type": "system",
                "action": "create",
                "resource_type": "test",
                "resource_id": "x",
                "changes": {},
            },
        ).scalar_one()
        transaction.rollback()
    assert highest > 1000
    assert new == highest + 1


# --- refusals: nothing is written -----------------------------------------------------------


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not any(
            conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
            for table in backup_tables()
        )


def test_refused_on_a_database_that_is_not_empty(databases: Databases, backend: str) -> None:
    source = databases.source(backend)
    before = dump(source.db.engine)
    with pytest.raises(BackupError, match="niet leeg") as refused:
        restore_backup(engine=source.db.engine, path=source.backup)
    assert "taxonomy_term" in str(refused.value)
    assert "--skip-taxonomy" in str(refused.value)
    assert dump(source.db.engine) == before


def test_refused_at_another_revision(databases: Databases, backend: str, tmp_path: Path) -> None:
    source = databases.source(backend)
    with migrated_database(backend, tmp_path) as url:
        command.downgrade(_quiet(alembic_config(url)), "-1")
        engine = build_engine(url)
        try:
            before = database_revision_of(engine)
            assert before is not None
            assert before != source.report.manifest.revision
            with pytest.raises(BackupError, match="databaseversie") as refused:
                restore_backup(engine=engine, path=source.backup)
            assert f"op versie {before}" in str(refused.value)
            assert f"alembic upgrade {source.report.manifest.revision}" in str(refused.value)
            assert database_revision_of(engine) == before
            with engine.connect() as conn:
                names = sa.inspect(conn).get_table_names()
                assert all(
                    conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() == 0
                    for name in names
                    if name != "alembic_version"
                )
            # Nor is a backup made of a database that this software does not describe.
            target = tmp_path / "oud.zip"
            with pytest.raises(BackupError, match=f"op versie {before}; deze software hoort bij"):
                create_backup(engine=engine, path=target)
            assert list(tmp_path.glob("oud.zip*")) == []
        finally:
            engine.dispose()


def test_refused_from_another_software_version(databases: Databases, tmp_path: Path) -> None:
    """A backup of an older schema goes back with the software of its day, then migrates."""
    source = databases.source("sqlite")
    target = databases.empty("sqlite")
    older = tmp_path / "ouder.zip"
    _rewrite(
        source.backup,
        older,
        lambda name, data: (
            data.replace(
                f'"alembic_revision": "{source.report.manifest.revision}"'.encode(),
                b'"alembic_revision": "0001"',
            )
            if name == MANIFEST
            else data
        ),
    )
    with pytest.raises(
        BackupError, match="databaseversie 0001; deze software hoort bij"
    ) as refused:
        restore_backup(engine=target.engine, path=older)
    assert "sociale-kaart db upgrade" in str(refused.value)
    assert is_empty(target.engine)


def test_refused_on_a_database_without_migrations(databases: Databases, tmp_path: Path) -> None:
    source = databases.source("sqlite")
    engine = build_engine(f"sqlite:///{tmp_path / 'nieuw.db'}")
    try:
        with pytest.raises(BackupError, match="nog niet gemigreerd"):
            restore_backup(engine=engine, path=source.backup)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_a_truncated_file_is_refused(databases: Databases, backend: str, tmp_path: Path) -> None:
    source = databases.source(backend)
    target = databases.empty(backend)
    data = source.backup.read_bytes()
    truncated = tmp_path / "afgebroken.zip"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupError, match="beschadigd of onvolledig"):
        restore_backup(engine=target.engine, path=truncated)
    with pytest.raises(BackupError, match="beschadigd of onvolledig"):
        read_manifest(path=truncated)
    assert is_empty(target.engine)


def test_damage_halfway_rolls_everything_back(
    databases: Databases, backend: str, tmp_path: Path
) -> None:
    """A table late in the file is damaged: the tables before it were inserted, and the one
    transaction takes them all back."""
    source = databases.source(backend)
    target = databases.empty(backend)
    data = bytearray(source.backup.read_bytes())
    with zipfile.ZipFile(source.backup) as archive:
        order = [f"{t.name}.ndjson" for t in backup_tables()]
        member = max(
            (info for info in archive.infolist() if info.filename in order[len(order) // 2 :]),
            key=lambda info: info.compress_size,
        )
    header = member.header_offset
    start = header + 30 + int.from_bytes(data[header + 26 : header + 28], "little")
    start += int.from_bytes(data[header + 28 : header + 30], "little")
    middle = start + member.compress_size // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    damaged = tmp_path / "beschadigd.zip"
    damaged.write_bytes(bytes(data))
    seen: list[int] = []
    with pytest.raises(BackupError, match="Er is niets hersteld"):
        restore_backup(
            engine=target.engine, path=damaged, progress=lambda done, _: seen.append(done)
        )
    assert seen
    assert seen[-1] > 1000
    assert is_empty(target.engine)


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)


def test_a_table_shorter_than_its_manifest_is_refused(
    databases: Databases, backend: str, tmp_path: Path
) -> None:
    source = databases.source(backend)
    target = databases.empty(backend)
    short = tmp_path / "kort.zip"
    _rewrite(
        source.backup,
        short,
        lambda name, data: (
            b"".join(data.splitlines(keepends=True)[:-1]) if name == "service.ndjson" else data
        ),
    )
    with pytest.raises(BackupError, match=r"Tabel service: 95 rijen in de back-up.*96"):
        restore_backup(engine=target.engine, path=short)
    assert is_empty(target.engine)


def test_other_files_are_refused(databases: Databases, tmp_path: Path) -> None:
    source = databases.source("sqlite")
    target = databases.empty("sqlite")
    no_manifest = tmp_path / "zonder-manifest.zip"
    _rewrite(source.backup, no_manifest, lambda name, data: None if name == MANIFEST else data)
    garbage = tmp_path / "rommel.zip"
    garbage.write_bytes(b"PK\x03\x04 geen zip")
    bad_line = tmp_path / "rare-regel.zip"
    _rewrite(
        source.backup,
        bad_line,
        lambda name, data: data + b'{"id": 1}\n' if name == "taxonomy.ndjson" else data,
    )
    for path, message in (
        (no_manifest, "manifest.json ontbreekt"),
        (garbage, "beschadigd of onvolledig"),
        (tmp_path / "bestaat-niet.zip", "bestaat niet"),
        (bad_line, "Regel 5 van taxonomy.ndjson is onleesbaar"),
    ):
        with pytest.raises(BackupError, match=message):
            restore_backup(engine=target.engine, path=path)
    assert is_empty(target.engine)


# --- the command line -----------------------------------------------------------------------


@dataclass
class Said:
    exit_code: int
    output: str


def said(result: Any) -> Said:
    """A CLI result with its output on one line (rich wraps long lines)."""
    return Said(exit_code=result.exit_code, output=" ".join(result.output.split()))


def test_cli_restore_and_backup(
    databases: Databases,
    run_cli: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`sociale-kaart restore` and `sociale-kaart export backup` end to end (SQLite)."""
    from app.core.config import get_settings

    source = databases.source("sqlite")
    # The CLI's own database went through `db upgrade`, which loads the taxonomy: not empty.
    refused = said(run_cli("restore", source.backup))
    assert refused.exit_code == 1
    assert "niet leeg" in refused.output
    assert "--skip-taxonomy" in refused.output

    broken = tmp_path / "kapot.zip"
    broken.write_bytes(source.backup.read_bytes()[:1000])
    with migrated_database("sqlite", tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("SEARCH_INDEX_PATH", str(tmp_path / "hersteld-index.db"))
        get_settings.cache_clear()
        damaged = said(run_cli("restore", broken))
        assert damaged.exit_code == 1
        assert "beschadigd of onvolledig" in damaged.output
        assert "Er is niets hersteld" in damaged.output

        restored = said(run_cli("restore", source.backup))
        assert restored.exit_code == 0, restored.output
        tables = len(source.report.manifest.tables)
        assert f"Hersteld: {source.report.rows} rijen in {tables} tabellen." in restored.output
        assert "Zoekindex opnieuw opgebouwd: 96 openbare voorzieningen" in restored.output
        target = build_engine(url)
        try:
            assert dump(target) == source.dump
        finally:
            target.dispose()

        backup = tmp_path / "opnieuw.zip"
        made = said(run_cli("export", "backup", backup))
        assert made.exit_code == 0, made.output
        assert f"Back-up geschreven: {backup}" in made.output
        assert "FIELD_ENCRYPTION_KEYS" in made.output
        assert read_manifest(path=backup).tables == source.report.manifest.tables
        again = said(run_cli("export", "backup", backup))
        assert again.exit_code == 1
        assert "bestaat al" in again.output
        assert run_cli("export", "backup", backup, "--overwrite").exit_code == 0


def test_cli_restore_says_when_the_search_index_is_not_rebuilt(
    databases: Databases,
    run_cli: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The data is in, the search engine is down: exit code 3 and what to run later."""
    import app.cli
    from app.core.config import get_settings

    def unreachable() -> None:
        raise ConnectionError("zoekmachine niet bereikbaar")

    source = databases.source("sqlite")
    with migrated_database("sqlite", tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        monkeypatch.setattr(app.cli, "search_reindex", unreachable)
        result = said(run_cli("restore", source.backup))
        assert result.exit_code == 3, result.output
        assert "De gegevens zijn wel hersteld" in result.output
        assert "sociale-kaart search reindex" in result.output
        target = build_engine(url)
        try:
            assert dump(target) == source.dump
        finally:
            target.dispose()
