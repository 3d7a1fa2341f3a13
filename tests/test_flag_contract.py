"""One contract, every provider: the embedded store, the in-house HTTP service (loopback) and
a real Unleash. Each starts with the launch flags at 10 % internal_beta."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.flags.base import FlagConflict, FlagProviderError
from bot.flags.embedded import EmbeddedFlagProvider
from storage import migrate
from storage.db import make_engine
from tests.flag_service import http_provider
from tests.unleash_server import Unleash
from tests.unleash_support import LAUNCH_FLAGS, unleash_provider, unleash_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the flag providers are the point")]

FLAG = "SMART_PRICING"


def embedded_provider(tmp_path: Path) -> EmbeddedFlagProvider:
    engine = make_engine(f"sqlite:///{tmp_path / 'flags.db'}")
    migrate.upgrade(engine)
    provider = EmbeddedFlagProvider(engine, FakeClock(datetime(2026, 11, 30, 9, tzinfo=UTC)))
    provider.ensure(LAUNCH_FLAGS, 10, ["internal_beta"], "seed")
    return provider


BUILDERS: dict[str, Callable[[pytest.FixtureRequest, Path], Any]] = {
    "embedded": lambda request, tmp_path: embedded_provider(tmp_path),
    "http": lambda request, tmp_path: http_provider(tmp_path),
    "unleash": lambda request, tmp_path: unleash_provider(
        request.getfixturevalue("unleash_server")
    ),
}


@pytest.fixture(params=sorted(BUILDERS))
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield BUILDERS[request.param](request, tmp_path)


def test_reads_the_launch_flags(provider: Any) -> None:
    flags = {f.name: f for f in provider.list_flags()}
    assert set(LAUNCH_FLAGS) <= set(flags)
    view = provider.get(FLAG)
    assert (view.percent, view.segments, view.name) == (10, ["internal_beta"], FLAG)
    assert view.version and flags[FLAG].percent == 10


def test_set_returns_the_new_state_and_reads_back(provider: Any) -> None:
    before = provider.get(FLAG)
    after = provider.set(FLAG, 25, ["internal_beta", "external_beta"], "U0SRE00001")
    assert (after.percent, sorted(after.segments)) == (25, ["external_beta", "internal_beta"])
    assert after.version != before.version
    again = provider.get(FLAG)
    assert (again.percent, again.version) == (25, after.version)
    other = provider.get("ADVANCED_CHECKOUT")
    assert other.percent == 10  # one flag at a time


def test_a_write_on_a_stale_version_is_refused_and_changes_nothing(provider: Any) -> None:
    stale = provider.get(FLAG).version
    provider.set(FLAG, 25, ["internal_beta", "external_beta"], "someone else")
    with pytest.raises(FlagConflict):
        provider.set(FLAG, 50, ["internal_beta"], "U0SRE00001", expected_version=stale)
    assert provider.get(FLAG).percent == 25
    fresh = provider.get(FLAG).version
    assert (
        provider.set(FLAG, 10, ["internal_beta"], "U0SRE00001", expected_version=fresh).percent
        == 10
    )


def test_clearing_the_external_user_rules_keeps_the_others(provider: Any) -> None:
    provider.add_user_rule(FLAG, "external_beta", "customer-42")
    provider.add_user_rule(FLAG, "internal_beta", "employee-7")
    assert provider.get(FLAG).user_rules == 2
    assert provider.clear_user_rules(FLAG, ["external_beta"], "warroom") == 1
    assert provider.get(FLAG).user_rules == 1
    assert provider.clear_user_rules(FLAG, ["external_beta"], "warroom") == 0  # again: nothing


def test_health_names_a_missing_flag(provider: Any) -> None:
    assert provider.health(LAUNCH_FLAGS).ok
    health = provider.health([*LAUNCH_FLAGS, "NOT_A_FLAG"])
    assert not health.ok and "NOT_A_FLAG" in health.detail


def test_an_unknown_flag_is_an_error_for_people(provider: Any) -> None:
    with pytest.raises(FlagProviderError) as caught:
        provider.get("NOT_A_FLAG")
    assert caught.value.message


def test_the_unleash_fixture_is_a_real_server(unleash_server: Unleash) -> None:  # noqa: F811
    """What a service's SDK sees comes from the same server the provider drives."""
    provider = unleash_provider(unleash_server)
    provider.set(FLAG, 25, ["internal_beta", "external_beta"], "U0SRE00001")
    seen = unleash_server.client_features()[FLAG]
    ours = next(s for s in seen["strategies"] if s["parameters"].get("groupId") == FLAG)
    assert ours["parameters"]["rollout"] == "25" and seen["enabled"] is True
