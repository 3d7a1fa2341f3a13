"""Helpers for the rollback tests: a playbook whose e2e test runs here, and clicks."""

from __future__ import annotations

import sys

from bot.local import payloads
from bot.local.fake_slack import Message
from bot.playbook import Playbook, RollbackVerify, load_playbook
from tests.conftest import LiveBot

PRODUCT2 = "U0PROD0002"
E2E_OK = f"{sys.executable} -c \"print('order saga e2e: 12 passed')\""


def rollback_playbook(**rollback_changes: object) -> Playbook:
    book = load_playbook()
    changes = {"verify": RollbackVerify(checks=[], e2e_command=E2E_OK), "step_backoff_seconds": 0}
    changes.update(rollback_changes)
    roles = {**book.roles, "product": [*book.roles["product"], PRODUCT2]}
    return book.model_copy(
        update={"rollback": book.rollback.model_copy(update=changes), "roles": roles}
    )


def request_message(bot: LiveBot, request_id: int = 1) -> Message:
    return bot.fake.wait_for(
        lambda f: next(
            (m for m in f.channel_messages() if m.text.startswith(f"Rollback #{request_id} ")), None
        )
    )


def buttons(message: Message) -> dict[str, dict]:
    return {
        e["action_id"]: e for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    }


def click(bot: LiveBot, user: str, action_id: str, value: str, message: Message) -> None:
    body = payloads.block_actions(
        user,
        message.channel,
        message.ts,
        action_id,
        value,
        "rollback.actions",
        bot.fake.response_url(message.channel, user, message.ts),
    )
    assert bot.post(body).status_code == 200
