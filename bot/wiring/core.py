"""One builder per part of the bot, each taking the `Base` and the services it needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from bot.cadence.checklists import ChecklistService
from bot.cadence.council import CouncilService
from bot.cadence.plan import Kind
from bot.cadence.planner import Planner
from bot.cadence.posts import CadencePosts
from bot.cadence.runs import Handler, report_handler
from bot.completion import CompletionService
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
from bot.phase2 import BacklogService, LessonService, RiskService
from bot.reports.service import Communications, ReportService
from bot.rollback.display import RequestDisplay
from bot.rollback.model import MttrGoal
from bot.rollback.runner import RunbookRunner
from bot.rollback.service import RollbackService
from bot.rollback.steps import StepKit, build_steps
from bot.rollback.store import RequestStore
from bot.rollout import RolloutService
from bot.slack_out.cadence_notifier import SlackCadenceNotifier
from bot.slack_out.metrics_notifier import SlackTriggerNotifier
from bot.slack_out.report_publisher import SlackReportPublisher
from bot.slack_out.rollback_notifier import SlackRollbackNotifier
from bot.slack_out.rollout_announcer import WarRoomAnnouncer
from bot.tickets import TicketService
from bot.wiring.base import Base
from schedules.runner import Periodic, ScheduleRunner


def flag_provider(b: Base) -> tuple[FlagProvider, OfrepStore | None]:
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


def rollout(b: Base) -> tuple[RolloutService, OfrepStore | None]:
    announcer = WarRoomAnnouncer(b.poster, b.playbook.channels.war_room, b.playbook.zone)
    flags, store = flag_provider(b)
    rollout = RolloutService(
        b.engine, b.playbook, flags, b.authz, b.clock, announcer, on_launch=b.background.resync
    )
    rollout.seed_flags()
    return rollout, store


def rollback(
    b: Base,
    rollout: RolloutService,
    sleep: Callable[[float], None],
    pause_communications: Callable[[int], object],
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
        store,
        display,
        b.playbook,
        b.authz,
        b.clock,
        rollout,
        start_runbook=runbook.start,
        pause_communications=pause_communications,
    )
    return rollback, runbook


def evaluator(b: Base, rollback: RollbackService) -> TriggerEvaluator:
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


def reports(b: Base, rollout: RolloutService, communications: Communications) -> ReportService:
    publisher = SlackReportPublisher(b.poster, b.playbook.channels.war_room, b.playbook.zone)
    return ReportService(
        b.engine, b.playbook, b.clock, publisher, rollout, b.reader, communications
    )


def cadence(
    b: Base, rollout: RolloutService
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


def runner(
    b: Base,
    cadence: tuple[Planner, ChecklistService, CouncilService, CadencePosts],
    feedback: FeedbackService,
    tickets: TicketService,
    reports: ReportService,
    housekeeping: Callable[[], None],
    more: tuple[Mapping[str, Handler], Sequence[Periodic]],
) -> ScheduleRunner:
    """`more`: the scheduled kinds and the follow-ups of the other parts."""
    planner, checklists, council, posts = cadence
    more_handlers, more_periodic = more
    handlers: dict[str, Handler] = {
        Kind.SHIFT: checklists.post,
        Kind.SYNC: posts.sync,
        Kind.MILESTONE: posts.milestone,
        Kind.SNAPSHOT: posts.snapshot,
        Kind.COUNCIL: council.post,
        Kind.COUNCIL_CLOSE: council.close_at_end,
        Kind.DAILY_REPORT: report_handler(reports.on_daily),
        Kind.EXECUTIVE_REPORT: report_handler(reports.on_executive),
        Kind.PHASE2_STEP: posts.phase2_step,
        **more_handlers,
    }
    periodic = [
        checklists.follow_up,
        council.close_due,
        tickets.flag_overdue,
        lambda _now: feedback.route_soon(),
        reports.retry_unposted,
        lambda _now: housekeeping(),  # rollback expiry, post-mortem reminders: on the clock
        lambda _now: b.poster.send_soon(),  # posts Slack did not take yet
        *more_periodic,
    ]
    return ScheduleRunner(
        b.engine, b.playbook, b.clock, planner, handlers, periodic, replica_id=b.replica
    )


def completion(
    b: Base,
    rollout: RolloutService,
    rollback: RollbackService,
    reports: ReportService,
    backlog: BacklogService,
    lessons: LessonService,
    communications: Communications,
) -> CompletionService:
    return CompletionService(
        b.engine,
        b.playbook,
        b.clock,
        b.authz,
        rollout,
        rollback,
        reports,
        b.reader is not None,
        backlog,
        lessons,
        communications,
    )


def home(
    b: Base,
    rollout: RolloutService,
    rollback: RollbackService,
    completion: CompletionService,
    planner: Planner,
    backlog: BacklogService | None = None,
    risks: RiskService | None = None,
    communications: Communications | None = None,
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
        backlog,
        risks,
        communications,
    )
