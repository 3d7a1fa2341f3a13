"""Producing a report: collect the figures, store them with their Markdown, post the report
to the war room and its chart in the report's thread. Registered as the schedule's
`daily_report` and `executive_report` hooks; a report is stored once per period (a second
call returns the stored one and posts nothing)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.cadence.plan import Occurrence, local_instant
from bot.clock import Clock
from bot.metrics.prometheus import PrometheusReader
from bot.observability import log_event
from bot.playbook import Playbook, parse_local_time
from bot.reports import chart, render
from bot.reports.figures import Figures, collect
from bot.reports.proposal import propose
from bot.rollout import RolloutService
from bot.slack_out.poster import Poster
from storage.claims import claim
from storage.db import session_scope
from storage.models import Report

log = logging.getLogger(__name__)
POSTING = "posting"  # message_ts while one replica posts the report
RETRY_FOR = timedelta(hours=12)  # a report Slack did not take is tried again this long…
RETRY_AFTER = timedelta(minutes=1)  # …from a minute after the attempt that failed


class ReportService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        poster: Poster,
        rollout: RolloutService,
        reader: PrometheusReader | None,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.poster = poster
        self.rollout = rollout
        self.reader = reader

    # ---- the figures -----------------------------------------------------------------------
    def daily_figures(self, day: date, until: datetime | None = None) -> Figures:
        """The local day from midnight to `until` (the report's time; default: now)."""
        start = local_instant(day, time(0), self.playbook.zone)
        end = until or min(self.clock.now(), start + timedelta(days=1))
        return collect(
            self.engine, self.playbook, self.reader, f"Daily report — {day:%a %d %b %Y}", start, end
        )

    def executive_figures(self) -> Figures:
        launch = self.rollout.launch_at()
        if launch is None:
            raise ValueError("no launch time is set (/rollout launch)")
        return collect(
            self.engine,
            self.playbook,
            self.reader,
            "Executive report — first 24 h of the external beta",
            launch,
            min(launch + timedelta(hours=24), max(self.clock.now(), launch + timedelta(minutes=1))),
        )

    # ---- the hooks -------------------------------------------------------------------------
    def on_daily(self, occurrence: Occurrence) -> tuple[str, str | None]:
        day = occurrence.fire_at.astimezone(self.playbook.zone).date()
        return self._produce("daily", day.isoformat(), self.daily_figures(day, occurrence.fire_at))

    def on_executive(self, occurrence: Occurrence) -> tuple[str, str | None]:
        return self._produce("executive", "T+24h", self.executive_figures())

    def _produce(self, kind: str, period: str, figures: Figures) -> tuple[str, str | None]:
        """Returns (a note for the schedule's record, the report post's ts or None)."""
        proposal = propose(figures) if kind == "executive" else None
        row = Report(
            kind=kind,
            period=period,
            created_at=self.clock.now(),
            proposal=proposal[0] if proposal else "",
            figures={**figures.as_json(), "reasons": proposal[1] if proposal else []},
            markdown=render.markdown(figures, self.playbook.zone, proposal),
            message_ts=POSTING,  # ours to post; "" would invite a retry from another replica
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
                session.flush()
                session.refresh(row)
        except IntegrityError:
            return f"{kind} report for {period} was already made", None
        outcome, ts = self._post(row.id or 0, kind, period, figures, proposal)
        return f"{kind} report #{row.id} stored; {outcome}", ts

    def _post(
        self,
        report_id: int,
        kind: str,
        period: str,
        figures: Figures,
        proposal: tuple[str, list[str]] | None,
    ) -> tuple[str, str | None]:
        """Posts a stored report and its chart; on failure the report is left for
        `retry_unposted` (message_ts "")."""
        posted = self.poster.post_message(
            self.playbook.channels.war_room,
            figures.title,
            render.blocks(figures, self.playbook.zone, proposal),
        )
        if posted is None:
            claim(self.engine, Report, [col(Report.id) == report_id], {"message_ts": ""})
            log_event(log, "report.post", kind=kind, period=period, outcome="failed")
            return "Slack did not accept the post; it is tried again on the next ticks", None
        channel, ts = posted
        file_id, note = "", "posted"
        if kind == "daily" and chart.has_chart(figures):
            goals = {k.metric: k.value for k in self.playbook.kpis}
            png = chart.render_png(figures, goals.get("error_rate"), goals.get("user_satisfaction"))
            name = f"daily-report-{period}.png"
            file_id = self.poster.upload(channel, ts, png, name, f"{figures.title}: chart") or ""
            note += " with its chart" if file_id else "; the chart could not be uploaded"
        claim(
            self.engine,
            Report,
            [col(Report.id) == report_id],
            {"channel": channel, "message_ts": ts, "chart_file_id": file_id},
        )
        log_event(log, "report.post", kind=kind, period=period, outcome="posted", chart=file_id)
        return note, ts

    def retry_unposted(self, now: datetime) -> list[str]:
        """Reports of the last `RETRY_FOR` that Slack did not take, posted again (each
        claimed first, so one replica posts it). Returns the periods posted."""
        with Session(self.engine) as session:
            waiting = session.exec(
                select(Report).where(
                    Report.message_ts == "",
                    Report.created_at >= now - RETRY_FOR,
                    Report.created_at <= now - RETRY_AFTER,  # not in the tick that just failed
                )
            ).all()
        posted = []
        for report in waiting:
            where = [col(Report.id) == report.id, col(Report.message_ts) == ""]
            if not claim(self.engine, Report, where, {"message_ts": POSTING}):
                continue  # another replica has it
            if report.kind == "daily":
                day = date.fromisoformat(report.period)
                at = local_instant(
                    day,
                    parse_local_time(self.playbook.feedback.daily_report_at),
                    self.playbook.zone,
                )
                figures, proposal = self.daily_figures(day, at), None
            else:
                figures = self.executive_figures()
                proposal = propose(figures)
            _, ts = self._post(report.id or 0, report.kind, report.period, figures, proposal)
            if ts:
                posted.append(report.period)
        return posted

    # ---- reading back ----------------------------------------------------------------------
    def latest(self, kind: str) -> Report | None:
        with Session(self.engine) as session:
            return session.exec(
                select(Report).where(Report.kind == kind).order_by(col(Report.id).desc())
            ).first()
