"""No token or signing secret ever reaches a log line."""

from __future__ import annotations

import logging

import pytest

from bot.observability import JsonLineFormatter, log_event, redact
from tests.conftest import SECRET, TOKEN, LiveBot


def test_redact_masks_slack_tokens() -> None:
    line = redact("token xoxb-123-456-abc and xapp-1-A0-99 and v0=" + "a" * 64)
    assert "xoxb-" not in line and "xapp-" not in line and "v0=aaaa" not in line


def test_a_full_flow_logs_no_secret(live_bot: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    live_bot.command("set SMART_PRICING 30")
    live_bot.ephemeral_after(0)
    live_bot.fake.fail_next("chat.postMessage", 500, times=10)
    live_bot.command("freeze noisy")
    live_bot.ephemeral_after(1, timeout=15)
    formatter = JsonLineFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    text = "\n".join(lines) + "\n".join(r.getMessage() for r in caplog.records)
    assert any('"event": "rollout.set"' in line and '"who": "U0SRE00001"' in line for line in lines)
    assert any('"outcome": "failed"' in line for line in lines)
    assert TOKEN not in text and SECRET not in text


def test_structured_line_has_who_what_outcome() -> None:
    logger = logging.getLogger("t")
    record = logger.makeRecord("t", logging.INFO, __file__, 1, "rollout.freeze", (), None)
    record.fields = {"who": "U1", "outcome": "applied"}
    line = JsonLineFormatter().format(record)
    assert '"event": "rollout.freeze"' in line and '"who": "U1"' in line
    log_event(logger, "x")  # does not raise without handlers
