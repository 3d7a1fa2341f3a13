"""User text is data: whatever a person or an HTTP client types reaches Slack escaped
(`&`, `<`, `>`), so it can ping no one and link nowhere, and cut to Slack's limits.
Each route that posts user text is driven through the real app with hostile strings; every
string the loopback Slack received is then searched for live markup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.ids.feedback import SHORTCUT, FeedbackBlock
from bot.ids.rollback import RollbackAction, RollbackBlock
from bot.local import payloads
from bot.playbook import Playbook
from bot.settings import Settings
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot
from tests.rollback_support import click, request_message, rollback_playbook

TOKEN = "feedback-token"
HOSTILE = [
    "<!channel> checkout is down",
    "<!here|here> look",
    "ping <@U0EVIL0001> now",
    "<https://evil.example|Click to re-auth>",
    "&lt;!channel&gt; pre-escaped",
]
LIVE_MARKUP = ("<!channel", "<!here", "<@U0EVIL0001", "<https://evil.example")


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_feedback_token": SecretStr(TOKEN)})


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def sent_to_slack(bot: LiveBot) -> list[str]:
    return [s for call in bot.fake.calls for s in strings(call.params)]


def assert_inert(bot: LiveBot) -> None:
    for text in sent_to_slack(bot):
        for markup in LIVE_MARKUP:
            assert markup not in text, text[:300]
        assert "&lt;!channel&gt; pre-escaped" not in text  # escaped again: shown as typed


@pytest.mark.parametrize("hostile", HOSTILE)
def test_rollout_reasons_reach_the_war_room_inert(live_bot: LiveBot, hostile: str) -> None:
    live_bot.command(f"set SMART_PRICING 20 internal_beta -- {hostile}")
    live_bot.fake.wait_for(lambda f: f.channel_messages())
    live_bot.command(f"freeze {hostile}")
    live_bot.fake.wait_for(lambda f: len(f.channel_messages()) >= 2)
    live_bot.command("status")
    live_bot.ephemeral_after(2)
    assert_inert(live_bot)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_rollback_reason_and_reject_reason_reach_slack_inert(
    live_bot: LiveBot, hostile: str
) -> None:
    live_bot.command(hostile, user=SRE, command="/rollback")
    request_message(live_bot)
    live_bot.command(f"reject 1 {hostile}", user=SUPPORT, command="/rollback")
    live_bot.fake.wait_for(lambda f: f.calls_to("chat.update"))
    live_bot.services.runbook.wait_idle()
    live_bot.command("status", user=PRODUCT, command="/rollback")
    live_bot.ephemeral_after(0, PRODUCT)
    assert_inert(live_bot)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_feedback_over_http_reaches_the_war_room_inert(live_bot: LiveBot, hostile: str) -> None:
    body = {
        "source": "widget",
        "rating": 1,
        "text": f"I was charged twice! {hostile}",
        "user_id": "<!channel>",
        "flag": "ADVANCED_CHECKOUT",
        "category": "bug",
    }
    answer = live_bot.http.post(
        f"{live_bot.url}/api/feedback", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 201, answer.text
    live_bot.fake.wait_for(lambda f: f.channel_messages(), timeout=10)
    assert_inert(live_bot)


def test_a_huge_reason_is_cut_to_slacks_limits_and_the_record_keeps_it(
    live_bot: LiveBot,
) -> None:
    reason = "<!channel> " + "x" * 100_000
    live_bot.command(f"freeze {reason}")
    message = live_bot.fake.wait_for(lambda f: f.channel_messages())[0]
    assert len(message.text) < 4_000 and "…" in message.text
    for block in message.blocks:
        for text in strings(block):
            assert len(text) <= 3_000
    assert live_bot.services.rollout.status().freeze.reason == reason
    assert_inert(live_bot)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_reject_form_reaches_slack_inert(live_bot: LiveBot, hostile: str) -> None:
    live_bot.command("checkout errors", user=SRE, command="/rollback")
    message = request_message(live_bot)
    click(live_bot, SUPPORT, RollbackAction.REJECT, "1", message)
    modal = live_bot.fake.wait_for(lambda f: f.views)[0]
    body = payloads.view_submission(
        SUPPORT,
        modal,
        {RollbackBlock.REJECT_REASON: {RollbackBlock.REJECT_REASON_INPUT: hostile}},
    )
    assert live_bot.post(body).status_code == 200
    live_bot.fake.wait_for(lambda f: "rejected" in message.text)
    assert_inert(live_bot)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_feedback_form_reaches_slack_inert(live_bot: LiveBot, hostile: str) -> None:
    live_bot.command("", SUPPORT, command="/feedback")
    form = live_bot.fake.wait_for(lambda f: f.views and f.views[-1])
    answers = {
        FeedbackBlock.RATING: "1",
        FeedbackBlock.CATEGORY: "bug",
        FeedbackBlock.FLAG: None,
        FeedbackBlock.TEXT: f"Charged twice {hostile}",
    }
    body = payloads.view_submission(
        SUPPORT, form, {block: {FeedbackBlock.INPUT: value} for block, value in answers.items()}
    )
    assert live_bot.post(body).status_code == 200
    live_bot.fake.wait_for(lambda f: f.channel_messages(), timeout=10)
    assert_inert(live_bot)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_shortcut_on_a_hostile_message_reaches_slack_inert(
    live_bot: LiveBot, hostile: str
) -> None:
    message = {"type": "message", "user": "U0CUSTOMER", "ts": "1700000001.000200", "text": hostile}
    url = live_bot.fake.response_url("C0BETA0001", PRODUCT)
    body = payloads.message_shortcut(SHORTCUT, PRODUCT, "C0BETA0001", message, url)
    assert live_bot.post(body).status_code == 200
    live_bot.ephemeral_after(0, PRODUCT)
    live_bot.fake.wait_for(lambda f: f.channel_messages(), timeout=10)
    assert_inert(live_bot)
