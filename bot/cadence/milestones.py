"""What people do on the milestone posts. At T, **Apply the launch target** sets every flag
to the playbook's `rollout_target` through the rollout service, once. At the T+4h
checkpoint they continue or brake, once: *continue* while a flag is not at the target
says so (in the reply, the post and the record), and *brake* offers to freeze the rollout.

Each is a conditional transition of the post's scheduled run, so of two clicks (or two
replicas) one acts and the other is told what happened."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot import decision_log
from bot.authz import Authorizer
from bot.cadence.notifier import CadenceNotifier, FlagGap, FlagMove, MilestoneActed
from bot.cadence.plan import Kind, milestone_key
from bot.cadence.runs import PostRef
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import DependencyError, Refusal, WarroomError
from bot.playbook import Playbook, parse_duration
from bot.rollout import RolloutService, Unchanged
from bot.transitions import transition
from storage.claims import claim
from storage.models import ScheduledRun
from storage.status import RunStatus

UNDECIDED = (RunStatus.POSTED, RunStatus.LATE)  # a post people saw, not acted on yet


class CheckpointChoice(StrEnum):
    CONTINUE = "continue"
    BRAKE = "brake"


class LaunchTarget(StrEnum):
    """The T post's `decision` while the target is applied, and once it is."""

    APPLYING = "applying"
    APPLIED = "launch_target"


def _index(book: Playbook, offset: str) -> int | None:
    wanted = parse_duration(offset)
    return next(
        (i for i, m in enumerate(book.milestones) if parse_duration(m.offset) == wanted), None
    )


def checkpoint_index(book: Playbook) -> int | None:
    """The milestone whose post asks to continue or brake, if the playbook has it."""
    return _index(book, book.schedule.checkpoint_offset)


def launch_index(book: Playbook) -> int | None:
    """The milestone at T, whose post applies the launch target, if the playbook has it."""
    return _index(book, "0h")


def _ref(run: ScheduledRun) -> PostRef | None:
    return PostRef(run.channel, run.message_ts) if run.message_ts else None


def _aware(at: datetime) -> datetime:
    """A stored time (SQLite hands it back naive, in UTC) as an aware one."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _state(percent: int, segments: list[str]) -> str:
    return f"{percent} % ({', '.join(segments) or 'no segment'})"


class MilestoneService:
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

    def _run(self, run_id: int, index: int | None, what: str) -> tuple[ScheduledRun, int]:
        """The run, if it is the post of milestone `index` (a button carrying another
        run's id, a checklist's or another milestone's, is refused)."""
        with Session(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
        if (
            run is None
            or index is None
            or run.kind != Kind.MILESTONE
            or run.job_key != milestone_key(self.playbook, index)
        ):
            raise Refusal(f"There is no {what} #{run_id}.", "Nothing was changed.")
        return run, index

    # ---- T: the launch target ------------------------------------------------------------
    def apply_launch_target(self, run_id: int, user: str) -> MilestoneActed:
        self.authz.require(user, "rollout.set")
        run, index = self._run(run_id, launch_index(self.playbook), "launch milestone")
        taken = claim(
            self.engine,
            ScheduledRun,
            [col(ScheduledRun.id) == run_id, col(ScheduledRun.status).in_(UNDECIDED)],
            {"status": RunStatus.DECIDED, "decision": LaunchTarget.APPLYING, "decided_by": user},
        )
        if not taken:
            raise self._already_applied(run_id)
        try:
            moves = self._set_every_flag(user)
        except Exception:
            # nothing (or not everything) was set: the post offers the button again
            claim(
                self.engine,
                ScheduledRun,
                [
                    col(ScheduledRun.id) == run_id,
                    col(ScheduledRun.decision) == LaunchTarget.APPLYING,
                ],
                {"status": run.status, "decision": "", "decided_by": ""},
            )
            raise
        now = self.clock.now()
        target = self.playbook.rollout_target
        transition(
            self.engine,
            ScheduledRun,
            run_id,
            allowed=(RunStatus.DECIDED,),
            values={"decision": LaunchTarget.APPLIED},
            at=now,
            decision=Decision(
                actor=user,
                action="launch.target",
                subject=run.job_key,
                before=None,
                after={**target.model_dump(), "changed": [m.flag for m in moves]},
                reason="T: apply the launch target",
            ),
        )
        acted = MilestoneActed(LaunchTarget.APPLIED, user, now, moves=moves)
        if ref := _ref(run):
            self.notifier.milestone_acted(ref, index, run_id, acted)
        return acted

    def _set_every_flag(self, user: str) -> list[FlagMove]:
        target = self.playbook.rollout_target
        moves: list[FlagMove] = []
        for flag in self.playbook.flags:
            try:
                change = self.rollout.set_flag(
                    user,
                    flag,
                    str(target.percent),
                    ",".join(target.segments),
                    "T: the launch target",
                )
            except Unchanged:
                continue  # already there: nothing written, recorded or announced
            except WarroomError as exc:
                if not moves:
                    raise
                done = ", ".join(f"`{m.flag}`" for m in moves)
                raise DependencyError(
                    f"{exc.message} Set before that: {done}.",
                    "Fix what was said, then click *Apply the launch target* again: "
                    "flags already at the target are left alone.",
                ) from None
            record = change.record
            moves.append(FlagMove(flag, dict(record.before or {}), dict(record.after or {})))
        return moves

    def _already_applied(self, run_id: int) -> Refusal:
        with Session(self.engine) as session:
            run = session.get(ScheduledRun, run_id)
        by = f"<@{run.decided_by}>" if run and run.decided_by else "someone"
        if run and run.decision == LaunchTarget.APPLYING:
            return Refusal(
                f"{by} is applying the launch target right now: your click changed nothing.",
                "`/rollout status` shows every flag.",
            )
        return Refusal(
            f"The launch target was already applied by {by}: nothing was changed or recorded.",
            "`/rollout status` shows every flag; `/rollout set` changes one.",
        )

    # ---- T+4h: the checkpoint ------------------------------------------------------------
    def off_target(self) -> list[FlagGap]:
        """The launch flags not at the playbook's launch target, as they are now."""
        target = self.playbook.rollout_target
        return [
            FlagGap(f.name, f.percent, list(f.segments))
            for f in self.rollout.status().flags
            if f.name in self.playbook.flags
            and (f.percent != target.percent or set(f.segments) != set(target.segments))
        ]

    def decide_checkpoint(self, run_id: int, user: str, choice: str) -> MilestoneActed:
        self.authz.require(user, "rollout.set")
        decided = CheckpointChoice(choice)
        run, index = self._run(run_id, checkpoint_index(self.playbook), "checkpoint")
        gaps = self.off_target() if decided == CheckpointChoice.CONTINUE else []
        now = self.clock.now()
        after: dict[str, Any] = {"decision": decided.value}
        if gaps:
            after["not_at_target"] = {g.flag: _state(g.percent, g.segments) for g in gaps}
        if not transition(
            self.engine,
            ScheduledRun,
            run_id,
            allowed=UNDECIDED,
            values={"status": RunStatus.DECIDED, "decision": decided, "decided_by": user},
            at=now,
            decision=Decision(
                actor=user,
                action="checkpoint.decide",
                subject=run.job_key,
                before=None,
                after=after,
                reason=f"T+{self.playbook.schedule.checkpoint_offset} checkpoint",
            ),
        ):
            raise Refusal("This checkpoint is already decided.", "Nothing was changed.")
        offer = decided == CheckpointChoice.BRAKE and not self.rollout.freeze_state().frozen
        acted = MilestoneActed(decided, user, now, gaps=gaps, freeze_offered=offer)
        if ref := _ref(run):
            self.notifier.milestone_acted(ref, index, run_id, acted)
        return acted

    def freeze_after_brake(self, run_id: int, user: str) -> MilestoneActed:
        """The freeze a brake offers: the rollout service's freeze, with its role."""
        self.authz.require(user, "rollout.freeze")
        run, index = self._run(run_id, checkpoint_index(self.playbook), "checkpoint")
        if run.status != RunStatus.DECIDED or run.decision != CheckpointChoice.BRAKE:
            raise Refusal(
                "This checkpoint did not decide to brake: nothing was frozen.",
                "`/rollout freeze REASON` freezes the rollout.",
            )
        offset = self.playbook.schedule.checkpoint_offset
        change = self.rollout.freeze(user, f"T+{offset} checkpoint: brake")  # refuses twice
        decided = decision_log.last_for(self.engine, "checkpoint.decide", [run.job_key])
        record = decided.get(run.job_key)
        acted = MilestoneActed(
            CheckpointChoice.BRAKE,
            run.decided_by,
            _aware(record.at if record else change.record.at),
            frozen_by=user,
            frozen_at=_aware(change.record.at),
        )
        if ref := _ref(run):
            self.notifier.milestone_acted(ref, index, run_id, acted)
        return acted
