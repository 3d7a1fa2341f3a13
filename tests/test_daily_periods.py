"""The daily reports of a whole window cover it end to end: each starts where the previous
one ended, so every record lands in exactly one daily report, those after 18:00 included."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.feedback import FeedbackIn
from bot.services import Services
from storage.models import DecisionRecord, FeedbackItem, Report
from tests.conftest import PRODUCT, SRE

ZONE = ZoneInfo("Europe/Madrid")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def test_every_record_of_the_window_is_in_exactly_one_daily_report(
    services: Services, clock: FakeClock
) -> None:
    clock.set(local("2026-11-30 08:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")  # before the window
    events = [
        ("2026-12-01 09:00", "feedback"),
        ("2026-12-01 10:00", "set"),
        ("2026-12-01 17:59", "feedback"),
        ("2026-12-01 18:00", "tick"),
        ("2026-12-01 18:01", "feedback"),
        ("2026-12-01 21:37", "rollback"),
        ("2026-12-01 23:10", "feedback"),
        ("2026-12-02 03:00", "set"),
        ("2026-12-02 17:00", "feedback"),
        ("2026-12-02 18:00", "tick"),
    ]
    percent = 10
    for at, what in events:
        clock.set(local(at))
        if what == "feedback":
            services.feedback.submit(FeedbackIn(source="widget", rating=4, text=f"at {at}"))
        elif what == "set":
            percent += 5
            services.rollout.set_flag(SRE, "SMART_PRICING", str(percent), reason="step")
        elif what == "rollback":
            services.rollback.open(SRE, ["SMART_PRICING", "errors at night"])
        else:
            services.schedule.tick()
    start, end = local("2026-12-01 00:00"), local("2026-12-02 18:00")
    with Session(services.engine) as session:
        reports = session.exec(
            select(Report).where(Report.kind == "daily").order_by(col(Report.id))
        ).all()
        decisions = session.exec(
            select(DecisionRecord).where(DecisionRecord.at >= start, DecisionRecord.at < end)
        ).all()
        feedback = session.exec(
            select(FeedbackItem).where(
                FeedbackItem.created_at >= start, FeedbackItem.created_at < end
            )
        ).all()
    assert [r.period for r in reports] == ["2026-12-01", "2026-12-02"]
    seqs = [d["seq"] for r in reports for d in r.figures["decisions"]]
    assert sorted(seqs) == sorted(d.seq for d in decisions)  # each exactly once
    rollbacks = [
        d for r in reports for d in r.figures["decisions"] if d["action"].startswith("rollback.")
    ]
    assert len(rollbacks) == len([d for d in decisions if d.action.startswith("rollback.")]) >= 1
    assert sum(r.figures["feedback"]["count"] for r in reports) == len(feedback) == 5
    second = reports[1].figures
    assert "rollback.request" in {d["action"] for d in second["decisions"]}  # 21:37, day 1


def test_a_final_daily_report_at_the_end_of_the_launch(
    services: Services, clock: FakeClock
) -> None:
    """The window ends 2026-12-03 10:00 and the council meets after it (18:00–18:30): the
    last daily report is made when the council closes, so its vote and the flags it moves
    are reported too."""
    clock.set(local("2026-11-30 08:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    for at in ("2026-12-01 18:00", "2026-12-02 18:00"):
        clock.set(local(at))
        services.schedule.tick()
    clock.set(local("2026-12-02 23:10"))
    services.feedback.submit(FeedbackIn(source="widget", rating=2, text="late at night"))
    clock.set(local("2026-12-03 09:00"))
    services.rollout.set_flag(SRE, "SMART_PRICING", "20", reason="last step")
    clock.set(local("2026-12-03 10:00"))
    services.schedule.tick()  # the window's end: no report yet
    clock.set(local("2026-12-03 18:00"))
    services.schedule.tick()  # the council opens; nobody closes it
    clock.set(local("2026-12-03 18:12"))
    services.rollout.set_flag(SRE, "SMART_PRICING", "50", reason="a late step")
    clock.set(local("2026-12-03 18:30"))
    services.schedule.tick()  # the meeting's end closes the vote, then the last report
    with Session(services.engine) as session:
        reports = session.exec(
            select(Report).where(Report.kind == "daily").order_by(col(Report.id))
        ).all()
    assert [r.period for r in reports] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03 (end of the window)",
    ]
    final = reports[-1].figures
    assert final["feedback"]["count"] == 1
    assert [d["action"] for d in final["decisions"]] == [
        "rollout.set",
        "rollout.set",
        "council.close",
    ]
