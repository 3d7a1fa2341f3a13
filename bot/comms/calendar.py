"""The launch communications calendar: each communication of the playbook is posted to its
owner before it is due (a scheduled run), marked sent with the link to what went out,
reminded when overdue and escalated after the playbook's delay; a rollback pauses those
not sent yet. One row per communication and launch time T, so a new T starts afresh."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.cadence.plan import communication_due
from bot.cadence.planner import LaunchTime
from bot.cadence.runs import Due, Outcome
from bot.clock import Clock
from bot.comms.notifier import CommsNotifier, CommView
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Communication, Playbook
from bot.playbook.comms import APPROVED_LINK
from bot.transitions import transition, transition_in
from storage.claims import claim
from storage.db import session_scope
from storage.models import CommunicationState
from storage.status import CommStatus, RunStatus

log = logging.getLogger(__name__)

MARK_SENT = "comms.mark_sent"
LINK_LIMIT = 500
UNSENT = (CommStatus.SCHEDULED, CommStatus.POSTED)


class CommsCalendar:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        notifier: CommsNotifier,
        launch: LaunchTime,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.notifier = notifier
        self.launch = launch

    # ---- rows ------------------------------------------------------------------------------
    def _item(self, key: str) -> Communication | None:
        return next((i for i in self.playbook.communications.items if i.key == key), None)

    def _ensure(self, key: str, due_at: datetime) -> CommunicationState:
        """The row of this communication at this due time, made on first use (by the notice,
        a rollback's pause or a report, whichever comes first)."""
        where = (CommunicationState.key == key, CommunicationState.due_at == due_at)
        with Session(self.engine) as session:
            row = session.exec(select(CommunicationState).where(*where)).one_or_none()
        if row is not None:
            return row
        try:
            with session_scope(self.engine) as session:
                row = CommunicationState(key=key, due_at=due_at)
                session.add(row)
                session.flush()
                session.refresh(row)
                return row
        except IntegrityError:  # made at the same moment by another caller
            with Session(self.engine) as session:
                return session.exec(select(CommunicationState).where(*where)).one()

    def view(self, comm_id: int) -> CommView:
        with Session(self.engine) as session:
            row = session.get(CommunicationState, comm_id)
        item = self._item(row.key) if row else None
        if row is None or item is None:
            raise Refusal(f"There is no communication #{comm_id}.", "")
        return CommView(item, row)

    def current(self) -> list[CommView]:
        """The communications of the current launch time, in the playbook's order; none
        before T is set."""
        launch_at = self.launch.launch_at()
        if launch_at is None:
            return []
        return [
            CommView(item, self._ensure(item.key, communication_due(self.playbook, i, launch_at)))
            for i, item in enumerate(self.playbook.communications.items)
        ]

    # ---- the notice (the runner's handler) ---------------------------------------------------
    def post(self, due: Due) -> Outcome:
        index = due.occurrence.data["comm"]
        item = self.playbook.communications.items[index]
        notice = timedelta(minutes=self.playbook.communications.notice_minutes)
        row = self._ensure(item.key, due.occurrence.fire_at + notice)
        if row.status != CommStatus.SCHEDULED:
            why = f"paused by {row.paused_by}" if row.status == CommStatus.PAUSED else row.status
            return Outcome(RunStatus.SKIPPED, "", f"not posted: {why}")
        ref = self.notifier.notice(CommView(item, row), due.notes())
        if ref is None:
            return due.posted(None)
        where = {"channel": ref.channel, "message_ts": ref.ts, "run_id": due.run_id}
        moved = transition(
            self.engine,
            CommunicationState,
            row.id or 0,
            allowed=[CommStatus.SCHEDULED],
            values={**where, "status": CommStatus.POSTED},
            at=self.clock.now(),
        )
        if not moved:  # paused while it was being posted: keep where it is, show the pause
            claim(self.engine, CommunicationState, [col(CommunicationState.id) == row.id], where)
            self.notifier.changed(self.view(row.id or 0))
        return due.posted(ref)

    # ---- Mark sent -------------------------------------------------------------------------
    def require_marker(self, comm_id: int, user: str) -> CommView:
        """Before the form opens: the role, and a communication still waiting to be sent."""
        self.authz.require(user, MARK_SENT)
        view = self.view(comm_id)
        if view.state.status != CommStatus.POSTED:
            raise self._not_markable(view)
        return view

    def mark_sent(self, comm_id: int, user: str, link: str) -> CommView:
        self.authz.require(user, MARK_SENT)
        link = link.strip()
        if len(link) > LINK_LIMIT or not APPROVED_LINK.match(link):
            raise Refusal(
                "That is not a link to what went out.",
                "Paste its address (https://…): the sent email, the live banner, the article.",
            )
        view = self.view(comm_id)
        now = self.clock.now()
        decision = Decision(
            actor=user,
            action="comms.sent",
            subject=f"comms:{view.item.key}",
            before={"status": view.state.status},
            after={
                "status": CommStatus.SENT,
                "link": link,
                "due_at": view.state.due_at.isoformat(),
            },
            reason=view.item.title,
        )
        values = {"status": CommStatus.SENT, "sent_by": user, "sent_at": now, "sent_link": link}
        if not transition(
            self.engine,
            CommunicationState,
            comm_id,
            allowed=[CommStatus.POSTED],
            values=values,
            at=now,
            decision=decision,
        ):
            raise self._not_markable(self.view(comm_id))
        view = self.view(comm_id)
        self.notifier.changed(view)
        log_event(log, "comms.sent", key=view.item.key, who=user)
        return view

    def _not_markable(self, view: CommView) -> Refusal:
        state, zone = view.state, self.playbook.zone
        if state.status == CommStatus.SENT:
            at = state.sent_at.astimezone(zone) if state.sent_at else None
            return Refusal(
                f"{view.item.title} was already marked sent by <@{state.sent_by}>"
                + (f" at {at:%H:%M}." if at else "."),
                "",
            )
        if state.status == CommStatus.PAUSED:
            return Refusal(
                f"{view.item.title} is paused by {state.paused_by.replace('#', ' #')}: "
                "it is not to be sent.",
                "A new launch time (`/rollout launch`) schedules the communications again.",
            )
        return Refusal(f"{view.item.title} has not been posted to its owner yet.", "")

    # ---- follow-ups (periodic) ------------------------------------------------------------
    def follow_up(self, now: datetime) -> None:
        """Remind the owner of a communication past its time and not marked sent, then
        escalate; each once, by whichever replica claims it first."""
        book = self.playbook.communications
        remind = timedelta(minutes=book.remind_after_minutes)
        escalate = timedelta(minutes=book.escalate_after_minutes)
        with Session(self.engine) as session:
            rows = list(
                session.exec(
                    select(CommunicationState)
                    .where(
                        CommunicationState.status == CommStatus.POSTED,
                        col(CommunicationState.due_at) <= now - remind,
                        col(CommunicationState.message_ts) != "",
                    )
                    # the same order on every database: by due time, then as created
                    .order_by(col(CommunicationState.due_at), col(CommunicationState.id))
                )
            )
        for row in rows:
            item = self._item(row.key)
            if item is None:
                continue
            if now - row.due_at >= escalate and row.escalated_at is None:
                if self._claim(row.id or 0, "escalated_at", now):
                    minutes = book.escalate_after_minutes
                    self.notifier.escalation(CommView(item, row), book.escalate_to, minutes)
            elif row.reminded_at is None and self._claim(row.id or 0, "reminded_at", now):
                self.notifier.reminder(CommView(item, row))

    def _claim(self, comm_id: int, column: str, now: datetime) -> bool:
        where = [
            col(CommunicationState.id) == comm_id,
            col(CommunicationState.status) == CommStatus.POSTED,
            getattr(CommunicationState, column).is_(None),
        ]
        return claim(self.engine, CommunicationState, where, {column: now})

    # ---- a rollback ------------------------------------------------------------------------
    def pause_for_rollback(self, request_id: int) -> list[CommView]:
        """Pause every communication of the current T not sent yet (its notice is not
        posted, its reminders stop) and say so; one record for the lot. A second call (a
        retry, a restart) finds nothing left to pause and says nothing."""
        by, now = f"rollback#{request_id}", self.clock.now()
        candidates = [v for v in self.current() if v.state.status in UNSENT]
        paused: list[CommView] = []
        with session_scope(self.engine) as session:
            for view in candidates:
                if transition_in(
                    session,
                    CommunicationState,
                    view.id,
                    allowed=list(UNSENT),
                    values={"status": CommStatus.PAUSED, "paused_at": now, "paused_by": by},
                    at=now,
                ):
                    paused.append(view)
            if paused:
                decision_log.append_in(session, self._pause_record(by, paused), now)
        if not paused:
            return []
        views = [self.view(v.id) for v in paused]
        for view in views:
            if view.state.message_ts:
                self.notifier.changed(view)
        self.notifier.paused(request_id, views)
        log_event(log, "comms.paused", rollback=request_id, count=len(views))
        return views

    @staticmethod
    def _pause_record(by: str, paused: list[CommView]) -> Decision:
        return Decision(
            actor=SYSTEM_ACTOR,
            action="comms.pause",
            subject=by,
            before={"status": {v.item.key: v.state.status for v in paused}},
            after={"status": CommStatus.PAUSED, "paused": [v.item.key for v in paused]},
            reason=f"{by.replace('#', ' #')} began: the communications not sent are paused",
        )

    # ---- the reports -----------------------------------------------------------------------
    def report(self, at: datetime) -> list[dict[str, Any]]:
        """Every communication of the current T as a report shows it at `at`."""
        return [
            {
                "key": v.item.key,
                "title": v.item.title,
                "channel": v.item.channel,
                "owner": v.item.owner,
                "due": v.state.due_at.isoformat(),
                "status": v.state.status,
                "overdue": v.overdue(at),
                "sent_by": v.state.sent_by,
                "sent_at": v.state.sent_at.isoformat() if v.state.sent_at else "",
                "link": v.state.sent_link,
                "paused_by": v.state.paused_by,
            }
            for v in self.current()
        ]
