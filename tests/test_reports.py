"""The daily and executive reports from a fixed data set, figure by figure; the chart as a
real PNG uploaded through the loopback Slack server's external upload flow; the proposal
as a table of cases."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib.image
import pytest

from bot.clock import FakeClock
from bot.feedback import FeedbackIn
from bot.local.fake_slack import FakeSlack, channel_id
from bot.reports.figures import FeedbackFigures, Figures, KpiFigure
from bot.reports.proposal import propose
from bot.services import Services
from bot.tickets import TicketEvent
from tests.conftest import PRODUCT, SRE

ZONE = ZoneInfo("Europe/Madrid")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


FEEDBACK = [  # (local time, source, rating, category, text)
    ("2026-11-30 23:59", "widget", 5, None, "Yesterday: not in the report"),
    ("2026-12-01 08:10", "widget", 5, "praise", "Love the new checkout"),
    ("2026-12-01 08:40", "survey", 4, None, "Please add Apple Pay"),
    ("2026-12-01 11:05", "widget", 2, None, "Checkout crashed when I paid"),
    ("2026-12-01 11:30", "survey", 3, None, "How do I turn smart prices off?"),
    ("2026-12-01 17:59", "widget", 1, None, "I was charged twice"),
    ("2026-12-01 18:30", "widget", 5, None, "After the report: not in it"),
]
TICKETS = [  # (ticket, created, answered)
    ("Z-1", "2026-12-01 09:00", None),
    ("Z-2", "2026-12-01 10:00", "2026-12-01 11:00"),
    ("Z-3", "2026-12-01 12:00", None),
    ("Z-4", "2026-12-01 15:00", None),
    ("Z-5", "2026-12-01 16:00", "2026-12-01 19:00"),  # answered after the report
    ("Z-6", "2026-12-01 17:00", None),
]


def load_fixed_day(services: Services, clock: FakeClock) -> None:
    clock.set(local("2026-11-30 08:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")  # the day before: not in the report
    for at, source, rating, category, text in FEEDBACK:
        clock.set(local(at))
        services.feedback.submit(
            FeedbackIn(source=source, rating=rating, text=text, category=category)
        )
    clock.set(local("2026-12-01 12:00"))
    services.feedback.file_from_slack(
        PRODUCT, "slack", PRODUCT, "Prices look odd on mobile", link="https://x.invalid/p1"
    )
    for ticket, created, answered in TICKETS:
        services.tickets.record(
            TicketEvent(event="created", ticket_id=ticket, tags=["phase1-beta"], at=local(created))
        )
        if answered:
            services.tickets.record(
                TicketEvent(
                    event="answered", ticket_id=ticket, tags=["phase1-beta"], at=local(answered)
                )
            )
    services.tickets.record(
        TicketEvent(event="created", ticket_id="B-1", tags=["billing"], at=local(TICKETS[0][1]))
    )
    clock.set(local("2026-12-01 10:00"))
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", reason="launch")
    clock.set(local("2026-12-01 12:30"))
    services.rollout.freeze(SRE, "checkout errors")


def test_the_daily_report_from_a_fixed_day_figure_by_figure(
    services: Services, clock: FakeClock
) -> None:
    load_fixed_day(services, clock)
    clock.set(local("2026-12-01 18:00"))
    f = services.reports.daily_figures(local("2026-12-01 00:00").date(), local("2026-12-01 18:00"))
    fb = f.feedback
    assert (fb.count, fb.rated, fb.average) == (6, 5, 3.0)
    assert fb.distribution == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}
    assert fb.by_source == {"widget": 3, "survey": 2, "slack": 1}
    assert fb.by_category == {"praise": 1, "product_request": 2, "bug": 2, "question": 1}
    assert fb.critical_count == 2
    assert [c["text"] for c in fb.critical] == [
        "Checkout crashed when I paid",
        "I was charged twice",
    ]
    hourly = {h["hour"]: (h["count"], h["average"]) for h in fb.hourly}
    assert len(hourly) == 18 and hourly["08:00"] == (2, 4.5) and hourly["12:00"] == (1, None)
    assert hourly["17:00"] == (1, 1.0) and hourly["09:00"] == (0, None)
    assert (f.tickets_created, f.tickets_per_day) == (6, 6.0)
    # Z-5 was answered after 18:00; Z-1 and Z-3 had waited more than 4 h by then
    assert (f.tickets_unanswered, f.tickets_past_sla) == (5, 2)
    assert [(d["at"], d["action"], d["subject"]) for d in f.decisions] == [
        ("10:00", "rollout.set", "SMART_PRICING"),
        ("12:30", "rollout.freeze", "rollout"),
    ]
    marks = {k.metric: (k.mark, k.value) for k in f.kpis}
    assert marks == {
        "error_rate": ("❔", None),
        "response_time_p95": ("❔", None),
        "mttd": ("—", None),
        "mttr": ("—", None),
        "feature_usage_external": ("❔", None),
        "user_satisfaction": ("⚠️", 3.0),
        "support_tickets": ("⚠️", 6.0),
    }
    assert f.metrics_note == "no metrics source configured (set PROMETHEUS_URL)"


def test_the_daily_report_is_posted_at_1800_once_with_its_chart_and_stored_as_markdown(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    load_fixed_day(services, clock)
    clock.set(local("2026-12-01 18:00"))
    services.schedule.tick()
    reports = [m for m in fake_slack.channel_messages() if m.text.startswith("Daily report")]
    assert [m.text for m in reports] == ["Daily report — Tue 01 Dec 2026"]
    body = str(reports[0].blocks)
    assert "6 items; average rating 3.00/5 over 5 ratings" in body
    assert "⚠️ support_tickets: 6 /day — goal <= 5 /day" in body
    assert (
        "⚠️ tickets: 6 created (6/day) — goal <= 5/day; 5 unanswered, 2 past the support SLA" in body
    )
    assert "10:00 rollout.set SMART_PRICING by U0SRE00001" in body
    # the chart: a real PNG, uploaded through the external upload flow into the thread
    [chart] = fake_slack.files
    assert chart.channel == channel_id("#phase1-war-room") and chart.thread_ts == reports[0].ts
    assert chart.data.startswith(b"\x89PNG") and chart.filename == "daily-report-2026-12-01.png"
    assert matplotlib.image.imread(io.BytesIO(chart.data)).shape[:2] == (500, 800)
    # stored, with its Markdown; at the next tick and on a second call nothing is posted again
    stored = services.reports.latest("daily")
    assert stored and stored.period == "2026-12-01" and stored.message_ts == reports[0].ts
    assert stored.chart_file_id == chart.id
    assert "- 6 items; average rating 3.00/5 over 5 ratings" in stored.markdown
    assert "- ratings: 1★ 1 · 2★ 1 · 3★ 1 · 4★ 1 · 5★ 1" in stored.markdown
    assert "- by source: slack 1, survey 2, widget 3" in stored.markdown
    assert "  - #4 (widget): Checkout crashed when I paid" in stored.markdown
    services.schedule.tick()
    from bot.cadence.plan import Occurrence

    again = services.reports.on_daily(
        Occurrence(local("2026-12-01 18:00"), "daily_report:2026-12-01", "daily_report", "")
    )
    assert again == ("daily report for 2026-12-01 was already made", None)
    assert len([m for m in fake_slack.channel_messages() if m.text.startswith("Daily")]) == 1
    assert len(fake_slack.files) == 1


def test_a_failed_upload_keeps_the_report(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    load_fixed_day(services, clock)
    fake_slack.fail_next("files.completeUploadExternal", 500, times=10)
    clock.set(local("2026-12-01 18:00"))
    [run] = [r for r in services.schedule.tick() if r.kind == "daily_report"]
    assert run.status == "posted" and "Slack has not taken the chart yet" in run.note
    assert services.reports.latest("daily") is not None and fake_slack.files == []
    fake_slack.faults.clear()  # Slack is back: the outbox sends the chart once, in the thread
    clock.advance(timedelta(minutes=1))
    services.schedule.tick()
    [report] = [m for m in fake_slack.channel_messages() if m.text.startswith("Daily")]
    [shared] = fake_slack.files
    assert shared.thread_ts == report.ts


def test_the_executive_report_at_t_plus_24h_proposes_with_reasons(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    load_fixed_day(services, clock)
    clock.set(local("2026-12-02 10:00"))
    services.schedule.tick()
    [report] = [m for m in fake_slack.channel_messages() if m.text.startswith("Executive")]
    stored = services.reports.latest("executive")
    assert stored and stored.proposal == "hold"
    assert "## Proposal: Hold at the current stage" in stored.markdown
    assert "- user_satisfaction misses its goal: 2.75 /5 (goal > 4 /5)" in stored.markdown
    assert "- error_rate has no data (no metrics source): cannot advance on it" in stored.markdown
    assert "*Proposal: Hold at the current stage*" in str(report.blocks)


def kpi(metric: str, mark: str, value: float | None = 1.0) -> KpiFigure:
    return KpiFigure(metric, "%", "<", 2, value, mark)


@pytest.mark.parametrize(
    ("kpis", "firing", "proposal", "first_reason"),
    [
        ([kpi("error_rate", "✅")], [], "advance", "every KPI with data meets its goal"),
        ([kpi("error_rate", "✅"), kpi("mttd", "—", None)], [], "advance", "every KPI"),
        ([kpi("error_rate", "⚠️", 3)], [], "hold", "error_rate misses its goal: 3 %"),
        ([kpi("error_rate", "❔", None)], [], "hold", "error_rate has no data"),
        ([kpi("error_rate", "🛑", 5)], [], "rollback", "error_rate is past its critical line"),
        ([kpi("error_rate", "✅")], ["error_rate_critical"], "rollback", "rollback trigger"),
    ],
)
def test_the_proposal(
    kpis: list[KpiFigure], firing: list[str], proposal: str, first_reason: str
) -> None:
    start = local("2026-12-01 10:00")
    figures = Figures(
        "t", start, start + timedelta(days=1), FeedbackFigures(), 0, 0, 0, 0, kpis, [], firing, []
    )
    made, reasons = propose(figures)
    assert made == proposal and reasons[0].startswith(first_reason)


def test_a_report_slack_did_not_take_is_posted_on_a_later_tick_once(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    load_fixed_day(services, clock)
    clock.set(local("2026-12-01 18:00"))
    services.feedback.route_pending()  # the day's feedback and SLA flags are out…
    services.tickets.flag_overdue(clock.now())
    fake_slack.fail_next("chat.postMessage", 500, times=1000)  # …before Slack fails
    [run] = [r for r in services.schedule.tick() if r.kind == "daily_report"]
    assert run.status == "posted" and "queued: Slack has not taken it yet" in run.note
    attempts = len(fake_slack.calls_to("chat.postMessage"))
    services.schedule.tick()  # the same minute: not again yet (the outbox waits between tries)
    assert len(fake_slack.calls_to("chat.postMessage")) == attempts
    stored = services.reports.latest("daily")
    assert stored is not None and services.poster.ts_of(stored.message_ts) == ""
    fake_slack.faults.clear()
    clock.set(local("2026-12-01 18:01"))
    services.schedule.tick()
    services.schedule.tick()
    reports = [m for m in fake_slack.channel_messages() if m.text.startswith("Daily report")]
    assert len(reports) == 1 and "6 items; average rating 3.00/5" in str(reports[0].blocks)
    assert [f.thread_ts for f in fake_slack.files] == [reports[0].ts]
    stored = services.reports.latest("daily")
    assert stored is not None and services.poster.ts_of(stored.message_ts) == reports[0].ts


def test_the_claim_columns_are_backfilled_from_the_old_message_ts_values(
    blank_db_url: str,
) -> None:
    from sqlalchemy import text

    from storage import migrate
    from storage.db import make_engine

    engine = make_engine(blank_db_url)
    migrate.upgrade(engine, "0006")
    at = "2026-12-01 18:00:00"
    with engine.begin() as connection:
        for kind, period, ts in [
            ("daily", "a", "posting"),
            ("daily", "b", ""),
            ("daily", "c", "1.2"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO report (kind, period, created_at, proposal, markdown, channel, "
                    "message_ts, chart_file_id) VALUES (:k, :p, :at, '', '', '', :ts, '')"
                ),
                {"k": kind, "p": period, "at": at, "ts": ts},
            )
        for ts in ("claim:0123456789abcdef01234567", "3.4"):
            connection.execute(
                text(
                    "INSERT INTO feedback_item (source, user_id, flag, category, route, "
                    "classified_by, text, created_at, channel, message_ts, link, routed_at) "
                    "VALUES ('widget', '', '', 'bug', 'critical', 'rules', 't', :at, '', :ts, "
                    "'', :at)"
                ),
                {"at": at, "ts": ts},
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        reports = connection.execute(
            text("SELECT period, status, message_ts FROM report ORDER BY period")
        ).all()
        items = connection.execute(
            text("SELECT claimed_by, message_ts FROM feedback_item ORDER BY id")
        ).all()
    assert [tuple(r) for r in reports] == [
        ("a", "posting", ""),
        ("b", "unposted", ""),
        ("c", "posted", "1.2"),
    ]
    assert [tuple(i) for i in items] == [("0123456789abcdef01234567", ""), ("", "3.4")]
    engine.dispose()


def test_mttr_is_measured_in_minutes_to_a_tenth(services: Services) -> None:
    """29 s and 29.4 s of recovery read as 0.5 min, not 0.4864 min."""
    from sqlmodel import Session

    from bot.reports.figures import measured_kpi
    from storage.models import RollbackRequest

    opened = datetime(2026, 12, 1, 21, 37, tzinfo=ZoneInfo("UTC"))
    with Session(services.engine) as session:
        for seconds in (29.0, 29.4):
            session.add(
                RollbackRequest(
                    flags=["SMART_PRICING"],
                    reason="spike",
                    requested_by=SRE,
                    status="done",
                    opened_at=opened,
                    expires_at=opened + timedelta(minutes=30),
                    recovered_at=opened + timedelta(seconds=seconds),
                )
            )
        session.commit()
    day = opened - timedelta(hours=12)
    assert measured_kpi(services.engine, "mttr", day, day + timedelta(days=1)) == 0.5
