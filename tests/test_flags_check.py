"""Choosing and checking the flag provider: `warroom check` against the loopback in-house
flag service (a process, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook
from bot.settings import Settings
from bot.slack_out.messages.home import home_view
from tests.conftest import PRODUCT, SRE
from tests.flag_service import (
    READ_TOKEN,
    WRITE_TOKEN,
    FlagService,
    flag_service,  # noqa: F401 - the fixture
    http_services,
)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the flag providers are the point")]

ROOT = Path(__file__).resolve().parents[1]


def http_playbook(tmp_path: Path) -> Path:
    text = (ROOT / "bot" / "playbook.yml").read_text()
    assert "  kind: embedded\n" in text
    path = tmp_path / "playbook.yml"
    path.write_text(
        text.replace("  kind: embedded\n", "  kind: http\n  http: {timeout_seconds: 1}\n")
    )
    return path


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT)),
        "WARROOM_PLAYBOOK": str(http_playbook(tmp_path)),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=tmp_path,
        timeout=60,
    )


def test_check_tests_the_http_provider(tmp_path: Path, flag_service: FlagService) -> None:  # noqa: F811
    ok = check(tmp_path, FLAGS_HTTP_URL=flag_service.url, FLAGS_HTTP_TOKEN=WRITE_TOKEN)
    assert ok.returncode == 0, ok.stderr
    assert "Flag provider (http): ✅ 2 of 2 launch flags" in ok.stdout
    assert WRITE_TOKEN not in ok.stdout + ok.stderr

    unset = check(tmp_path)
    assert unset.returncode == 2
    assert "Flag provider (http): ❌ not configured" in unset.stdout
    assert "  - FLAGS_HTTP_URL is not set" in unset.stderr

    reader = check(tmp_path, FLAGS_HTTP_URL=flag_service.url, FLAGS_HTTP_TOKEN=READ_TOKEN)
    assert reader.returncode == 1
    assert "❌ the token may read the flags but not change them" in reader.stdout

    del flag_service.flags["SMART_PRICING"]
    missing = check(tmp_path, FLAGS_HTTP_URL=flag_service.url, FLAGS_HTTP_TOKEN=WRITE_TOKEN)
    assert missing.returncode == 1
    assert "SMART_PRICING not in the flag service (1 of 2 launch flags)" in missing.stdout
    assert "  - SMART_PRICING: not in the http provider" in missing.stderr

    flag_service.down()
    down = check(tmp_path, FLAGS_HTTP_URL=flag_service.url, FLAGS_HTTP_TOKEN=WRITE_TOKEN)
    assert down.returncode == 1
    assert "GET http://127.0.0.1" in down.stdout and "ConnectError" in down.stdout
    assert WRITE_TOKEN not in down.stdout + down.stderr


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Madrid")).astimezone(UTC)


def test_the_shift_checklist_and_app_home_show_the_providers_health(
    settings: Settings,
    playbook: Playbook,
    clock: FakeClock,
    fake_slack: FakeSlack,
    flag_service: FlagService,  # noqa: F811
) -> None:
    services = http_services(settings, playbook, clock, flag_service)
    clock.set(local("2026-11-29 09:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 08:00")
    clock.set(local("2026-12-01 09:00"))
    services.schedule.tick()
    first = next(m for m in fake_slack.channel_messages() if "SRE shift A" in m.text)
    assert "Flag provider (http): ✅ 2 of 2 launch flags" in str(first.blocks)
    dashboard = services.home.dashboard(SRE)
    assert dashboard.provider_health == "Flag provider (http): ✅ 2 of 2 launch flags"
    view = home_view(dashboard, playbook.zone, playbook.name, clock.now()).to_dict()
    assert "Flag provider (http): ✅ 2 of 2 launch flags" in str(view["blocks"])

    flag_service.down()
    clock.set(local("2026-12-01 13:00"))
    services.schedule.tick()
    second = next(m for m in fake_slack.channel_messages() if "SRE shift B" in m.text)
    health = next(b["elements"][0]["text"] for b in second.blocks if "Flag provider" in str(b))
    assert health.startswith("Flag provider (http): ❌ the flag service did not answer: GET ")
    assert "check the service, FLAGS_HTTP_URL and FLAGS_HTTP_TOKEN" in health
    assert "Live:" in str(second.blocks)  # the metrics line is still its own
    assert services.home.provider_health().startswith("Flag provider (http): ❌")
