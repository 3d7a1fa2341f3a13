"""The composition root: settings + playbook → engine, clients, poster, authorizer, and each
service built once with everything it needs as constructor arguments. Entry points (the CLI,
the local workspace, tests) hold the result; Slack listeners get only what their surface
uses (bot/app.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.authz import Authorizer
from bot.cadence.checklists import ChecklistService
from bot.cadence.council import CouncilService
from bot.cadence.milestones import MilestoneService
from bot.cadence.planner import Planner
from bot.clock import Clock, SystemClock
from bot.comms.calendar import CommsCalendar
from bot.comms.staffing import StaffingService
from bot.completion import CompletionService
from bot.edge import forget_old_deliveries
from bot.feedback import FeedbackService
from bot.flags.ofrep import OfrepStore
from bot.home import HomeService
from bot.metrics.evaluator import TriggerEvaluator
from bot.metrics.kpis import kpi_lines
from bot.metrics.prometheus import PrometheusReader
from bot.observability import BotMetrics
from bot.phase2 import BacklogService, LessonService, RiskService
from bot.playbook import Playbook, load_playbook
from bot.reports.service import ReportService
from bot.rollback.runner import RunbookRunner
from bot.rollback.service import RollbackService
from bot.rollout import RolloutService
from bot.settings import Settings
from bot.slack_out.feedback_notifier import SlackFeedbackNotifier
from bot.slack_out.outbox import Outbox
from bot.tickets import TicketService
from bot.wiring import comms as gtm
from bot.wiring import core
from bot.wiring import phase2 as readiness
from bot.wiring.base import Background, base
from bot.wiring.milestones import milestones
from schedules.jobs import WarroomScheduler
from schedules.runner import ScheduleRunner


@dataclass(frozen=True)
class Services:
    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    replica: str
    metrics: BotMetrics
    poster: Outbox
    authz: Authorizer
    reader: PrometheusReader | None
    rollout: RolloutService
    rollback: RollbackService
    runbook: RunbookRunner
    planner: Planner
    checklists: ChecklistService
    council: CouncilService
    milestones: MilestoneService
    schedule: ScheduleRunner
    evaluator: TriggerEvaluator
    feedback: FeedbackService
    tickets: TicketService
    reports: ReportService
    completion: CompletionService
    home: HomeService
    backlog: BacklogService
    risks: RiskService
    lessons: LessonService
    comms: CommsCalendar
    staffing: StaffingService
    background: Background = field(default_factory=Background)
    ofrep: OfrepStore | None = None  # the embedded store served over OFREP (embedded only)

    def kpi_lines(self) -> list[str]:
        """The launch KPIs' live values as lines for people (no Prometheus: says so)."""
        return kpi_lines(self.playbook, self.reader)

    def start_background(self, scheduler: bool = True) -> None:
        """Resume in-flight runbooks now and begin signed requests left unstarted, keep
        watching for those a dead replica left behind, route feedback, and run the schedule
        (the local workspace drives the schedule itself, on its own clock, and routes
        feedback as it is filed)."""
        self.runbook.resume_in_flight()
        self.rollback.start_signed()
        self.runbook.watch(self.background.stopping, self.rollback.housekeeping, self._forget)
        if scheduler:
            self.poster.start(self.background.stopping)  # posts leave through the outbox
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


def build_services(
    settings: Settings,
    playbook: Playbook | None = None,
    clock: Clock | None = None,
    upgrade_db: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Services:
    b = base(
        settings,
        playbook or load_playbook(settings.warroom_playbook),
        clock or SystemClock(),
        upgrade_db,
    )
    rollout, ofrep = core.rollout(b)
    calendar, staffing = gtm.comms(b, rollout)
    rollback, runbook = core.rollback(b, rollout, sleep, calendar.pause_for_rollback)
    cadence = core.cadence(b, rollout)
    planner, checklists, council, _ = cadence
    feedback = FeedbackService(
        b.engine, b.playbook, b.clock, SlackFeedbackNotifier(b.poster, b.playbook), b.authz
    )
    tickets = gtm.tickets(b, staffing)
    reports = core.reports(b, rollout, calendar.report)
    more = gtm.handlers(calendar, staffing), gtm.periodic(calendar, staffing)
    schedule = core.runner(b, cadence, feedback, tickets, reports, rollback.housekeeping, more)
    backlog, risks, lessons = readiness.phase2(b)
    completion = core.completion(b, rollout, rollback, reports, backlog, lessons, calendar.report)
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
        milestones=milestones(b, rollout),
        schedule=schedule,
        evaluator=core.evaluator(b, rollback),
        feedback=feedback,
        tickets=tickets,
        reports=reports,
        completion=completion,
        home=core.home(b, rollout, rollback, completion, planner, backlog, risks, calendar.report),
        backlog=backlog,
        risks=risks,
        lessons=lessons,
        comms=calendar,
        staffing=staffing,
        background=b.background,
        ofrep=ofrep,
    )
