"""Helpdesk tickets tagged for the beta: kept from their events (created, answered,
solved), counted per day for the `support_tickets <= 5/day` KPI, and flagged in the war
room once when one is still unanswered after the support SLA (4 h by default)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.observability import log_event
from bot.playbook import Playbook
from storage.claims import claim
from storage.db import session_scope
from storage.models import Ticket

log = logging.getLogger(__name__)


class TicketEvent(BaseModel):
    """One event from the helpdesk's webhook."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event: Literal["created", "answered", "solved"]
    ticket_id: str = Field(min_length=1, max_length=64)
    tags: list[str] = Field(default_factory=list)
    subject: str = Field("", max_length=256)
    link: str = Field("", max_length=512)
    flag: str = Field("", max_length=64)
    at: AwareDatetime | None = None  # when it happened at the helpdesk; default: now


@dataclass(frozen=True)
class Duty:
    """Who said they are on duty for the support SLA (the staffing check), and how many
    agents it asks for."""

    on_duty: list[str]
    required: int


WhoIsOnDuty = Callable[[], Duty | None]  # None: no staffing check was posted


def nobody_known() -> Duty | None:
    return None


class UnknownTicket(ValueError):
    """An answered/solved event for a ticket the bot never saw created."""


class TicketNotifier(Protocol):
    def overdue(
        self,
        ticket: Ticket,
        waited: timedelta,
        sla_hours: float,
        owners_roles: Sequence[str],
        duty: Duty | None,
    ) -> bool:
        """Tells the war room a ticket is past the support SLA, and who is on duty; False
        when Slack did not take the post (a later tick tries again)."""
        ...


class TicketService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        notifier: TicketNotifier,
        who_is_on_duty: WhoIsOnDuty = nobody_known,
    ) -> None:
        """`who_is_on_duty`: the staffing check's answer, said in every SLA flag."""
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.notifier = notifier
        self.who_is_on_duty = who_is_on_duty

    def record(self, event: TicketEvent) -> Ticket | None:
        """Applies the event; None when the ticket is not tagged for the beta. Replayed
        events change nothing: each timestamp is set once, by the first event that has it."""
        if self.playbook.feedback.ticket_tag not in event.tags:
            return None
        at = event.at or self.clock.now()
        with session_scope(self.engine) as session:
            ticket = session.exec(
                select(Ticket).where(Ticket.external_id == event.ticket_id)
            ).one_or_none()
            if ticket is None and event.event != "created":
                raise UnknownTicket(
                    f"no ticket {event.ticket_id} was created; send `created` first"
                )
            if ticket is None:
                ticket = Ticket(external_id=event.ticket_id, created_at=at)
            ticket.subject = event.subject or ticket.subject
            ticket.link = event.link or ticket.link
            ticket.flag = event.flag or ticket.flag
            if event.event == "created":
                ticket.created_at = min(ticket.created_at, at)
            if event.event in ("answered", "solved") and ticket.answered_at is None:
                ticket.answered_at = at
            if event.event == "solved" and ticket.solved_at is None:
                ticket.solved_at = at
            session.add(ticket)
            session.flush()
            session.refresh(ticket)
        log_event(log, "ticket.event", ticket=event.ticket_id, kind=event.event)
        return ticket

    def created_between(self, start: datetime, end: datetime) -> int:
        return ticket_figures(self.engine, self.playbook, start, end)[0]

    def unflagged_overdue(self, now: datetime) -> list[Ticket]:
        """Past the SLA, unanswered, and not flagged yet (so a tick loads only new ones)."""
        cutoff = now - timedelta(hours=self.playbook.feedback.support_sla_hours)
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Ticket).where(
                        col(Ticket.answered_at).is_(None),
                        col(Ticket.sla_flagged_at).is_(None),
                        Ticket.created_at <= cutoff,
                    )
                )
            )

    def flag_overdue(self, now: datetime) -> list[Ticket]:
        """Posts each ticket past the SLA once: the flag is claimed with a conditional
        UPDATE, so several replicas ticking together post it once; released again when
        Slack does not take the post."""
        flagged = []
        overdue = self.unflagged_overdue(now)
        duty = self.who_is_on_duty() if overdue else None
        for ticket in overdue:
            where = [col(Ticket.id) == ticket.id, col(Ticket.sla_flagged_at).is_(None)]
            if not claim(self.engine, Ticket, where, {"sla_flagged_at": now}):
                continue
            sla = self.playbook.feedback.support_sla_hours
            if not self.notifier.overdue(ticket, now - ticket.created_at, sla, ["support"], duty):
                # Slack did not take it: release the flag so a later tick posts it
                claim(self.engine, Ticket, [col(Ticket.id) == ticket.id], {"sla_flagged_at": None})
                log_event(log, "ticket.sla", ticket=ticket.external_id, outcome="retry later")
                continue
            flagged.append(ticket)
            log_event(log, "ticket.sla", ticket=ticket.external_id, outcome="flagged")
        return flagged


def ticket_figures(
    engine: Engine, book: Playbook, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """(created in the period, of those still unanswered, of those past the SLA at `end`)."""
    sla = end - timedelta(hours=book.feedback.support_sla_hours)
    with Session(engine) as session:
        tickets = session.exec(
            select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
        ).all()
    unanswered = [t for t in tickets if t.answered_at is None or t.answered_at >= end]
    return len(tickets), len(unanswered), sum(1 for t in unanswered if t.created_at <= sla)
