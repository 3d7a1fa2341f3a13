"""Which clock a reopened local workspace runs on.

`skip` moves the workspace's clock ahead of real time, and what happened is stored at those
times. Reopening the database on real time would set the clock back before posts already
made; so the clock resumes from the latest time the database recorded when that is ahead of
real time, and the workspace says which clock it runs on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import OffsetClock
from storage.models import (
    ChecklistEvent,
    ChecklistState,
    CouncilVote,
    DecisionRecord,
    FeedbackItem,
    Report,
    RollbackApproval,
    RollbackRequest,
    RunbookStep,
    ScheduledRun,
    Ticket,
)

# the times things were done at (never a time something is due): a decision, a post, a
# reminder, a tick, a vote, a sign-off, a runbook step, a report, an intake
STAMPS: tuple[Any, ...] = (
    DecisionRecord.at,
    ScheduledRun.claimed_at,
    ChecklistState.reminded_at,
    ChecklistState.escalated_at,
    ChecklistEvent.at,
    CouncilVote.at,
    RollbackRequest.opened_at,
    RollbackApproval.at,
    RunbookStep.ended_at,
    Report.created_at,
    FeedbackItem.created_at,
    Ticket.created_at,
)


def last_recorded(engine: Engine) -> datetime | None:
    """The latest time anything was recorded at, or None for an empty database."""
    with Session(engine) as session:
        found = [session.exec(select(func.max(stamp))).one() for stamp in STAMPS]
    times = [_aware(t) for t in found if t is not None]
    return max(times) if times else None


def _aware(value: datetime | str) -> datetime:
    """func.max may hand SQLite's stored text back as it is; stored times are UTC."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def resume(clock: OffsetClock, engine: Engine, zone: ZoneInfo) -> str:
    """Moves `clock` to the database's latest time when that is ahead of real time; the
    line that says which clock is in use."""
    real = clock.base.now()
    last = last_recorded(engine)
    shown = "%a %d %b %H:%M %Z"
    if last is None or last <= real:
        return f"Clock: real time, {real.astimezone(zone):{shown}} (`skip` moves it forward)"
    clock.skip(last - real)
    return (
        f"Clock: virtual, resumed at {last.astimezone(zone):{shown}}, the latest time this "
        f"database recorded (real time is {real.astimezone(zone):{shown}}); `skip` moves it on"
    )
