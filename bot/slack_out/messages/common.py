from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.errors import WarroomError


def local_time(instant: datetime | None, zone: ZoneInfo, fmt: str = "%a %d %b %H:%M %Z") -> str:
    return instant.astimezone(zone).strftime(fmt) if instant else "—"


def who(actor: str) -> str:
    return "the bot" if actor == "warroom" else f"<@{actor}>"


def section(text: str) -> SectionBlock:
    """A mrkdwn section, cut to Slack's 3,000-character limit."""
    return SectionBlock(text=MarkdownTextObject(text=text[:3000]))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def error_message(error: WarroomError) -> tuple[str, list[Block]]:
    """A refusal or failure, ephemeral: what was wrong, then what to type."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f":no_entry: {error.message}"))
    ]
    if error.hint:
        blocks.append(context(error.hint))
    return str(error), blocks


def as_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]
