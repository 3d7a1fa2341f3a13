"""Did my write take? The one place that answers it, the same way on SQLite and PostgreSQL.

A DBAPI's `rowcount` is not a contract: for `INSERT … ON CONFLICT DO NOTHING` psycopg 3.3
with SQLAlchemy 2.1 reports -1, so "first time seen" judged by it dropped every Slack
request on PostgreSQL. Every statement here asks the database with `RETURNING` instead and
counts the rows it hands back (SQLite has RETURNING since 3.35)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update
from sqlalchemy.sql.elements import ColumnClause

_ONE: ColumnClause[Any] = literal_column("1")


def insert_if_new(session: Session, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert the row unless one with the same unique key exists; True when this call
    inserted it (the row came back from `RETURNING`)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(dict(values)).on_conflict_do_nothing().returning(_ONE)
    return session.execute(statement).first() is not None


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """How many rows this UPDATE or DELETE changed, counted from `RETURNING`."""
    return len(session.execute(statement.returning(_ONE)).all())
