"""Beta tickets past the support SLA, flagged in the war room (`bot.tickets.TicketNotifier`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.playbook import Playbook
from bot.slack_out.messages.common import link, user_text
from bot.slack_out.messages.comms import duty_text
from bot.slack_out.messages.schedule import owners_of
from bot.slack_out.outbox import Outbox
from bot.tickets import Duty
from storage.models import Ticket


class SlackTicketNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook) -> None:
        self.poster = poster
        self.playbook = playbook

    def overdue(
        self,
        ticket: Ticket,
        waited: timedelta,
        sla_hours: float,
        owners_roles: Sequence[str],
        duty: Duty | None,
    ) -> bool:
        hours, minutes = divmod(int(waited.total_seconds()) // 60, 60)
        title = ticket.subject or ticket.external_id
        subject = link(ticket.link, title) if ticket.link else user_text(title, 200)
        text = (
            f":hourglass: Beta ticket {user_text(ticket.external_id, 64)} unanswered for {hours} h "
            f"{minutes:02d} min (support SLA {sla_hours:g} h): {subject}. "
            f"{owners_of(self.playbook, list(owners_roles))}"
        ) + duty_text(self.playbook, duty)
        return self.poster.post(self.playbook.channels.war_room, text, []) is not None
