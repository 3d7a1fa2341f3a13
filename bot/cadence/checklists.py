"""Shift checklists: posted at the shift's time, ticked and acknowledged by its owners,
followed up in their thread (a reminder to the owners, then an escalation to on-call)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cadence.notifier import CadenceNotifier
from bot.cadence.runs import Due, Outcome, PostRef
from bot.clock import Clock
from bot.errors import NotAuthorized, Refusal
from bot.playbook import Playbook, Shift
from storage.claims import claim
from storage.db import session_scope
from storage.models import ChecklistEvent, ChecklistState, ScheduledRun
from storage.writes import rows_changed

LiveLines = Callable[[list[str]], list[str]]  # metric names → lines shown on the checklist
FlagHealth = Callable[[], str]  # the flag provider's health, one line (bot.flags.health)
RolesOf = Callable[[str], set[str]]  # a user's roles (bot.authz.Authorizer.roles_of)


def no_live_lines(metrics: list[str]) -> list[str]:
    return ["no metrics source configured"]


class ChecklistAction(StrEnum):
    TICK = "tick"
    UNTICK = "untick"
    ACK = "ack"


class AlreadyAcknowledged(Refusal):
    def __init__(self, user: str) -> None:
        super().__init__("Already acknowledged.", "")
        self.user = user


class ChecklistService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        notifier: CadenceNotifier,
        live_lines: LiveLines = no_live_lines,
        flag_health: FlagHealth | None = None,
        roles_of: RolesOf | None = None,
    ) -> None:
        """`flag_health`: the provider's health, shown on every shift checklist (the seed's
        first check of the day is the flag service)."""
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.notifier = notifier
        self.live_lines = live_lines
        self.flag_health = flag_health
        self.roles_of = roles_of

    def _require_owner(self, state: ChecklistState, user: str, action: str) -> None:
        """Only the shift's owners, and on-call, tick and acknowledge its checklist (an ack
        stops the reminder and the escalation, so nobody else may give it)."""
        if self.roles_of is None:
            return
        shift = self.shift_of(state)
        allowed = list(dict.fromkeys([*shift.owners, self.playbook.schedule.oncall_role]))
        if not self.roles_of(user) & set(allowed):
            raise NotAuthorized(action, allowed)

    def post(self, due: Due) -> Outcome:
        """The runner's handler for a shift: store the checklist, then post it."""
        shift = self.playbook.shifts[due.occurrence.data["shift"]]
        state = ChecklistState(
            run_id=due.run_id,
            shift=shift.name,
            items=list(shift.items),
            live=self._live(shift),
        )
        with session_scope(self.engine) as session:
            session.add(state)
        return due.posted(self.notifier.checklist(due.run_id, shift, state, due.notes()))

    def _live(self, shift: Shift) -> list[str] | None:
        """What the bot reads at post time: the provider's health, then the shift's metrics
        (kept with the checklist, so every refresh shows the values it was posted with)."""
        lines = [self.flag_health()] if self.flag_health else []
        lines += self.live_lines(shift.metrics) if shift.metrics else []
        return lines or None

    def _load(self, run_id: int) -> tuple[ScheduledRun, ChecklistState]:
        with Session(self.engine) as session:
            run, state = session.get(ScheduledRun, run_id), session.get(ChecklistState, run_id)
        if run is None or state is None:
            raise Refusal(f"There is no checklist #{run_id}.", "")
        return run, state

    def shift_of(self, state: ChecklistState) -> Shift:
        return next(s for s in self.playbook.shifts if s.name == state.shift)

    def set_ticks(self, run_id: int, user: str, selected: list[int]) -> ChecklistState:
        """The checkboxes as the user's client shows them now; the difference is stored."""
        run, state = self._load(run_id)
        self._require_owner(state, user, "checklist.tick")
        now = self.clock.now()
        before, after = set(state.ticked), set(selected) & set(range(len(state.items)))
        with session_scope(self.engine) as session:
            row = session.get(ChecklistState, run_id)
            assert row is not None
            for action, items in (
                (ChecklistAction.TICK, after - before),
                (ChecklistAction.UNTICK, before - after),
            ):
                for item in sorted(items):
                    session.add(
                        ChecklistEvent(run_id=run_id, user=user, action=action, item=item, at=now)
                    )
            row.ticked = sorted(after)
            row.completed_at = now if len(after) == len(row.items) else None
            session.add(row)
            state = row
        self._refresh(run, state)
        return state

    def acknowledge(self, run_id: int, user: str) -> ChecklistState:
        """Once: the first acknowledgement wins (a double click or a replica changes nothing)."""
        self._require_owner(self._load(run_id)[1], user, "checklist.acknowledge")
        now = self.clock.now()
        with session_scope(self.engine) as session:
            result = rows_changed(
                session,
                update(ChecklistState)
                .where(
                    col(ChecklistState.run_id) == run_id,
                    col(ChecklistState.acknowledged_at).is_(None),
                )
                .values(acknowledged_by=user, acknowledged_at=now),
            )
            if not result:
                row = session.get(ChecklistState, run_id)
                raise AlreadyAcknowledged(row.acknowledged_by if row else "")
            session.add(
                ChecklistEvent(run_id=run_id, user=user, action=ChecklistAction.ACK, at=now)
            )
        run, state = self._load(run_id)
        self._refresh(run, state)
        return state

    def _refresh(self, run: ScheduledRun, state: ChecklistState) -> None:
        if run.message_ts:
            ref = PostRef(run.channel, run.message_ts)
            self.notifier.checklist_changed(ref, run.id or 0, self.shift_of(state), state)

    def follow_up(self, now: datetime) -> None:
        """Periodic: remind the owners of a checklist nobody acknowledged, then escalate;
        each once, by whichever replica claims it first."""
        book = self.playbook.schedule
        remind = timedelta(minutes=book.checklist_remind_minutes)
        escalate = timedelta(minutes=book.checklist_escalate_minutes)
        with Session(self.engine) as session:
            pending = list(
                session.exec(
                    select(ChecklistState, ScheduledRun).where(
                        ChecklistState.run_id == ScheduledRun.id,
                        col(ChecklistState.acknowledged_at).is_(None),
                        col(ScheduledRun.message_ts) != "",
                    )
                )
            )
        for state, run in pending:
            shift, ref, age = (
                self.shift_of(state),
                PostRef(run.channel, run.message_ts),
                now - run.fire_at,
            )
            if age >= escalate and state.escalated_at is None:
                if self._claim(run.id or 0, "escalated_at", now):
                    minutes = int(escalate.total_seconds()) // 60
                    self.notifier.checklist_escalation(
                        ref, shift, self.playbook.schedule.oncall_role, minutes
                    )
            elif (
                age >= remind
                and state.reminded_at is None
                and self._claim(run.id or 0, "reminded_at", now)
            ):
                self.notifier.checklist_reminder(ref, shift)

    def _claim(self, run_id: int, column: str, now: datetime) -> bool:
        where = [col(ChecklistState.run_id) == run_id, getattr(ChecklistState, column).is_(None)]
        return claim(self.engine, ChecklistState, where, {column: now})
