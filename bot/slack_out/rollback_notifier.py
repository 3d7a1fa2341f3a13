"""A rollback request in Slack: one war-room message, updated in place, with a thread of
details; and plain war-room posts when the rollback executes or a post-mortem is due."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.rollback.model import MttrGoal, RequestView
from bot.slack_out.messages import rollback as messages
from bot.slack_out.messages.common import section
from bot.slack_out.messages.schedule import mention
from bot.slack_out.outbox import Outbox

THREAD_LIMIT = 2900  # a section's text, with room under Slack's 3,000


class SlackRollbackNotifier:
    def __init__(
        self, poster: Outbox, zone: ZoneInfo, channel: str, goal: MttrGoal | None = None
    ) -> None:
        self.poster = poster
        self.zone = zone
        self.channel = channel
        self.goal = goal

    def refresh(self, view: RequestView) -> tuple[str, str] | None:
        text, blocks = messages.request_message(view, self.zone, self.goal)
        request = view.request
        if request.message_ts:
            self.poster.update(request.channel, request.message_ts, text, blocks)
            return None
        ts = self.poster.post(request.channel, text, blocks)
        return (request.channel, ts) if ts else None

    def announce_executed(self, view: RequestView, percent: int, segments: list[str]) -> None:
        self._announce(messages.executed_text(view, percent, segments))

    def step_failed(
        self, view: RequestView, title: str, attempts: int, error: str, by_hand: str
    ) -> None:
        self._thread(view, messages.step_failed_text(title, attempts, error, by_hand))

    def completed(
        self, view: RequestView, mttr_seconds: float | None, goal: MttrGoal | None
    ) -> None:
        self._thread(view, messages.completed_text(mttr_seconds, goal))

    def e2e_passed(self, view: RequestView, command: str, tail: str) -> None:
        self._thread(view, messages.e2e_passed_text(command, tail))

    def incident_opened(self, view: RequestView, key: str, url: str, severity: int) -> None:
        self._thread(view, messages.incident_text(key, url, severity))

    def postmortem_scheduled(self, view: RequestView, at: datetime) -> None:
        self._thread(view, messages.postmortem_scheduled_text(at, self.zone))

    def expired_unsigned(self, view: RequestView, missing: list[str], oncall: list[str]) -> None:
        in_thread, in_war_room = messages.expired_unsigned_texts(view, missing, mention(oncall))
        self._thread(view, in_thread)
        self._announce(in_war_room)

    def postmortem_due(self, view: RequestView, at: datetime, owners: list[str]) -> None:
        in_thread, in_war_room = messages.postmortem_due_texts(view, at, owners, self.zone)
        self._thread(view, in_thread)
        self._announce(in_war_room)

    def _announce(self, text: str) -> None:
        self.poster.post(self.channel, text, [section(text)])

    def _thread(self, view: RequestView, text: str) -> None:
        request = view.request
        self.poster.post(
            request.channel,
            text,
            [section(text[:THREAD_LIMIT])],
            thread_ts=request.message_ts or None,
        )
