"""Schedules on a fake clock: the whole 48 h window, daylight-saving changes, a restart
inside and beyond the grace period, several replicas on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from bot.cadence.checklists import AlreadyAcknowledged
from bot.cadence.plan import occurrences
from bot.clock import FakeClock
from bot.ids.schedule import ScheduleAction
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook, ScheduleSettings, Shift, load_playbook
from bot.services import Services, build_services
from bot.settings import Settings
from storage import migrate
from storage.db import make_engine
from storage.models import ScheduledRun
from tests import replica_ticker
from tests.conftest import PRODUCT, SRE, SRE2

MADRID = load_playbook().zone


def all_runs(services: Services) -> list[ScheduledRun]:
    with Session(services.engine) as session:
        return list(session.exec(select(ScheduledRun)))


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID).astimezone(UTC)


def run_window(
    services: Services,
    clock: FakeClock,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=15),
    follow: timedelta = timedelta(hours=1),
) -> list[tuple[datetime, str, str]]:
    """Tick like the watchdog where something can fall due: at every scheduled post's exact
    time, and every `step` for `follow` after each post made (the follow-ups: a checklist's
    reminder and escalation 15 and 30 min on, a communication's 15 and 60 min after it is
    due); the quiet hours between are skipped. Returns (clock at post, key, status)."""
    posts = []
    clock.set(start)
    busy_until = start
    while clock.now() <= end:
        made = services.schedule.tick()
        now = clock.now()
        for run in made:
            posts.append((now, run.job_key, run.status))
        if made:
            busy_until = now + follow
        following = min(
            (o.fire_at for o in services.schedule.plan() if o.fire_at > now), default=None
        )
        candidates = [
            at for at in (following, now + step if now + step <= busy_until else None) if at
        ]
        if not candidates:
            break
        clock.set(min(candidates))
    return posts


@pytest.mark.parametrize("launch", ["2027-03-27 10:00", "2027-10-30 10:00", "2026-12-01 10:00"])
def test_the_48h_window_posts_everything_once_at_its_local_time(
    services: Services, clock: FakeClock, fake_slack: FakeSlack, launch: str
) -> None:
    t = local(launch)
    clock.set(t - timedelta(days=3))
    services.rollout.launch(PRODUCT, launch)
    end = t + timedelta(hours=58)
    posts = run_window(services, clock, t - timedelta(hours=25), end)
    keys = Counter(key for _, key, _ in posts)
    # all but the Phase 2 timeline's Day 3 step, after the run's end
    expected = {o.key for o in occurrences(services.playbook, t) if o.fire_at <= end}
    assert set(keys) == expected and all(n == 1 for n in keys.values())
    assert {status for _, _, status in posts} <= {"posted", "skipped"}  # reports: later issues
    shifts = [(at.astimezone(MADRID), key) for at, key, _ in posts if key.startswith("shift:")]
    assert len(shifts) == 8  # 4 a day over the 48 h window
    for at, key in shifts:
        index = int(key.split(":")[1])
        assert at.strftime("%H:%M") == services.playbook.shifts[index].at, (key, at)
    syncs = [
        at.astimezone(MADRID).strftime("%H:%M") for at, key, _ in posts if key.startswith("sync:")
    ]
    # every day of the launch, Day −1 to Day 2, launch day's before T included
    assert len(syncs) == 4 and set(syncs) == {"09:30"}
    checklists = [m for m in fake_slack.channel_messages() if "checklist:" in m.text]
    assert len(checklists) == 8
    # nobody acknowledged: each got one reminder and one escalation, in its thread
    follow_ups = Counter(m.thread_ts for m in fake_slack.channel_messages() if m.thread_ts)
    assert {ts: n for ts, n in follow_ups.items() if ts in {m.ts for m in checklists}} == {
        m.ts: 2 for m in checklists
    }


def test_a_night_shift_in_the_hour_the_clocks_repeat_or_skip(
    settings: Settings, clock: FakeClock
) -> None:
    book = load_playbook()
    night = Shift(name="Night watch", at="02:30", owners=["oncall"], items=["Pager quiet"])
    book = book.model_copy(update={"shifts": [*book.shifts, night]})
    # autumn: 02:30 happens twice on 31 Oct 2027; one post
    autumn = [o for o in occurrences(book, local("2027-10-30 10:00")) if o.title == "Night watch"]
    assert [o.fire_at.astimezone(MADRID).strftime("%d %H:%M %Z") for o in autumn] == [
        "31 02:30 CEST",
        "01 02:30 CET",
    ]
    # spring: 02:30 does not exist on 28 Mar 2027; posted once, at 03:30 CEST
    spring = [o for o in occurrences(book, local("2027-03-27 10:00")) if o.title == "Night watch"]
    assert [o.fire_at.astimezone(MADRID).strftime("%d %H:%M %Z") for o in spring] == [
        "28 03:30 CEST",
        "29 02:30 CEST",
    ]


def test_restart_within_grace_posts_late_once_beyond_it_records_missed(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    t = local("2026-12-01 10:00")
    clock.set(t - timedelta(hours=2))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(t - timedelta(hours=1, minutes=1))
    services.schedule.tick()  # the T-1h milestone on time; then the bot is down
    clock.set(t + timedelta(minutes=5))  # back 5 minutes after T
    made = {r.job_key: r for r in services.schedule.tick()}
    assert made["milestone:0h"].status == "late" and made["milestone:0h"].late_seconds == 300
    launch_post = next(m for m in fake_slack.channel_messages() if "T+0h: Launch" in m.text)
    assert "Posted late by 5 min" in str(launch_post.blocks)
    assert services.schedule.tick() == []  # nothing twice
    # down again from 12:50 to 13:20 local: the 13:00 shift B is beyond the 10 min grace
    clock.set(local("2026-12-01 12:50"))
    services.schedule.tick()
    clock.set(local("2026-12-01 13:20"))
    made = {r.job_key: r for r in services.schedule.tick()}
    assert made["shift:1:2026-12-01"].status == "missed"
    assert "shift:1:2026-12-01" in services.schedule.health().missed_last_24h
    assert "milestone:-24h" not in services.schedule.health().missed_last_24h  # never due
    clock.set(local("2026-12-01 14:00"))  # T+4h checkpoint: the next post says what was missed
    services.schedule.tick()
    checkpoint = next(m for m in fake_slack.channel_messages() if "First checkpoint" in m.text)
    # stopped at 16:55, started at 17:05: shift C is posted, 5 min late, once
    clock.set(local("2026-12-01 16:55"))
    services.schedule.tick()
    clock.set(local("2026-12-01 17:05"))
    made = {r.job_key: r for r in services.schedule.tick()}
    assert made["shift:2:2026-12-01"].status == "late"
    shift_c = [m for m in fake_slack.channel_messages() if m.text.startswith("SRE shift C")]
    assert len(shift_c) == 1 and "Posted late by 5 min" in str(shift_c[0].blocks)
    assert services.schedule.tick() == []
    assert "Missed while the bot was down:" in str(checkpoint.blocks)
    assert "shift:1:2026-12-01 (Tue 13:00)" in str(checkpoint.blocks)


def test_a_changed_launch_time_leaves_no_stale_post(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    clock.set(local("2026-11-28 08:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    services.rollout.launch(PRODUCT, "2026-12-02 10:00")  # T moves a day later
    run_window(
        services, clock, local("2026-11-30 09:00"), local("2026-12-01 12:00"), timedelta(minutes=5)
    )
    texts = [m.text for m in fake_slack.channel_messages() if "T+" in m.text or "T-" in m.text]
    # only the new T's T-24h (1 Dec 10:00); the old T's (30 Nov 10:00) is gone
    assert texts == ["T-24h: Final check with all leads"]
    runs = {r.job_key: r for r in all_runs(services)}
    assert runs["milestone:-24h"].fire_at == local("2026-12-01 10:00")


@pytest.mark.slow  # a process
def test_three_replica_processes_on_postgresql_post_each_once(
    pg_url: str, fake_slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    settings = Settings(
        slack_bot_token="xoxb-pg", slack_api_url=fake_slack.api_url, database_url=pg_url
    )
    first = build_services(settings, load_playbook(), clock)  # migrates, sets T
    t = local("2026-12-01 10:00")
    clock.set(t - timedelta(days=2))
    first.rollout.launch(PRODUCT, "2026-12-01 10:00")
    posts_before = len(fake_slack.channel_messages())
    start, end = (t - timedelta(hours=25)).isoformat(), (t + timedelta(hours=49)).isoformat()
    # three processes of their own, ticking in lockstep (tests/replica_ticker.py), forked
    # from one that imported the bot once (a fresh interpreter spends about 2 s of CPU on it)
    forks = multiprocessing.get_context("forkserver")
    forks.set_forkserver_preload(["tests.replica_ticker"])
    barrier = forks.Barrier(3)
    args = (pg_url, fake_slack.api_url, start, end)
    replicas = [
        forks.Process(
            target=replica_ticker.main, args=(*args, f"replica-{i}", str(tmp_path), barrier)
        )
        for i in range(3)
    ]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=180)
        if replica.exitcode is None:
            replica.kill()
    assert [p.exitcode for p in replicas] == [0, 0, 0]
    posts = [m for m in fake_slack.channel_messages()[posts_before:] if not m.thread_ts]
    runs = all_runs(first)
    made = [r for r in runs if r.message_ts]
    assert len(posts) == len(made) == len({m.ts for m in posts})
    assert Counter((r.job_key, r.fire_at) for r in runs).most_common(1)[0][1] == 1
    checklists = [m for m in posts if "checklist:" in m.text]
    assert len(checklists) == 8
    # one escalation each; a reminder too, unless the replica that got there first was
    # already past the escalation time (replicas tick at their own pace)
    threads = [m for m in fake_slack.channel_messages() if m.thread_ts]
    escalations = Counter(m.thread_ts for m in threads if "nobody has acknowledged" in m.text)
    reminders = Counter(m.thread_ts for m in threads if "waiting for an ack" in m.text)
    assert escalations == {m.ts: 1 for m in checklists}
    assert all(n == 1 for n in reminders.values())
    # each replica saw every occurrence come due (they ticked in lockstep), and what they
    # made is disjoint and together is every run: each post was made by exactly one of them
    reports = [json.loads((tmp_path / f"replica-{i}.json").read_text()) for i in range(3)]
    as_runs = [{(k, datetime.fromisoformat(at)) for k, at in r["made"]} for r in reports]
    due = [{(k, datetime.fromisoformat(at)) for k, at in r["due"]} for r in reports]
    every_run = {(r.job_key, r.fire_at) for r in runs}
    assert due[0] == due[1] == due[2] == every_run
    assert sum(len(m) for m in as_runs) == len(set().union(*as_runs)) == len(every_run)
    assert set().union(*as_runs) == every_run
    assert {r.claimed_by for r in runs} <= {"replica-0", "replica-1", "replica-2"}


def test_grace_period_comes_from_the_playbook(settings: Settings, clock: FakeClock) -> None:
    book = load_playbook()
    book = book.model_copy(update={"schedule": ScheduleSettings(grace_minutes=0)})
    services = build_services(settings, book, clock)
    t = local("2026-12-01 10:00")
    clock.set(t - timedelta(days=2))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(t + timedelta(seconds=30))
    made = {r.job_key: r.status for r in services.schedule.tick()}
    assert made["milestone:0h"] == "missed" and made["milestone:-1h"] == "missed"


def test_playbook_type_is_still_a_playbook(playbook: Playbook) -> None:
    assert playbook.schedule.grace_minutes == 10


def test_migration_0007_moves_the_decisions_out_of_the_note(blank_db_url: str) -> None:
    engine = make_engine(blank_db_url)
    migrate.upgrade(engine, "0006")
    at = datetime(2026, 12, 1, 14, tzinfo=UTC)
    run = (
        "INSERT INTO scheduled_run (job_key, kind, fire_at, status, claimed_by, claimed_at,"
        " late_seconds, channel, message_ts, note, missed_reported)"
        " VALUES (:key, :kind, :at, 'posted', 'r', :at, 0, 'C1', '1.1', :note, false)"
    )
    with engine.begin() as connection:
        for key, kind, note in [
            ("milestone:4h", "milestone", "decided brake by U0PROD0001"),
            ("council", "council", "closed: advance"),
            ("sync:2026-12-01", "sync", ""),
        ]:
            connection.execute(text(run), {"key": key, "kind": kind, "at": at, "note": note})
        connection.execute(
            text(
                "INSERT INTO decision_log (seq, at, actor, action, subject, reason, outcome,"
                " prev_hash, hash) VALUES (1, :at, 'U0PROD0001', 'council.close', 'council',"
                " '', 'applied', '', 'h')"
            ),
            {"at": at},
        )
    migrate.upgrade(engine)
    with Session(engine) as session:
        runs = {r.job_key: r for r in session.exec(select(ScheduledRun))}
    assert (runs["milestone:4h"].status, runs["milestone:4h"].decision) == ("decided", "brake")
    assert runs["milestone:4h"].decided_by == "U0PROD0001"
    assert (runs["council"].status, runs["council"].decision) == ("closed", "advance")
    assert runs["council"].decided_by == "U0PROD0001"
    assert (runs["sync:2026-12-01"].status, runs["sync:2026-12-01"].decision) == ("posted", "")
    command.downgrade(migrate.alembic_config(engine), "0006")  # the note is written back
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT job_key, note FROM scheduled_run")).all()
    notes: dict[str, str] = {key: note for key, note in rows}
    assert notes["milestone:4h"] == "decided brake by U0PROD0001"
    assert notes["council"] == "closed: advance"


def test_the_checkpoint_and_the_councils_percentage_come_from_the_playbook(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    book = load_playbook()
    book = book.model_copy(
        update={
            "schedule": ScheduleSettings(checkpoint_offset="24h"),
            "council": book.council.model_copy(update={"advance_percent": 40}),
        }
    )
    services = build_services(settings, book, clock)
    t = local("2026-12-01 10:00")
    clock.set(t - timedelta(days=2))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    run_window(services, clock, t + timedelta(hours=4), t + timedelta(hours=24), timedelta(hours=1))
    posts = {m.text.split(":")[0]: m for m in fake_slack.channel_messages() if m.text[:2] == "T+"}
    assert ScheduleAction.DECIDE_BRAKE not in str(posts["T+4h"].blocks)
    assert ScheduleAction.DECIDE_BRAKE in str(posts["T+24h"].blocks)
    clock.set(local("2026-12-03 18:00"))
    [council] = [r for r in services.schedule.tick() if r.kind == "council"]
    post = next(m for m in fake_slack.channel_messages() if m.text == "Control council")
    assert "Advance to 40 %" in str(post.blocks)
    services.council.vote(council.id or 0, SRE, "advance")
    services.council.close(council.id or 0, PRODUCT)
    assert services.council.close(council.id or 0, PRODUCT) == "skipped"  # once
    services.council.advance(council.id or 0, SRE)
    assert {f.percent for f in services.rollout.flags.list_flags()} == {40}


def test_a_checklist_is_acknowledged_once(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    clock.set(local("2026-11-29 10:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 13:00"))
    [run] = [r for r in services.schedule.tick() if r.kind == "shift"]
    services.checklists.acknowledge(run.id or 0, SRE)
    with pytest.raises(AlreadyAcknowledged) as refused:
        services.checklists.acknowledge(run.id or 0, SRE2)
    assert refused.value.user == SRE


def test_no_two_posts_at_one_time_share_a_title(playbook: Playbook) -> None:
    """The T+24h milestone and the executive report it asks for are two posts: each is
    named for what it is, so the schedule never lists "Executive report" twice."""
    seen = Counter((o.fire_at, o.title) for o in occurrences(playbook, local("2026-12-01 10:00")))
    assert [key for key, n in seen.items() if n > 1] == []
