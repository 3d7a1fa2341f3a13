"""The rollout service with a fake clock and a real SQLite file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot import decision_log
from bot.clock import FakeClock
from bot.errors import DependencyError, NotAuthorized, Refusal
from bot.flags.base import FlagProvider, FlagProviderError, FlagView, ProviderHealth
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook
from bot.rollout import RolloutService
from bot.services import Services
from tests.conftest import GTM, ONCALL, OUTSIDER, PRODUCT, SRE, SUPPORT


def test_set_records_before_after_reason_and_announces(
    services: Services, fake_slack: FakeSlack
) -> None:
    change = services.rollout.set_flag(SRE, "smart_pricing", "25%", "external_beta", "green")
    record = change.record
    assert (record.action, record.subject, record.actor) == ("rollout.set", "SMART_PRICING", SRE)
    assert record.before == {"percent": 10, "segments": ["internal_beta"], "enabled": True}
    assert record.after == {"percent": 25, "segments": ["external_beta"], "enabled": True}
    assert record.reason == "green" and change.announced
    assert "SMART_PRICING" in fake_slack.channel_messages("#phase1-war-room")[0].text
    assert decision_log.verify(services.engine).ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("CHECKOUT", "25"), "Unknown flag `CHECKOUT`"),
        (("SMART_PRICING", "101"), "not a percentage"),
        (("SMART_PRICING", "-5"), "not a percentage"),
        (("SMART_PRICING", "twenty"), "not a percentage"),
        (("SMART_PRICING", "25", "externl_beta"), "Did you mean `external_beta`"),
        (("SMART_PRICING", "25", ","), "No segment given"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    services: Services, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(Refusal, match=message):
        services.rollout.set_flag(SRE, *args)
    assert services.rollout.flags.get("SMART_PRICING").percent == 10
    assert decision_log.recent(services.engine, 1)[0].action == "flags.seed"


@pytest.mark.parametrize("user", [SUPPORT, GTM, ONCALL, OUTSIDER])
def test_set_needs_sre_or_product(services: Services, user: str) -> None:
    with pytest.raises(NotAuthorized, match="needs the `sre` or `product` role"):
        services.rollout.set_flag(user, "SMART_PRICING", "25")
    assert services.rollout.flags.get("SMART_PRICING").percent == 10


def test_user_group_membership_grants_its_role(
    services: Services, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    services.playbook.roles["product"].append("S0PRODLEAD")  # a user group
    fake_slack.usergroups["S0PRODLEAD"] = ["U0GROUPIE1"]
    services.rollout.set_flag("U0GROUPIE1", "SMART_PRICING", "20")
    services.rollout.set_flag("U0GROUPIE1", "SMART_PRICING", "21")
    assert len(fake_slack.calls_to("usergroups.users.list")) == 1  # cached
    clock.advance(timedelta(minutes=6))
    fake_slack.usergroups["S0PRODLEAD"] = []  # left the group
    with pytest.raises(NotAuthorized):
        services.rollout.set_flag("U0GROUPIE1", "SMART_PRICING", "22")


def test_frozen_rollout_refuses_set_with_reason_and_who(services: Services) -> None:
    services.rollout.freeze(ONCALL, "p95 at 2.1 s")
    with pytest.raises(Refusal, match=r"frozen by <@U0ONCL0001> since .*: p95 at 2.1 s"):
        services.rollout.set_flag(SRE, "SMART_PRICING", "25")
    with pytest.raises(Refusal, match="Already frozen"):
        services.rollout.freeze(SRE, "again")
    with pytest.raises(Refusal, match="Say why"):
        services.rollout.freeze(SRE, "  ")
    services.rollout.unfreeze(SRE)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25")
    with pytest.raises(Refusal, match="not frozen"):
        services.rollout.unfreeze(SRE)


def test_a_stale_unfreeze_button_does_not_lift_a_newer_freeze(services: Services) -> None:
    first = services.rollout.freeze(SRE, "first").record
    services.rollout.unfreeze(SRE)
    services.rollout.freeze(SRE, "second")
    with pytest.raises(Refusal, match="already lifted"):
        services.rollout.unfreeze(SRE, freeze_seq=first.seq)
    assert services.rollout.freeze_state().reason == "second"


def test_launch_accepts_local_and_iso_times(services: Services, clock: FakeClock) -> None:
    change = services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    assert services.rollout.launch_at() == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # CET = +1
    assert change.record.after == {"launch_at": "2026-12-01T09:00:00+00:00"}
    services.rollout.launch(PRODUCT, "2026-12-02T08:30:00Z")
    second = decision_log.recent(services.engine, 1)[0]
    assert second.before == {"launch_at": "2026-12-01T09:00:00+00:00"}
    assert services.rollout.launch_at() == datetime(2026, 12, 2, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-30 09:59", "is in the past"),  # clock: 09:00 UTC = 10:00 CET
        ("tomorrow at ten", "not a time I can read"),
        ("2027-03-28 02:30", "does not exist in Europe/Madrid"),  # spring-forward gap
        ("", "Give the launch time"),
    ],
)
def test_launch_refusals(services: Services, text: str, message: str) -> None:
    with pytest.raises(Refusal, match=message):
        services.rollout.launch(PRODUCT, text)
    assert services.rollout.launch_at() is None


def test_a_new_launch_time_runs_the_on_launch_callback_once(
    services: Services, clock: FakeClock
) -> None:
    launches: list[datetime | None] = []
    current = services.rollout
    rollout = RolloutService(
        services.engine,
        services.playbook,
        current.flags,
        services.authz,
        clock,
        current.announcer,
        on_launch=lambda: launches.append(rollout.launch_at()),
    )
    with pytest.raises(Refusal):
        rollout.launch(PRODUCT, "2026-11-30 09:59")
    assert launches == []  # a refused T moves nothing
    rollout.launch(PRODUCT, "2026-12-01 10:00")
    assert launches == [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]  # called after T is stored


def test_history_bounds(services: Services) -> None:
    assert len(services.rollout.history()) == 2  # the two seeded flags
    with pytest.raises(Refusal, match="between 1 and 50"):
        services.rollout.history("500")


class BrokenProvider:
    name = "broken"
    recorded_changes_only = False

    def __init__(self, inner: FlagProvider) -> None:
        self.inner = inner

    def list_flags(self) -> list[FlagView]:
        return self.inner.list_flags()

    def get(self, flag: str) -> FlagView:
        return self.inner.get(flag)

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        raise FlagProviderError("connection refused", flag)

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        raise FlagProviderError("connection refused", flag)

    def health(self, flags: Sequence[str]) -> ProviderHealth:  # for the FlagProvider protocol
        return self.inner.health(flags)


def test_provider_failure_is_reported_recorded_and_changes_nothing(services: Services) -> None:
    services.rollout.flags = BrokenProvider(services.rollout.flags)
    with pytest.raises(DependencyError, match="was not changed.*connection refused"):
        services.rollout.set_flag(SRE, "SMART_PRICING", "25")
    failed = decision_log.recent(services.engine, 1)[0]
    assert (failed.action, failed.outcome) == ("rollout.set", "failed")
    assert failed.evidence == {"error": "connection refused"}
    assert services.rollout.flags.get("SMART_PRICING").percent == 10
    assert decision_log.verify(services.engine).ok


def test_seeding_happens_once(services: Services) -> None:
    services.rollout.seed_flags()
    seeds = [r for r in decision_log.recent(services.engine, 50) if r.action == "flags.seed"]
    assert len(seeds) == 2


def test_status_snapshot_follows_every_recorded_change(services: Services) -> None:
    first = services.rollout.status()
    assert services.rollout.status() is first  # nothing recorded since: same snapshot
    services.rollout.set_flag(SRE, "SMART_PRICING", "30")
    second = services.rollout.status()
    assert second is not first
    assert {f.name: f.percent for f in second.flags}["SMART_PRICING"] == 30
    assert second.last_changes["SMART_PRICING"].actor == SRE
    services.rollout.freeze(SRE, "hold")
    assert services.rollout.status().freeze.reason == "hold"
    services.rollout.launch(PRODUCT, "2026-12-03 10:00")
    assert services.rollout.status().launch_at == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_whole_service_runs_on_postgresql_by_url_alone(
    pg_url: str, fake_slack: FakeSlack, playbook: Playbook, clock: FakeClock
) -> None:
    from bot.services import build_services
    from bot.settings import Settings

    on_pg = build_services(
        Settings(slack_bot_token="xoxb-pg", slack_api_url=fake_slack.api_url, database_url=pg_url),
        playbook,
        clock,
    )
    on_pg.rollout.set_flag(SRE, "ADVANCED_CHECKOUT", "25", "internal_beta,external_beta")
    on_pg.rollout.freeze(SRE, "checking")
    with pytest.raises(Refusal, match="frozen"):
        on_pg.rollout.set_flag(SRE, "ADVANCED_CHECKOUT", "50")
    assert on_pg.rollout.status().freeze.frozen
    assert decision_log.verify(on_pg.engine).ok
    assert on_pg.engine.dialect.name == "postgresql"
    on_pg.engine.dispose()
