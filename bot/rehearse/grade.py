"""The grade of a rehearsal: the playbook's promises, each kept or broken, and why.

Per trigger episode, MTTD (the alert − the breach's start in the scenario's story) and MTTR
(recovered − that start) against the playbook's goals (its `mttd` and `mttr` KPIs); one
rollback per episode; every scheduled post made once at its time; no reminder or
escalation missed; nothing lost or doubled on the way to Slack; the runbook finished once;
the decision log's chain intact; and what people had to do by hand. A static check needs
no play: a trigger whose `for` plus one evaluation interval is over the MTTD goal cannot
keep it, whatever happens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from bot import decision_log
from bot.playbook import OPS, Playbook, Trigger, parse_duration
from bot.rehearse.grade_checks import (
    Promise,
    by_hand,
    escalations,
    faults_survived,
    final_flags,
    scheduled_posts,
)
from bot.rehearse.scenario import Scenario
from storage.models import RollbackRequest, TriggerEpisode

if TYPE_CHECKING:
    from bot.rehearse.driver import Run


@dataclass(frozen=True)
class Goal:
    """A KPI goal in minutes (`kpis: - {metric: mttd, op: "<", value: 5}`)."""

    op: str
    minutes: float

    def met(self, minutes: float) -> bool:
        return OPS[self.op](float(minutes), float(self.minutes))

    def __str__(self) -> str:
        return f"{self.op} {self.minutes:g} min"

    @classmethod
    def of(cls, playbook: Playbook, metric: str) -> Goal | None:
        kpi = next((k for k in playbook.kpis if k.metric == metric), None)
        return cls(kpi.op, kpi.value) if kpi else None


@dataclass(frozen=True)
class Episode:
    """One trigger episode as the grade saw it (times in UTC; minutes rounded to 0.1)."""

    trigger: str
    breach: datetime
    alerted: datetime | None
    recovered: datetime | None
    mttd_minutes: float | None
    mttr_minutes: float | None
    requests: list[int]
    rollbacks_run: list[int]


@dataclass
class Grade:
    scenario: str
    playbook: str
    promises: list[Promise]
    episodes: list[Episode] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return all(p.kept for p in self.promises)

    @property
    def broken(self) -> list[Promise]:
        return [p for p in self.promises if not p.kept]

    def as_json(self) -> dict[str, Any]:
        episodes = [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(e).items()}
            for e in self.episodes
        ]
        return {
            "scenario": self.scenario,
            "playbook": self.playbook,
            "kept": self.kept,
            "promises": [asdict(p) for p in self.promises],
            "episodes": episodes,
            "by_hand": self.by_hand,
        }


def minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


# ---- static: what the playbook can promise at all -------------------------------------------
def static_promises(playbook: Playbook) -> list[Promise]:
    """A trigger held for `for` and evaluated every interval detects up to `for` + one
    interval after the breach starts: over the MTTD goal, the goal cannot be kept."""
    goal = Goal.of(playbook, "mttd")
    interval = timedelta(seconds=playbook.evaluation.interval_seconds)
    promises = []
    for trigger in playbook.triggers:
        if trigger.metric is None:
            continue
        hold = parse_duration(trigger.for_)
        worst = minutes(hold + interval)
        name = f"`{trigger.name}` can detect within the MTTD goal"
        if goal is None:
            promises.append(Promise(name, True, "no MTTD goal in the playbook's kpis"))
            continue
        said = (
            f"for {trigger.for_} + one evaluation ({interval.total_seconds():g} s) = "
            f"up to {worst:g} min to detect; goal {goal}"
        )
        if goal.met(worst):
            promises.append(Promise(name, True, said))
            continue
        room = timedelta(minutes=goal.minutes) - interval
        promises.append(
            Promise(
                name,
                False,
                f"{said}: this trigger cannot keep the goal. Shorten its `for` to under "
                f"{minutes(room):g} min, evaluate more often, or change the goal.",
            )
        )
    return promises


# ---- the episodes ---------------------------------------------------------------------------
def story_breach(
    scenario: Scenario, trigger: Trigger, launch_at: datetime, seen: datetime
) -> datetime | None:
    """When the story's breach that the bot saw at `seen` began: the start of the run of
    breaching story points that covers `seen` (None when the story does not tell)."""
    points = scenario.story.get(trigger.metric or "")
    if not points or trigger.op is None or trigger.value is None:
        return None
    op, line = OPS[trigger.op], float(trigger.value)
    start: timedelta | None = None
    for point in sorted(points, key=lambda p: p.offset):
        if point.offset > seen - launch_at:
            break
        if point.value is not None and op(float(point.value), line):
            start = point.offset if start is None else start
        else:
            start = None
    return None if start is None else launch_at + start


def _episodes(run: Run) -> list[Episode]:
    with Session(run.services.engine) as session:
        episodes = list(session.exec(select(TriggerEpisode).order_by(col(TriggerEpisode.id))))
        requests = list(session.exec(select(RollbackRequest).order_by(col(RollbackRequest.id))))
    found = []
    for index, episode in enumerate(episodes):
        trigger = next((t for t in run.playbook.triggers if t.name == episode.trigger), None)
        breach = episode.breach_started_at
        if trigger is not None:
            breach = story_breach(run.scenario, trigger, run.launch_at, breach) or breach
        later = [e.fired_at for e in episodes[index + 1 :]]
        until = min(later) if later else run.end
        mine = [
            r
            for r in requests
            if r.id == episode.request_id or episode.fired_at <= r.opened_at < until
        ]
        ran = [r for r in mine if r.executing_since is not None]
        recovered = min((r.recovered_at for r in ran if r.recovered_at), default=None)
        found.append(
            Episode(
                episode.trigger,
                breach,
                episode.alerted_at,
                recovered,
                minutes(episode.alerted_at - breach) if episode.alerted_at else None,
                minutes(recovered - breach) if recovered else None,
                [r.id or 0 for r in mine],
                [r.id or 0 for r in ran],
            )
        )
    return found


def episode_promises(run: Run, episodes: list[Episode]) -> list[Promise]:
    mttd, mttr = Goal.of(run.playbook, "mttd"), Goal.of(run.playbook, "mttr")
    local = run.timeline.local
    promises = []
    for e in episodes:
        at = f"`{e.trigger}` breached at {local(e.breach)}"
        if e.mttd_minutes is None or e.alerted is None:
            promises.append(Promise(f"MTTD, {at}", False, "never alerted"))
        else:
            said = f"{e.mttd_minutes:g} min (alert at {local(e.alerted)})"
            kept = mttd is None or mttd.met(e.mttd_minutes)
            promises.append(Promise(f"MTTD, {at}", kept, f"{said}; goal {mttd or 'none'}"))
        if e.mttr_minutes is None or e.recovered is None:
            promises.append(Promise(f"MTTR, {at}", False, "no rollback recovered it"))
        else:
            said = f"{e.mttr_minutes:g} min (recovered at {local(e.recovered)})"
            kept = mttr is None or mttr.met(e.mttr_minutes)
            promises.append(Promise(f"MTTR, {at}", kept, f"{said}; goal {mttr or 'none'}"))
        opened = ", ".join(f"#{i}" for i in e.requests) or "none"
        ran = ", ".join(f"#{i}" for i in e.rollbacks_run) or "none"
        promises.append(
            Promise(
                f"One rollback, {at}",
                len(e.rollbacks_run) == 1,
                f"requests {opened}; executed {ran}",
            )
        )
    return promises


def _rollbacks(run: Run) -> Promise:
    with Session(run.services.engine) as session:
        executed = list(
            session.exec(
                select(RollbackRequest).where(col(RollbackRequest.executing_since).is_not(None))
            )
        )
    expected = run.scenario.expect.rollbacks
    return Promise(
        "Rollbacks as the scenario expects",
        len(executed) == expected,
        f"{len(executed)} executed, {expected} expected",
    )


def _chain(run: Run) -> Promise:
    report = decision_log.verify(run.services.engine)
    if report.ok:
        return Promise("Decision log verified", True, f"{report.records} records, chain intact")
    return Promise(
        "Decision log verified",
        False,
        f"broken at record #{report.first_broken_seq}: {report.problem}",
    )


def grade(run: Run, playbook_name: str = "") -> Grade:
    """The grade of a finished run (its services still open: the grade reads the database)."""
    episodes = _episodes(run)
    hand, hand_promise = by_hand(run)
    promises = [
        *static_promises(run.playbook),
        *episode_promises(run, episodes),
        _rollbacks(run),
        *final_flags(run),
        scheduled_posts(run),
        escalations(run),
        *faults_survived(run),
        hand_promise,
        _chain(run),
    ]
    return Grade(
        run.scenario.name,
        playbook_name or run.playbook.name,
        promises,
        episodes,
        hand,
    )
