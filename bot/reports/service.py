"""Producing a report: collect the figures, store them with their Markdown, post the report
to the war room and its chart in the report's thread. Registered as the schedule's
`daily_report` and `executive_report` hooks; a report is stored once per period (a second
call returns the stored one and posts nothing)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.cadence.plan import Kind, Occurrence, local_instant, occurrences
from bot.clock import Clock
from bot.metrics.prometheus import PrometheusReader
from bot.observability import log_event
from bot.playbook import Playbook, parse_duration, parse_local_time
from bot.reports import chart, render
from bot.reports.figures import Figures, collect
from bot.reports.proposal import propose
from bot.rollout import RolloutService
from bot.transitions import transition
from storage.db import session_scope
from storage.models import Report
from storage.status import ReportStatus

FINAL = " (end of the window)"  # the period of the launch's last daily report ends so
log = logging.getLogger(__name__)
RETRY_FOR = timedelta(hours=12)  # a report Slack did not take is tried again this long…
RETRY_AFTER = timedelta(minutes=1)  # …from a minute after the attempt that failed


@dataclass(frozen=True)
class PostRef:
    channel: str  # the channel's ID, as Slack answered it
    ts: str
    queued: bool = False  # in the outbox: Slack has not taken it yet (it is retried)


@dataclass(frozen=True)
class ReportContent:
    """What a report says: its figures and, for the executive report, the proposal."""

    kind: str
    period: str
    figures: Figures
    proposal: tuple[str, list[str]] | None  # its title for people, and its reasons


class ReportPublisher(Protocol):
    """Shows a report in the war room; None when it could not (logged)."""

    def publish(self, report: ReportContent) -> PostRef | None: ...

    def attach(self, post: PostRef, png: bytes, filename: str, title: str) -> str | None:
        """An image in the post's thread; its file ID."""
        ...


# the launch communications and their state at a time, one dict each (bot.comms.calendar)
Communications = Callable[[datetime], list[dict[str, Any]]]


def no_communications(at: datetime) -> list[dict[str, Any]]:
    return []


class ReportService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        publisher: ReportPublisher,
        rollout: RolloutService,
        reader: PrometheusReader | None,
        communications: Communications = no_communications,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.publisher = publisher
        self.rollout = rollout
        self.reader = reader
        self.communications = communications

    # ---- the figures -----------------------------------------------------------------------
    def daily_figures(
        self, day: date, until: datetime | None = None, since: datetime | None = None
    ) -> Figures:
        """From `since` (default: the local day's midnight) to `until` (the report's time;
        default: now)."""
        start = since or local_instant(day, time(0), self.playbook.zone)
        end = until or min(
            self.clock.now(), local_instant(day, time(0), self.playbook.zone) + timedelta(days=1)
        )
        title = f"Daily report — {day:%a %d %b %Y}"
        figures = collect(self.engine, self.playbook, self.reader, title, start, end)
        figures.communications = self.communications(end)
        return figures

    def daily_since(self, fire_at: datetime) -> datetime:
        """Where the daily report made at `fire_at` starts: where the plan's previous daily
        report ended, or for the first one the start of the window (the local midnight of
        T's day). So every record from the window's start to the last report (the end of the
        launch) is in exactly one daily report, those after 18:00 included."""
        zone = self.playbook.zone
        launch = self.rollout.launch_at()
        if launch is None:
            return local_instant(fire_at.astimezone(zone).date(), time(0), zone)
        earlier = [
            o.fire_at
            for o in occurrences(self.playbook, launch)
            if o.kind == Kind.DAILY_REPORT and o.fire_at < fire_at
        ]
        window_start = local_instant(launch.astimezone(zone).date(), time(0), zone)
        return max(earlier) if earlier else min(window_start, fire_at)

    def executive_figures(self) -> Figures:
        launch = self.rollout.launch_at()
        if launch is None:
            raise ValueError("no launch time is set (/rollout launch)")
        span = parse_duration(self.playbook.schedule.executive_report_offset)
        after = f"{span.total_seconds() / 3600:g} h"
        end = min(launch + span, max(self.clock.now(), launch + timedelta(minutes=1)))
        title = f"Executive report — first {after} of the external beta"
        figures = collect(self.engine, self.playbook, self.reader, title, launch, end)
        figures.communications = self.communications(end)
        return figures

    # ---- the hooks -------------------------------------------------------------------------
    def on_daily(self, occurrence: Occurrence) -> tuple[str, str | None]:
        at, final = occurrence.fire_at, bool(occurrence.data.get("final"))
        day = at.astimezone(self.playbook.zone).date()
        figures = self._daily_at(day, at, final)
        return self._produce("daily", f"{day.isoformat()}{FINAL if final else ''}", figures)

    def _daily_at(self, day: date, at: datetime, final: bool) -> Figures:
        """The figures of the daily report made at `at`. The last one also takes what its
        own minute brought (the council closing at the end of its meeting): no report
        comes after it."""
        until = at + timedelta(minutes=1) if final else at
        return self.daily_figures(day, until, self.daily_since(at))

    def on_executive(self, occurrence: Occurrence) -> tuple[str, str | None]:
        return self._produce("executive", "T+24h", self.executive_figures())

    def _produce(self, kind: str, period: str, figures: Figures) -> tuple[str, str | None]:
        """Returns (a note for the schedule's record, the report post's ts or None)."""
        proposal = propose(figures) if kind == "executive" else None
        shown = (
            (render.proposal_title(proposal[0], self.playbook.council.advance_percent), proposal[1])
            if proposal
            else None
        )
        row = Report(
            kind=kind,
            period=period,
            created_at=self.clock.now(),
            proposal=proposal[0] if proposal else "",
            figures={**figures.as_json(), "reasons": proposal[1] if proposal else []},
            markdown=render.markdown(figures, self.playbook.zone, shown),
            status=ReportStatus.POSTING,  # ours to post
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
                session.flush()
                session.refresh(row)
        except IntegrityError:
            return f"{kind} report for {period} was already made", None
        outcome, ts = self._post(row.id or 0, ReportContent(kind, period, figures, shown))
        return f"{kind} report #{row.id} stored; {outcome}", ts

    def _post(self, report_id: int, report: ReportContent) -> tuple[str, str | None]:
        """Posts a claimed report and its chart; on failure the report is left for
        `retry_unposted`."""
        kind, period = report.kind, report.period
        post = self.publisher.publish(report)
        if post is None:
            self._settle(report_id, {"status": ReportStatus.UNPOSTED})
            log_event(log, "report.post", kind=kind, period=period, outcome="failed")
            return "Slack did not accept the post; it is tried again on the next ticks", None
        file_id = ""
        note = (
            "queued: Slack has not taken it yet (retried until it does)"
            if post.queued
            else "posted"
        )
        if kind == "daily" and chart.has_chart(report.figures):
            file_id = self._chart(post, report) or ""
            note += (
                " with its chart" if file_id else "; Slack has not taken the chart yet (retried)"
            )
        self._settle(
            report_id,
            {
                "status": ReportStatus.POSTED,
                "channel": post.channel,
                "message_ts": post.ts,
                "chart_file_id": file_id,
            },
        )
        log_event(log, "report.post", kind=kind, period=period, outcome="posted", chart=file_id)
        return note, post.ts

    def _chart(self, post: PostRef, report: ReportContent) -> str | None:
        goals = {k.metric: k.value for k in self.playbook.kpis}
        png = chart.render_png(
            report.figures, goals.get("error_rate"), goals.get("user_satisfaction")
        )
        name = f"daily-report-{report.period}.png"
        return self.publisher.attach(post, png, name, f"{report.figures.title}: chart")

    def _settle(self, report_id: int, values: dict[str, str]) -> None:
        """Ends this replica's claim (only it moves a report out of `posting`)."""
        transition(
            self.engine,
            Report,
            report_id,
            allowed={ReportStatus.POSTING},
            values=values,
            at=self.clock.now(),
        )

    def retry_unposted(self, now: datetime) -> list[str]:
        """Reports of the last `RETRY_FOR` that Slack did not take, posted again (each
        claimed first, so one replica posts it). Returns the periods posted."""
        with Session(self.engine) as session:
            waiting = session.exec(
                select(Report).where(
                    Report.status == ReportStatus.UNPOSTED,
                    Report.created_at >= now - RETRY_FOR,
                    Report.created_at <= now - RETRY_AFTER,  # not in the tick that just failed
                )
            ).all()
        posted = []
        for report in waiting:
            claimed = transition(
                self.engine,
                Report,
                report.id or 0,
                allowed={ReportStatus.UNPOSTED},
                values={"status": ReportStatus.POSTING},
                at=now,
            )
            if not claimed:
                continue  # another replica has it
            _, ts = self._post(report.id or 0, self._content_again(report))
            if ts:
                posted.append(report.period)
        return posted

    def _content_again(self, report: Report) -> ReportContent:
        """A stored report's content, collected again for the period it covers."""
        if report.kind != "daily":
            figures = self.executive_figures()
            return ReportContent(report.kind, report.period, figures, propose(figures))
        final = report.period.endswith(FINAL)
        day = date.fromisoformat(report.period.removesuffix(FINAL))
        launch = self.rollout.launch_at()
        last = [
            o.fire_at
            for o in (occurrences(self.playbook, launch) if launch else [])
            if o.kind == Kind.DAILY_REPORT and o.data.get("final")
        ]
        at = (
            last[0]
            if final and last
            else local_instant(
                day, parse_local_time(self.playbook.feedback.daily_report_at), self.playbook.zone
            )
        )
        return ReportContent(report.kind, report.period, self._daily_at(day, at, final), None)

    # ---- reading back ----------------------------------------------------------------------
    def latest(self, kind: str) -> Report | None:
        with Session(self.engine) as session:
            return session.exec(
                select(Report).where(Report.kind == kind).order_by(col(Report.id).desc())
            ).first()
