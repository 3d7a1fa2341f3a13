"""Phase 2 decisions told in the playbook's Phase 2 channel (`bot.phase2.BacklogNotifier`),
and the lessons document posted with its Markdown in the thread (`bot.phase2.LessonPublisher`)."""

from __future__ import annotations

from bot.phase2 import Document, EpicsResult, ItemView
from bot.slack_out.messages import lessons as lesson_messages
from bot.slack_out.messages import phase2 as messages
from bot.slack_out.outbox import Outbox


class SlackBacklogNotifier:
    def __init__(self, poster: Outbox, channel: str) -> None:
        self.poster = poster
        self.channel = channel

    def status_changed(
        self, view: ItemView, actor: str, note: str, approved: int, total: int
    ) -> None:
        self.poster.post(self.channel, messages.status_note(view, actor, note, approved, total), [])

    def epics_created(self, result: EpicsResult, actor: str) -> None:
        self.poster.post(self.channel, messages.epics_text(result), [])


class SlackLessonPublisher:
    def __init__(self, poster: Outbox, filename: str) -> None:
        self.poster = poster
        self.filename = filename

    def publish(self, channel: str, document: Document, markdown: str) -> str | None:
        text, blocks = lesson_messages.document_post(document, self.filename)
        posted = self.poster.post_message(channel, text, blocks)
        if posted is None:
            return None
        channel_id, ts = posted
        self.poster.upload(channel_id, ts, markdown.encode(), self.filename, document.title)
        return self.poster.permalink(channel_id, ts)
