"""One conditional transition: change a row only while its status is still one of those
allowed, and record the decision in the same transaction. A double click, a Slack retry or
a second replica then changes nothing (its UPDATE matches no row and records nothing)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot import decision_log
from bot.decision_log import Decision
from storage.db import session_scope
from storage.writes import rows_changed


def transition_in(
    session: Session,
    model: type[SQLModel],
    row_id: int,
    *,
    allowed: Collection[str],
    values: Mapping[str, Any],
    at: datetime,
    decision: Decision | None = None,
) -> bool:
    """Inside the caller's transaction: True for the one caller whose UPDATE changed the row."""
    table: Any = model  # SQLModel's columns are plain attributes to mypy
    changed = rows_changed(
        session,
        update(model)
        .where(table.id == row_id, table.status.in_(list(allowed)))
        .values(dict(values)),
    )
    if changed and decision is not None:
        decision_log.append_in(session, decision, at)
    return bool(changed)


def transition(
    engine: Engine,
    model: type[SQLModel],
    row_id: int,
    *,
    allowed: Collection[str],
    values: Mapping[str, Any],
    at: datetime,
    decision: Decision | None = None,
) -> bool:
    """The same, in a transaction of its own."""
    with session_scope(engine) as session:
        return transition_in(
            session, model, row_id, allowed=allowed, values=values, at=at, decision=decision
        )
