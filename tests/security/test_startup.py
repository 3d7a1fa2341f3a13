"""A database the bot cannot use is named in one line by `warroom check` and by start-up
(never a traceback), and no URL is printed with its password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def warroom(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WARROOM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


BAD_DATABASES = {
    "missing dir": ("sqlite:///{tmp}/no/such/dir/warroom.db", "does not exist"),
    "unreachable PostgreSQL": ("postgresql://bot:s3cr3t-pw@127.0.0.1:1/warroom", "cannot connect"),
}


@pytest.mark.parametrize("case", BAD_DATABASES)
def test_check_and_start_name_the_database_problem(tmp_path: Path, case: str) -> None:
    url, says = BAD_DATABASES[case]
    env = {"DATABASE_URL": url.format(tmp=tmp_path)}
    check = warroom("check", **env)
    assert says in check.stderr and "ready for: local\n" in check.stdout
    serve = warroom("serve", SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", **env)
    assert serve.returncode == 2
    assert "Traceback" not in serve.stderr
    lines = [line for line in serve.stderr.splitlines() if line.startswith("warroom:")]
    assert len(lines) == 1 and says in lines[0]
    assert "s3cr3t-pw" not in check.stdout + check.stderr + serve.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_database_file_is_named(tmp_path: Path) -> None:
    db = tmp_path / "warroom.db"
    db.write_bytes(b"")
    db.chmod(0o444)
    check = warroom("check", DATABASE_URL=f"sqlite:///{db}")
    assert "read-only" in check.stderr


def test_check_masks_credentials_in_every_url(tmp_path: Path) -> None:
    check = warroom(
        "check",
        DATABASE_URL=f"sqlite:///{tmp_path}/w.db",
        SLACK_API_URL="https://bot:hunter2-pw@slack.example/api/",
        PROMETHEUS_URL="http://prom:prom-pw@127.0.0.1:1",
    )
    out = check.stdout + check.stderr
    assert "slack.example" in out and "127.0.0.1:1" in out
    assert "hunter2-pw" not in out and "prom-pw" not in out
