"""The cadence's posts in the war room: `bot.cadence.notifier.CadenceNotifier` rendered
with the Block Kit builders and posted with the poster."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import Block

from bot.cadence.notifier import MilestoneActed, Tally
from bot.cadence.runs import PostNotes, PostRef
from bot.playbook import Playbook, Shift
from bot.slack_out.messages import schedule as messages
from bot.slack_out.messages.comms import phase2_step_message
from bot.slack_out.messages.milestones import milestone_message
from bot.slack_out.outbox import Outbox, is_handle
from storage.models import ChecklistState


class SlackCadenceNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook, channel: str) -> None:
        self.poster = poster
        self.playbook = playbook
        self.channel = channel

    def _post(self, message: tuple[str, list[Block]], notes: PostNotes) -> PostRef | None:
        text, blocks = message
        ts = self.poster.post(
            self.channel, text, blocks + messages.late_note(notes, self.playbook.zone)
        )
        return PostRef(self.channel, ts, queued=is_handle(ts)) if ts else None

    def _thread(self, ref: PostRef, text: str) -> None:
        self.poster.post(ref.channel, text, [], thread_ts=ref.ts)

    def checklist(
        self, run_id: int, shift: Shift, state: ChecklistState, notes: PostNotes
    ) -> PostRef | None:
        book = self.playbook
        return self._post(messages.checklist_message(book, shift, state, run_id, book.zone), notes)

    def checklist_changed(
        self, ref: PostRef, run_id: int, shift: Shift, state: ChecklistState
    ) -> None:
        book = self.playbook
        text, blocks = messages.checklist_message(book, shift, state, run_id, book.zone)
        self.poster.update(ref.channel, ref.ts, text, blocks)

    def checklist_reminder(self, ref: PostRef, shift: Shift) -> None:
        self._thread(ref, messages.checklist_reminder(self.playbook, shift))

    def checklist_escalation(self, ref: PostRef, shift: Shift, role: str, minutes: int) -> None:
        self._thread(ref, messages.checklist_escalation(self.playbook, shift, role, minutes))

    def sync(self, notes: PostNotes) -> PostRef | None:
        return self._post(messages.sync_message(self.playbook), notes)

    def milestone(self, index: int, run_id: int, notes: PostNotes) -> PostRef | None:
        return self._post(milestone_message(self.playbook, index, run_id), notes)

    def milestone_acted(self, ref: PostRef, index: int, run_id: int, acted: MilestoneActed) -> None:
        text, blocks = milestone_message(self.playbook, index, run_id, acted)
        self.poster.update(ref.channel, ref.ts, text, blocks)

    def snapshot(self, minutes: int, values: dict[str, str], notes: PostNotes) -> PostRef | None:
        return self._post(messages.snapshot_message(self.playbook, minutes, values), notes)

    def phase2_step(self, index: int, first_day: date, notes: PostNotes) -> PostRef | None:
        text, blocks = phase2_step_message(self.playbook, index, first_day)
        channel = self.playbook.channels.product
        ts = self.poster.post(channel, text, blocks + messages.late_note(notes, self.playbook.zone))
        return PostRef(channel, ts) if ts else None

    def council(self, run_id: int, tally: Tally, notes: PostNotes) -> PostRef | None:
        return self._post(
            messages.council_message(self.playbook, run_id, tally, False, None), notes
        )

    def council_changed(self, ref: PostRef, run_id: int, tally: Tally, outcome: str | None) -> None:
        closed = outcome is not None
        text, blocks = messages.council_message(self.playbook, run_id, tally, closed, outcome)
        self.poster.update(ref.channel, ref.ts, text, blocks)
