"""Block Kit rendered readably in a terminal; buttons and menus get numbers you can `click`
or `choose` from, checkboxes numbered items you can `tick` (bot.local.controls)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import emoji

from bot.local.controls import (
    CHECKBOXES,
    CHOICES,
    Checkboxes,
    Choice,
    Control,
    checkbox_lines,
    choice_text,
    options_of,
)


@dataclass(frozen=True)
class Button:
    number: int
    label: str
    action_id: str
    block_id: str
    value: str
    channel: str
    message_ts: str


def _mention(found: re.Match[str], name_of: Callable[[str], str]) -> str:
    """`@U… (roles)`, unless the text already says the roles after the mention."""
    user, after = found.group(1), found.group(2) or ""
    named = name_of(user)
    return f"@{user}{after}" if after and named.endswith(after) else f"@{named}{after}"


def plain(text: str, name_of: Callable[[str], str]) -> str:
    text = re.sub(r"<@([UW][A-Z0-9]+)>( \([^)\n]*\))?", lambda m: _mention(m, name_of), text)
    text = re.sub(r"<#(C[A-Z0-9]+)(\|[^>]*)?>", r"#\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)  # mrkdwn bold
    return emoji.emojize(text, language="alias")  # Slack's shortcodes are the GitHub aliases


def _text(obj: dict[str, Any] | str | None) -> str:
    if obj is None:
        return ""
    return obj if isinstance(obj, str) else str(obj.get("text", ""))


@dataclass
class _Renderer:
    """One message's blocks as lines; each button and menu gets the next number."""

    name_of: Callable[[str], str]
    next_number: Callable[[], int]
    channel: str
    ts: str
    buttons: list[Button]
    controls: list[Control]

    def plain(self, obj: dict[str, Any] | str | None) -> str:
        return plain(_text(obj), self.name_of)

    def button(self, element: dict[str, Any], block: dict[str, Any]) -> Button:
        button = Button(
            self.next_number(),
            _text(element.get("text")),
            element["action_id"],
            block.get("block_id", ""),
            element.get("value", ""),
            self.channel,
            self.ts,
        )
        self.buttons.append(button)
        return button

    def checkboxes(self, element: dict[str, Any], block: dict[str, Any]) -> list[str]:
        options = options_of(element)
        group = Checkboxes(
            element["action_id"],
            block.get("block_id", ""),
            options,
            tuple(o.get("value", "") for o in element.get("initial_options") or []),
            self.channel,
            self.ts,
        )
        self.controls.append(group)
        return checkbox_lines(group)

    def choice(self, element: dict[str, Any], block: dict[str, Any]) -> str:
        choice = Choice(
            self.next_number(),
            element["type"],
            _text(element.get("placeholder")),
            element["action_id"],
            block.get("block_id", ""),
            options_of(element),
            self.channel,
            self.ts,
        )
        self.controls.append(choice)
        return choice_text(choice, element)

    def elements(self, elements: list[dict[str, Any]], block: dict[str, Any]) -> list[str]:
        """Buttons and menus on one line with what to type; checkbox items a line each."""
        labels: list[str] = []
        lines: list[str] = []
        hints: dict[str, None] = {}
        for element in elements:
            kind = element.get("type")
            if kind == "button":
                button = self.button(element, block)
                labels.append(f"[{button.number}] {button.label}")
                hints["`click N`"] = None
            elif kind in CHOICES:
                labels.append(self.choice(element, block))
                hints["`choose N OPTION`"] = None
            elif kind == CHECKBOXES:
                lines.extend(self.checkboxes(element, block))
        if labels:
            lines.append("  " + "   ".join(labels) + f"   (type {' or '.join(hints)})")
        return lines

    def section(self, block: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        if block.get("text"):
            lines.extend(self.plain(block["text"]).splitlines())
        if block.get("accessory"):  # e.g. App Home's Confirm
            lines.extend(self.elements([block["accessory"]], block))
        if block.get("fields"):
            fields = (self.plain(f).replace("\n", ": ", 1) for f in block["fields"])
            lines.append("   ".join(fields))
        return lines

    def actions(self, block: dict[str, Any]) -> list[str]:
        return self.elements(block.get("elements", []), block)

    def block(self, block: dict[str, Any]) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [f"== {_text(block.get('text')).upper()} =="]
        if kind == "section":
            return self.section(block)
        if kind == "context":
            return ["  · " + " ".join(self.plain(e) for e in block["elements"])]
        if kind == "divider":
            return ["-" * 40]
        if kind == "actions":
            return self.actions(block)
        return []


def render_blocks(
    blocks: list[dict[str, Any]],
    fallback: str,
    name_of: Callable[[str], str],
    next_number: Callable[[], int],
    channel: str,
    ts: str,
    buttons: list[Button],
    controls: list[Control] | None = None,
) -> list[str]:
    """Lines for a terminal; the buttons found are appended to `buttons`, the other
    controls (checkboxes, selects, radio buttons, overflow menus) to `controls`."""
    if not blocks:
        return [plain(fallback, name_of)]
    renderer = _Renderer(
        name_of, next_number, channel, ts, buttons, [] if controls is None else controls
    )
    return [line for block in blocks for line in renderer.block(block)]
