"""The workspace's own commands: what they are (`help`), and `click`, `tick` and `choose`:
from what was shown last to the action a Slack client would send (the workspace signs it
and sends it through the app)."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any

from bot.local.controls import Checkboxes, Choice, Control
from bot.local.render import Button

INTRO = """warroom local workspace — the real bot, a pretend Slack. You are {user} ({roles}).
Type /rollout help, /rollout status, /rollout set {launch_target}, /feedback, ...
Workspace commands: as ROLE|USER · whoami · click N · tick N · choose N OPTION · submit TEXT ·
skip 4h · home · help · quit"""

WORKSPACE_HELP = """  /rollout …     a slash command, exactly as in Slack
  as ROLE|USER   act as the first member of a role (sre, product, …) or a user ID
  whoami         who you are and your roles
  click N        press button [N] of a message shown above
  tick N         tick or untick item N of the last checklist shown (`tick 1 3` does both)
  choose N OPT   pick option OPT (its number, value or label) of menu [N]
  submit TEXT    answer a one-field form a button opened (a form of several fields,
                 like /feedback's, asks each field in turn; `cancel` leaves it)
  skip 23h25m    move time forward (30m, 4h, 1d, 23h25m), making the scheduled posts that fall due,
                 each shown with its time (a long skip says where it is every 6h)
  schedule       the upcoming posts (/rollout schedule)
  home           your App Home tab: flags, KPIs, requests, checklists, completion
  quit           leave (the database keeps what happened)"""


@dataclass(frozen=True)
class Press:
    """One action on one message: what the workspace sends as block_actions."""

    channel: str
    message_ts: str
    action: dict[str, Any]


def _button_action(button: Button) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": button.action_id,
        "block_id": button.block_id,
        "value": button.value,
        "text": {"type": "plain_text", "text": button.label},
        "action_ts": f"{time.time():.6f}",
    }


class Controls:
    """What the person can use, as shown last: numbered buttons and menus, and the
    checkboxes of the last message shown with any."""

    def __init__(self) -> None:
        self.buttons: dict[int, Button] = {}
        self.choices: dict[int, Choice] = {}
        self.checkboxes: Checkboxes | None = None

    def shown(self, buttons: list[Button], controls: list[Control]) -> None:
        self.buttons.update({b.number: b for b in buttons})
        for control in controls:
            if isinstance(control, Choice):
                self.choices[control.number] = control
            else:
                self.checkboxes = control

    def _numbers(self, kind: dict[int, Any]) -> str:
        return ", ".join(str(n) for n in sorted(kind)) or "none shown yet"

    def click(self, line: str) -> Press | str:
        """`click N`: the button's action, or what to type instead."""
        parts = shlex.split(line)
        number = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
        if number in self.choices:
            return f"error: [{number}] is a menu: say `choose {number} OPTION`"
        if number is None or number not in self.buttons:
            return f"error: say `click N` with a button number ({self._numbers(self.buttons)})"
        button = self.buttons[number]
        return Press(button.channel, button.message_ts, _button_action(button))

    def tick(self, line: str) -> list[int] | str:
        """`tick N [M …]`: the item numbers to click in turn, or what to type instead."""
        group = self.checkboxes
        if group is None:
            return "error: no checkboxes shown yet (a shift checklist has them)"
        words = line.split()[1:]
        count = len(group.options)
        if not words or not all(w.isdigit() and 1 <= int(w) <= count for w in words):
            return f"error: say `tick N` with an item number of the last checklist (1–{count})"
        return [int(w) for w in words]

    def toggle(self, item: int) -> Press:
        """Item `item` of the last checkboxes shown clicked, as they show now."""
        group = self.checkboxes
        assert group is not None  # tick() said so
        return Press(group.channel, group.message_ts, group.toggled(item))

    def choose(self, line: str) -> Press | str:
        """`choose N OPTION`: the option (number, value or label) of menu N."""
        parts = line.split(maxsplit=2)
        number = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
        if number is None or number not in self.choices:
            shown = self._numbers(self.choices)
            return f"error: say `choose N OPTION` with a menu number ({shown})"
        choice = self.choices[number]
        option = choice.option(parts[2].strip()) if len(parts) == 3 else None
        if option is None:
            return f"error: [{number}] offers {choice.described()}: say `choose {number} 1`"
        return Press(choice.channel, choice.message_ts, choice.action(option))
