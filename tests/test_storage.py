"""Migrations build exactly the models' schema; SQLite is tuned on every connection."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from storage import migrate
from storage.db import make_engine


def test_upgrade_creates_the_models_schema_with_nothing_left_over(blank_db_url: str) -> None:
    engine = make_engine(blank_db_url)
    migrate.upgrade(engine)
    heads = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"one line of migrations, not {heads}"
    assert migrate.current_revision(engine) == heads[0]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    migrate.upgrade(engine)  # idempotent


@pytest.mark.sqlite_only("the pragmas are SQLite's")
def test_sqlite_pragmas_on_every_connection(db_url: str) -> None:
    engine = make_engine(db_url)
    for _ in range(2):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        engine.dispose()
