"""Block Kit rendered readably in a terminal; buttons get numbers you can `click`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EMOJI = {
    ":no_entry:": "⛔",
    ":snowflake:": "❄",
    ":sunny:": "☀",
    ":rocket:": "🚀",
    ":white_check_mark:": "✅",
    ":triangular_flag_on_post:": "🚩",
    ":warning:": "⚠",
    ":hourglass:": "⏳",
    ":hourglass_flowing_sand:": "⏳",
    ":fast_forward:": "⏭",
    ":x:": "❌",
    ":raised_hand:": "✋",
    ":rotating_light:": "🚨",
    ":fire_extinguisher:": "🧯",
}


@dataclass(frozen=True)
class Button:
    number: int
    label: str
    action_id: str
    block_id: str
    value: str
    channel: str
    message_ts: str


def plain(text: str, name_of: Callable[[str], str]) -> str:
    text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + name_of(m.group(1)), text)
    text = re.sub(r"<#(C[A-Z0-9]+)(\|[^>]*)?>", r"#\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)  # mrkdwn bold
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text


def _text(obj: dict | str | None) -> str:
    if obj is None:
        return ""
    return obj if isinstance(obj, str) else str(obj.get("text", ""))


def _button(
    element: dict, block: dict, next_number: Callable[[], int], channel: str, ts: str
) -> Button:
    return Button(
        next_number(),
        _text(element.get("text")),
        element["action_id"],
        block.get("block_id", ""),
        element.get("value", ""),
        channel,
        ts,
    )


def render_blocks(
    blocks: list[dict],
    fallback: str,
    name_of: Callable[[str], str],
    next_number: Callable[[], int],
    channel: str,
    ts: str,
    buttons: list[Button],
) -> list[str]:
    if not blocks:
        return [plain(fallback, name_of)]
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text(block.get('text')).upper()} ==")
        elif kind == "section":
            if block.get("text"):
                lines.extend(plain(_text(block["text"]), name_of).splitlines())
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":  # e.g. App Home's Confirm
                button = _button(accessory, block, next_number, channel, ts)
                buttons.append(button)
                lines.append(f"  [{button.number}] {button.label}   (type `click N`)")
            if block.get("fields"):
                lines.append(
                    "   ".join(
                        plain(_text(f), name_of).replace("\n", ": ", 1) for f in block["fields"]
                    )
                )
        elif kind == "context":
            lines.append("  · " + " ".join(plain(_text(e), name_of) for e in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = []
            for element in block.get("elements", []):
                if element.get("type") != "button":
                    continue
                button = _button(element, block, next_number, channel, ts)
                buttons.append(button)
                labels.append(f"[{button.number}] {button.label}")
            lines.append("  " + "   ".join(labels) + "   (type `click N`)")
    return lines
