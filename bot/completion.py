"""The seed's completion checklist, each item with its evidence from the records: ticked
automatically where the bot can see it, by a role-checked confirmation where it cannot.
Confirmations are decisions (`completion.confirm` in the decision log)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import NotAuthorized, Refusal
from bot.observability import log_event
from bot.phase2 import BacklogService, LessonService, lessons_count
from bot.playbook import CompletionItem, Playbook
from bot.reports.service import ReportService
from bot.rollback.service import RollbackService
from bot.rollout import RolloutService
from storage.models import ScheduledRun, TriggerState
from storage.status import BacklogStatus

log = logging.getLogger(__name__)
CONFIRM = "completion.confirm"
LIVE_WITHIN = timedelta(minutes=5)  # alerts are live if the triggers were evaluated this recently


@dataclass(frozen=True)
class Person:
    """Someone named in the evidence (a Slack user ID, or "warroom" for the bot)."""

    user: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


Part = str | Person | Link
Evidence = tuple[Part, ...]  # one line of evidence; the surface renders people and links


@dataclass(frozen=True)
class ItemState:
    item: CompletionItem
    done: bool
    evidence: list[Evidence]
    needs_confirmation: bool  # a confirm button is worth showing


class CompletionService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        rollout: RolloutService,
        rollback: RollbackService,
        reports: ReportService,
        alerts_configured: bool,
        backlog: BacklogService,
        lessons: LessonService,
        communications: Callable[[datetime], list[dict[str, Any]]] = lambda _at: [],
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.rollout = rollout
        self.rollback = rollback
        self.reports = reports
        self.alerts_configured = alerts_configured
        self.backlog = backlog
        self.lessons = lessons
        self.communications = communications
        self.checks: dict[str, Callable[[], tuple[bool, list[Evidence]]]] = {
            "runbook_validated": self._runbook_validated,
            "shifts_live": self._shifts_live,
            "backlog_approved": self._backlog_approved,
            "lessons_published": self._lessons_published,
            "rollout_running": self._rollout_running,
            "first_report": self._first_report,
        }

    def states(self) -> list[ItemState]:
        keys = [item.key for item in self.playbook.completion]
        confirmed = decision_log.last_for(self.engine, CONFIRM, keys)
        states = []
        for item in self.playbook.completion:
            seen, evidence = self.checks[item.check]() if item.check else (True, [])
            record = confirmed.get(item.key)
            if item.confirm_roles:
                if record:
                    evidence.append(
                        ("confirmed by ", Person(record.actor), f" {self._at(record.at)}")
                    )
                else:
                    roles = " or ".join(item.confirm_roles)
                    evidence.append((f"awaiting confirmation by {roles}",))
            if item.link:
                evidence.append((Link(item.link, "evidence"),))
            vouched = bool(record) or not item.confirm_roles
            states.append(ItemState(item, seen and vouched, evidence, not vouched))
        return states

    def confirm(self, user: str, key: str) -> ItemState:
        item = next((i for i in self.playbook.completion if i.key == key), None)
        if item is None or not item.confirm_roles:
            raise Refusal(f"`{key}` is not a completion item people confirm.")
        if not self.authz.roles_of(user) & set(item.confirm_roles):
            raise NotAuthorized(f"confirm “{item.title}”", item.confirm_roles)
        if decision_log.last_for(self.engine, CONFIRM, [key]):
            raise Refusal(f"“{item.title}” is already confirmed.")
        decision_log.append(
            self.engine,
            Decision(
                actor=user,
                action=CONFIRM,
                subject=key,
                after={"confirmed": True},
                reason=item.title,
                evidence={"link": item.link} if item.link else None,
            ),
            self.clock.now(),
        )
        log_event(log, CONFIRM, who=user, item=key, outcome="ok")
        return next(s for s in self.states() if s.item.key == key)

    def _at(self, instant: datetime) -> str:
        """An instant as people in the playbook's zone read it: "Wed 02 Dec 10:00 CET"."""
        return instant.astimezone(self.playbook.zone).strftime("%a %d %b %H:%M %Z")

    # ---- what the bot can see --------------------------------------------------------------
    def _runbook_validated(self) -> tuple[bool, list[Evidence]]:
        roles = self.playbook.rollback.sign_off_roles
        signed = {s.role: s for s in self.rollback.plan_signatures()}
        version = self.rollback.plan_version()[:8]
        evidence: list[Evidence] = [
            (f"plan {version} signed by ", Person(s.user), f" ({role}) {self._at(s.at)}")
            for role, s in sorted(signed.items())
        ]
        missing = [r for r in roles if r not in signed]
        if missing:
            evidence.append(
                (f"waiting for the {' and '.join(missing)} sign-off (`/rollback plan`)",)
            )
        return not missing, evidence

    def _shifts_live(self) -> tuple[bool, list[Evidence]]:
        lines = [f"{len(self.playbook.shifts)} shifts in the playbook"]
        with Session(self.engine) as session:
            posted = session.exec(
                select(ScheduledRun)
                .where(ScheduledRun.kind == "shift", col(ScheduledRun.message_ts) != "")
                .order_by(col(ScheduledRun.fire_at))
            ).first()
            sampled = session.exec(
                select(TriggerState)
                .where(col(TriggerState.last_sample_at).is_not(None))  # PostgreSQL: NULLs first
                .order_by(col(TriggerState.last_sample_at).desc())
            ).first()
        launch = self.rollout.launch_at()
        lines.append(
            f"scheduled from T ({self._at(launch)})"
            if launch
            else "no launch time yet (`/rollout launch`)"
        )
        if posted:
            lines.append(f"first checklist posted {self._at(posted.fire_at)}")
        at = sampled.last_sample_at if sampled else None
        live = bool(at and self.clock.now() - at <= LIVE_WITHIN)
        if at:
            lines.append(f"triggers last evaluated {self._at(at)}")
        elif not self.alerts_configured:
            lines.append("no metrics source: set PROMETHEUS_URL for live alerts")
        else:
            lines.append("triggers not evaluated yet")
        return bool(self.playbook.shifts and launch and live), [(line,) for line in lines]

    def _rollout_running(self) -> tuple[bool, list[Evidence]]:
        target = self.playbook.rollout_target
        external = set(self.playbook.external_segments)
        flags = self.rollout.status().flags
        evidence: list[Evidence] = [
            (f"{f.name} {f.percent} % {', '.join(f.segments)}",) for f in flags
        ]
        running = all(f.percent >= target.percent and external & set(f.segments) for f in flags)
        # the launch's own communications (due by T) must be marked sent, with their link
        launch_at = self.rollout.launch_at()
        due_by_t = [
            c
            for c in self.communications(self.clock.now())
            if launch_at and datetime.fromisoformat(c["due"]) <= launch_at
        ]
        for c in due_by_t:
            if c["status"] == "sent":
                evidence.append(
                    (
                        f"{c['title']}: sent by ",
                        Person(c["sent_by"]),
                        " ",
                        Link(c["link"], "what went out"),
                    )
                )
            else:
                evidence.append((f"{c['title']}: not marked sent ({c['status']})",))
        sent = all(c["status"] == "sent" for c in due_by_t)
        return running and sent, evidence

    def _first_report(self) -> tuple[bool, list[Evidence]]:
        report = self.reports.latest("executive")
        if report is None:
            return False, [("no executive report yet (it is posted at T+24h)",)]
        at = self._at(report.created_at)
        return True, [(f"executive report #{report.id} {at}, proposal: {report.proposal}",)]

    def _backlog_approved(self) -> tuple[bool, list[Evidence]]:
        views = self.backlog.items()
        evidence: list[Evidence] = []
        for v in views:
            if v.status == BacklogStatus.APPROVED:
                evidence.append(
                    (
                        f"{v.item.feature} approved by ",
                        Person(v.updated_by),
                        f" {self._at(v.updated_at)}",
                    )
                )
            else:
                evidence.append((f"{v.item.feature} {v.status}: awaiting approval (`/phase2`)",))
        approved = sum(v.status == BacklogStatus.APPROVED for v in views)
        evidence.insert(0, (f"{approved} of {len(views)} backlog items approved",))
        return bool(views) and approved == len(views), evidence

    def _lessons_published(self) -> tuple[bool, list[Evidence]]:
        record = self.lessons.last_publication()
        count = len(self.lessons.lessons())
        if record is None:
            return False, [
                (f"{lessons_count(count)} captured; not published yet (`/lesson publish`)",)
            ]
        after, evidence = record.after or {}, record.evidence or {}
        channels = ", ".join(after.get("channels", []))
        lines: list[Evidence] = [
            (
                f"{lessons_count(after.get('lessons', 0))} published by ",
                Person(record.actor),
                f" {self._at(record.at)} to {channels}",
            )
        ]
        first = next((url for url in (evidence.get("permalinks") or {}).values() if url), "")
        if first:
            lines.append((Link(first, "the post"),))
        if self.lessons.document().digest != after.get("digest"):
            changed = f"changed since: {lessons_count(count)} now (`/lesson publish` again)"
            lines.append((changed,))
        return True, lines
