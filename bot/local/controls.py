"""A message's controls other than buttons — checkboxes, selects, radio buttons, overflow
menus — as the terminal shows them, and the action a Slack client sends when one is used.

`tick N` toggles checkbox N of the last message shown with checkboxes; `choose N OPTION`
picks an option (by its number, value or label) of the menu numbered N. Each sends the
element's action as Slack's client shapes it in a block_actions payload."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

CHOICES = ("static_select", "radio_buttons", "overflow")  # one option picked at a time
CHECKBOXES = "checkboxes"


def options_of(element: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The element's options, those in option groups included, in order."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return tuple(options)


def option_label(option: dict[str, Any]) -> str:
    text = option.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else str(text or "")


def _stamp() -> str:
    return f"{time.time():.6f}"


@dataclass(frozen=True)
class Choice:
    """A select, a radio group or an overflow menu, numbered like a button."""

    number: int
    kind: str
    label: str
    action_id: str
    block_id: str
    options: tuple[dict[str, Any], ...]
    channel: str
    message_ts: str

    def option(self, wanted: str) -> dict[str, Any] | None:
        """The option named by its number (1, 2, …), its value or its label."""
        if wanted.isdigit() and 1 <= int(wanted) <= len(self.options):
            return self.options[int(wanted) - 1]
        for option in self.options:
            if option.get("value") == wanted:
                return option
        return next(
            (o for o in self.options if option_label(o).casefold() == wanted.casefold()), None
        )

    def action(self, option: dict[str, Any]) -> dict[str, Any]:
        """The action Slack's client sends when `option` is picked."""
        return {
            "type": self.kind,
            "action_id": self.action_id,
            "block_id": self.block_id,
            "selected_option": option,
            "action_ts": _stamp(),
        }

    def described(self) -> str:
        return " · ".join(f"{i}) {option_label(o)}" for i, o in enumerate(self.options, 1))


@dataclass(frozen=True)
class Checkboxes:
    """A checkbox group; `selected` is what the message shows ticked."""

    action_id: str
    block_id: str
    options: tuple[dict[str, Any], ...]
    selected: tuple[str, ...]  # the values of the ticked options
    channel: str
    message_ts: str

    def toggled(self, number: int) -> dict[str, Any]:
        """The action sent when option `number` (from 1) is clicked: every option ticked
        once it is done, in the order the message lists them (as Slack's client sends)."""
        value = self.options[number - 1].get("value")
        ticked = set(self.selected) ^ {value}
        return {
            "type": CHECKBOXES,
            "action_id": self.action_id,
            "block_id": self.block_id,
            "selected_options": [o for o in self.options if o.get("value") in ticked],
            "action_ts": _stamp(),
        }


Control = Choice | Checkboxes


def checkbox_lines(group: Checkboxes) -> list[str]:
    lines = [
        f"  [{'x' if o.get('value') in group.selected else ' '}] {i}. {option_label(o)}"
        for i, o in enumerate(group.options, 1)
    ]
    return [*lines, "     (type `tick N` to tick or untick item N)"]


def choice_text(choice: Choice, element: dict[str, Any]) -> str:
    """`[N] label ▾ 1) a · 2) b`; the option picked now, if any, is named."""
    initial = element.get("initial_option")
    now = f" (now: {option_label(initial)})" if initial else ""
    if choice.kind == "overflow":
        return f"[{choice.number}] ⋯ {choice.described()}"
    return f"[{choice.number}] {choice.label or 'choose'}{now} ▾ {choice.described()}"
