"""`warroom serve`, `warroom run` and `warroom db` as a person starts them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from storage import migrate
from storage.db import make_engine
from storage.models import FlagState
from tests.conftest import SECRET, SRE, TOKEN

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack, db_url: str) -> Iterator[str]:
    """`warroom serve` as a process, on SQLite or PostgreSQL (db_url's parameter)."""
    port = _port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": db_url,
    }
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()
    assert TOKEN not in (tmp_path / "serve.log").read_text()
    assert SECRET not in (tmp_path / "serve.log").read_text()


def test_serve_answers_signed_status_within_the_deadline_and_refuses_bad_ones(
    served: str, fake_slack: FakeSlack
) -> None:
    channel = "#phase1-war-room"
    body = payloads.slash_command(
        "/rollout", "status", SRE, channel, fake_slack.response_url(channel, SRE)
    )
    started = time.perf_counter()
    ok = httpx.post(
        f"{served}/slack/events", content=body, headers=payloads.signed_headers(SECRET, body)
    )
    assert ok.status_code == 200 and time.perf_counter() - started < 3
    reply = fake_slack.wait_for(lambda f: f.ephemerals(SRE))[0]
    assert "SMART_PRICING 10 %" in reply.text
    bad = httpx.post(
        f"{served}/slack/events",
        content=body,
        headers=payloads.signed_headers("wrong-secret", body),
    )
    assert bad.status_code == 401
    assert httpx.get(f"{served}/api/freeze").json() == {"frozen": False, "deployments": "allowed"}
    assert "warroom_slack_requests_total" in httpx.get(f"{served}/metrics").text
    health = httpx.get(f"{served}/healthz").json()
    assert health["scheduler"] == {"running": True, "next_run": None, "missed_last_24h": []}


def test_serve_changes_a_flag_on_a_signed_set_and_answers(
    served: str, fake_slack: FakeSlack, db_url: str
) -> None:
    """The first thing a replica on PostgreSQL must do: a signed `/rollout set` is taken
    once (not dropped as a replay), the flag changes, the channel and the user hear it."""
    channel = "#phase1-war-room"

    def command(text: str) -> None:
        body = payloads.slash_command(
            "/rollout", text, SRE, channel, fake_slack.response_url(channel, SRE)
        )
        answer = httpx.post(
            f"{served}/slack/events", content=body, headers=payloads.signed_headers(SECRET, body)
        )
        assert answer.status_code == 200, answer.text

    command("set SMART_PRICING 25 internal_beta,external_beta -- dashboards green")
    done = fake_slack.wait_for(lambda f: f.ephemerals(SRE), timeout=15)[0]
    assert "Done: decision #3 recorded" in done.text, done.text
    posted = fake_slack.wait_for(
        lambda f: [m for m in f.channel_messages() if "SMART_PRICING" in m.text], timeout=15
    )
    assert "10 % (internal_beta) → *25 % (internal_beta, external_beta)*" in posted[0].text
    command("status")
    status = fake_slack.wait_for(lambda f: f.ephemerals(SRE)[1:], timeout=15)[0]
    assert "SMART_PRICING 25 %" in status.text, status.text
    with Session(make_engine(db_url)) as session:
        kept = session.exec(select(FlagState).where(FlagState.name == "SMART_PRICING")).one()
    assert kept.percent == 25


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    if "PYTHONPATH" in os.environ:  # run the code under test, not an installed copy
        env = {**env, "PYTHONPATH": os.environ["PYTHONPATH"]}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=cwd,
    )


def test_serve_and_run_refuse_to_start_without_their_credentials(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-only-this-one"}
    serve = _cli("serve", env=env, cwd=tmp_path)
    assert serve.returncode == 2 and "SLACK_SIGNING_SECRET is not set" in serve.stderr
    run = _cli("run", env=env, cwd=tmp_path)
    assert run.returncode == 2 and "SLACK_APP_TOKEN is not set" in run.stderr
    assert "warroom local" in run.stderr
    assert "xoxb-only-this-one" not in serve.stderr + run.stderr


def test_warroom_schedule_prints_the_posts_for_a_launch_time(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = _cli("schedule", "--launch", "2027-03-27 10:00", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "T = Sat 27 Mar 2027 10:00 CET (Europe/Madrid)"
    assert "  Sun 28 Mar 09:00 CEST  shift            SRE shift A" in lines
    # T+24h is 24 real hours: across the spring change it reads 11:00 local
    assert "  Sun 28 Mar 11:00 CEST  milestone        Executive report" in lines
    bad = _cli("schedule", "--launch", "someday", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "not a time I can read" in bad.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = _cli("db", "upgrade", env=env, cwd=tmp_path)
    head = migrate.head_revision()
    assert result.returncode == 0 and f"revision {head}" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WARROOM_RUNBOOK_LEASE_SECONDS", "soon", "WARROOM_RUNBOOK_LEASE_SECONDS: Input should be"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: expected a database URL"),
        ("WARROOM_LOG_LEVEL", "LOUD", "WARROOM_LOG_LEVEL: expected one of DEBUG"),
    ],
)
def test_a_bad_environment_value_is_listed_without_a_traceback(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", variable: value}
    for command in (["check"], ["schedule", "--launch", "2027-03-27 10:00"]):
        result = _cli(*command, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0] == "warroom: settings: 1 problem(s):"
        assert lines[1].startswith(f"  - {expected}")
        assert value not in lines[1]  # a value may be a secret: never echoed


def test_every_command_reads_the_database_a_local_session_played(tmp_path: Path) -> None:
    """One default database for every command: a played `warroom local` session is what
    `export` and `audit verify` read; `--db` names another; a reading command never creates
    an empty file."""
    env = {"PATH": "/usr/bin:/bin"}
    played = subprocess.run(
        [sys.executable, "-m", "bot.cli", "local", "--as", "sre"],
        input="/rollout set SMART_PRICING 25 -- dashboards green\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            **env,
            **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        },
    )
    assert played.returncode == 0, played.stderr
    assert "Database: sqlite:///./warroom.db" in played.stdout
    exported = _cli("export", "decisions", "--format", "json", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "rollout.set" in exported.stdout and "dashboards green" in exported.stdout
    audit = _cli("audit", "verify", env=env, cwd=tmp_path)
    assert audit.returncode == 0 and "decision log OK: 3 records" in audit.stdout
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "warroom.db"
    moved.rename(tmp_path / "elsewhere" / "played.db")
    for command in (["export", "decisions"], ["audit", "verify"], ["flags", "export"]):
        named = _cli(*command, "--db", "elsewhere/played.db", env=env, cwd=tmp_path)
        assert named.returncode == 0, (command, named.stderr)
        missing = _cli(*command, env=env, cwd=tmp_path)
        assert missing.returncode == 2, (command, missing.stderr)
        assert "no database at warroom.db" in missing.stderr
        assert not moved.exists(), command  # reading never creates an empty database
    bad = _cli("export", "feedback", "--db", "postgresql://u:secret@h:x/db", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "warroom: --db: 1 problem(s)" in bad.stderr
    assert "secret" not in bad.stderr and "Traceback" not in bad.stderr


def test_local_never_plays_into_a_shared_database(tmp_path: Path) -> None:
    """DATABASE_URL may name the real bot's PostgreSQL: the workspace's fake clock and fake
    Slack must not write there."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://warroom@127.0.0.1:9/warroom"}
    result = _cli("local", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SQLite file only" in result.stderr
    assert "Traceback" not in result.stderr
