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

from bot.clock import Clock
from bot.metrics.prometheus import PrometheusReader
from bot.observability import log_event
from bot.playbook import Playbook
from bot.reports import chart, render
from bot.reports.figures import Figures, collect
from bot.reports.proposal import propose
from bot.rollout import RolloutService
from bot.slack_out.poster import Poster
from schedules.plan import Occurrence, local_instant
from storage.db import session_scope
from storage.models import Report

log = logging.getLogger(__name__)


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
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
                session.flush()
                session.refresh(row)
        except IntegrityError:
            return f"{kind} report for {period} was already made", None
        posted = self.poster.post_message(
            self.playbook.channels.war_room,
            figures.title,
            render.blocks(figures, self.playbook.zone, proposal),
        )
        note = f"{kind} report #{row.id} stored"
        if posted is None:
            log_event(log, "report.post", kind=kind, period=period, outcome="failed")
            return note + "; Slack did not accept the post (the Markdown export has it)", None
        channel, ts = posted
        file_id = ""
        if kind == "daily" and chart.has_chart(figures):
            goals = {k.metric: k.value for k in self.playbook.kpis}
            png = chart.render_png(figures, goals.get("error_rate"), goals.get("user_satisfaction"))
            file_id = (
                self.poster.upload(
                    channel, ts, png, f"daily-report-{period}.png", f"{figures.title}: chart"
                )
                or ""
            )
            if not file_id:
                note += "; the chart could not be uploaded"
        with session_scope(self.engine) as session:
            stored = session.get(Report, row.id)
            assert stored is not None
            stored.channel, stored.message_ts, stored.chart_file_id = channel, ts, file_id
            session.add(stored)
        log_event(log, "report.post", kind=kind, period=period, outcome="posted", chart=file_id)
        return note + "; posted" + (" with its chart" if file_id else ""), ts

    # ---- reading back ----------------------------------------------------------------------
    def stored(self, since: datetime | None = None) -> list[Report]:
        with Session(self.engine) as session:
            query = select(Report).order_by(col(Report.created_at))
            if since:
                query = query.where(Report.created_at >= since)
            return list(session.exec(query))

    def latest(self, kind: str) -> Report | None:
        with Session(self.engine) as session:
            return session.exec(
                select(Report).where(Report.kind == kind).order_by(col(Report.id).desc())
            ).first()
