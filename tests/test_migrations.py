"""Migrations are the only schema source: upgrade, check and downgrade on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from app.cli import alembic_config
from app.core.db import build_engine
from tests.conftest import migrated_database


def test_models_match_migrations_and_downgrade_works(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        config = alembic_config(url)
        config.attributes["configure_logger"] = False
        command.check(config)  # raises when the models and the migrations differ
        engine = build_engine(url)
        try:
            assert "service" in inspect(engine).get_table_names()
            command.downgrade(config, "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            command.upgrade(config, "head")
            assert "service" in inspect(engine).get_table_names()
        finally:
            engine.dispose()
