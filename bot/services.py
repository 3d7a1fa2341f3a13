"""The composition root: settings + playbook → engine, clients, poster, authorizer, and each
service built once with everything it needs as constructor arguments. Entry points (the CLI,
the local workspace, tests) hold the result; Slack listeners get only what their surface
uses (bot/app.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine

from bot.authz import Authorizer
from bot.cadence.checklists import ChecklistService
from bot.cadence.council import CouncilService
from bot.cadence.plan import Kind
from bot.cadence.planner import Planner
from bot.cadence.posts import CadencePosts
from bot.cadence.runs import Handler, report_handler
from bot.clock import Clock, SystemClock
from bot.completion import CompletionService
from bot.edge import forget_old_deliveries
from bot.feedback import FeedbackService
from bot.flags.base import FlagProvider
from bot.flags.factory import build_provider
from bot.flags.flagd_mirror import MirroredProvider, flagd_writer
from bot.flags.health import provider_line
from bot.flags.ofrep import OfrepStore
from bot.home import HomeService
from bot.integrations.pagerduty import PagerDuty
from bot.metrics.evaluator import TriggerEvaluator
from bot.metrics.kpis import kpi_lines, live_values
from bot.metrics.prometheus import PrometheusReader
from bot.observability import BotMetrics
from bot.playbook import Playbook, load_playbook
from bot.replica import replica_id
from bot.reports.service import ReportService
from bot.rollback.display import RequestDisplay
from bot.rollback.model import MttrGoal
from bot.rollback.runner import RunbookRunner
from bot.rollback.service import RollbackService
from bot.rollback.steps import StepKit, build_steps
from bot.rollback.store import RequestStore
from bot.rollout import RolloutService
from bot.settings import Settings
from bot.slack_out.cadence_notifier import SlackCadenceNotifier
from bot.slack_out.clients import sync_client
from bot.slack_out.feedback_notifier import SlackFeedbackNotifier
from bot.slack_out.metrics_notifier import SlackTriggerNotifier
from bot.slack_out.poster import Poster
from bot.slack_out.report_publisher import SlackReportPublisher
from bot.slack_out.rollback_notifier import SlackRollbackNotifier
from bot.slack_out.rollout_announcer import WarRoomAnnouncer
from bot.slack_out.ticket_notifier import SlackTicketNotifier
from bot.slack_out.usergroups import UserGroupResolver
from bot.tickets import TicketService
from schedules.jobs import WarroomScheduler
from schedules.runner import ScheduleRunner
from storage import migrate
from storage.db import make_engine


class Background:
    """What a running bot does beside answering Slack; built first, so the services that
    move the schedule (a new launch time) can be handed `resync` at construction."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.scheduler: WarroomScheduler | None = None

    def resync(self) -> None:
        """A new launch time T moves every scheduled post."""
        if self.scheduler:
            self.scheduler.sync()


@dataclass(frozen=True)
class Services:
    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    replica: str
    metrics: BotMetrics
    poster: Poster
    authz: Authorizer
    reader: PrometheusReader | None
    rollout: RolloutService
    rollback: RollbackService
    runbook: RunbookRunner
    planner: Planner
    checklists: ChecklistService
    council: CouncilService
    schedule: ScheduleRunner
    evaluator: TriggerEvaluator
    feedback: FeedbackService
    tickets: TicketService
    reports: ReportService
    completion: CompletionService
    home: HomeService
    background: Background = field(default_factory=Background)
    ofrep: OfrepStore | None = None  # the embedded store served over OFREP (embedded only)

    def kpi_lines(self) -> list[str]:
        """The launch KPIs' live values as lines for people (no Prometheus: says so)."""
        return kpi_lines(self.playbook, self.reader)

    def start_background(self, scheduler: bool = True) -> None:
        """Resume in-flight runbooks now, keep watching for those a dead replica left behind,
        route feedback, and run the schedule (the local workspace drives the schedule itself,
        on its own clock, and routes feedback as it is filed)."""
        self.runbook.resume_in_flight()
        self.runbook.watch(self.background.stopping, self.rollback.housekeeping, self._forget)
        if scheduler:
            self.feedback.start_router(self.background.stopping)
            self.background.scheduler = WarroomScheduler(self.schedule, self.evaluator)
            self.background.scheduler.start()

    def _forget(self) -> None:
        forget_old_deliveries(self.engine, self.clock)

    def health(self) -> dict[str, Any]:
        """What /healthz reports beside "ok": the playbook and the scheduler's state."""
        health = self.schedule.health()
        scheduler = self.background.scheduler
        return {
            "playbook": self.playbook.name,
            "scheduler": {
                "running": bool(scheduler and scheduler.running),
                "next_run": health.next_run.isoformat() if health.next_run else None,
                "missed_last_24h": health.missed_last_24h,
            },
        }

    def stop_background(self) -> None:
        self.background.stopping.set()
        if self.background.scheduler:
            self.background.scheduler.stop()


@dataclass(frozen=True)
class _Base:
    """What every service is built from."""

    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    replica: str
    metrics: BotMetrics
    poster: Poster
    authz: Authorizer
    reader: PrometheusReader | None
    background: Background


def _base(settings: Settings, playbook: Playbook, clock: Clock, upgrade_db: bool) -> _Base:
    engine = make_engine(settings.database_url)
    if upgrade_db:
        migrate.upgrade(engine)
    metrics = BotMetrics()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    web = sync_client(token, settings.api_url, metrics)
    prometheus_token = settings.prometheus_token
    reader = (
        PrometheusReader(
            settings.prometheus_url,
            playbook,
            prometheus_token.get_secret_value() if prometheus_token else None,
        )
        if settings.prometheus_url
        else None
    )
    return _Base(
        settings=settings,
        playbook=playbook,
        clock=clock,
        engine=engine,
        replica=replica_id(settings.warroom_replica_id),
        metrics=metrics,
        poster=Poster(web),
        authz=Authorizer(playbook, UserGroupResolver(web), clock),
        reader=reader,
        background=Background(),
    )


def _flags(b: _Base) -> tuple[FlagProvider, OfrepStore | None]:
    """The playbook's provider; the embedded one is also served over OFREP and, with
    WARROOM_FLAGD_FILE, mirrored to a flagd file after every change."""
    flags = build_provider(b.playbook, b.settings, b.engine, b.clock)
    if flags.name != "embedded":
        return flags, None
    store = OfrepStore(b.engine)
    hooks = [store.invalidate]
    if b.settings.warroom_flagd_file:
        hooks.append(flagd_writer(b.engine, b.settings.warroom_flagd_file))
    return MirroredProvider(flags, hooks), store


def _rollout(b: _Base) -> tuple[RolloutService, OfrepStore | None]:
    announcer = WarRoomAnnouncer(b.poster, b.playbook.channels.war_room, b.playbook.zone)
    flags, store = _flags(b)
    rollout = RolloutService(
        b.engine, b.playbook, flags, b.authz, b.clock, announcer, on_launch=b.background.resync
    )
    rollout.seed_flags()
    return rollout, store


def _rollback(
    b: _Base, rollout: RolloutService, sleep: Callable[[float], None]
) -> tuple[RollbackService, RunbookRunner]:
    """The runner first, so the service is handed its `start` at construction."""
    store = RequestStore(b.engine, b.playbook)
    notifier = SlackRollbackNotifier(
        b.poster, b.playbook.zone, b.playbook.channels.war_room, MttrGoal.of(b.playbook)
    )
    display = RequestDisplay(store, notifier)
    kit = StepKit(b.playbook, b.settings, b.clock, rollout, store, display, b.reader, sleep)
    runbook = RunbookRunner(
        store,
        display,
        build_steps(kit),
        b.playbook,
        b.clock,
        b.authz,
        owner=b.replica,
        sleep=sleep,
        lease_seconds=b.settings.warroom_runbook_lease_seconds,
    )
    rollback = RollbackService(
        store, display, b.playbook, b.authz, b.clock, rollout, start_runbook=runbook.start
    )
    return rollback, runbook


def _evaluator(b: _Base, rollback: RollbackService) -> TriggerEvaluator:
    key = b.settings.pagerduty_routing_key
    return TriggerEvaluator(
        b.engine,
        b.playbook,
        b.clock,
        b.reader,
        rollback,
        SlackTriggerNotifier(b.poster, b.playbook),
        b.settings.prometheus_url or "",
        pager=PagerDuty(key.get_secret_value(), b.settings.pagerduty_events_url) if key else None,
    )


def _reports(b: _Base, rollout: RolloutService) -> ReportService:
    publisher = SlackReportPublisher(b.poster, b.playbook.channels.war_room, b.playbook.zone)
    return ReportService(b.engine, b.playbook, b.clock, publisher, rollout, b.reader)


def _cadence(
    b: _Base, rollout: RolloutService
) -> tuple[Planner, ChecklistService, CouncilService, CadencePosts]:
    notifier = SlackCadenceNotifier(b.poster, b.playbook, b.playbook.channels.war_room)
    reader, playbook = b.reader, b.playbook
    health = partial(provider_line, rollout.flags, playbook.flags)
    if reader is not None:
        checklists = ChecklistService(
            b.engine,
            playbook,
            b.clock,
            notifier,
            lambda names: kpi_lines(playbook, reader, names),
            flag_health=health,
            roles_of=b.authz.roles_of,
        )
        posts = CadencePosts(playbook, notifier, lambda names: live_values(reader, playbook, names))
    else:
        checklists = ChecklistService(
            b.engine, playbook, b.clock, notifier, flag_health=health, roles_of=b.authz.roles_of
        )
        posts = CadencePosts(playbook, notifier)
    council = CouncilService(b.engine, playbook, b.clock, b.authz, rollout, notifier)
    return Planner(b.engine, playbook, b.clock, rollout), checklists, council, posts


def _runner(
    b: _Base,
    planner: Planner,
    checklists: ChecklistService,
    council: CouncilService,
    posts: CadencePosts,
    feedback: FeedbackService,
    tickets: TicketService,
    reports: ReportService,
    housekeeping: Callable[[], None],
) -> ScheduleRunner:
    handlers: dict[str, Handler] = {
        Kind.SHIFT: checklists.post,
        Kind.SYNC: posts.sync,
        Kind.MILESTONE: posts.milestone,
        Kind.SNAPSHOT: posts.snapshot,
        Kind.COUNCIL: council.post,
        Kind.COUNCIL_CLOSE: council.close_at_end,
        Kind.DAILY_REPORT: report_handler(reports.on_daily),
        Kind.EXECUTIVE_REPORT: report_handler(reports.on_executive),
    }
    periodic = [
        checklists.follow_up,
        council.close_due,
        tickets.flag_overdue,
        lambda _now: feedback.route_soon(),
        reports.retry_unposted,
        lambda _now: housekeeping(),  # rollback expiry, post-mortem reminders: on the clock
    ]
    return ScheduleRunner(
        b.engine, b.playbook, b.clock, planner, handlers, periodic, replica_id=b.replica
    )


def _home(
    b: _Base,
    rollout: RolloutService,
    rollback: RollbackService,
    completion: CompletionService,
    planner: Planner,
) -> HomeService:
    reader, playbook = b.reader, b.playbook
    return HomeService(
        b.engine,
        playbook,
        b.clock,
        rollout,
        rollback,
        completion,
        lambda: kpi_lines(playbook, reader),
        planner.upcoming,
        b.authz.roles_of,
    )


def build_services(
    settings: Settings,
    playbook: Playbook | None = None,
    clock: Clock | None = None,
    upgrade_db: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Services:
    b = _base(
        settings,
        playbook or load_playbook(settings.warroom_playbook),
        clock or SystemClock(),
        upgrade_db,
    )
    rollout, ofrep = _rollout(b)
    rollback, runbook = _rollback(b, rollout, sleep)
    planner, checklists, council, posts = _cadence(b, rollout)
    feedback = FeedbackService(
        b.engine, b.playbook, b.clock, SlackFeedbackNotifier(b.poster, b.playbook), b.authz
    )
    tickets = TicketService(
        b.engine, b.playbook, b.clock, SlackTicketNotifier(b.poster, b.playbook)
    )
    reports = _reports(b, rollout)
    schedule = _runner(
        b, planner, checklists, council, posts, feedback, tickets, reports, rollback.housekeeping
    )
    completion = CompletionService(
        b.engine, b.playbook, b.clock, b.authz, rollout, rollback, reports, b.reader is not None
    )
    return Services(
        settings=b.settings,
        playbook=b.playbook,
        clock=b.clock,
        engine=b.engine,
        replica=b.replica,
        metrics=b.metrics,
        poster=b.poster,
        authz=b.authz,
        reader=b.reader,
        rollout=rollout,
        rollback=rollback,
        runbook=runbook,
        planner=planner,
        checklists=checklists,
        council=council,
        schedule=schedule,
        evaluator=_evaluator(b, rollback),
        feedback=feedback,
        tickets=tickets,
        reports=reports,
        completion=completion,
        home=_home(b, rollout, rollback, completion, planner),
        background=b.background,
        ofrep=ofrep,
    )
