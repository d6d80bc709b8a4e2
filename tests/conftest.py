"""Test databases are built by running the Alembic migrations, on SQLite and PostgreSQL.

Every database-backed test runs once per backend (``[sqlite]`` / ``[postgresql]``) inside
one transaction that is rolled back afterwards; the app's own commits become savepoints.

PostgreSQL: ``TEST_POSTGRES_URL`` (default: the local server, database ``test``); each run
gets a fresh schema that is dropped at the end. Without a server the PostgreSQL half is
skipped with a visible reason — unless ``CI=true``, where a missing server is an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.cli import alembic_config
from app.core.config import Environment, Settings
from app.core.db import build_engine, get_session, run_after_commit
from app.geo.service import import_postcodes
from app.indexing.engine import SearchEngine
from app.main import create_app
from app.municipalities.service import (
    load_municipality,
    read_municipality_file,
    shipped_municipality_path,
)
from app.taxonomy.service import load_taxonomy
from importers.uithoorn import UithoornImporter

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMIN_KEY = "test-admin-key-0123456789-abcdefghijklmnop"
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
DEMO_FILE = Path(__file__).resolve().parents[1] / "importers" / "data" / "uithoorn.json"
DEMO_POSTCODES = Path(__file__).resolve().parents[1] / "app" / "geo" / "data" / "pc4-uithoorn.csv"
BACKENDS = ["sqlite", "postgresql"]


def _postgres_base_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _require_postgres() -> None:
    url = _postgres_base_url()
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        message = f"PostgreSQL is not reachable at {make_url(url).render_as_string()}: {exc.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(f"PostgreSQL half skipped — {message}")
    finally:
        engine.dispose()


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database (SQLite file or PostgreSQL schema) at the head migration."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        command.upgrade(_quiet(alembic_config(url)), "head")
        yield url
        return
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = build_engine(_postgres_base_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url_text = (
        make_url(_postgres_base_url())
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        command.upgrade(_quiet(alembic_config(url_text)), "head")
        yield url_text
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _quiet(config: Config) -> Config:
    config.attributes["configure_logger"] = False
    return config


def _seed(engine: Engine, *, demo: bool) -> None:
    with Session(engine) as session:
        load_taxonomy(session=session)
        load_municipality(
            session=session, config=read_municipality_file(shipped_municipality_path("uithoorn"))
        )
        if demo:
            import_postcodes(session=session, path=DEMO_POSTCODES)
            report = UithoornImporter(session=session, admit=True).run(
                UithoornImporter.read(DEMO_FILE)
            )
            assert report.failed == 0, report.problems
        session.commit()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Migrated database with the taxonomy and the Uithoorn municipality, no listings."""
    with migrated_database(backend, tmp_path_factory.mktemp("db")) as url:
        engine = build_engine(url)
        _seed(engine, demo=False)
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def demo_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Migrated database with the Uithoorn demo data imported (read-only use)."""
    with migrated_database(backend, tmp_path_factory.mktemp("demo")) as url:
        engine = build_engine(url)
        _seed(engine, demo=True)
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def demo_index(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded search index of the demo data, built once per backend."""
    path = tmp_path_factory.mktemp("demo-index") / "search-index.db"
    search = SearchEngine(settings=make_settings(index_path=str(path)), engine=demo_engine)
    search.reindex()
    return path


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


def _session_on(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


def make_settings(url: str = "sqlite://", *, index_path: str | None = None) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=url,
        admin_api_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        search_index_path=index_path or "/nonexistent/search-index.db",
        search_drain_interval_s=0,
    )


@contextmanager
def _client(engine: Engine, index_path: Path) -> Iterator[tuple[TestClient, Connection]]:
    with _transaction(engine) as conn:
        settings = make_settings(index_path=str(index_path))
        search = SearchEngine(settings=settings, engine=engine)
        search.sessions = lambda: _session_on(conn)  # the sync sees this test's transaction
        search.read_sessions = search.sessions
        app = create_app(settings, engine=engine, search=search, background_sync=False)
        app.state.geo.sessions = lambda: _session_on(conn)
        api = next(r.app for r in app.routes if getattr(r, "path", "") == "/api/v1")  # type: ignore[attr-defined]

        def session_override() -> Iterator[Session]:
            session = _session_on(conn)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            run_after_commit(api.state, session)

        for mounted in app.routes:  # /api/v1 and /hsds
            if getattr(mounted, "path", "") in ("/api/v1", "/hsds"):
                mounted.app.dependency_overrides[get_session] = session_override  # type: ignore[attr-defined]
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, conn


@pytest.fixture
def _empty(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Connection]]:
    with _client(engine, tmp_path / "search-index.db") as pair:
        yield pair


@pytest.fixture
def _demo(
    demo_engine: Engine, demo_index: Path, tmp_path: Path
) -> Iterator[tuple[TestClient, Connection]]:
    index = tmp_path / "search-index.db"
    shutil.copyfile(demo_index, index)  # each test gets its own copy of the demo index
    with _client(demo_engine, index) as pair:
        yield pair


@pytest.fixture
def client(_empty: tuple[TestClient, Connection]) -> TestClient:
    """Client on a database without listings (taxonomy and Uithoorn configured)."""
    return _empty[0]


@pytest.fixture
def db(_empty: tuple[TestClient, Connection]) -> Iterator[Session]:
    """Session on the same rolled-back transaction as ``client``."""
    with _session_on(_empty[1]) as session:
        yield session


@pytest.fixture
def demo_client(_demo: tuple[TestClient, Connection]) -> TestClient:
    """Client on the Uithoorn demo data."""
    return _demo[0]


@pytest.fixture
def demo_db(_demo: tuple[TestClient, Connection]) -> Iterator[Session]:
    """Session on the same rolled-back transaction as ``demo_client``."""
    with _session_on(_demo[1]) as session:
        yield session


@pytest.fixture
def admin() -> dict[str, str]:
    """The bootstrap admin key; writes say "If-Match: *" (last write wins) unless a test is
    about optimistic locking (tests/test_concurrency.py)."""
    return {"Authorization": f"Bearer {ADMIN_KEY}", "If-Match": "*"}


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> Iterator[Callable[..., Any]]:
    """``sociale-kaart`` on a fresh, migrated SQLite database of its own (once, on SQLite)."""
    if backend != "sqlite":
        pytest.skip("the CLI is exercised once, on SQLite")
    from typer.testing import CliRunner

    from app.cli import cli, console
    from app.core.config import get_settings

    # wide enough that rich never wraps a long temporary path in what the tests look for
    monkeypatch.setattr(console, "width", 400)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SEARCH_INDEX_PATH", str(tmp_path / "cli-index.db"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
        yield lambda *args, input=None: runner.invoke(cli, [str(a) for a in args], input=input)
    finally:
        get_settings.cache_clear()


def account(
    db: Session, email: str, name: str, role: Any, municipality_id: uuid.UUID, password: str
) -> Any:
    """A committed account with a password (tests that log in)."""
    from app.accounts.service import create_user

    user = create_user(
        session=db,
        email=email,
        display_name=name,
        role=role,
        municipality_ids=[municipality_id],
        password=password,
    )
    db.commit()
    return user
