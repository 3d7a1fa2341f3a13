"""The communications calendar, the staffing check and the Phase 2 timeline on a fake
clock: each post once at its time across both daylight-saving changes of Europe/Madrid,
the overdue reminder and escalation, and the daily report's communications section."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack, Message
from bot.services import Services
from storage.models import Report
from tests.conftest import GTM, PRODUCT
from tests.test_schedules import MADRID, local, run_window

COMMS = ["help_center", "email", "in_app", "banner", "in_app_reminder"]


def notices(fake: FakeSlack) -> dict[str, Message]:
    """Each communication's notice by the title it shows."""
    return {
        m.text.split(": ", 1)[1]: m
        for m in fake.channel_messages("#phase1-war-room")
        if m.text.startswith("Communication due") and not m.thread_ts
    }


@pytest.mark.parametrize(
    ("launch", "reminder_due"),
    [
        # autumn: T+4h lands in the hour the clocks repeat (02:00–03:00 happens twice)
        ("2027-10-30 23:30", "Sun 31 Oct 02:30"),
        # spring: 02:00–03:00 does not exist on 28 Mar; T+4h is 04:30 CEST
        ("2027-03-27 23:30", "Sun 28 Mar 04:30"),
    ],
)
def test_each_post_once_at_its_time_across_a_daylight_saving_change(
    services: Services, clock: FakeClock, fake_slack: FakeSlack, launch: str, reminder_due: str
) -> None:
    t = local(launch)
    clock.set(t - timedelta(days=3))
    services.rollout.launch(PRODUCT, launch)
    start = local(launch[:10] + " 08:00")  # before Day 0's timeline step
    end = t + timedelta(days=3, hours=12)  # after Day 3's
    # a communication is noticed an hour before it is due and escalated an hour after
    posts = run_window(services, clock, start, end, follow=timedelta(hours=2, minutes=15))
    mine = [(at, key) for at, key, _ in posts if key.split(":")[0] in ("comm", "phase2")]
    mine += [(at, key) for at, key, _ in posts if key == "staffing"]
    keys = Counter(key for _, key in mine)
    wanted = [f"comm:{c}" for c in COMMS] + [f"phase2:{i}" for i in range(4)] + ["staffing"]
    assert keys == {key: 1 for key in wanted}
    at = dict((key, when) for when, key in mine)
    # a communication's notice an hour before it is due: T offsets are real hours
    assert at["comm:email"] == t - timedelta(hours=1)
    assert at["comm:help_center"] == t - timedelta(hours=2)
    assert at["comm:in_app_reminder"] == t + timedelta(hours=3)
    assert at["staffing"] == t - timedelta(hours=1)
    shown = notices(fake_slack)
    reminder = shown["In-app reminder: ask for feedback"]
    assert f"due {reminder_due} (T+4h)" in str(reminder.blocks)
    # the timeline: 09:45 local on Day 0, 1, 2, 3, whatever the offset from UTC that day
    steps = [at[f"phase2:{i}"].astimezone(MADRID) for i in range(4)]
    day0 = t.astimezone(MADRID).date()
    assert [(s.date() - day0).days for s in steps] == [0, 1, 2, 3]
    assert {s.strftime("%H:%M") for s in steps} == {"09:45"}
    product = [m.text for m in fake_slack.channel_messages("#phase1-product")]
    assert [text.split(":")[0] for text in product] == [
        "Phase 2 Day 0–1",
        "Phase 2 Day 1–2",
        "Phase 2 Day 2–3",
        "Phase 2 Day 3",
    ]
    # nobody marked anything sent: each notice got one reminder and one escalation
    threads = Counter(m.thread_ts for m in fake_slack.channel_messages() if m.thread_ts)
    assert {threads[m.ts] for m in shown.values()} == {2}
    assert services.schedule.tick() == []  # nothing twice


def test_overdue_reminder_then_escalation_once_each(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    clock.set(local("2026-11-28 10:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 09:00"))
    services.schedule.tick()
    notice = notices(fake_slack)["In-app message: advanced checkout and smart pricing"]
    assert "<@U0GTM00001>" in str(notice.blocks) and "Mark sent" in str(notice.blocks)

    def thread() -> list[str]:
        return [m.text for m in fake_slack.channel_messages() if m.thread_ts == notice.ts]

    for at, count in [("10:14", 0), ("10:15", 1), ("10:59", 1), ("11:00", 2), ("11:30", 2)]:
        clock.set(local(f"2026-12-01 {at}"))
        services.schedule.tick()
        services.schedule.tick()  # a second replica, or the watchdog: nothing twice
        assert len(thread()) == count, at
    reminder, escalation = thread()
    assert f"<@{GTM}>" in reminder and "was due at 10:00 and is not marked sent" in reminder
    assert f"<@{PRODUCT}>" in escalation and "60 min after its time" in escalation


def test_the_daily_report_lists_the_communications(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    clock.set(local("2026-11-28 10:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 09:00"))
    services.schedule.tick()
    email = next(v for v in services.comms.current() if v.item.key == "email")
    clock.set(local("2026-12-01 10:02"))
    services.comms.mark_sent(email.id, GTM, "https://mail.example.com/campaigns/42")
    clock.set(local("2026-12-01 18:00"))
    services.schedule.tick()
    with Session(services.engine) as session:
        report = session.exec(select(Report).where(Report.kind == "daily")).one()
    lines = report.markdown.splitlines()
    section = lines[lines.index("## Communications") + 2 :]
    section = section[: section.index("")]
    assert section == [
        "- ⏰ Help-center article and FAQ (feedback form, quick guide) (help_center, owner gtm, "
        "due Tue 09:00): not marked sent",
        "- ✅ Launch email to external beta users (email, owner gtm, due Tue 10:00): sent, "
        f"marked by {GTM} at Tue 10:02 <https://mail.example.com/campaigns/42>",
        "- ⏰ In-app message: advanced checkout and smart pricing (in_app, owner gtm, "
        "due Tue 10:00): not marked sent",
        "- ⏰ Dashboard banner (dashboard_banner, owner gtm, due Tue 10:00): not marked sent",
        "- ⏰ In-app reminder: ask for feedback (in_app, owner gtm, due Tue 14:00): "
        "not marked sent",
    ]
    post = next(m for m in fake_slack.channel_messages() if m.text.startswith("Daily report"))
    assert "*Communications*" in str(post.blocks) and "✅ Launch email" in str(post.blocks)


def test_a_bad_go_to_market_section_is_refused_with_every_problem() -> None:
    import yaml

    from bot.playbook import BUNDLED_PLAYBOOK, PlaybookError, parse_playbook

    def problems(data: dict) -> str:
        with pytest.raises(PlaybookError) as refused:
            parse_playbook(yaml.safe_dump(data))
        return "\n".join(refused.value.problems)

    good = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data["communications"]["items"][1]["approved_text"] = "see the doc"
    data["support_staffing"]["confirm_by"] = "-2h"
    found = problems(data)
    assert "communications.items[1].approved_text = 'see the doc': expected an http(s)" in found
    assert "support_staffing = " in found and "confirm_by must come after offset" in found
    data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data["communications"]["items"][2]["key"] = "banner"
    assert ": each communication needs a key of its own" in problems(data)
    data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data["communications"]["items"][0]["owner"] = "marketing"
    data["phase2_timeline"][0]["owners"] = ["ops"]
    found = problems(data)
    assert "communications.items[0].owner = 'marketing': unknown role" in found
    assert "phase2_timeline[0].owners[0] = 'ops': unknown role" in found
    assert parse_playbook(yaml.safe_dump(good)).communications.items[0].key == "help_center"
