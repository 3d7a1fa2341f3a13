"""Wiring: settings + playbook → engine, clients, poster, authorizer and services."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
from bot.rollback.display import RequestDisplay
from bot.rollback.model import MttrGoal
from bot.rollback.runner import RunbookRunner
from bot.rollback.service import RollbackService
from bot.rollback.steps import StepKit, build_steps
from bot.rollback.store import RequestStore
from bot.rollout import RolloutService
from bot.settings import Settings
from bot.slack_out.clients import sync_client
from bot.slack_out.poster import Poster, WarRoomAnnouncer
from bot.slack_out.rollback_notifier import SlackRollbackNotifier
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
    runbook: RunbookRunner
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
        self.runbook.watch(self.stopping, self.rollback.housekeeping)
        if scheduler:
            self.feedback.start_router(self.stopping)
            self.scheduler = WarroomScheduler(self.schedule, self.evaluator)
            self.scheduler.start()
            self.rollout.on_launch.append(self.scheduler.sync)

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
    rollout = RolloutService(engine, playbook, flags, authz, clock, announcer)
    rollout.seed_flags()
    reader = (
        PrometheusReader(
            settings.prometheus_url,
            playbook,
            settings.prometheus_token.get_secret_value() if settings.prometheus_token else None,
        )
        if settings.prometheus_url
        else None
    )
    rollback_store = RequestStore(engine, playbook)
    notifier = SlackRollbackNotifier(
        poster, playbook.zone, playbook.channels.war_room, MttrGoal.of(playbook)
    )
    display = RequestDisplay(rollback_store, notifier)
    kit = StepKit(playbook, settings, clock, rollout, rollback_store, display, reader, sleep)
    runbook = RunbookRunner(
        rollback_store,
        display,
        build_steps(kit),
        playbook,
        clock,
        authz,
        sleep=sleep,
        lease_seconds=settings.warroom_runbook_lease_seconds,
    )
    rollback = RollbackService(
        rollback_store, display, playbook, authz, clock, rollout, start_runbook=runbook.start
    )
    evaluator = TriggerEvaluator(
        engine, playbook, clock, reader, rollback, poster, settings.prometheus_url or ""
    )
    if settings.pagerduty_routing_key:
        evaluator.pager = PagerDuty(
            settings.pagerduty_routing_key.get_secret_value(), settings.pagerduty_events_url
        )
    schedule = ScheduleService(engine, playbook, clock, rollout, authz, poster, runbook.owner)
    if reader is not None:
        schedule.snapshot_values = lambda names: live_values(reader, playbook, names)
        schedule.live_lines = lambda names: kpi_lines(playbook, reader, names)
    feedback = FeedbackService(engine, playbook, clock, poster, authz)
    tickets = TicketService(engine, playbook, clock, poster)
    reports = ReportService(engine, playbook, clock, poster, rollout, reader)
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
        rollout,
        rollback,
        schedule,
        completion,
        lambda: kpi_lines(playbook, reader),
        authz.roles_of,
    )
    return Services(
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
