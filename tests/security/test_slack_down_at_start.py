"""Slack's Web API down when the bot starts: requests are still handled, because nothing on
the request path waits on auth.test (the bot's identity is resolved later, in the
background)."""

from __future__ import annotations

from tests.conftest import SRE, LiveBot


def test_commands_are_answered_while_auth_test_fails(live_bot: LiveBot) -> None:
    live_bot.fake.fail_next("auth.test", 500, times=1000)
    assert live_bot.command("status").status_code == 200
    reply = live_bot.ephemeral_after(0, user=SRE, timeout=15)
    assert "no longer available" not in reply.text
    live_bot.command("freeze checkout errors climbing")
    live_bot.fake.wait_for(lambda f: f.channel_messages(), timeout=15)
    assert live_bot.services.rollout.freeze_state().frozen is True
