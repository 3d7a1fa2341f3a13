"""What the rollback tells people, as domain-level calls; the Slack rendering lives outside
the domain (bot/slack_out/rollback_notifier.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.rollback.model import MttrGoal, RequestView


class RollbackNotifier(Protocol):
    """Shows a request where people look: its war-room message, that message's thread, and
    plain war-room posts."""

    def refresh(self, view: RequestView) -> tuple[str, str] | None:
        """Post or update the request's message; returns (channel, ts) when newly posted."""
        ...

    def announce_executed(self, view: RequestView, percent: int, segments: list[str]) -> None:
        """In the war room: the rollback was executed, the flags are back to the target."""
        ...

    def step_failed(
        self, view: RequestView, title: str, attempts: int, error: str, by_hand: str
    ) -> None: ...

    def completed(
        self, view: RequestView, mttr_seconds: float | None, goal: MttrGoal | None
    ) -> None: ...

    def e2e_passed(self, view: RequestView, command: str, tail: str) -> None: ...

    def incident_opened(self, view: RequestView, key: str, url: str, severity: int) -> None: ...

    def postmortem_scheduled(self, view: RequestView, at: datetime) -> None: ...

    def expired_unsigned(self, view: RequestView, missing: list[str], oncall: list[str]) -> None:
        """A critical request expired without the `missing` roles' sign-off: `oncall` (user
        or group ids) is told, in the thread and in the war room, how to break glass."""
        ...

    def postmortem_due(self, view: RequestView, at: datetime, owners: list[str]) -> None:
        """In the thread and in the war room; `owners` are user ids to mention."""
        ...
