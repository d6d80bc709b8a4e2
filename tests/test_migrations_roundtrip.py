"""Every migration can be undone and redone: ``alembic downgrade -1 && alembic upgrade head``.

For each revision from base to head, on SQLite and PostgreSQL: upgrade to it, downgrade one
step, upgrade again, and the schema is the same as after the first upgrade. Then, with the
demo data loaded at head, step down one revision at a time to base (the downgrades must cope
with rows in the tables) and back up to head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from app.cli import alembic_config
from app.core.db import build_engine
from tests.conftest import _seed, migrated_database


def _config(url: str) -> Config:
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    return config


def _revisions(config: Config) -> list[str]:
    """Revision ids from the first migration to head (the history is linear)."""
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, "one head expected"
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def _schema(engine: Engine) -> dict[str, Any]:
    inspector = inspect(engine)
    return {
        table: (
            sorted(c["name"] for c in inspector.get_columns(table)),
            sorted(str(i["name"]) for i in inspector.get_indexes(table)),
            sorted(str(fk["referred_table"]) for fk in inspector.get_foreign_keys(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def test_each_migration_downgrades_and_upgrades_again(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        config = _config(url)
        engine = build_engine(url)
        try:
            command.downgrade(config, "base")
            revisions = _revisions(config)
            assert len(revisions) >= 6
            for revision in revisions:
                command.upgrade(config, revision)
                upgraded = _schema(engine)
                command.downgrade(config, "-1")
                assert _current(engine) != revision
                command.upgrade(config, "head" if revision == revisions[-1] else revision)
                assert _current(engine) == revision
                assert _schema(engine) == upgraded, revision
            command.check(config)  # back at head, the models and the schema agree
        finally:
            engine.dispose()


def test_downgrades_cope_with_data_step_by_step(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        config = _config(url)
        engine = build_engine(url)
        try:
            _seed(engine, demo=True)
            revisions = _revisions(config)
            for revision in reversed(revisions):
                assert _current(engine) == revision
                command.downgrade(config, "-1")
            assert _current(engine) is None
            command.upgrade(config, "head")
            assert _current(engine) == revisions[-1]
            assert "service" in inspect(engine).get_table_names()
        finally:
            engine.dispose()
