"""T applies the launch target (once, role-checked, one change of two simultaneous clicks);
the T+4h checkpoint warns when it continues off target and offers a freeze when it brakes;
each milestone button acts only on its own milestone's post. Through the real app."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from bot.authz import SYSTEM_ACTOR
from bot.clock import FakeClock
from bot.errors import Refusal
from bot.flags.base import FlagView
from bot.ids.schedule import ScheduleAction
from bot.local.fake_slack import Message
from bot.services import Services
from storage.models import ScheduledRun
from tests.conftest import GTM, ONCALL, PRODUCT, SRE, LiveBot
from tests.test_schedule_interactions import button, launch, post_at, send
from tests.test_schedules import local

TARGET = (25, ("internal_beta", "external_beta"))


def flags(services: Services) -> dict[str, tuple[int, tuple[str, ...]]]:
    return {f.name: (f.percent, tuple(f.segments)) for f in services.rollout.flags.list_flags()}


def actions(services: Services) -> list[str]:
    return [r.action for r in reversed(services.rollout.history("50"))]


def said_to(bot: LiveBot, user: str) -> str:
    return "\n".join(m.text for m in bot.fake.ephemerals(user))


def test_t_applies_the_launch_target_once_and_the_checkpoint_continues_quietly(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    t_post = post_at(live_bot, clock, "2026-12-01 10:00", "T+0h")
    apply = button(t_post, ScheduleAction.APPLY_TARGET)
    assert "Apply the launch target" in str(apply) and "`sre` or `product`" in str(t_post.blocks)

    send(live_bot, GTM, t_post, apply)  # gtm may not set flags
    live_bot.fake.wait_for(lambda f: "needs the `sre` or `product` role" in said_to(live_bot, GTM))
    assert flags(live_bot.services) == {
        f: (10, ("internal_beta",)) for f in flags(live_bot.services)
    }

    send(live_bot, SRE, t_post, apply)
    live_bot.fake.wait_for(lambda f: "Launch target applied" in said_to(live_bot, SRE))
    assert set(flags(live_bot.services).values()) == {TARGET}
    live_bot.fake.wait_for(lambda f: "Launch target applied" in str(t_post.blocks))
    assert ScheduleAction.APPLY_TARGET not in str(t_post.blocks)  # the button is gone
    assert "`SMART_PRICING` 10 % (internal_beta) → 25 % (internal_beta, external_beta)" in str(
        t_post.blocks
    )
    recorded = actions(live_bot.services)
    assert recorded.count("rollout.set") == 2 and recorded.count("launch.target") == 1

    send(live_bot, PRODUCT, t_post, apply)  # a stale client clicks again
    live_bot.fake.wait_for(
        lambda f: f"already applied by <@{SRE}>: nothing was changed" in said_to(live_bot, PRODUCT)
    )
    assert actions(live_bot.services) == recorded

    checkpoint = post_at(live_bot, clock, "2026-12-01 14:00", "T+4h")
    send(live_bot, PRODUCT, checkpoint, button(checkpoint, ScheduleAction.DECIDE_CONTINUE))
    live_bot.fake.wait_for(lambda f: "Recorded *continue*." in said_to(live_bot, PRODUCT))
    live_bot.fake.wait_for(lambda f: "Decision: *continue*" in str(checkpoint.blocks))
    assert "not at the launch target" not in str(checkpoint.blocks)


def test_two_clicks_at_once_make_one_change(services: Services, clock: FakeClock) -> None:
    clock.set(local("2026-11-29 10:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 10:00"))
    services.schedule.tick()
    run = t_run(services)
    provider = services.rollout.flags
    real_get, inside, release = provider.get, threading.Event(), threading.Event()

    def slow_get(flag: str) -> FlagView:
        inside.set()  # the first click is reading a flag to change it…
        assert release.wait(10)
        return real_get(flag)

    provider.get = slow_get
    first = threading.Thread(target=services.milestones.apply_launch_target, args=(run.id, SRE))
    first.start()
    assert inside.wait(10)
    with pytest.raises(Refusal, match="is applying the launch target right now"):
        services.milestones.apply_launch_target(run.id or 0, PRODUCT)  # …when the second lands
    release.set()
    first.join(10)
    provider.get = real_get
    assert set(flags(services).values()) == {TARGET}
    assert actions(services).count("rollout.set") == 2
    with pytest.raises(Refusal, match="already applied"):
        services.milestones.apply_launch_target(run.id or 0, PRODUCT)


def test_a_frozen_rollout_keeps_the_button_for_later(services: Services, clock: FakeClock) -> None:
    clock.set(local("2026-11-29 10:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    services.rollout.freeze(SYSTEM_ACTOR, "rollback #1: pricing bug")  # as a rollback does
    clock.set(local("2026-12-01 10:00"))
    services.schedule.tick()
    run = t_run(services)
    with pytest.raises(Refusal, match="frozen by the bot since .*: rollback #1"):
        services.milestones.apply_launch_target(run.id or 0, SRE)
    services.rollout.unfreeze(SRE, "fixed")
    services.milestones.apply_launch_target(run.id or 0, SRE)  # offered again, and applied
    assert set(flags(services).values()) == {TARGET}


def t_run(services: Services) -> ScheduledRun:
    with Session(services.engine) as session:
        return session.exec(
            select(ScheduledRun).where(ScheduledRun.job_key == "milestone:0h")
        ).one()


def checkpoint_post(bot: LiveBot, clock: FakeClock) -> Message:
    launch(bot, clock)
    return post_at(bot, clock, "2026-12-01 14:00", "T+4h")


def test_continue_off_target_warns_with_actual_and_target(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    checkpoint = checkpoint_post(live_bot, clock)  # nobody applied the launch target
    send(live_bot, PRODUCT, checkpoint, button(checkpoint, ScheduleAction.DECIDE_CONTINUE))
    gap = "`SMART_PRICING` is at 10 % (internal_beta), the target is 25 % (internal_beta, external_beta)"
    live_bot.fake.wait_for(lambda f: gap in said_to(live_bot, PRODUCT))
    live_bot.fake.wait_for(lambda f: gap in str(checkpoint.blocks))
    assert "Continued while not at the launch target" in str(checkpoint.blocks)
    assert "Decision: *continue*" in str(checkpoint.blocks)
    record = next(
        r for r in live_bot.services.rollout.history("5") if r.action == "checkpoint.decide"
    )
    assert record.after["not_at_target"]["SMART_PRICING"] == "10 % (internal_beta)"


def test_brake_offers_a_freeze_role_checked_once(live_bot: LiveBot, clock: FakeClock) -> None:
    checkpoint = checkpoint_post(live_bot, clock)
    send(live_bot, PRODUCT, checkpoint, button(checkpoint, ScheduleAction.DECIDE_BRAKE))
    live_bot.fake.wait_for(lambda f: ScheduleAction.FREEZE in str(checkpoint.blocks))
    assert "Decision: *brake*" in str(checkpoint.blocks)
    assert not live_bot.services.rollout.freeze_state().frozen  # offered, not done
    freeze = button(checkpoint, ScheduleAction.FREEZE)
    send(live_bot, GTM, checkpoint, freeze)
    live_bot.fake.wait_for(lambda f: "`rollout.freeze`" in said_to(live_bot, GTM))
    assert not live_bot.services.rollout.freeze_state().frozen
    send(live_bot, ONCALL, checkpoint, freeze)
    live_bot.fake.wait_for(lambda f: f"Frozen by <@{ONCALL}>" in str(checkpoint.blocks))
    state = live_bot.services.rollout.freeze_state()
    assert state.frozen and state.by == ONCALL and state.reason == "T+4h checkpoint: brake"
    assert ScheduleAction.FREEZE not in str(checkpoint.blocks)
    assert "Decision: *brake* by <@U0PROD0001> at 14:00" in str(checkpoint.blocks)
    send(live_bot, SRE, checkpoint, freeze)  # a stale client
    live_bot.fake.wait_for(lambda f: "Already frozen by" in said_to(live_bot, SRE))
    assert actions(live_bot.services).count("rollout.freeze") == 1


def test_each_milestone_button_acts_only_on_its_own_post(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    t_post = post_at(live_bot, clock, "2026-12-01 10:00", "T+0h")
    t_run = button(t_post, ScheduleAction.APPLY_TARGET)["value"]
    checkpoint = post_at(live_bot, clock, "2026-12-01 14:00", "T+4h")
    c_run = button(checkpoint, ScheduleAction.DECIDE_CONTINUE)["value"]
    forged = {**button(checkpoint, ScheduleAction.DECIDE_CONTINUE), "value": t_run}
    send(live_bot, PRODUCT, checkpoint, forged)  # the T post is a milestone, not the checkpoint
    live_bot.fake.wait_for(
        lambda f: f"There is no checkpoint #{t_run}" in said_to(live_bot, PRODUCT)
    )
    forged = {**button(t_post, ScheduleAction.APPLY_TARGET), "value": c_run}
    send(live_bot, PRODUCT, t_post, forged)
    live_bot.fake.wait_for(
        lambda f: f"There is no launch milestone #{c_run}" in said_to(live_bot, PRODUCT)
    )
    with Session(live_bot.services.engine) as session:
        for run_id in (t_run, c_run):
            run = session.get(ScheduledRun, int(run_id))
            assert run is not None and run.status == "posted" and not run.decision
    assert "checkpoint.decide" not in actions(live_bot.services)
    assert set(flags(live_bot.services).values()) == {(10, ("internal_beta",))}
