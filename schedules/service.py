"""The scheduled posts, each made exactly once.

`tick(now)` is the heart: every occurrence due by `now` and not yet claimed is claimed with
a unique (job key, fire time) row, then posted, marked late when the bot was down at its
time (within the grace period), or recorded as missed beyond it; the next post says what
was missed. APScheduler calls `fire` at each occurrence's second and `tick` as a watchdog;
tests call `tick` with a fake clock; several replicas may all call it: one wins each claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollout import RolloutService
from bot.slack_out.messages import schedule as messages
from bot.slack_out.messages.schedule import mention
from bot.slack_out.poster import Poster
from schedules.plan import Occurrence, occurrences
from storage.claims import claim
from storage.db import session_scope
from storage.models import ChecklistEvent, ChecklistState, CouncilVote, ScheduledRun

log = logging.getLogger(__name__)

ON_TIME = timedelta(seconds=60)  # later than this is marked late
# a report producer: posts itself and returns (a note for the run, the post's ts or None)
Hook = Callable[[Occurrence], tuple[str, str | None]]


@dataclass(frozen=True)
class Health:
    next_run: datetime | None
    missed_last_24h: list[str]


class ScheduleService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        rollout: RolloutService,
        authz: Authorizer,
        poster: Poster,
        owner: str,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.rollout = rollout
        self.authz = authz
        self.poster = poster
        self.owner = owner
        self.channel = playbook.channels.war_room
        self.hooks: dict[str, Hook] = {}  # daily_report, executive_report
        # run on every tick (the watchdog's interval), each safe with several replicas:
        # the support-SLA flag, routing feedback left pending
        self.periodic: list[Callable[[datetime], object]] = []
        self.snapshot_values: Callable[[list[str]], dict[str, str]] = lambda metrics: {}
        self._plan_cache: tuple[int, list[Occurrence]] | None = None
        self.live_lines: Callable[[list[str]], list[str]] = lambda metrics: [
            "no metrics source configured"
        ]

    # ---- the plan ------------------------------------------------------------------------
    def plan(self) -> list[Occurrence]:
        """The occurrences of the current T, less those already past when T was set (the
        T-24h check of a launch set 2 hours ahead was never due, so it is not "missed")."""
        stamp = decision_log.head_seq(self.engine)  # T changes only with a new record
        if self._plan_cache and self._plan_cache[0] == stamp:
            return self._plan_cache[1]
        launch_at = self.rollout.launch_at()
        found: list[Occurrence] = []
        if launch_at is not None:
            set_at = decision_log.last_for(self.engine, "rollout.launch", ["T"]).get("T")
            since = set_at.at if set_at else launch_at - timedelta(days=365)
            found = [o for o in occurrences(self.playbook, launch_at) if o.fire_at >= since]
        self._plan_cache = (stamp, found)
        return found

    def upcoming(self, limit: int = 15) -> list[Occurrence]:
        now = self.clock.now()
        return [o for o in self.plan() if o.fire_at >= now][:limit]

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
        self.follow_up_checklists(now)
        self.close_due_councils(now)
        for job in self.periodic:
            job(now)
        return made

    def fire(self, key: str, fire_at: datetime) -> ScheduledRun | None:
        """APScheduler's entry: the occurrence is looked up again in the current plan, so a
        job left from an older T or playbook does nothing."""
        occurrence = next((o for o in self.plan() if o.key == key and o.fire_at == fire_at), None)
        return self.process(occurrence, self.clock.now()) if occurrence else None

    def process(self, occurrence: Occurrence, now: datetime) -> ScheduledRun | None:
        lateness = now - occurrence.fire_at
        grace = timedelta(minutes=self.playbook.schedule.grace_minutes)
        missed = lateness > grace
        try:
            with session_scope(self.engine) as session:
                run = ScheduledRun(
                    job_key=occurrence.key,
                    kind=occurrence.kind,
                    fire_at=occurrence.fire_at,
                    status="missed" if missed else "claimed",
                    claimed_by=self.owner,
                    claimed_at=now,
                    late_seconds=int(lateness.total_seconds()),
                    channel=self.channel,
                )
                session.add(run)
                session.flush()
        except IntegrityError:
            return None  # someone (a replica, an earlier run of this job) has it
        if missed:
            log_event(log, "schedule.missed", key=occurrence.key, late_s=run.late_seconds)
            return run
        status, ts, note = self._post(occurrence, run)
        with session_scope(self.engine) as session:
            row = session.get(ScheduledRun, run.id)
            assert row is not None
            row.status, row.message_ts, row.note = status, ts or "", note
            session.add(row)
        log_event(log, "schedule.post", key=occurrence.key, outcome=status, late_s=run.late_seconds)
        return row

    def _missed_notes(self) -> list[str]:
        """Missed posts not yet reported; reported once, in the next post."""
        with session_scope(self.engine) as session:
            rows = list(
                session.exec(
                    select(ScheduledRun).where(
                        ScheduledRun.status == "missed",
                        col(ScheduledRun.missed_reported).is_(False),
                    )
                )
            )
            for row in rows:
                row.missed_reported = True
                session.add(row)
        zone = self.playbook.zone
        return [f"{r.job_key} ({r.fire_at.astimezone(zone):%a %H:%M})" for r in rows]

    def _post(self, occurrence: Occurrence, run: ScheduledRun) -> tuple[str, str | None, str]:
        late = run.late_seconds > ON_TIME.total_seconds()
        if occurrence.kind in ("daily_report", "executive_report"):
            hook = self.hooks.get(occurrence.kind)
            if hook is None:
                return "skipped", None, "no producer registered yet"
            note, ts = hook(occurrence)
            return ("failed" if ts is None else "late" if late else "posted"), ts, note
        notes = messages.late_note(run.late_seconds, self._missed_notes())
        if occurrence.kind == "shift":
            text, blocks = self._new_checklist(occurrence, run)
        elif occurrence.kind == "sync":
            text, blocks = messages.sync_message(self.playbook)
        elif occurrence.kind == "milestone":
            text, blocks = messages.milestone_message(
                self.playbook, occurrence.data["milestone"], run.id or 0
            )
        elif occurrence.kind == "snapshot":
            values = self.snapshot_values(self.playbook.first_hour_snapshots.metrics)
            text, blocks = messages.snapshot_message(
                self.playbook, occurrence.data["minutes"], values
            )
        elif occurrence.kind == "council":
            text, blocks = messages.council_message(self.playbook, run.id or 0, {}, False, None)
        elif occurrence.kind == "council_close":
            return self._close_council(None), None, "closed at the end of the meeting"
        else:
            return "skipped", None, f"unknown kind {occurrence.kind}"
        ts = self.poster.post(self.channel, text, blocks + notes)
        if ts is None:
            return "failed", None, "Slack did not accept the post"
        return ("late" if late else "posted"), ts, ""

    # ---- shift checklists ----------------------------------------------------------------
    def _new_checklist(self, occurrence: Occurrence, run: ScheduledRun):  # type: ignore[no-untyped-def]
        shift = self.playbook.shifts[occurrence.data["shift"]]
        state = ChecklistState(
            run_id=run.id or 0,
            shift=shift.name,
            items=list(shift.items),
            live=self.live_lines(shift.metrics) if shift.metrics else None,
        )
        with session_scope(self.engine) as session:
            session.add(state)
        return messages.checklist_message(
            self.playbook, shift, state, run.id or 0, self.playbook.zone
        )

    def _checklist(self, run_id: int) -> tuple[ScheduledRun, ChecklistState]:
        with Session(self.engine) as session:
            run, state = session.get(ScheduledRun, run_id), session.get(ChecklistState, run_id)
        if run is None or state is None:
            raise Refusal(f"There is no checklist #{run_id}.", "")
        return run, state

    def _shift_of(self, state: ChecklistState):  # type: ignore[no-untyped-def]
        return next(s for s in self.playbook.shifts if s.name == state.shift)

    def set_ticks(self, run_id: int, user: str, selected: list[int]) -> ChecklistState:
        """The checkboxes as the user's client shows them now; the difference is stored."""
        run, state = self._checklist(run_id)
        now = self.clock.now()
        before, after = set(state.ticked), set(selected) & set(range(len(state.items)))
        with session_scope(self.engine) as session:
            row = session.get(ChecklistState, run_id)
            assert row is not None
            for item in sorted(after - before):
                session.add(
                    ChecklistEvent(run_id=run_id, user=user, action="tick", item=item, at=now)
                )
            for item in sorted(before - after):
                session.add(
                    ChecklistEvent(run_id=run_id, user=user, action="untick", item=item, at=now)
                )
            row.ticked = sorted(after)
            row.completed_at = now if len(after) == len(row.items) else None
            session.add(row)
            state = row
        self._refresh_checklist(run, state)
        return state

    def acknowledge(self, run_id: int, user: str) -> ChecklistState:
        run, state = self._checklist(run_id)
        now = self.clock.now()
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(ChecklistState)
                .where(
                    col(ChecklistState.run_id) == run_id, col(ChecklistState.acknowledged_by) == ""
                )
                .values(acknowledged_by=user, acknowledged_at=now)
            ).rowcount
            if not changed:
                raise Refusal(f"Already acknowledged by <@{state.acknowledged_by}>.", "")
            session.add(ChecklistEvent(run_id=run_id, user=user, action="ack", at=now))
        run, state = self._checklist(run_id)
        self._refresh_checklist(run, state)
        return state

    def _refresh_checklist(self, run: ScheduledRun, state: ChecklistState) -> None:
        text, blocks = messages.checklist_message(
            self.playbook, self._shift_of(state), state, run.id or 0, self.playbook.zone
        )
        if run.message_ts:
            self.poster.update(run.channel, run.message_ts, text, blocks)

    def follow_up_checklists(self, now: datetime) -> None:
        remind = timedelta(minutes=self.playbook.schedule.checklist_remind_minutes)
        escalate = timedelta(minutes=self.playbook.schedule.checklist_escalate_minutes)
        with Session(self.engine) as session:
            pending = list(
                session.exec(
                    select(ChecklistState, ScheduledRun).where(
                        ChecklistState.run_id == ScheduledRun.id,
                        col(ChecklistState.acknowledged_by) == "",
                        col(ScheduledRun.message_ts) != "",
                    )
                )
            )
        for state, run in pending:
            shift = self._shift_of(state)
            age = now - run.fire_at
            if age >= escalate and state.escalated_at is None:
                if self._claim_followup(run.id or 0, "escalated_at", now):
                    oncall = mention(self.playbook.roles.get("oncall", []))
                    self.poster.post(
                        run.channel,
                        f":rotating_light: {oncall} nobody has "
                        f"acknowledged the {shift.name} checklist after "
                        f"{escalate.seconds // 60} min.",
                        [],
                        thread_ts=run.message_ts,
                    )
            elif (
                age >= remind
                and state.reminded_at is None
                and self._claim_followup(run.id or 0, "reminded_at", now)
            ):
                owners = messages.owners_of(self.playbook, shift.owners)
                self.poster.post(
                    run.channel,
                    f":bell: {owners} the {shift.name} checklist is waiting for an acknowledgement.",
                    [],
                    thread_ts=run.message_ts,
                )

    def _claim_followup(self, run_id: int, column: str, now: datetime) -> bool:
        where = [col(ChecklistState.run_id) == run_id, getattr(ChecklistState, column).is_(None)]
        return claim(self.engine, ChecklistState, where, {column: now})

    # ---- decisions: the T+4h checkpoint and the council ----------------------------------
    def decide_checkpoint(self, run_id: int, user: str, choice: str) -> None:
        self.authz.require(user, "rollout.set")
        now = self.clock.now()
        with session_scope(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
            if run is None or run.note.startswith("decided"):
                raise Refusal("This checkpoint is already decided.", "Nothing was changed.")
            run.note = f"decided {choice} by {user}"
            session.add(run)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action="checkpoint.decide",
                    subject=run.job_key,
                    before=None,
                    after={"decision": choice},
                    reason="T+4h checkpoint",
                ),
                now,
            )
        text, blocks = messages.milestone_message(
            self.playbook,
            next(i for i, m in enumerate(self.playbook.milestones) if m.offset == "4h"),
            run_id,
        )
        self.poster.update(
            run.channel,
            run.message_ts,
            text,
            blocks[:1] + [messages.decided_note(choice, user, now, self.playbook.zone)],
        )

    def vote(self, run_id: int, user: str, choice: str) -> dict[str, list[str]]:
        if choice not in messages.VOTE_LABELS:
            raise Refusal(f"`{choice}` is not a choice.", "")
        voters = set(self.playbook.council.voters)
        if not self.authz.roles_of(user) & voters:
            raise Refusal(
                "Only the council may vote: " + ", ".join(f"`{v}`" for v in sorted(voters)) + ".",
                "",
            )
        run = self._council_run(run_id)
        if run.note.startswith("closed"):
            raise Refusal("The council vote is closed.", "Nothing was changed.")
        now = self.clock.now()
        key = f"{run.job_key}@{run.fire_at.isoformat()}"
        with session_scope(self.engine) as session:
            existing = session.exec(
                select(CouncilVote).where(CouncilVote.council == key, CouncilVote.user == user)
            ).first()
            if existing:
                existing.choice, existing.at = choice, now
                session.add(existing)
            else:
                session.add(CouncilVote(council=key, user=user, choice=choice, at=now))
        tally = self.tally(run)
        text, blocks = messages.council_message(self.playbook, run_id, tally, False, None)
        self.poster.update(run.channel, run.message_ts, text, blocks)
        return tally

    def _council_run(self, run_id: int) -> ScheduledRun:
        with Session(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
        if run is None or run.kind != "council":
            raise Refusal(f"There is no council #{run_id}.", "")
        return run

    def tally(self, run: ScheduledRun) -> dict[str, list[str]]:
        key = f"{run.job_key}@{run.fire_at.isoformat()}"
        with Session(self.engine) as session:
            votes = list(session.exec(select(CouncilVote).where(CouncilVote.council == key)))
        tally: dict[str, list[str]] = {}
        for v in votes:
            tally.setdefault(v.choice, []).append(v.user)
        return tally

    def close_council(self, run_id: int, user: str) -> str:
        if self.playbook.council.chair not in self.authz.roles_of(user):
            raise Refusal(f"Only the chair (`{self.playbook.council.chair}`) closes the vote.", "")
        return self._close_council(self._council_run(run_id), user)

    def close_due_councils(self, now: datetime) -> None:
        with Session(self.engine) as session:
            runs = list(session.exec(select(ScheduledRun).where(ScheduledRun.kind == "council")))
        for run in runs:
            end = run.fire_at + timedelta(minutes=self.playbook.council.duration_minutes)
            if now >= end and not run.note.startswith("closed"):
                self._close_council(run)

    def _close_council(self, run: ScheduledRun | None, user: str = "warroom") -> str:
        if run is None:
            with Session(self.engine) as session:
                run = session.exec(
                    select(ScheduledRun)
                    .where(ScheduledRun.kind == "council")
                    .order_by(col(ScheduledRun.id).desc())
                ).first()
            if run is None:
                return "skipped"
        tally = self.tally(run)
        counts = {choice: len(users) for choice, users in tally.items()}
        outcome = max(counts, key=lambda c: (counts[c], c == "hold")) if counts else "hold"
        now = self.clock.now()
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(ScheduledRun)
                .where(col(ScheduledRun.id) == run.id, ~col(ScheduledRun.note).startswith("closed"))
                .values(note=f"closed: {outcome}")
            ).rowcount
            if not changed:
                return "skipped"
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action="council.close",
                    subject=run.job_key,
                    before=None,
                    after={"outcome": outcome, "votes": counts},
                    reason="control council",
                ),
                now,
            )
        text, blocks = messages.council_message(self.playbook, run.id or 0, tally, True, outcome)
        self.poster.update(run.channel, run.message_ts, text, blocks)
        return "posted"

    def advance_after_council(self, run_id: int, user: str) -> None:
        run = self._council_run(run_id)
        if run.note != "closed: advance":
            raise Refusal("The council did not vote to advance.", "Nothing was changed.")
        for flag in self.playbook.flags:
            self.rollout.set_flag(user, flag, "50", None, "control council: advance")

    def _all_runs(self) -> list[ScheduledRun]:
        with Session(self.engine) as session:
            return list(session.exec(select(ScheduledRun)))

    # ---- the watchdog's view -------------------------------------------------------------
    def health(self) -> Health:
        now = self.clock.now()
        upcoming = self.upcoming(1)
        with Session(self.engine) as session:
            missed = list(
                session.exec(
                    select(ScheduledRun).where(
                        ScheduledRun.status == "missed",
                        col(ScheduledRun.fire_at) >= now - timedelta(hours=24),
                    )
                )
            )
        return Health(upcoming[0].fire_at if upcoming else None, [m.job_key for m in missed])
