"""`/rollback` names its flags or says `all`: a mistyped flag is refused with the closest
name (as /rollout does) and nothing opens; the request says what it rolls back; a named
flag is the only one reverted."""

from __future__ import annotations

import pytest

from bot.errors import Refusal
from bot.ids.rollback import RollbackAction
from bot.playbook import Playbook
from bot.rollback.requests import parse_request
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot
from tests.rollback_support import click, request_message, rollback_playbook

FLAGS = ["ADVANCED_CHECKOUT", "SMART_PRICING"]


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


@pytest.mark.parametrize(
    ("typed", "flags", "reason"),
    [
        ("checkout errors at 5 %", FLAGS, "checkout errors at 5 %"),
        ("all checkout errors", FLAGS, "checkout errors"),
        ("ALL checkout errors", FLAGS, "checkout errors"),
        ("SMART_PRICING checkout errors", ["SMART_PRICING"], "checkout errors"),
        ("smart_pricing advanced_checkout smart_pricing down", FLAGS[::-1], "down"),
        ("pricing is wrong for everyone", FLAGS, "pricing is wrong for everyone"),
        ("all HTTP_5XX above 2 %", FLAGS, "HTTP_5XX above 2 %"),
    ],
)
def test_the_flags_then_the_reason(typed: str, flags: list[str], reason: str) -> None:
    assert parse_request(typed.split(), FLAGS) == (flags, reason)


@pytest.mark.parametrize(
    ("typed", "refused", "guess"),
    [
        ("SMART_PRICNG errors", "SMART_PRICNG", "SMART_PRICING"),
        ("smart_pricng errors", "smart_pricng", "SMART_PRICING"),
        ("SMARTPRICING errors", "SMARTPRICING", "SMART_PRICING"),
        ("SMART_PRICING ADVANCED_CHEKOUT errors", "ADVANCED_CHEKOUT", "ADVANCED_CHECKOUT"),
        ("HTTP_5XX above 2 %", "HTTP_5XX", None),
    ],
)
def test_a_word_like_a_flag_that_is_none_is_refused(
    typed: str, refused: str, guess: str | None
) -> None:
    with pytest.raises(Refusal) as caught:
        parse_request(typed.split(), FLAGS)
    assert f"Unknown flag `{refused}`" in caught.value.message
    if guess:
        assert f"Did you mean `{guess}`?" in caught.value.hint
        assert f"Try `/rollback {typed.replace(refused, guess)}`" in caught.value.hint
    else:
        assert "Did you mean" not in caught.value.hint


def test_markup_is_never_echoed_in_the_refusal() -> None:
    with pytest.raises(Refusal) as caught:
        parse_request(["SMART_PRICNG", "<!channel>", "errors"], FLAGS)
    assert "<" not in str(caught.value)
    assert "Try `/rollback SMART_PRICING REASON`" in caught.value.hint
    assert parse_request(["<SMART_PRICNG>", "errors"], FLAGS) == (FLAGS, "<SMART_PRICNG> errors")


def test_a_mistyped_flag_gets_the_rollout_suggestion_and_opens_nothing(
    live_bot: LiveBot,
) -> None:
    live_bot.command("set SMART_PRICNG 25", user=SRE, command="/rollout")
    rollout_said = live_bot.ephemeral_after(0, user=SRE).text
    assert "Did you mean `SMART_PRICING`?" in rollout_said
    live_bot.command("SMART_PRICNG errors", user=SRE, command="/rollback")
    said = live_bot.ephemeral_after(1, user=SRE).text
    assert "Unknown flag `SMART_PRICNG`" in said and "Did you mean `SMART_PRICING`?" in said
    assert "/rollback SMART_PRICING errors" in said
    assert live_bot.services.rollback.recent() == []
    assert live_bot.fake.channel_messages() == []


def test_all_says_every_flag(live_bot: LiveBot) -> None:
    live_bot.command("all checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    assert "*Flags:* all flags: ADVANCED_CHECKOUT, SMART_PRICING" in str(message.blocks)
    said = live_bot.ephemeral_after(0, user=SRE).text
    assert "all flags: ADVANCED_CHECKOUT, SMART_PRICING" in said
    request = live_bot.services.rollback.view(1).request
    assert request.flags == FLAGS and request.reason == "checkout errors at 5 %"


def test_one_named_flag_is_the_only_one_rolled_back(live_bot: LiveBot) -> None:
    flags = live_bot.services.rollout.flags

    def states() -> dict[str, tuple[int, list[str]]]:
        return {f.name: (f.percent, f.segments) for f in flags.list_flags()}

    for flag in FLAGS:  # both out of the target, so a revert of either would show
        live_bot.services.rollout.set_flag(SRE, flag, "25", "internal_beta,external_beta")
    before = states()
    live_bot.command("SMART_PRICING pricing errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    assert "*Flags:* SMART_PRICING only" in str(message.blocks)
    click(live_bot, PRODUCT, RollbackAction.APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))
    click(live_bot, SUPPORT, RollbackAction.APPROVE, "1", message)
    live_bot.fake.wait_for(
        lambda f: live_bot.services.rollback.view(1).request.status == RollbackStatus.DONE,
        timeout=20,
    )
    live_bot.services.runbook.wait_idle()
    after = states()
    assert after["SMART_PRICING"] == (10, ["internal_beta"])
    assert (
        after["ADVANCED_CHECKOUT"]
        == before["ADVANCED_CHECKOUT"]
        == (
            25,
            ["internal_beta", "external_beta"],
        )
    )
    reverts = [r for r in live_bot.services.rollout.history("50") if r.action == "rollback.revert"]
    assert [r.subject for r in reverts] == ["SMART_PRICING"]
