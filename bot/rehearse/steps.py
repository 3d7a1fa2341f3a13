"""When the driver steps the virtual clock: every evaluation interval (30 s) while anything
is happening, 15 minutes when all is quiet, and exactly on every instant something is due.

Busy: around a turn of a metric story or a fault (from 2 minutes before, so the evaluator
has read the last good value an interval before it, as it does every interval in
production, until a no-data warning would be due after it), while a trigger is pending or
firing, and while a rollback request is open. Due instants, stepped on exactly: the
scheduled posts, the personas' clicks, the story's turns and the faults' edges, and what
the bot does on the clock (a checklist's reminder and escalation, a request's expiry, a
post-mortem reminder, the outbox's next try of what Slack refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.playbook import Playbook
from bot.rehearse.faults import FaultPlan
from bot.rehearse.scenario import Scenario
from storage.models import (
    ChecklistState,
    OutboxMessage,
    Postmortem,
    RollbackRequest,
    ScheduledRun,
    TriggerState,
)
from storage.status import ROLLBACK_CLOSED, OutboxStatus, RollbackStatus, TriggerStatus

QUIET_STEP = timedelta(minutes=15)
LEAD = timedelta(minutes=2)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Steps:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        scenario: Scenario,
        launch_at: datetime,
        faults: FaultPlan,
        plan: Callable[[], Iterable[datetime]],
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.launch_at = launch_at
        self.faults = faults
        self.plan = plan  # the scheduled posts' instants
        self.interval = timedelta(seconds=playbook.evaluation.interval_seconds)
        self.after = timedelta(minutes=playbook.evaluation.no_data_warning_minutes) + LEAD
        self.turns = [launch_at + p for p in scenario.turning_points()]

    def busy(self, now: datetime) -> bool:
        if self.faults.unanchored:
            self._anchor()
        if self.faults.near(now, self.after):
            return True
        if any(-LEAD <= now - turn <= self.after for turn in self.turns):
            return True
        with Session(self.engine) as session:
            open_request = session.exec(
                select(RollbackRequest.id)
                .where(col(RollbackRequest.status).not_in(list(ROLLBACK_CLOSED)))
                .limit(1)
            ).first()
            alarmed = session.exec(
                select(TriggerState.name).where(TriggerState.state != TriggerStatus.OK).limit(1)
            ).first()
        return open_request is not None or alarmed is not None

    def _anchor(self) -> None:
        """Faults that start after the first rollback request start when it opens."""
        with Session(self.engine) as session:
            first = session.exec(
                select(RollbackRequest).order_by(col(RollbackRequest.id)).limit(1)
            ).first()
        if first is not None:
            self.faults.anchor_rollback(_utc(first.opened_at))

    def next(self, now: datetime, actions: Iterable[datetime], end: datetime) -> datetime:
        """The next step after `now` (past `end` when the play is over)."""
        if now >= end:
            return end + self.interval
        step = now + (self.interval if self.busy(now) else QUIET_STEP)
        turns = [*self.turns, *self.faults.edges()]
        marks = [*self.plan(), *actions, *turns, *(t - LEAD for t in turns), *self._due()]
        later = [m for m in marks if now < m < step]
        return min([step, *later, end + timedelta(seconds=1)])

    def _due(self) -> list[datetime]:
        """When the bot's own clock work is due: follow-ups, expiries, retries."""
        book = self.playbook.schedule
        remind = timedelta(minutes=book.checklist_remind_minutes)
        escalate = timedelta(minutes=book.checklist_escalate_minutes)
        with Session(self.engine) as session:
            checklists = session.exec(
                select(ScheduledRun.fire_at).where(
                    ChecklistState.run_id == ScheduledRun.id,
                    col(ChecklistState.acknowledged_at).is_(None),
                    col(ChecklistState.escalated_at).is_(None),
                )
            ).all()
            expiries = session.exec(
                select(RollbackRequest.expires_at).where(
                    RollbackRequest.status == RollbackStatus.OPEN
                )
            ).all()
            postmortems = session.exec(
                select(Postmortem.at).where(col(Postmortem.reminded).is_(False))
            ).all()
            retries = session.exec(
                select(OutboxMessage.next_attempt_at).where(
                    OutboxMessage.status == OutboxStatus.PENDING
                )
            ).all()
        due = [_utc(at) + after for at in checklists for after in (remind, escalate)]
        return due + [_utc(at) for at in (*expiries, *postmortems, *retries)]
