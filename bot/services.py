"""Wiring: settings + playbook → engine, clients, poster, authorizer and services."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.authz import Authorizer
from bot.clock import Clock, SystemClock
from bot.completion import CompletionService
from bot.feedback import FeedbackService
from bot.flags.embedded import EmbeddedFlagProvider
from bot.home import HomeService
from bot.integrations import IntegrationError
from bot.integrations.pagerduty import PagerDuty
from bot.metrics.evaluator import TriggerEvaluator
from bot.metrics.kpis import kpi_lines
from bot.metrics.prometheus import PrometheusReader
from bot.observability import BotMetrics
from bot.playbook import Playbook, load_playbook
from bot.reports.service import ReportService
from bot.rollback.runbook import Runbook
from bot.rollback.service import RollbackService
from bot.rollout import RolloutService
from bot.settings import Settings
from bot.slack_out.clients import sync_client
from bot.slack_out.feedback_notifier import SlackFeedbackNotifier
from bot.slack_out.metrics_notifier import SlackTriggerNotifier
from bot.slack_out.poster import Poster, SlackRollbackNotifier
from bot.slack_out.report_publisher import SlackReportPublisher
from bot.slack_out.rollout_announcer import WarRoomAnnouncer
from bot.slack_out.ticket_notifier import SlackTicketNotifier
from bot.slack_out.usergroups import UserGroupResolver
from bot.tickets import TicketService
from schedules.jobs import WarroomScheduler
from schedules.service import ScheduleService
from storage import migrate
from storage.db import make_engine


@dataclass
class Services:
    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    metrics: BotMetrics
    poster: Poster
    authz: Authorizer
    rollout: RolloutService
    rollback: RollbackService
    runbook: Runbook
    schedule: ScheduleService
    evaluator: TriggerEvaluator
    feedback: FeedbackService
    tickets: TicketService
    reports: ReportService
    completion: CompletionService
    home: HomeService
    stopping: threading.Event = field(default_factory=threading.Event)
    scheduler: WarroomScheduler | None = None

    def start_background(self, scheduler: bool = True) -> None:
        """What a running bot does beside answering Slack: resume in-flight runbooks now,
        keep watching for those a dead replica left behind, route feedback, and run the
        schedule (the local workspace drives the schedule itself, on its own clock, and
        routes feedback as it is filed)."""
        self.runbook.resume_in_flight()
        self.runbook.watch(self.stopping)
        if scheduler:
            self.feedback.start_router(self.stopping)
            self.scheduler = WarroomScheduler(self.schedule, self.evaluator)
            self.scheduler.start()

    def resync_schedule(self) -> None:
        """A new launch time T moves every scheduled post."""
        if self.scheduler:
            self.scheduler.sync()

    def health(self) -> dict[str, Any]:
        """What /healthz reports beside "ok": the playbook and the scheduler's state."""
        health = self.schedule.health()
        return {
            "playbook": self.playbook.name,
            "scheduler": {
                "running": bool(self.scheduler and self.scheduler.running),
                "next_run": health.next_run.isoformat() if health.next_run else None,
                "missed_last_24h": health.missed_last_24h,
            },
        }

    def stop_background(self) -> None:
        self.stopping.set()
        if self.scheduler:
            self.scheduler.stop()


def live_values(reader: PrometheusReader, playbook: Playbook, names: list[str]) -> dict[str, str]:
    """Current values for people: the number, its unit and its freshness, or why not."""
    values = {}
    for name in names:
        try:
            reading = reader.read(name)
        except IntegrationError as exc:
            values[name] = f"could not read: {exc.message}"
            continue
        if reading is None:
            values[name] = "no data from Prometheus"
        else:
            unit = playbook.metrics[name].unit
            at = reading.at.astimezone(playbook.zone).strftime("%H:%M:%S")
            values[name] = f"{reading.value:.4g} {unit} (as of {at})"
    return values


def build_services(
    settings: Settings,
    playbook: Playbook | None = None,
    clock: Clock | None = None,
    upgrade_db: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Services:
    playbook = playbook or load_playbook(settings.warroom_playbook)
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if upgrade_db:
        migrate.upgrade(engine)
    metrics = BotMetrics()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    web = sync_client(token, settings.api_url, metrics)
    poster = Poster(web)
    authz = Authorizer(playbook, UserGroupResolver(web), clock)
    announcer = WarRoomAnnouncer(poster, playbook.channels.war_room, playbook.zone)
    flags = EmbeddedFlagProvider(engine, clock)
    rollout = RolloutService(
        engine,
        playbook,
        flags,
        authz,
        clock,
        announcer,
        on_launch=lambda: services.resync_schedule(),
    )
    rollout.seed_flags()
    rollback = RollbackService(
        engine,
        playbook,
        authz,
        clock,
        rollout,
        SlackRollbackNotifier(poster, playbook.zone, playbook.channels.war_room),
    )
    runbook = Runbook(
        engine,
        playbook,
        settings,
        clock,
        rollout,
        rollback,
        sleep=sleep,
        lease_seconds=settings.warroom_runbook_lease_seconds,
    )
    rollback.start_runbook = runbook.start
    reader = (
        PrometheusReader(
            settings.prometheus_url,
            playbook,
            settings.prometheus_token.get_secret_value() if settings.prometheus_token else None,
        )
        if settings.prometheus_url
        else None
    )
    runbook.metrics = reader
    evaluator = TriggerEvaluator(
        engine,
        playbook,
        clock,
        reader,
        rollback,
        SlackTriggerNotifier(poster, playbook),
        settings.prometheus_url or "",
        pager=PagerDuty(
            settings.pagerduty_routing_key.get_secret_value(), settings.pagerduty_events_url
        )
        if settings.pagerduty_routing_key
        else None,
    )
    schedule = ScheduleService(engine, playbook, clock, rollout, authz, poster, runbook.owner)
    if reader is not None:
        schedule.snapshot_values = lambda names: live_values(reader, playbook, names)
        schedule.live_lines = lambda names: kpi_lines(playbook, reader, names)
    feedback = FeedbackService(
        engine, playbook, clock, SlackFeedbackNotifier(poster, playbook), authz
    )
    tickets = TicketService(engine, playbook, clock, SlackTicketNotifier(poster, playbook))
    reports = ReportService(
        engine,
        playbook,
        clock,
        SlackReportPublisher(poster, playbook.channels.war_room, playbook.zone),
        rollout,
        reader,
    )
    schedule.hooks["daily_report"] = reports.on_daily
    schedule.hooks["executive_report"] = reports.on_executive
    schedule.periodic += [
        tickets.flag_overdue,
        lambda _now: feedback.route_soon(),
        reports.retry_unposted,
    ]
    completion = CompletionService(
        engine, playbook, clock, authz, rollout, rollback, reports, reader is not None
    )
    home = HomeService(
        engine,
        playbook,
        clock,
        rollout,
        rollback,
        completion,
        lambda: kpi_lines(playbook, reader),
        schedule.upcoming,
        authz.roles_of,
    )
    services = Services(
        settings,
        playbook,
        clock,
        engine,
        metrics,
        poster,
        authz,
        rollout,
        rollback,
        runbook,
        schedule,
        evaluator,
        feedback,
        tickets,
        reports,
        completion,
        home,
    )
    return services
