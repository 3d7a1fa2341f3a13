"""The HTTP flag provider against a loopback in-house flag service: every operation of the
contract, the playbook's field mapping, retries, a service that is down, conflicts."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.flags.base import FlagConflict, FlagProviderError
from bot.flags.factory import ProviderSetupError, build_provider
from bot.flags.http import HttpFlagProvider, fill, path_get
from bot.playbook import Playbook
from bot.settings import Settings
from storage.db import make_engine
from tests.flag_service import (
    NESTED,
    READ_TOKEN,
    WRITE_TOKEN,
    Flag,
    FlagService,
    ServedHttpProvider,
    fast_settings,
    flag_service,  # noqa: F401 - the fixture
)


@pytest.fixture
def provider(flag_service: FlagService) -> ServedHttpProvider:  # noqa: F811
    return ServedHttpProvider(flag_service, fast_settings())


def test_templates_and_paths() -> None:
    body = {"p": "{percent}", "s": "{segments}", "note": "by {actor} on {flag}", "n": [1]}
    values = {"percent": 25, "segments": ["a", "b"], "actor": "U1", "flag": "F"}
    assert fill(body, values) == {"p": 25, "s": ["a", "b"], "note": "by U1 on F", "n": [1]}
    assert path_get({"a": {"b": [{"c": 3}]}}, "a.b.0.c") == 3
    assert path_get({"a": 1}, "a.x") is None and path_get({"a": 1}, "") is None


def test_get_and_list_map_the_service_fields(provider: ServedHttpProvider) -> None:
    provider.add_user_rule("SMART_PRICING", "external_beta", "user-1")
    view = provider.get("SMART_PRICING")
    assert (view.name, view.percent, view.segments, view.user_rules) == (
        "SMART_PRICING",
        10,
        ["internal_beta"],
        1,
    )
    assert view.enabled and view.updated_by == "seed" and view.updated_at is not None
    assert view.version == '"v2"'  # the service's ETag
    assert [f.name for f in provider.list_flags()] == ["ADVANCED_CHECKOUT", "SMART_PRICING"]


def test_set_returns_the_new_state_as_the_service_holds_it(provider: ServedHttpProvider) -> None:
    after = provider.set("SMART_PRICING", 25, ["internal_beta", "external_beta"], "U0SRE00001")
    assert (after.percent, after.segments, after.updated_by) == (
        25,
        ["internal_beta", "external_beta"],
        "U0SRE00001",
    )
    stored = provider.service.flags["SMART_PRICING"]
    assert (stored.percent, stored.segments) == (25, ["internal_beta", "external_beta"])
    put = provider.service.seen[-1]
    assert (put.method, put.path) == ("PUT", "/flags/SMART_PRICING")
    assert put.body == {
        "percentage": 25,
        "segments": ["internal_beta", "external_beta"],
        "updated_by": "U0SRE00001",
    }
    assert put.headers["Authorization"] == f"Bearer {WRITE_TOKEN}"
    assert provider.get("SMART_PRICING") == after


def test_expected_version_goes_as_if_match_and_a_stale_one_is_refused(
    provider: ServedHttpProvider,
) -> None:
    seen = provider.get("SMART_PRICING")
    provider.set("SMART_PRICING", 25, ["external_beta"], "U1", expected_version=seen.version)
    assert provider.service.seen[-1].headers["If-Match"] == seen.version
    provider.service.change_behind("SMART_PRICING", 40, ["external_beta"])
    now = provider.get("SMART_PRICING")
    with pytest.raises(FlagConflict, match="changed since it was read"):
        provider.set("SMART_PRICING", 10, ["internal_beta"], "U1", expected_version=seen.version)
    assert provider.get("SMART_PRICING") == now  # nothing changed


def test_without_etags_the_version_is_reread_and_compared() -> None:
    service = FlagService(etags=False).start()
    service.reset()
    try:
        provider = ServedHttpProvider(service, fast_settings())
        seen = provider.get("ADVANCED_CHECKOUT")
        assert seen.version == "1"  # the JSON's version field
        service.change_behind("ADVANCED_CHECKOUT", 50, ["external_beta"])
        with pytest.raises(FlagConflict):
            provider.set("ADVANCED_CHECKOUT", 25, ["external_beta"], "U1", seen.version)
        assert service.flags["ADVANCED_CHECKOUT"].percent == 50
        assert not any(s.method == "PUT" for s in service.seen)
        fresh = provider.get("ADVANCED_CHECKOUT").version
        assert provider.set("ADVANCED_CHECKOUT", 25, ["external_beta"], "U1", fresh).percent == 25
    finally:
        service.down()


def test_clear_user_rules_removes_only_those_segments(provider: ServedHttpProvider) -> None:
    for user in ("u1", "u2"):
        provider.add_user_rule("SMART_PRICING", "external_beta", user)
    provider.add_user_rule("SMART_PRICING", "internal_beta", "staff-1")
    assert provider.clear_user_rules("SMART_PRICING", ["external_beta"], "U1") == 2
    assert provider.service.seen[-1].path == "/flags/SMART_PRICING/user-rules/external_beta"
    assert provider.get("SMART_PRICING").user_rules == 1
    assert provider.clear_user_rules("SMART_PRICING", ["external_beta"], "U1") == 0


def test_the_playbook_maps_another_service_shape() -> None:
    service = FlagService(shape="nested").start()
    service.reset()
    try:
        provider = ServedHttpProvider(service, fast_settings(NESTED))
        service.add_user_rule("ADVANCED_CHECKOUT", "external_beta", "u1")
        view = provider.get("ADVANCED_CHECKOUT")
        assert (view.percent, view.segments, view.user_rules, view.version) == (
            10,
            ["internal_beta"],
            1,
            '"v2"',
        )
        after = provider.set("ADVANCED_CHECKOUT", 25, ["external_beta"], "U1", view.version)
        assert service.seen[-1].method == "PATCH"
        assert service.seen[-1].body == {
            "rollout": {"pct": 25, "audiences": ["external_beta"]},
            "by": "U1",
        }
        assert (after.percent, after.updated_by) == (25, "U1")
        assert provider.clear_user_rules("ADVANCED_CHECKOUT", ["external_beta"], "U1") == 1
        assert [f.name for f in provider.list_flags()] == ["ADVANCED_CHECKOUT", "SMART_PRICING"]
        assert provider.health(["ADVANCED_CHECKOUT"]).ok
    finally:
        service.down()


def test_5xx_and_a_hang_are_retried_then_it_works(provider: ServedHttpProvider) -> None:
    provider.service.fail_next(2, 503)
    assert provider.set("SMART_PRICING", 25, ["external_beta"], "U1").percent == 25
    assert [s.method for s in provider.service.seen] == ["PUT", "PUT", "PUT"]
    provider.service.fail_next(1, "hang")
    assert provider.get("SMART_PRICING").percent == 25


def test_a_4xx_is_not_retried_and_says_what_the_service_said(provider: ServedHttpProvider) -> None:
    with pytest.raises(FlagProviderError, match="400 from PUT .*percentage 0-100"):
        provider.set("SMART_PRICING", 150, ["external_beta"], "U1")
    assert len(provider.service.seen) == 1
    with pytest.raises(FlagProviderError, match="NOPE is not in the flag service"):
        provider.get("NOPE")


def test_service_down_raises_and_nothing_changed(provider: ServedHttpProvider) -> None:
    service = provider.service
    service.down()
    with pytest.raises(FlagProviderError) as raised:
        provider.set("SMART_PRICING", 25, ["external_beta"], "U1")
    assert "ConnectError" in raised.value.message and "(3×)" in raised.value.message
    assert WRITE_TOKEN not in raised.value.message
    service.up()
    assert service.flags["SMART_PRICING"].percent == 10
    assert provider.get("SMART_PRICING").percent == 10


def test_a_write_that_landed_before_its_answer_was_lost_is_done(
    provider: ServedHttpProvider,
) -> None:
    """The first PUT lands but its answer is a 500; the retry's If-Match then fails (412):
    the flag is at the state asked for, so the write is done."""
    seen = provider.get("SMART_PRICING")
    original = provider.service.write

    def lands_then_500(
        h: BaseHTTPRequestHandler, key: str, flag: Flag, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        original(h, key, flag, body)
        provider.service.write = original
        return 500, {"error": "lost answer"}, {}

    provider.service.write = lands_then_500
    after = provider.set("SMART_PRICING", 25, ["external_beta"], "U1", seen.version)
    assert after.percent == 25 and provider.service.flags["SMART_PRICING"].rev == 2


def test_health(provider: ServedHttpProvider, flag_service: FlagService) -> None:  # noqa: F811
    ok = provider.health(["ADVANCED_CHECKOUT", "SMART_PRICING"])
    assert ok.ok and ok.detail == "2 of 2 launch flags"
    missing = provider.health(["ADVANCED_CHECKOUT", "LOYALTY"])
    assert not missing.ok and missing.missing_flags == ["LOYALTY"]
    assert "LOYALTY not in the flag service (1 of 2 launch flags)" in missing.detail
    reader = ServedHttpProvider(flag_service, fast_settings(), token=READ_TOKEN)
    assert "not change them" in reader.health(["SMART_PRICING"]).detail
    stranger = ServedHttpProvider(flag_service, fast_settings(), token="nobody")
    assert "refused the token (401" in stranger.health(["SMART_PRICING"]).detail
    flag_service.down()
    down = provider.health(["SMART_PRICING"])
    assert not down.ok and "ConnectError" in down.detail and "FLAGS_HTTP_URL" in down.detail


def test_the_factory_builds_it_from_the_playbook_and_the_environment(
    playbook: Playbook,
    tmp_path: Path,
    clock: FakeClock,
    flag_service: FlagService,  # noqa: F811
) -> None:
    book = playbook.model_copy(
        update={"flag_provider": playbook.flag_provider.model_copy(update={"kind": "http"})}
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(ProviderSetupError) as raised:
        build_provider(book, Settings(), engine, clock)
    assert raised.value.problems[0].startswith("FLAGS_HTTP_URL is not set")
    settings = Settings(flags_http_url=flag_service.url, flags_http_token=SecretStr(WRITE_TOKEN))
    provider = build_provider(book, settings, engine, clock)
    assert isinstance(provider, HttpFlagProvider)
    assert provider.get("SMART_PRICING").percent == 10
    provider.close()
    engine.dispose()
