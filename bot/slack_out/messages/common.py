"""What every builder shares: user text made safe for Slack markup and cut to Slack's
limits, mentions, local times, sections and contexts within their limits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.errors import WarroomError


def local_time(instant: datetime | None, zone: ZoneInfo, fmt: str = "%a %d %b %H:%M %Z") -> str:
    return instant.astimezone(zone).strftime(fmt) if instant else "—"


# Slack's limits (Block Kit reference): a section's text, a context element's text, a
# header's text, a button's label.
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_LIMIT = 75
USER_TEXT_LIMIT = 500  # a reason or a feedback quote in a post; the record keeps it all
SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user_text(text: str, limit: int = USER_TEXT_LIMIT) -> str:
    """Text a person typed (a reason, feedback, a form field), shown as typed: cut to
    `limit` with "…", then Slack's three control characters escaped (its documented
    escaping), so `<!channel>`, `<@U…>` and `<https://…|…>` ping and link nothing.
    Every builder passes user text through here."""
    return cut(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A link only to an http(s) address, with nothing that could close Slack's `<…|…>`."""
    if not url.startswith(("https://", "http://")):
        return user_text(label)
    safe = cut(url, 1000).replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe.replace('&', '&amp;')}|{user_text(label, 80)}>"


def who(actor: str) -> str:
    """A mention of a Slack user; anything else that names a person (an id from an HTTP
    intake, say) is shown as text, never as markup."""
    if actor == "warroom":
        return "the bot"
    return f"<@{actor}>" if SLACK_ID.fullmatch(actor) else user_text(actor, 64)


def section(text: str) -> SectionBlock:
    """A mrkdwn section, cut to Slack's 3,000-character limit."""
    return SectionBlock(text=MarkdownTextObject(text=cut(text, SECTION_LIMIT)))


def context(text: str) -> ContextBlock:
    """A one-element context, cut to Slack's limit for its text."""
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text, CONTEXT_LIMIT))])


def header(text: str) -> HeaderBlock:
    """A header, cut to Slack's limit for its text."""
    return HeaderBlock(text=cut(text, HEADER_LIMIT))


def button_label(text: str) -> str:
    """A button's label, cut to Slack's limit."""
    return cut(text, BUTTON_LIMIT)


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
