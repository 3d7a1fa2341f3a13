"""The go-to-market part: the communications calendar and the support staffing check,
their scheduled kinds and their periodic follow-ups."""

from __future__ import annotations

from bot.cadence.plan import Kind
from bot.cadence.runs import Handler
from bot.comms.calendar import CommsCalendar
from bot.comms.staffing import StaffingService
from bot.rollout import RolloutService
from bot.slack_out.comms_notifier import SlackCommsNotifier, SlackStaffingNotifier
from bot.slack_out.ticket_notifier import SlackTicketNotifier
from bot.tickets import TicketService
from bot.wiring.base import Base
from schedules.runner import Periodic


def comms(b: Base, rollout: RolloutService) -> tuple[CommsCalendar, StaffingService]:
    calendar = CommsCalendar(
        b.engine, b.playbook, b.clock, b.authz, SlackCommsNotifier(b.poster, b.playbook), rollout
    )
    staffing = StaffingService(
        b.engine, b.playbook, b.clock, b.authz, SlackStaffingNotifier(b.poster, b.playbook)
    )
    return calendar, staffing


def tickets(b: Base, staffing: StaffingService) -> TicketService:
    """The beta tickets, whose SLA flag says who the staffing check put on duty."""
    notifier = SlackTicketNotifier(b.poster, b.playbook)
    return TicketService(
        b.engine, b.playbook, b.clock, notifier, who_is_on_duty=staffing.who_is_on_duty
    )


def handlers(calendar: CommsCalendar, staffing: StaffingService) -> dict[str, Handler]:
    return {Kind.COMMUNICATION: calendar.post, Kind.STAFFING_CHECK: staffing.post}


def periodic(calendar: CommsCalendar, staffing: StaffingService) -> list[Periodic]:
    return [calendar.follow_up, staffing.follow_up]
