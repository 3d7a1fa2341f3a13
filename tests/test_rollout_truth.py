"""What /rollout shows is what happened: the council's advance is done once (a second click
changes and records nothing, and says so), and the status names the latest change of each
flag whoever made it, a rollback's revert included."""

from __future__ import annotations

from bot.clock import FakeClock
from bot.ids.schedule import ScheduleAction
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot
from tests.test_schedule_interactions import button, launch, post_at, send


def records(bot: LiveBot, action: str) -> int:
    return [r.action for r in bot.services.rollout.history("50")].count(action)


def test_a_second_advance_click_changes_and_records_nothing(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    council = post_at(live_bot, clock, "2026-12-03 18:00", "Control council")
    for user in (SRE, PRODUCT):
        send(live_bot, user, council, button(council, f"{ScheduleAction.VOTE}.advance"))
    live_bot.fake.wait_for(lambda f: "*Advance to 50 %*: 2" in str(council.blocks))
    send(live_bot, PRODUCT, council, button(council, ScheduleAction.COUNCIL_CLOSE))
    live_bot.fake.wait_for(lambda f: "Outcome: *Advance to 50 %*" in str(council.blocks))
    send(live_bot, SRE, council, button(council, ScheduleAction.ADVANCE))
    flags = live_bot.services.rollout.flags
    live_bot.fake.wait_for(lambda f: {x.percent for x in flags.list_flags()} == {50})
    live_bot.fake.wait_for(  # both flags' announcements are in (the second may trail)
        lambda f: sum("50 %" in m.text and " set " in m.text for m in f.channel_messages()) == 2
    )
    sets, posts = records(live_bot, "rollout.set"), len(live_bot.fake.channel_messages())

    send(live_bot, SRE, council, button(council, ScheduleAction.ADVANCE))
    live_bot.fake.wait_for(
        lambda f: any("already at 50 %" in m.text for m in f.ephemerals(SRE)), timeout=10
    )
    assert records(live_bot, "rollout.set") == sets
    assert len(live_bot.fake.channel_messages()) == posts  # nothing announced again


def test_status_shows_the_rollbacks_revert_as_the_last_change(live_bot: LiveBot) -> None:
    services = live_bot.services
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    services.rollback.open(SRE, ["SMART_PRICING", "errors"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()
    revert = next(r for r in services.rollout.history("50") if r.action == "rollback.revert")
    status = services.rollout.status()
    assert status.last_changes["SMART_PRICING"].seq == revert.seq
    live_bot.command("status", user=SRE)
    live_bot.fake.wait_for(
        lambda f: any("by the bot" in str(m.blocks) for m in f.ephemerals(SRE)), timeout=10
    )
