"""The support staffing check (the seed's T−1h "confirm the support on-call"): support is
asked whether the extra agents for the SLA are on duty, each agent says so with a button;
still short at `confirm_by`, the check is followed up once. The SLA flag says who is on
duty (`who_is_on_duty`, handed to the ticket service)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.cadence.runs import Due, Outcome, PostRef
from bot.clock import Clock
from bot.comms.notifier import Staffing, StaffingNotifier
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Playbook, parse_duration
from bot.tickets import Duty
from storage.claims import claim
from storage.db import session_scope
from storage.models import ScheduledRun, StaffingCheck, StaffingDuty
from storage.status import RunStatus
from storage.writes import rows_changed

log = logging.getLogger(__name__)

CONFIRM = "staffing.confirm"


class StaffingService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        notifier: StaffingNotifier,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.notifier = notifier

    def post(self, due: Due) -> Outcome:
        """The runner's handler for the check: store it, then post it."""
        settings = self.playbook.support_staffing
        if settings is None:  # the playbook dropped it since the plan was made
            return Outcome(RunStatus.SKIPPED, "", "no support_staffing in the playbook")
        with session_scope(self.engine) as session:
            session.add(StaffingCheck(run_id=due.run_id, required=settings.agents))
        return due.posted(self.notifier.check(self.load(due.run_id), due.notes()))

    def load(self, run_id: int) -> Staffing:
        with Session(self.engine) as session:
            check = session.get(StaffingCheck, run_id)
            if check is None:
                raise Refusal(f"There is no staffing check #{run_id}.", "")
            duty = session.exec(
                select(StaffingDuty)
                .where(StaffingDuty.run_id == run_id)
                .order_by(col(StaffingDuty.at), col(StaffingDuty.id))
            )
            on_duty = [d.user for d in duty]
        return Staffing(run_id, check.required, on_duty, check.confirmed_at)

    def on_duty(self, run_id: int, user: str) -> Staffing:
        """`user` is on duty: recorded once (a second click is refused, nothing twice); the
        check is confirmed, once, when enough agents have said so."""
        self.authz.require(user, CONFIRM)
        before = self.load(run_id)
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                session.add(StaffingDuty(run_id=run_id, user=user, at=now))
                session.flush()
                decision_log.append_in(session, self._record(run_id, user, before), now)
        except IntegrityError:
            raise Refusal("You have already said you are on duty.", "") from None
        staffing = self.load(run_id)
        if len(staffing.on_duty) >= staffing.required and staffing.confirmed_at is None:
            self._confirm(staffing, now)
            staffing = self.load(run_id)
        ref = self._ref(run_id)
        if ref is not None:
            self.notifier.check_changed(ref, staffing)
        log_event(log, "staffing.on_duty", who=user, count=len(staffing.on_duty))
        return staffing

    @staticmethod
    def _record(run_id: int, user: str, before: Staffing) -> Decision:
        return Decision(
            actor=user,
            action="staffing.on_duty",
            subject=f"staffing#{run_id}",
            before={"on_duty": before.on_duty},
            after={"on_duty": [*before.on_duty, user]},
        )

    def _confirm(self, staffing: Staffing, now: datetime) -> None:
        with session_scope(self.engine) as session:
            result = rows_changed(
                session,
                update(StaffingCheck)
                .where(
                    col(StaffingCheck.run_id) == staffing.run_id,
                    col(StaffingCheck.confirmed_at).is_(None),
                )
                .values(confirmed_at=now),
            )
            if result:
                decision = Decision(
                    actor="warroom",
                    action="staffing.confirmed",
                    subject=f"staffing#{staffing.run_id}",
                    after={"on_duty": staffing.on_duty, "required": staffing.required},
                    reason=f"{staffing.required} support agents on duty for the SLA",
                )
                decision_log.append_in(session, decision, now)

    def _ref(self, run_id: int) -> PostRef | None:
        with Session(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
        return PostRef(run.channel, run.message_ts) if run and run.message_ts else None

    def _latest(self) -> ScheduledRun | None:
        with Session(self.engine) as session:
            return session.exec(
                select(ScheduledRun)
                .where(ScheduledRun.id == StaffingCheck.run_id)
                .order_by(col(ScheduledRun.fire_at).desc())
            ).first()

    def who_is_on_duty(self) -> Duty | None:
        """Who said so on the latest check, for the SLA flag; None when none was posted."""
        run = self._latest()
        if run is None:
            return None
        staffing = self.load(run.id or 0)
        return Duty(staffing.on_duty, staffing.required)

    def follow_up(self, now: datetime) -> None:
        """Periodic: still short at `confirm_by`, the check's thread says so to support and
        the escalation role, once."""
        settings, run = self.playbook.support_staffing, self._latest()
        if settings is None or run is None or not run.message_ts:
            return
        deadline = (
            run.fire_at + parse_duration(settings.confirm_by) - parse_duration(settings.offset)
        )
        if now < deadline:
            return
        with Session(self.engine) as session:  # a read on every tick; a claim only once
            check = session.get(StaffingCheck, run.id)
        if check is None or check.reminded_at is not None or check.confirmed_at is not None:
            return
        staffing = self.load(run.id or 0)
        where = [
            col(StaffingCheck.run_id) == run.id,
            col(StaffingCheck.reminded_at).is_(None),
            col(StaffingCheck.confirmed_at).is_(None),
        ]
        if claim(self.engine, StaffingCheck, where, {"reminded_at": now}):
            asked = self.playbook.permissions.get(CONFIRM, [])
            roles = list(dict.fromkeys([*asked, settings.escalate_to]))
            self.notifier.not_confirmed(PostRef(run.channel, run.message_ts), staffing, roles)
