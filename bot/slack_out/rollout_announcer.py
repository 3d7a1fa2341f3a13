"""The rollout service's Announcer: each announced change becomes a war-room post."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.slack_out.messages import rollout as rollout_messages
from bot.slack_out.outbox import Outbox
from storage.models import DecisionRecord

Builder = Callable[[DecisionRecord, ZoneInfo], tuple[str, list[Block]]]


class WarRoomAnnouncer:
    """Turns a service's `announce(kind, ...)` into a war-room post."""

    BUILDERS: dict[str, Builder] = {
        "flag_changed": rollout_messages.flag_changed_message,
        "launch_set": rollout_messages.launch_set_message,
        "frozen": rollout_messages.frozen_message,
        "unfrozen": rollout_messages.unfrozen_message,
    }

    def __init__(self, poster: Outbox, channel: str, zone: ZoneInfo) -> None:
        self.poster = poster
        self.channel = channel
        self.zone = zone

    def announce(self, kind: str, **data: object) -> str | None:
        record = data["record"]
        assert isinstance(record, DecisionRecord)  # every rollout announcement carries one
        text, blocks = self.BUILDERS[kind](record, self.zone)
        return self.poster.post(self.channel, text, blocks)
