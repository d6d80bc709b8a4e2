"""Database engine and the one transaction owner.

Services only ``flush``; the request's session dependency commits once the endpoint has
returned and *before* the response is sent (``scope="function"``), so a write is only
acknowledged after it is durable.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

import app.models  # noqa: F401  (every table registered on the metadata)
from app.core.models import metadata as metadata

logger = logging.getLogger(__name__)


SQLITE_BEGIN = "sqlite_begin"  # execution option: how a SQLite transaction begins


@lru_cache(maxsize=64)  # one per engine, not one per request (GET requests ask for it)
def deferred(engine: Engine) -> Engine:
    """On SQLite an engine whose transactions begin DEFERRED: no write lock until the first
    write (a write after another connection's commit then fails at once); elsewhere the
    engine itself."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


read_only = deferred  # for sessions that only read: any number of them side by side


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and real transactions (SAVEPOINT works) with pysqlite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE (the default): a transaction that may write takes SQLite's write lock at
        # its start, waiting up to busy_timeout for it. A deferred one that reads first and
        # writes later cannot wait: when another connection committed in between, its upgrade
        # fails at once with "database is locked" (WAL). Reads of GET requests stay DEFERRED
        # (``read_only``): any number of them run side by side.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def build_engine(database_url: str, **kwargs: Any) -> Engine:
    # hide_parameters: an error's message (and so a logged traceback) names the statement but
    # not its values, which can be personal data (docs/privacy.md, "Logs").
    kwargs.setdefault("hide_parameters", True)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def run_after_commit(state: Any, session: Session) -> None:
    """Side effects queued during the transaction (search sync); they never fail the request."""
    for hook in getattr(state, "after_commit", ()):
        try:
            hook(session)
        except Exception:
            logger.exception("after-commit hook failed (the outbox keeps the change)")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _has_work(session: Session) -> bool:
    """Did the request use the database (a transaction, or objects waiting to be flushed)?"""
    return bool(session.in_transaction() or session.new or session.dirty or session.deleted)


def _commit(state: Any, session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    run_after_commit(state, session)


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session; committed (or rolled back) in the thread pool, never on the
    event loop. A request that never used the database (an anonymous search answered from
    memory, a cached page) costs no thread hand-off at all: making a Session does no I/O."""
    engine = get_engine(request)
    if request.method in SAFE_METHODS:
        engine = read_only(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        if _has_work(session):
            await run_in_threadpool(_rollback, session)
        else:
            session.close()  # holds no connection: nothing to wait for
        raise
    if _has_work(session):
        await run_in_threadpool(_commit, request.app.state, session)
    else:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
