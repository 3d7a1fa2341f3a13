"""APScheduler (3.x) owns the timing: one DateTrigger job per upcoming occurrence, fired at
its second, plus a watchdog interval job that catches up whatever a timer missed (a
restart, a sleep). Job functions are module-level and take plain arguments."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.metrics.evaluator import TriggerEvaluator
from bot.observability import log_event
from schedules.runner import ScheduleRunner

log = logging.getLogger(__name__)
_runner: ScheduleRunner | None = None
_evaluator: TriggerEvaluator | None = None
WATCHDOG = "watchdog"
EVALUATE = "evaluate-triggers"


def fire_occurrence(key: str, fire_at: str) -> None:
    assert _runner is not None, "the scheduler is not started"
    _runner.fire(key, datetime.fromisoformat(fire_at))


def watchdog() -> None:
    assert _runner is not None, "the scheduler is not started"
    _runner.tick()


def evaluate_triggers() -> None:
    assert _evaluator is not None, "the scheduler is not started"
    _evaluator.evaluate()


class WarroomScheduler:
    def __init__(self, runner: ScheduleRunner, evaluator: TriggerEvaluator | None = None) -> None:
        global _runner, _evaluator
        _runner, _evaluator = runner, evaluator
        self.runner = runner
        self.evaluator = evaluator
        self.scheduler = BackgroundScheduler(timezone=runner.playbook.zone)

    def start(self) -> None:
        self.scheduler.start()
        self._every(watchdog, self.runner.playbook.schedule.watchdog_seconds, WATCHDOG)
        if self.evaluator is not None and self.evaluator.reader is not None:
            interval = self.runner.playbook.evaluation.interval_seconds
            self._every(evaluate_triggers, interval, EVALUATE)
        self.sync()
        self.scheduler.add_job(watchdog, id="catch-up-now", replace_existing=True)

    def _every(self, job: Callable[[], None], seconds: float, job_id: str) -> None:
        """A periodic job: never two runs at once, and missed runs collapse into one."""
        self.scheduler.add_job(
            job,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def sync(self) -> None:
        """Re-derive the jobs from the playbook and T: add the new, drop the stale."""
        now = self.runner.clock.now()
        wanted = {
            f"{o.key}@{o.fire_at.isoformat()}": o for o in self.runner.plan() if o.fire_at > now
        }
        for job in self.scheduler.get_jobs():
            if "@" in job.id and job.id not in wanted:
                job.remove()
        grace = int(timedelta(minutes=self.runner.playbook.schedule.grace_minutes).total_seconds())
        for job_id, o in wanted.items():
            self.scheduler.add_job(
                fire_occurrence,
                DateTrigger(run_date=o.fire_at),
                args=[o.key, o.fire_at.isoformat()],
                id=job_id,
                replace_existing=True,
                misfire_grace_time=grace,
            )
        log_event(log, "schedule.sync", jobs=len(wanted))

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)
