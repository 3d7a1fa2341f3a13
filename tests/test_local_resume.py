"""A played local database reopened: the workspace says which clock it runs on, resumes its
virtual clock, and never offers again as "next" a post already made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.playbook import load_playbook
from bot.services import Services
from tests.test_local_workspace import LATE_MORNING, run_session
from tests.test_schedules import local


def test_the_planner_never_offers_again_a_post_already_made(
    services: Services, clock: FakeClock
) -> None:
    clock.set(local("2026-11-29 08:00"))
    services.rollout.launch("U0PROD0001", "2026-12-01 10:00")
    clock.set(local("2026-12-01 09:00"))  # T-1h: "Open the war room"
    made = services.schedule.tick()
    assert "milestone:-1h" in [run.job_key for run in made]
    clock.set(local("2026-12-01 08:30"))  # a clock set back, as a reopened database had
    upcoming = [o.title for o in services.planner.upcoming(5)]
    assert "Open the war room" not in upcoming
    cadence = [t for t in upcoming if t in ("Daily sync", "Launch")]
    assert cadence == ["Daily sync", "Launch"]  # 09:30 and 10:00, not yet posted


@pytest.mark.sqlite_only("the local workspace plays on a SQLite file")
def test_a_reopened_database_resumes_its_virtual_clock_and_says_so(db_url: str) -> None:
    zone = load_playbook().zone
    soon = (LATE_MORNING + timedelta(hours=2)).astimezone(zone)
    first = run_session(
        db_url,
        [f"/rollout launch {soon:%Y-%m-%d %H:%M}", "skip 3h"],
        user="product",
        now=LATE_MORNING,
    )
    assert "Clock: real time, " in first
    assert "T+0h: Launch" in first and "T+60 min snapshot" in first  # posted in the skip
    again = run_session(db_url, ["/rollout status", "schedule"], now=LATE_MORNING)
    clock_line = next(line for line in again.splitlines() if line.startswith("Clock: "))
    resumed = (soon + timedelta(hours=1)).strftime("%a %d %b %H:%M")  # the T+60 min post
    assert clock_line.startswith(f"Clock: virtual, resumed at {resumed}"), clock_line
    assert "the latest time this database recorded (real time is " in clock_line
    next_post = next(line for line in again.splitlines() if "next post:" in line)
    assert "Launch" not in next_post and "snapshot" not in next_post, next_post
    assert "Communication due T+4h" in next_post  # at T+3h, the first post still to come
    listed = again.split("== UPCOMING POSTS ==")[1]
    assert "snapshot" not in listed and "Open the war room" not in listed
