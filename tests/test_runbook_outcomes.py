"""Each runbook step shows each of its actions with the outcome its record holds: nothing is
✅ unless it was done, and the "executed" post says what the bot did not do."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack
from bot.playbook import Integrations, Playbook
from bot.services import Services, build_services
from bot.settings import Settings
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT
from tests.rollback_support import rollback_playbook
from tests.sinks import HttpSink


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    s = HttpSink().start()
    yield s
    s.stop()


def request_blocks(fake_slack: FakeSlack) -> str:
    message = next(m for m in fake_slack.channel_messages() if m.text.startswith("Rollback #1 "))
    return json.dumps(message.blocks)


def run_rollback(settings: Settings, clock: FakeClock, book: Playbook) -> Services:
    services = build_services(settings, book, clock, sleep=lambda seconds: None)
    services.rollback.open(SRE, ["checkout", "broken"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()
    return services


def test_unconfigured_actions_are_shown_skipped_and_the_steps_are_not_ticked(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    services = run_rollback(settings, clock, rollback_playbook())  # no integration configured
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE
    blocks = request_blocks(fake_slack)
    for title in ("6. Communicate", "7. Post-actions"):
        assert f":white_check_mark: {title}" not in blocks
        assert f":warning: {title}" in blocks
    assert "support email: skipped: not configured (integrations.email)" in blocks
    assert "maintenance banner: skipped: not configured (integrations.banner_url)" in blocks
    assert "incident in the tracker: skipped: not configured (integrations.jira)" in blocks
    assert "war-room post: done (posted)" in blocks
    executed = next(m.text for m in fake_slack.channel_messages() if "executed:" in m.text)
    assert "Not done by the bot" in executed
    for what in ("support email", "maintenance banner", "incident in the tracker", "cache of"):
        assert what in executed
    assert "by hand: Open the Sev2 incident" in executed


def test_a_failed_action_says_why_and_the_others_keep_their_outcome(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack, sink: HttpSink
) -> None:
    sink.fail["/banner"] = [500, 500, 500]
    book = rollback_playbook()
    book = book.model_copy(update={"integrations": Integrations(banner_url=sink.url + "/banner")})
    services = run_rollback(settings, clock, book)
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.FAILED
    blocks = request_blocks(fake_slack)
    assert ":x: 6. Communicate" in blocks
    assert "maintenance banner: failed: POST" in blocks and "answered 500" in blocks
    assert "support email: skipped: not configured" in blocks
