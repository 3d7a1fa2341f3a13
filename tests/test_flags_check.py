"""Choosing and checking the flag provider: `warroom check` against the loopback in-house
flag service (a process, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.flag_service import (
    READ_TOKEN,
    WRITE_TOKEN,
    FlagService,
    flag_service,  # noqa: F401 - the fixture
)

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
