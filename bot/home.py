"""The war room at a glance, for App Home: flags, KPIs, open rollback requests, today's
checklists and who acknowledged them, the next scheduled posts, the completion checklist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cadence.plan import Occurrence, local_instant
from bot.clock import Clock
from bot.completion import CompletionService, ItemState
from bot.errors import DependencyError
from bot.flags.base import FlagView
from bot.flags.health import provider_line
from bot.phase2 import BacklogService, ItemView, RiskService
from bot.playbook import Playbook
from bot.reports.figures import kpi_figure
from bot.rollback.model import RequestView
from bot.rollback.service import RollbackService
from bot.rollout import FreezeState, RolloutService
from bot.tickets import ticket_figures
from storage.models import ChecklistState, FeedbackItem, Risk, ScheduledRun
from storage.status import RollbackStatus

OPEN_STATUSES = (RollbackStatus.OPEN, RollbackStatus.EXECUTING)


@dataclass(frozen=True)
class ChecklistLine:
    shift: str
    fire_at: datetime
    ticked: int
    items: int
    acknowledged_by: str
    completed: bool


@dataclass(frozen=True)
class Dashboard:
    flags: list[FlagView]
    freeze: FreezeState
    kpis: list[str]
    open_requests: list[RequestView]
    checklists: list[ChecklistLine]
    upcoming: list[Occurrence]
    completion: list[ItemState]
    roles: set[str]
    provider_health: str = ""  # "Flag provider (http): ✅ 2 of 2 launch flags"
    changed_outside: frozenset[str] = frozenset()  # flags changed outside warroom
    flags_problem: str = ""  # why the flags could not be read (the rest still shows)
    backlog: list[ItemView] = field(default_factory=list)  # Phase 2 backlog and its state
    risks: list[Risk] = field(default_factory=list)  # the risk register
    launch_at: datetime | None = None  # T, when set
    communications: list[dict[str, Any]] = field(default_factory=list)  # the launch comms


class HomeService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        rollout: RolloutService,
        rollback: RollbackService,
        completion: CompletionService,
        kpi_lines: Callable[[], list[str]],
        upcoming: Callable[[int], list[Occurrence]],
        roles_of: Callable[[str], set[str]],
        backlog: BacklogService | None = None,
        risks: RiskService | None = None,
        communications: Callable[[datetime], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.rollout = rollout
        self.rollback = rollback
        self.completion = completion
        self.upcoming = upcoming
        self.kpi_lines = kpi_lines
        self.roles_of = roles_of
        self.backlog = backlog
        self.risks = risks
        self.communications = communications

    def dashboard(self, user: str) -> Dashboard:
        try:
            status = self.rollout.status()
            flags, outside, problem = status.flags, status.changed_outside, ""
        except DependencyError as exc:  # the flag service is down: show the rest anyway
            flags, outside, problem = [], frozenset(), exc.message
        return Dashboard(
            flags=flags,
            changed_outside=outside,
            flags_problem=problem,
            freeze=self.rollout.freeze_state(),
            kpis=self.kpi_lines() + self.todays_measured(),
            open_requests=[
                v for v in self.rollback.recent(20) if v.request.status in OPEN_STATUSES
            ],
            checklists=self.todays_checklists(),
            upcoming=self.upcoming(5),
            completion=self.completion.states(),
            roles=self.roles_of(user),
            provider_health=self.provider_health(),
            backlog=self.backlog.items() if self.backlog else [],
            risks=self.risks.risks() if self.risks else [],
            launch_at=self.rollout.launch_at(),
            communications=self.communications(self.clock.now()) if self.communications else [],
        )

    def provider_health(self) -> str:
        """The flag provider's health, asked now (reachable, rights, launch flags there)."""
        return provider_line(self.rollout.flags, self.playbook.flags)

    def todays_measured(self) -> list[str]:
        """The KPIs the bot measures itself, for today so far: satisfaction and tickets."""
        zone, now = self.playbook.zone, self.clock.now()
        start = local_instant(now.astimezone(zone).date(), time(0), zone)
        goals = {k.metric: k for k in self.playbook.kpis}
        with Session(self.engine) as session:
            average, rated = session.exec(
                select(func.avg(FeedbackItem.rating), func.count(col(FeedbackItem.rating))).where(
                    FeedbackItem.created_at >= start
                )
            ).one()
        tickets = ticket_figures(self.engine, self.playbook, start, start + timedelta(days=1))[0]
        lines = []
        if kpi := goals.get("user_satisfaction"):
            if average is None:
                lines.append(
                    f"❔ user_satisfaction: no ratings yet today — goal {kpi.op} {kpi.value:g}"
                )
            else:
                mark = kpi_figure(self.playbook, kpi, float(average), None, "").mark
                lines.append(
                    f"{mark} user_satisfaction: {average:.2f}/5 ({rated} ratings today) — "
                    f"goal {kpi.op} {kpi.value:g}"
                )
        if kpi := goals.get("support_tickets"):
            mark = kpi_figure(self.playbook, kpi, float(tickets), None, "").mark
            lines.append(
                f"{mark} support_tickets: {tickets} today — goal {kpi.op} {kpi.value:g}/day"
            )
        return lines

    def todays_checklists(self) -> list[ChecklistLine]:
        zone = self.playbook.zone
        today = self.clock.now().astimezone(zone).date()
        start = local_instant(today, time(0), zone)
        with Session(self.engine) as session:
            rows = session.exec(
                select(ScheduledRun, ChecklistState)
                .join(ChecklistState, col(ChecklistState.run_id) == col(ScheduledRun.id))
                .where(
                    ScheduledRun.fire_at >= start,
                    ScheduledRun.fire_at < start + timedelta(days=1),
                )
                .order_by(col(ScheduledRun.fire_at))
            ).all()
        return [
            ChecklistLine(
                state.shift,
                run.fire_at,
                len(state.ticked),
                len(state.items),
                state.acknowledged_by,
                state.completed_at is not None,
            )
            for run, state in rows
        ]
