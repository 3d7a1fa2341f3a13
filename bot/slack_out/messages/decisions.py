"""The decision log as people read it: each record's before → after in plain words (yes/no,
local times, mentions — never a Python value), and `/rollout history` cut between entries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, SectionBlock

from bot.slack_out.messages.common import (
    SECTION_LIMIT,
    SLACK_ID,
    cut,
    header,
    local_time,
    section,
    user_text,
    who,
)
from storage.models import DecisionRecord

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
HISTORY_ROOM = SECTION_LIMIT - 100  # room for the "…and N more" line


def segments_text(segments: list[str]) -> str:
    return ", ".join(segments) if segments else "none"


def plain_value(value: Any, zone: ZoneInfo) -> str:
    """One stored value as a person says it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(plain_value(v, zone) for v in value) or "none"
    if isinstance(value, dict):
        return f"({state_text(value, zone)})"
    text = str(value)
    if SLACK_ID.fullmatch(text):
        return who(text)
    if ISO_INSTANT.match(text):
        try:
            return local_time(datetime.fromisoformat(text), zone)
        except ValueError:
            pass
    return user_text(text, 200)


def state_text(data: dict[str, Any] | None, zone: ZoneInfo) -> str:
    """A record's before or after: a flag's state as `25 % (a, b)`, anything else as
    `key: value, …` in plain words."""
    if not data:
        return "—"
    if "percent" in data:
        off = " switched off" if data.get("enabled") is False and data["percent"] else ""
        return f"{data['percent']} % ({segments_text(data.get('segments') or [])}){off}"
    return ", ".join(f"{key.replace('_', ' ')}: {plain_value(v, zone)}" for key, v in data.items())


def history_line(record: DecisionRecord, zone: ZoneInfo) -> str:
    r = record
    change = (
        f"{state_text(r.before, zone)} → {state_text(r.after, zone)}"
        if (r.before or r.after)
        else ""
    )
    failed = " *FAILED*" if r.outcome != "applied" else ""
    why = f" — {user_text(r.reason, 200)}" if r.reason else ""
    return (
        f"`#{r.seq}` {local_time(r.at, zone, '%d %b %H:%M')} {who(r.actor)} "
        f"*{r.action}* {r.subject} {change}{failed}{why}"
    )


def history_message(records: list[DecisionRecord], zone: ZoneInfo) -> tuple[str, list[Block]]:
    """The newest records first, whole: what a section cannot hold is counted, not cut."""
    if not records:
        return "No decisions recorded yet.", [SectionBlock(text="No decisions recorded yet.")]
    lines: list[str] = []
    used = 0
    for record in records:
        line = history_line(record, zone)
        if lines and used + len(line) + 1 > HISTORY_ROOM:
            break
        lines.append(cut(line, HISTORY_ROOM))  # one entry longer than a section: alone
        used += len(line) + 1
    rest = len(records) - len(lines)
    if rest:
        lines.append(
            f"…and {rest} more (`/rollout history` shows fewer; "
            "`warroom export decisions` has them all)"
        )
    return f"Last {len(records)} decisions", [
        header(f"Decision log (last {len(records)})"),
        section("\n".join(lines)),
    ]
