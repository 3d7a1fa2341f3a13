"""The runbook, `/rollout set` and the council's advance through the HTTP provider, against
the loopback in-house flag service: 25 % external → 10 % internal only, the service failing
during the revert (the step stops with the exact state to set by hand), then back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import decision_log
from bot.clock import FakeClock
from bot.errors import DependencyError
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook, load_playbook
from bot.services import Services
from bot.settings import Settings
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT
from tests.flag_service import (
    Flag,
    FlagService,
    flag_service,  # noqa: F401 - the fixture
    http_services,
)
from tests.rollback_support import rollback_playbook

EXTERNAL = ["internal_beta", "external_beta"]


def build(settings: Settings, book: Playbook, clock: FakeClock, service: FlagService) -> Services:
    return http_services(settings, book, clock, service)


def at_launch_state(service: FlagService) -> None:
    for flag in service.flags:
        service.change_behind(flag, 25, list(EXTERNAL))
        service.add_user_rule(flag, "external_beta", "customer-42")
        service.add_user_rule(flag, "internal_beta", "staff-7")


def sign(services: Services) -> None:
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()


def test_revert_fails_with_the_exact_state_by_hand_then_retry_finishes(
    settings: Settings,
    clock: FakeClock,
    flag_service: FlagService,  # noqa: F811
    fake_slack: FakeSlack,
) -> None:
    at_launch_state(flag_service)
    services = build(settings, rollback_playbook(), clock, flag_service)
    flag_service.broken.add("SMART_PRICING")  # the service fails for this flag
    services.rollback.open(SRE, ["ADVANCED_CHECKOUT", "SMART_PRICING", "checkout", "errors"])
    sign(services)

    view = services.rollback.view(1)
    revert = next(s for s in view.steps if s.name == "revert")
    assert view.request.status == RollbackStatus.FAILED and revert.status == "failed"
    assert "503" in revert.error and "(tried 3×)" in revert.error
    assert (
        "By hand: In the flag provider (http), set exactly: `ADVANCED_CHECKOUT` → 10 % for "
        "`internal_beta` only (already there); `SMART_PRICING` → 10 % for `internal_beta` only."
    ) in revert.error
    assert revert.output["flags"]["ADVANCED_CHECKOUT"]["percent"] == 10
    assert flag_service.flags["ADVANCED_CHECKOUT"].percent == 10
    assert flag_service.flags["SMART_PRICING"].percent == 25  # untouched, as reported
    said = [m.text for m in fake_slack.channel_messages() if "failed after 3 tries" in m.text]
    assert len(said) == 1 and "`SMART_PRICING` → 10 % for `internal_beta` only" in said[0]
    failed = [r for r in decision_log.recent(services.engine, 50) if r.outcome == "failed"]
    assert {r.subject for r in failed if r.action == "rollback.revert"} == {"SMART_PRICING"}

    flag_service.broken.clear()  # the service is back
    services.runbook.retry(1, SRE)
    services.runbook.wait_idle()
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE
    for flag in flag_service.flags.values():
        assert (flag.percent, flag.segments) == (10, ["internal_beta"])
        assert flag.rules == [{"segment": "internal_beta", "user": "staff-7"}]
    empty = next(s for s in view.steps if s.name == "empty_rules")
    assert empty.output["removed"] == {"ADVANCED_CHECKOUT": 1, "SMART_PRICING": 1}


def test_empty_rules_by_hand_names_the_segments_and_flags(
    settings: Settings,
    clock: FakeClock,
    flag_service: FlagService,  # noqa: F811
) -> None:
    at_launch_state(flag_service)
    services = build(settings, rollback_playbook(), clock, flag_service)
    original = flag_service.clear

    def down_on_clear(
        key: str, flag: Flag, rest: str, body: object
    ) -> tuple[int, dict[str, str], dict[str, str]]:
        return 503, {"error": "rules store unavailable"}, {}

    flag_service.clear = down_on_clear
    services.rollback.open(SRE, ["SMART_PRICING", "pricing", "wrong"])
    sign(services)
    step = next(s for s in services.rollback.view(1).steps if s.name == "empty_rules")
    assert step.status == "failed"
    assert (
        "By hand: In the flag provider (http), delete every per-user rule of segment "
        "`external_beta` on `SMART_PRICING`; keep the rules of other segments."
    ) in step.error
    flag_service.clear = original
    services.runbook.retry(1, SRE)
    services.runbook.wait_idle()
    assert services.rollback.view(1).request.status == RollbackStatus.DONE
    assert flag_service.flags["SMART_PRICING"].rules == [
        {"segment": "internal_beta", "user": "staff-7"}
    ]


def test_rollout_set_and_the_councils_advance_reach_the_service(
    settings: Settings,
    clock: FakeClock,
    flag_service: FlagService,  # noqa: F811
) -> None:
    services = build(settings, load_playbook(), clock, flag_service)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    assert flag_service.flags["SMART_PRICING"].percent == 25
    assert flag_service.flags["SMART_PRICING"].updated_by == SRE
    flag_service.down()
    with pytest.raises(DependencyError, match="was not changed: the flag provider \\(http\\)"):
        services.rollout.set_flag(SRE, "SMART_PRICING", "50")
    flag_service.up()
    assert flag_service.flags["SMART_PRICING"].percent == 25

    zone = services.playbook.zone
    t = clock.now().astimezone(zone).replace(hour=10, minute=0) + timedelta(days=2)
    clock.set(t - timedelta(days=1))
    services.rollout.launch(PRODUCT, t.strftime("%Y-%m-%d %H:%M"))
    council_day = t.date() + timedelta(days=services.playbook.council.day)
    clock.set(
        t.replace(year=council_day.year, month=council_day.month, day=council_day.day, hour=18)
    )
    council = next(r for r in services.schedule.tick() if r.kind == "council")
    services.council.vote(council.id or 0, SRE, "advance")
    services.council.close(council.id or 0, PRODUCT)
    services.council.advance(council.id or 0, SRE)
    assert {f.percent for f in flag_service.flags.values()} == {50}
    assert {f.percent for f in services.rollout.flags.list_flags()} == {50}
