"""The scheduled posts, each made exactly once.

`tick(now)` is the heart: every occurrence due by `now` and not yet claimed is claimed with
a unique (job key, fire time) row, then handed to the handler of its kind, marked late when
the bot was down at its time (within the grace period), or recorded as missed beyond it;
the next post says what was missed. Then the periodic jobs run (checklist follow-ups, the
council's end, the support SLA…). APScheduler calls `fire` at each occurrence's second and
`tick` as a watchdog; tests call `tick` with a fake clock; several replicas may all call
it: one wins each claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.cadence.plan import Occurrence
from bot.cadence.planner import Planner
from bot.cadence.runs import Due, Handler, MissedPost, Outcome
from bot.clock import Clock
from bot.observability import log_event
from bot.playbook import Playbook
from storage.db import session_scope
from storage.models import ScheduledRun
from storage.status import RunStatus

log = logging.getLogger(__name__)

Periodic = Callable[[datetime], object]  # run on every tick; each safe with several replicas


@dataclass(frozen=True)
class Health:
    next_run: datetime | None
    missed_last_24h: list[str]


class ScheduleRunner:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        planner: Planner,
        handlers: Mapping[str, Handler],
        periodic: Sequence[Periodic],
        replica_id: str,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.planner = planner
        self.handlers = dict(handlers)  # kind → its handler
        self.periodic = tuple(periodic)
        self.replica_id = replica_id
        self.channel = playbook.channels.war_room

    @property
    def hooks(self) -> Mapping[str, Handler]:
        """The kinds that have a producer (read by `/rollout schedule`)."""
        return self.handlers

    def plan(self) -> list[Occurrence]:
        return self.planner.plan()

    def upcoming(self, limit: int = 15) -> list[Occurrence]:
        return self.planner.upcoming(limit)

    # ---- firing --------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> list[ScheduledRun]:
        now = now or self.clock.now()
        with Session(self.engine) as session:
            done = {(r.job_key, r.fire_at) for r in session.exec(select(ScheduledRun))}
        made = []
        for occurrence in self.plan():
            if occurrence.fire_at > now:
                break
            if (occurrence.key, occurrence.fire_at) not in done:
                run = self.process(occurrence, now)
                if run:
                    made.append(run)
        for job in self.periodic:
            job(now)
        return made

    def fire(self, key: str, fire_at: datetime) -> ScheduledRun | None:
        """APScheduler's entry: the occurrence is looked up again in the current plan, so a
        job left from an older T or playbook does nothing."""
        occurrence = self.planner.find(key, fire_at)
        return self.process(occurrence, self.clock.now()) if occurrence else None

    def process(self, occurrence: Occurrence, now: datetime) -> ScheduledRun | None:
        run = self._claim(occurrence, now)
        if run is None:
            return None  # someone (a replica, an earlier run of this job) has it
        if run.status == RunStatus.MISSED:
            log_event(log, "schedule.missed", key=occurrence.key, late_s=run.late_seconds)
            return run
        outcome = self._dispatch(Due(occurrence, run.id or 0, run.late_seconds, self._missed))
        with session_scope(self.engine) as session:
            row = session.get(ScheduledRun, run.id)
            assert row is not None
            row.status, row.message_ts, row.note = outcome.status, outcome.message_ts, outcome.note
            row.channel = outcome.channel or row.channel
            session.add(row)
        log_event(
            log, "schedule.post", key=occurrence.key, outcome=row.status, late_s=row.late_seconds
        )
        return row

    def _claim(self, occurrence: Occurrence, now: datetime) -> ScheduledRun | None:
        """The unique (job key, fire time) row: one caller wins it; a run beyond the grace
        period is recorded as missed instead."""
        lateness = now - occurrence.fire_at
        missed = lateness > timedelta(minutes=self.playbook.schedule.grace_minutes)
        try:
            with session_scope(self.engine) as session:
                run = ScheduledRun(
                    job_key=occurrence.key,
                    kind=occurrence.kind,
                    fire_at=occurrence.fire_at,
                    status=RunStatus.MISSED if missed else RunStatus.CLAIMED,
                    claimed_by=self.replica_id,
                    claimed_at=now,
                    late_seconds=int(lateness.total_seconds()),
                    channel=self.channel,
                )
                session.add(run)
                session.flush()
        except IntegrityError:
            return None
        return run

    def _dispatch(self, due: Due) -> Outcome:
        handler = self.handlers.get(due.occurrence.kind)
        if handler is None:
            return Outcome(RunStatus.SKIPPED, "", f"no handler for {due.occurrence.kind}")
        return handler(due)

    def _missed(self) -> list[MissedPost]:
        """Missed posts not yet reported; reported once, in the next post that shows them."""
        with session_scope(self.engine) as session:
            rows = list(
                session.exec(
                    select(ScheduledRun).where(
                        ScheduledRun.status == RunStatus.MISSED,
                        col(ScheduledRun.missed_reported).is_(False),
                    )
                )
            )
            for row in rows:
                row.missed_reported = True
                session.add(row)
            return [MissedPost(r.job_key, r.fire_at) for r in rows]

    # ---- the watchdog's view -------------------------------------------------------------
    def health(self) -> Health:
        now = self.clock.now()
        upcoming = self.upcoming(1)
        with Session(self.engine) as session:
            missed = list(
                session.exec(
                    select(ScheduledRun).where(
                        ScheduledRun.status == RunStatus.MISSED,
                        col(ScheduledRun.fire_at) >= now - timedelta(hours=24),
                    )
                )
            )
        return Health(upcoming[0].fire_at if upcoming else None, [m.job_key for m in missed])
