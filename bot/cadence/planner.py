"""The plan of the current T: the playbook's occurrences for the launch time now set."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import decision_log
from bot.cadence.plan import Kind, Occurrence, occurrences
from bot.clock import Clock
from bot.playbook import Playbook
from storage.models import ScheduledRun


def past_name(book: Playbook, occurrence: Occurrence) -> str:
    if occurrence.kind == Kind.MILESTONE:
        return f"T{book.milestones[occurrence.data['milestone']].offset}".replace("-", "−")
    if occurrence.kind == Kind.SYNC:  # one a day: name its day
        return f"{occurrence.title} ({occurrence.fire_at.astimezone(book.zone):%a %d %b})"
    return occurrence.title


class LaunchTime(Protocol):
    def launch_at(self) -> datetime | None: ...


class Planner:
    def __init__(self, engine: Engine, playbook: Playbook, clock: Clock, launch: LaunchTime):
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.launch = launch
        self._cache: tuple[int, list[Occurrence]] | None = None

    def plan(self) -> list[Occurrence]:
        """The occurrences of the current T, less those already past when T was set (the
        T-24h check of a launch set 2 hours ahead was never due, so it is not "missed")."""
        stamp = decision_log.head_seq(self.engine)  # T changes only with a new record
        if self._cache and self._cache[0] == stamp:
            return self._cache[1]
        launch_at = self.launch.launch_at()
        found: list[Occurrence] = []
        if launch_at is not None:
            set_at = decision_log.last_for(self.engine, "rollout.launch", ["T"]).get("T")
            since = set_at.at if set_at else launch_at - timedelta(days=365)
            found = [o for o in occurrences(self.playbook, launch_at) if o.fire_at >= since]
        self._cache = (stamp, found)
        return found

    def already_past(self) -> list[str]:
        """The posts of the current T that were already past when T was set, so will not
        be posted: a milestone by its offset ("T-24h"), anything else by its title."""
        launch_at = self.launch.launch_at()
        set_at = decision_log.last_for(self.engine, "rollout.launch", ["T"]).get("T")
        if launch_at is None or set_at is None:
            return []
        return [
            past_name(self.playbook, o)
            for o in occurrences(self.playbook, launch_at)
            if o.fire_at < set_at.at
        ]

    def upcoming(self, limit: int = 15) -> list[Occurrence]:
        """The posts still to make: from now on, less any already made (or missed) — a
        clock set back, as when a played local database is reopened, never offers again
        what was posted."""
        now = self.clock.now()
        with Session(self.engine) as session:
            made = {
                (run.job_key, run.fire_at)
                for run in session.exec(
                    select(ScheduledRun).where(col(ScheduledRun.fire_at) >= now)
                )
            }
        ahead = (o for o in self.plan() if o.fire_at >= now and (o.key, o.fire_at) not in made)
        return list(islice(ahead, limit))

    def find(self, key: str, fire_at: datetime) -> Occurrence | None:
        """The occurrence in the current plan, or None when it belongs to an older T."""
        return next((o for o in self.plan() if o.key == key and o.fire_at == fire_at), None)
