"""Reports in the war room, their charts in the post's thread (`bot.reports.service.ReportPublisher`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.reports.service import PostRef, ReportContent
from bot.slack_out.messages.report import blocks
from bot.slack_out.outbox import Outbox, is_handle


class SlackReportPublisher:
    def __init__(self, poster: Outbox, channel: str, zone: ZoneInfo) -> None:
        self.poster = poster
        self.channel = channel
        self.zone = zone

    def publish(self, report: ReportContent) -> PostRef | None:
        figures = report.figures
        posted = self.poster.post_message(
            self.channel, figures.title, blocks(figures, self.zone, report.proposal)
        )
        return PostRef(*posted, queued=is_handle(posted[1])) if posted else None

    def attach(self, post: PostRef, png: bytes, filename: str, title: str) -> str | None:
        """The file's ID once Slack has it; None while the outbox still retries it."""
        sent = self.poster.upload(post.channel, post.ts, png, filename, title)
        return None if sent is None or is_handle(sent) else sent
