"""The control council's vote (advance, hold or roll back), closed by its chair or at the
end of the meeting, once: a conditional transition of the run's status, recorded in the
decision log in the same transaction. (The checkpoint's decision is in milestones.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.authz import Authorizer
from bot.cadence.notifier import CadenceNotifier, Tally
from bot.cadence.plan import Kind
from bot.cadence.runs import Due, Outcome, PostRef
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.rollout import RolloutService, Unchanged
from bot.transitions import transition
from storage.db import session_scope
from storage.models import CouncilVote, ScheduledRun
from storage.status import RunStatus

# a decision can be taken on a post people saw, once
UNDECIDED = (RunStatus.POSTED, RunStatus.LATE)
SYSTEM = "warroom"  # the actor when the meeting's end closes the vote


class Vote(StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    ROLLBACK = "rollback"


def outcome_of(tally: Tally) -> Vote:
    """The most votes wins; a tie, or no vote at all, holds."""
    counts = {choice: len(users) for choice, users in tally.items()}
    if not counts:
        return Vote.HOLD
    return Vote(max(counts, key=lambda c: (counts[c], c == Vote.HOLD)))


def _ref(run: ScheduledRun) -> PostRef | None:
    return PostRef(run.channel, run.message_ts) if run.message_ts else None


class CouncilService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        rollout: RolloutService,
        notifier: CadenceNotifier,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.rollout = rollout
        self.notifier = notifier

    # ---- the council ---------------------------------------------------------------------
    def post(self, due: Due) -> Outcome:
        """The runner's handler for the council: the vote opens."""
        return due.posted(self.notifier.council(due.run_id, {}, due.notes()))

    def close_at_end(self, due: Due) -> Outcome:
        """The runner's handler for the meeting's end: the latest council closes."""
        with Session(self.engine) as session:
            run = session.exec(
                select(ScheduledRun)
                .where(ScheduledRun.kind == Kind.COUNCIL)
                .order_by(col(ScheduledRun.id).desc())
            ).first()
        status = self._close(run, SYSTEM) if run else RunStatus.SKIPPED
        return Outcome(status, "", "closed at the end of the meeting")

    def vote(self, run_id: int, user: str, choice: str) -> Tally:
        if choice not in set(Vote):
            raise Refusal(f"`{choice}` is not a choice.", "")
        voters = set(self.playbook.council.voters)
        if not self.authz.roles_of(user) & voters:
            raise Refusal(
                "Only the council may vote: " + ", ".join(f"`{v}`" for v in sorted(voters)) + ".",
                "",
            )
        run = self._council_run(run_id)
        if run.status == RunStatus.CLOSED:
            raise Refusal("The council vote is closed.", "Nothing was changed.")
        now, key = self.clock.now(), self._key(run)
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
        if ref := _ref(run):
            self.notifier.council_changed(ref, run_id, tally, None)
        return tally

    @staticmethod
    def _key(run: ScheduledRun) -> str:
        return f"{run.job_key}@{run.fire_at.isoformat()}"

    def _council_run(self, run_id: int) -> ScheduledRun:
        with Session(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
        if run is None or run.kind != Kind.COUNCIL:
            raise Refusal(f"There is no council #{run_id}.", "")
        return run

    def tally(self, run: ScheduledRun) -> Tally:
        with Session(self.engine) as session:
            votes = session.exec(select(CouncilVote).where(CouncilVote.council == self._key(run)))
            tally: Tally = {}
            for v in votes:
                tally.setdefault(v.choice, []).append(v.user)
        return tally

    def close(self, run_id: int, user: str) -> RunStatus:
        """The chair closes the vote."""
        if self.playbook.council.chair not in self.authz.roles_of(user):
            raise Refusal(f"Only the chair (`{self.playbook.council.chair}`) closes the vote.", "")
        return self._close(self._council_run(run_id), user)

    def close_due(self, now: datetime) -> None:
        """Periodic: a council still open after its meeting closes."""
        end = timedelta(minutes=self.playbook.council.duration_minutes)
        with Session(self.engine) as session:
            runs = list(
                session.exec(
                    select(ScheduledRun).where(
                        ScheduledRun.kind == Kind.COUNCIL, col(ScheduledRun.status).in_(UNDECIDED)
                    )
                )
            )
        for run in runs:
            if now >= run.fire_at + end:
                self._close(run, SYSTEM)

    def _close(self, run: ScheduledRun, user: str) -> RunStatus:
        tally = self.tally(run)
        outcome = outcome_of(tally)
        counts = {choice: len(users) for choice, users in tally.items()}
        closed = transition(
            self.engine,
            ScheduledRun,
            run.id or 0,
            allowed=UNDECIDED,
            values={"status": RunStatus.CLOSED, "decision": outcome, "decided_by": user},
            at=self.clock.now(),
            decision=Decision(
                actor=user,
                action="council.close",
                subject=run.job_key,
                before=None,
                after={"outcome": outcome.value, "votes": counts},
                reason="control council",
            ),
        )
        if not closed:
            return RunStatus.SKIPPED
        if ref := _ref(run):
            self.notifier.council_changed(ref, run.id or 0, tally, outcome)
        return RunStatus.POSTED

    def advance(self, run_id: int, user: str) -> None:
        """What a vote to advance asks for: every flag to the council's percentage."""
        run = self._council_run(run_id)
        if run.status != RunStatus.CLOSED or run.decision != Vote.ADVANCE:
            raise Refusal("The council did not vote to advance.", "Nothing was changed.")
        percent = str(self.playbook.council.advance_percent)
        unchanged = []
        for flag in self.playbook.flags:
            try:
                self.rollout.set_flag(user, flag, percent, None, "control council: advance")
            except Unchanged:  # already there: nothing written, recorded or announced
                unchanged.append(flag)
        if unchanged == list(self.playbook.flags):
            raise Refusal(
                f"Every flag is already at {percent} %: nothing was changed or recorded.",
                "`/rollout status` shows them.",
            )
