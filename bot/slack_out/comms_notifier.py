"""The communications calendar's and the staffing check's posts
(`bot.comms.notifier.CommsNotifier`, `StaffingNotifier`) rendered and posted."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.cadence.runs import PostNotes, PostRef
from bot.comms.notifier import CommView, Staffing
from bot.playbook import Playbook
from bot.slack_out.messages import comms as messages
from bot.slack_out.messages.schedule import late_note
from bot.slack_out.outbox import Outbox, is_handle


def _post(
    poster: Outbox, book: Playbook, channel: str, message: tuple[str, list[Block]], notes: PostNotes
) -> PostRef | None:
    text, blocks = message
    ts = poster.post(channel, text, blocks + late_note(notes, book.zone))
    return PostRef(channel, ts, queued=is_handle(ts)) if ts else None


class SlackCommsNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook) -> None:
        self.poster = poster
        self.playbook = playbook
        self.channel = getattr(playbook.channels, playbook.communications.post_to)

    def notice(self, view: CommView, notes: PostNotes) -> PostRef | None:
        message = messages.notice_message(self.playbook, view)
        return _post(self.poster, self.playbook, self.channel, message, notes)

    def changed(self, view: CommView) -> None:
        if view.state.message_ts:
            text, blocks = messages.notice_message(self.playbook, view)
            self.poster.update(view.state.channel, view.state.message_ts, text, blocks)

    def reminder(self, view: CommView) -> None:
        text = messages.reminder_text(self.playbook, view)
        self.poster.post(view.state.channel, text, [], thread_ts=view.state.message_ts)

    def escalation(self, view: CommView, role: str, minutes: int) -> None:
        text = messages.escalation_text(self.playbook, view, role, minutes)
        self.poster.post(view.state.channel, text, [], thread_ts=view.state.message_ts)

    def paused(self, request_id: int, views: list[CommView]) -> None:
        text, blocks = messages.paused_message(self.playbook, request_id, views)
        self.poster.post(self.playbook.channels.war_room, text, blocks)


class SlackStaffingNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook) -> None:
        self.poster = poster
        self.playbook = playbook

    def check(self, staffing: Staffing, notes: PostNotes) -> PostRef | None:
        message = messages.staffing_message(self.playbook, staffing)
        channel = self.playbook.channels.support
        return _post(self.poster, self.playbook, channel, message, notes)

    def check_changed(self, ref: PostRef, staffing: Staffing) -> None:
        text, blocks = messages.staffing_message(self.playbook, staffing)
        self.poster.update(ref.channel, ref.ts, text, blocks)

    def not_confirmed(self, ref: PostRef, staffing: Staffing, roles: list[str]) -> None:
        text = messages.not_confirmed_text(self.playbook, staffing, roles)
        self.poster.post(ref.channel, text, [], thread_ts=ref.ts)
