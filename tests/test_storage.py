"""Migrations build exactly the models' schema; SQLite is tuned on every connection."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from storage import migrate
from storage.db import make_engine


def test_upgrade_creates_the_models_schema_with_nothing_left_over(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0009_comms"
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    migrate.upgrade(engine)  # idempotent


def test_sqlite_pragmas_on_every_connection(db_url: str) -> None:
    engine = make_engine(db_url)
    for _ in range(2):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        engine.dispose()
