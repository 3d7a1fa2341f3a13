"""Freezing and unfreezing the rollout: the one state row and its decision record change
in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import decision_log
from bot.authz import SYSTEM_ACTOR
from bot.decision_log import Decision
from bot.errors import Refusal
from storage.db import session_scope
from storage.models import DecisionRecord, RolloutState


def person(actor: str) -> str:
    """Who froze, as a refusal names them: a mention, or the bot (a rollback's freeze)."""
    return "the bot" if actor == SYSTEM_ACTOR else f"<@{actor}>"


def ensure_state_row(engine: Engine) -> None:
    """The one state row exists, so every writer can lock it (a row that is not there
    cannot be locked). Two replicas inserting it at once: one wins, both go on."""
    with Session(engine) as session:
        if session.get(RolloutState, 1) is not None:
            return
    try:
        with session_scope(engine) as session:
            if session.get(RolloutState, 1) is None:
                session.add(RolloutState(id=1))
    except IntegrityError:
        pass


def locked_state(session: Session) -> RolloutState:
    """The state row, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite:
    session_scope's BEGIN IMMEDIATE already holds the write lock). Every writer of the
    freeze or of the flags takes it first, so a freeze and a flag write never interleave,
    and always before the decision log's lock, so they never deadlock."""
    return session.get(RolloutState, 1, with_for_update=True) or RolloutState(id=1)


def freeze_in(
    session: Session,
    actor: str,
    reason: str,
    now: datetime,
    local: Callable[[datetime], str],
) -> DecisionRecord:
    """Freeze unless already frozen (then refuse, naming who froze it and why)."""
    row = locked_state(session)
    if row.frozen:
        raise Refusal(
            f"Already frozen by {person(row.frozen_by)} since "
            f"{local(row.frozen_at or now)}: {row.frozen_reason}",
            "Nothing was changed.",
        )
    record = decision_log.append_in(
        session,
        Decision(
            actor=actor,
            action="rollout.freeze",
            subject="rollout",
            before={"frozen": False},
            after={"frozen": True},
            reason=reason,
        ),
        now,
    )
    row.frozen, row.frozen_reason, row.frozen_by = True, reason, actor
    row.frozen_at, row.freeze_seq = now, record.seq
    session.add(row)
    return record


def unfreeze_in(
    session: Session, actor: str, reason: str, freeze_seq: int | None, now: datetime
) -> DecisionRecord:
    """Lift the freeze. With `freeze_seq` (a button posted for one freeze), only while that
    freeze is still the current one."""
    row = locked_state(session)
    if not row.frozen or (freeze_seq is not None and row.freeze_seq != freeze_seq):
        raise Refusal(
            "That freeze is already lifted."
            if freeze_seq is not None
            else "The rollout is not frozen.",
            "Nothing was changed. `/rollout status` shows the current state.",
        )
    record = decision_log.append_in(
        session,
        Decision(
            actor=actor,
            action="rollout.unfreeze",
            subject="rollout",
            before={"frozen": True, "reason": row.frozen_reason, "by": row.frozen_by},
            after={"frozen": False},
            reason=reason,
        ),
        now,
    )
    row.frozen, row.frozen_reason, row.frozen_by = False, "", ""
    row.frozen_at, row.freeze_seq = None, None
    session.add(row)
    return record
