"""The local workspace, driven through its input like a person at a terminal."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock, OffsetClock
from bot.local.workspace import LocalWorkspace
from bot.playbook import load_playbook
from bot.settings import Settings

pytestmark = pytest.mark.sqlite_only(
    "the local workspace plays on a SQLite file; `warroom local` refuses any other database"
)

# Where a session's clock stands: a fixed instant, so what a session shows never depends on
# the hour, the weekday or the time zone the suite runs in (a Tuesday morning in Madrid).
REAL_NOW = datetime(2026, 12, 1, 8, 20, tzinfo=UTC)
# 11:40 in Madrid: launched two hours on, nothing else falls due before T−1h (the 09:30
# sync is past, the 13:00 shift comes after), and after T+1h the first post is T+4h's notice.
LATE_MORNING = datetime(2026, 12, 1, 10, 40, tzinfo=UTC)


def run_session(db_url: str, lines: list[str], user: str = "sre", now: datetime = REAL_NOW) -> str:
    out = io.StringIO()
    clock = OffsetClock(FakeClock(now))
    workspace = LocalWorkspace(Settings(database_url=db_url), out, user=user, clock=clock)
    asyncio.run(workspace.run(io.StringIO("\n".join(lines) + "\n"), prompt=False))
    return out.getvalue()


def test_change_a_flag_then_read_the_decision_log(db_url: str) -> None:
    out = run_session(
        db_url,
        [
            "/rollout set SMART_PRICING 25 internal_beta,external_beta -- dashboards green",
            "/rollout history 1",
        ],
    )
    assert "[#phase1-war-room] warroom" in out
    assert "SMART_PRICING: 10 % (internal_beta) → 25 % (internal_beta, external_beta)" in out
    assert "Done: decision #3 recorded and announced" in out
    assert "rollout.set SMART_PRICING" in out and "dashboards green" in out


def test_buttons_are_numbered_and_clickable_and_roles_switch(db_url: str) -> None:
    out = run_session(
        db_url,
        [
            "/rollout freeze error_rate at 3 %",
            "as product",
            "click 1",
            "as oncall",
            "click 1",
            "click 7",
            "/rollout status",
        ],
    )
    assert "[1] Unfreeze" in out
    assert "you are now U0PROD0001 (product)" in out
    assert "needs the `sre` or `oncall` role" in out
    assert "(edited)" in out and "Freeze lifted by @U0ONCL0001 (oncall)" in out
    assert "error: say `click N` with a button number" in out
    assert "Not frozen" in out


def test_bad_workspace_input_is_named(db_url: str) -> None:
    out = run_session(db_url, ["hello", "as nobody", "/rollout sett X 1"])
    assert "error: unknown input `hello`" in out
    assert "error: `nobody` is neither a role" in out
    assert "Unknown subcommand `sett`. Did you mean `set`?" in out


@pytest.mark.slow  # a process
def test_warroom_local_runs_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SLACK_BOT_TOKEN", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "local",
            "--as",
            "product",
            "--db",
            str(tmp_path / "local.db"),
        ],
        input="/rollout set ADVANCED_CHECKOUT 25\n/rollout status\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "You are U0PROD0001 (product)" in result.stdout
    assert "ADVANCED_CHECKOUT: 25 %" in result.stdout
    assert (tmp_path / "local.db").exists()
    assert '"level"' not in result.stdout + result.stderr  # no JSON log lines in the terminal
    assert '"event": "rollout.set"' in (tmp_path / "warroom-local.log").read_text()


def test_a_rollback_request_signed_and_rejected_from_the_terminal(db_url: str) -> None:
    out = run_session(
        db_url,
        [
            "/rollback SMART_PRICING checkout errors at 5 %",
            "as support",
            "click 2",
            "submit",
            "submit error rate is already back under 1 %",
            "/rollback status",
        ],
    )
    assert "ROLLBACK #1: WAITING FOR SIGN-OFF" in out
    assert "[1] Approve   [2] Reject" in out
    assert "[form] Reject rollback #1: Why reject it?" in out
    assert "form error (rollback.reject.reason): Say why you reject the rollback." in out
    assert "ROLLBACK #1: REJECTED" in out
    assert "#1 rejected · SMART_PRICING" in out


def test_a_signed_rollback_runs_its_runbook_in_the_terminal(db_url: str) -> None:
    out = run_session(
        db_url,
        ["/rollback checkout errors at 5 %", "as product", "click 1", "as support", "click 3"],
        user="oncall",
    )
    assert "ROLLBACK #1: RUNNING THE RUNBOOK" in out
    assert "✅ 1. Freeze the rollout and block deployments" in out
    assert "⏩ 4. Clear caches" in out  # Slack's :fast_forward: and "not configured" in out
    assert "✋ 5. Verify" in out and "[5] Metrics OK" in out
    assert "froze the rollout: rollback #1" in out


def test_skip_makes_the_scheduled_posts_fall_due(db_url: str) -> None:
    from datetime import timedelta

    soon = (LATE_MORNING + timedelta(hours=2)).astimezone(load_playbook().zone)
    out = run_session(
        db_url,
        [
            f"/rollout launch {soon:%Y-%m-%d %H:%M}",
            "/rollout status",
            "schedule",
            "skip 2h",
            "skip",
            "skip 9d",
        ],
        user="product",
        now=LATE_MORNING,
    )
    assert "== UPCOMING POSTS ==" in out and "Open the war room" in out
    # launched two hours ahead: the first post is the notice of the communication due at
    # T−1h, an hour before it (now); then at T−1h the war room opens
    assert "next post: Communication due T−1h: Help-center article and FAQ" in out
    assert "T-1h: Open the war room" in out and "T+0h: Launch" in out
    assert "error: say how far" in out and "error: skip forward, at most 7d" in out
    assert "Posted late" not in out  # minute steps: every post on time


def test_feedback_is_a_prompted_form_in_the_terminal(db_url: str) -> None:
    out = run_session(
        db_url,
        [
            "as support",
            "/feedback",
            "7",  # not an option: asked again
            "2",
            "-",
            "SMART_PRICING",
            "Checkout crashed when I paid with smart prices",
            "/feedback",
            "5",
            "cancel",
        ],
    )
    assert "[form] Beta feedback: answer each field (`cancel` leaves the form)" in out
    assert "  Rating — one of: 1, 2, 3, 4, 5:" in out
    assert "  `7` is not one of: 1, 2, 3, 4, 5" in out
    assert (
        "  Category — one of: bug, product_request, question, praise (optional, `-` to skip):"
        in out
    )
    assert "Filed as beta feedback #1 (Bug); routed to the SRE / observability lead." in out
    assert "Beta feedback #1 (modal, bug) 2/5 on SMART_PRICING" in out  # routed to the war room
    assert "form left; nothing was filed" in out
    from bot.services import build_services

    services = build_services(Settings(database_url=db_url))
    assert services.feedback.count() == 1


def test_app_home_in_the_terminal_ticks_from_the_records(db_url: str) -> None:
    out = run_session(db_url, ["as product", "home"])
    assert "[App Home] warroom" in out and "== COMPLETION CHECKLIST ==" in out
    # every item of the bundled checklist ticks from what the bot sees: no one vouches
    assert "External rollout running, communication sent" in out and "Confirm" not in out


def test_slack_shortcodes_render_as_emoji_from_the_library() -> None:
    from bot.local.render import plain

    shown = plain(":bell: shift A · :memo: notes · :not_a_shortcode:", str)
    assert shown == "🔔 shift A · 📝 notes · :not_a_shortcode:"


def test_a_mention_followed_by_its_roles_is_not_given_them_twice(db_url: str) -> None:
    from bot.local.render import plain

    def name_of(user: str) -> str:
        return f"{user} (product)"

    assert (
        plain("by <@U0PROD0001> (product) at 10:00", name_of) == "by @U0PROD0001 (product) at 10:00"
    )
    assert plain("<@U0PROD0001> (after execution)", name_of) == (
        "@U0PROD0001 (product) (after execution)"
    )
    out = run_session(db_url, ["/rollback plan", "click 1", "home"], user="product")
    assert "plan " in out and "signed by @U0PROD0001 (product) " in out
    assert "(product) (product)" not in out


def test_skip_accepts_durations_of_several_parts() -> None:
    from datetime import timedelta

    import pytest

    from bot.local.workspace import skip_duration

    assert skip_duration("23h25m") == timedelta(hours=23, minutes=25)
    assert skip_duration("1d 2h") == timedelta(days=1, hours=2)
    assert skip_duration("30m") == timedelta(minutes=30)
    for bad in ("", "x", "23h25", "h"):
        with pytest.raises(ValueError):
            skip_duration(bad)


@pytest.mark.slow  # a process
def test_as_nobody_is_refused_on_the_command_line_as_in_the_session(tmp_path: Path) -> None:
    from tests.test_cli_modes import _cli

    result = _cli("local", "--as", "nobody", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "`nobody` is neither a role" in result.stderr and "Traceback" not in result.stderr


def test_the_start_up_hint_opens_the_launch_with_its_segments(db_url: str) -> None:
    """A bare `/rollout set SMART_PRICING 25` keeps the external segment out: the hint
    names the playbook's launch target with its segments."""
    out = run_session(db_url, [])
    intro = next(line for line in out.splitlines() if line.startswith("Type /rollout help"))
    assert "/rollout set ADVANCED_CHECKOUT 25 internal_beta,external_beta," in intro


def test_the_decision_log_reads_in_plain_words(db_url: str) -> None:
    out = run_session(
        db_url,
        [
            "/rollout freeze error_rate at 3 %",
            "/rollout unfreeze",
            "/rollout launch 2030-06-01 10:00",
            "/rollout history 3",
        ],
    )
    log = out.split("== DECISION LOG (LAST 3) ==")[1]
    assert "frozen: no → frozen: yes — error_rate at 3 %" in log
    assert "frozen: yes, reason: error_rate at 3 %, by: @U0SRE00001 (sre) → frozen: no" in log
    assert "launch at: — → launch at: Sat 01 Jun 10:00 CEST" in log
    for python in ("True", "False", "None", "+00:00", "'"):
        assert python not in log, python


def test_a_long_history_is_cut_between_entries_and_says_how_many_more(db_url: str) -> None:
    filler = "dashboards green and support quiet " * 5
    sets = [f"/rollout set SMART_PRICING {10 + i} -- {filler}end{i}." for i in range(1, 21)]
    out = run_session(db_url, [*sets, "/rollout history 20"])
    log = out.split("== DECISION LOG (LAST 20) ==")[1].strip().splitlines()
    entries, more = log[:-1], log[-1]
    assert entries and all(line.rstrip().endswith(".") for line in entries), entries
    shown = [int(line.rsplit("end", 1)[1].rstrip(".")) for line in entries]
    assert shown == list(range(20, 20 - len(shown), -1))  # newest first, none skipped
    assert more.strip().startswith(f"…and {20 - len(shown)} more")


def test_skip_shows_each_post_with_its_time_and_where_a_long_skip_is(db_url: str) -> None:
    import re
    from datetime import timedelta

    soon = (REAL_NOW + timedelta(minutes=30)).astimezone(load_playbook().zone)
    out = run_session(
        db_url, [f"/rollout launch {soon:%Y-%m-%d %H:%M}", "skip 13h"], user="product"
    )

    def shown_at(post: str) -> str:
        found = re.search(rf"\[#phase1-war-room\] warroom · (.+)\n  {post}", out)
        assert found, post
        return found.group(1)

    def minute(at: datetime) -> str:
        return f"{at:%a %d %b %H:%M %Z}"

    # the minute it fell due (or the next one, had the real clock's seconds rolled over)
    launched = soon.replace(second=0, microsecond=0)
    assert shown_at("📍 T\\+0h: Launch") in {
        minute(launched),
        minute(launched + timedelta(minutes=1)),
    }
    snapshot = launched + timedelta(minutes=15)
    assert shown_at("📊 T\\+15 min snapshot") in {
        minute(snapshot),
        minute(snapshot + timedelta(minutes=1)),
    }
    assert "(6h of 13h)" in out or "(12h of 13h)" in out  # one of them, unless a post fell then
    assert out.index("T+0h: Launch") < out.index("T+4h: First checkpoint") < out.index("it is now")
