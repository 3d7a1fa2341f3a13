"""The local workspace's checkboxes, selects, radio buttons and overflow menus: shown from
the Block Kit the bot posts, used with `tick N` and `choose N OPTION`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlmodel import Session, select

from bot.ids.schedule import ScheduleAction, ScheduleBlock
from bot.local.commands import Controls, Press
from bot.local.controls import Control
from bot.local.render import Button, render_blocks
from bot.playbook import load_playbook
from bot.services import build_services
from bot.settings import Settings
from storage.models import ChecklistEvent
from tests.test_local_workspace import run_session

pytestmark = pytest.mark.sqlite_only(
    "the local workspace plays on a SQLite file; `warroom local` refuses any other database"
)


def test_a_shift_checklist_shows_its_items_and_its_owner_ticks_them(db_url: str) -> None:
    # 08:40 in Madrid, launched for 08:50: SRE shift A's checklist (three items) at 09:00
    now = datetime(2026, 12, 1, 7, 40, tzinfo=UTC)
    soon = (now + timedelta(minutes=10)).astimezone(load_playbook().zone)
    out = run_session(
        db_url,
        [
            "tick 1",  # nothing shown yet
            f"/rollout launch {soon:%Y-%m-%d %H:%M}",
            "skip 30m",  # shift A's checklist falls due
            "as sre",
            "tick 1",
            "tick 2 3",
            "tick 2",  # unticks it
            "tick 9",
        ],
        user="product",
        now=now,
    )
    assert "error: no checkboxes shown yet" in out
    assert "  [ ] 1. " in out and "(type `tick N` to tick or untick item N)" in out
    assert "CHECKLIST ✔ COMPLETE ==" in out  # all three ticked, the message says so
    assert "  [x] 1. " in out and "  [x] 3. " in out
    assert "error: say `tick N` with an item number of the last checklist (1–3)" in out
    services = build_services(Settings(database_url=db_url))
    with Session(services.engine) as session:
        events = [(e.user, e.action, e.item) for e in session.exec(select(ChecklistEvent))]
    sre = services.playbook.roles["sre"][0]
    assert events == [
        (sre, "tick", 0),
        (sre, "tick", 1),
        (sre, "tick", 2),
        (sre, "untick", 1),
    ]


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


MENUS: list[dict[str, Any]] = [
    {
        "type": "actions",
        "block_id": "pick",
        "elements": [
            {
                "type": "static_select",
                "action_id": "pick.flag",
                "placeholder": {"type": "plain_text", "text": "Flag"},
                "options": [_option("Advanced checkout", "ADV"), _option("Smart pricing", "SP")],
            },
            {
                "type": "radio_buttons",
                "action_id": "pick.mode",
                "options": [_option("Fast", "fast"), _option("Safe", "safe")],
                "initial_option": _option("Safe", "safe"),
            },
            {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}},
        ],
    },
    {
        "type": "section",
        "block_id": "more",
        "text": {"type": "mrkdwn", "text": "Request #4"},
        "accessory": {
            "type": "overflow",
            "action_id": "more.menu",
            "options": [_option("Edit", "edit"), _option("Delete", "delete")],
        },
    },
    {
        "type": "actions",
        "block_id": ScheduleBlock.CHECKLIST,
        "elements": [
            {
                "type": "checkboxes",
                "action_id": ScheduleAction.CHECKLIST_ITEMS,
                "options": [_option("one", "7:0"), _option("two", "7:1")],
                "initial_options": [_option("two", "7:1")],
            }
        ],
    },
]


def _shown() -> tuple[list[str], Controls]:
    numbers = iter(range(1, 100))
    buttons: list[Button] = []
    found: list[Control] = []
    lines = render_blocks(MENUS, "", str, lambda: next(numbers), "C1", "1.0", buttons, found)
    controls = Controls()
    controls.shown(buttons, found)
    return lines, controls


def test_selects_radio_buttons_and_overflow_menus_are_numbered_and_chosen_from() -> None:
    lines, controls = _shown()
    assert lines[0] == (
        "  [1] Flag ▾ 1) Advanced checkout · 2) Smart pricing   "
        "[2] choose (now: Safe) ▾ 1) Fast · 2) Safe   [3] Go   "
        "(type `choose N OPTION` or `click N`)"
    )
    assert "  [4] ⋯ 1) Edit · 2) Delete   (type `choose N OPTION`)" in lines
    assert "  [ ] 1. one" in lines and "  [x] 2. two" in lines

    by_number, by_value, by_label = (
        controls.choose("choose 1 2"),
        controls.choose("choose 1 SP"),
        controls.choose("choose 1 smart pricing"),
    )
    picked = [cast(Press, p).action["selected_option"] for p in (by_number, by_value, by_label)]
    assert picked == [_option("Smart pricing", "SP")] * 3
    assert isinstance(by_label, Press)
    assert {k: by_label.action[k] for k in ("type", "action_id", "block_id")} == {
        "type": "static_select",
        "action_id": "pick.flag",
        "block_id": "pick",
    }
    menu = controls.choose("choose 4 Delete")
    assert isinstance(menu, Press) and menu.action["type"] == "overflow"
    assert (menu.channel, menu.message_ts) == ("C1", "1.0")
    assert controls.choose("choose 2 slow") == (
        "error: [2] offers 1) Fast · 2) Safe: say `choose 2 1`"
    )
    assert cast(str, controls.choose("choose 3 x")).startswith("error: say `choose N OPTION`")
    assert controls.click("click 1") == "error: [1] is a menu: say `choose 1 OPTION`"


def test_tick_sends_the_whole_selection_as_slacks_client_does() -> None:
    _, controls = _shown()
    assert controls.tick("tick 1") == [1]
    action = controls.toggle(1).action
    assert action["type"] == "checkboxes" and action["block_id"] == ScheduleBlock.CHECKLIST
    assert [o["value"] for o in action["selected_options"]] == ["7:0", "7:1"]
    assert controls.toggle(2).action["selected_options"] == []  # two was ticked: unticked
