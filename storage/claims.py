"""Claim-once: a conditional UPDATE that only one caller can win (its WHERE holds for one
of them; the others change no row). How replicas agree on who posts a reminder, flags a
ticket or closes a request, without a lock service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

from storage.db import session_scope
from storage.writes import rows_changed


def claim(
    engine: Engine, model: Any, where: list[ColumnElement[bool]], values: dict[str, Any]
) -> bool:
    """True for the one caller whose UPDATE changed the row."""
    with session_scope(engine) as session:
        return rows_changed(session, update(model).where(*where).values(values)) == 1
