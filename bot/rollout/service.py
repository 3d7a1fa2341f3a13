"""Rollout control: status, set, launch, freeze/unfreeze, history.

Plain data in, plain data out. Every change is authorized, recorded in the decision log
and announced in the war room; every refusal changes nothing and says what to type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import decision_log
from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import DependencyError, Refusal
from bot.flags.base import FlagConflict, FlagProvider, FlagProviderError, FlagView
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollout import drift, inputs
from bot.rollout.freeze import ensure_state_row, freeze_in, locked_state, person, unfreeze_in
from bot.rollout.model import Announcer, Change, FreezeState, RolloutStatus
from bot.timeparse import parse_launch_time
from storage.db import session_scope
from storage.models import DecisionRecord, RolloutState

log = logging.getLogger("bot.rollout")
CHANGE_ACTIONS = (*drift.STATE_ACTIONS, "rollback.empty_rules")


class Unchanged(Refusal):
    """The flag already is as asked: nothing is written, recorded or announced."""

    def __init__(self, flag: str, now: FlagView) -> None:
        segments = ", ".join(now.segments) or "no segment"
        super().__init__(
            f"`{flag}` is already at {now.percent} % ({segments}): nothing was changed "
            "or recorded.",
            "`/rollout status` shows every flag.",
        )
        self.flag = flag


def _nothing() -> None:
    return None


class RolloutService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        flags: FlagProvider,
        authz: Authorizer,
        clock: Clock,
        announcer: Announcer,
        on_launch: Callable[[], None] = _nothing,
    ) -> None:
        """`on_launch` runs after T changes (the scheduler re-derives its jobs)."""
        self.engine = engine
        self.playbook = playbook
        self.flags = flags
        self.authz = authz
        self.clock = clock
        self.announcer = announcer
        self.on_launch = on_launch
        self._status_cache: tuple[int, RolloutStatus] | None = None

    # ---- reading -------------------------------------------------------------------------
    def _state_row(self) -> RolloutState:
        with Session(self.engine) as session:
            return session.get(RolloutState, 1) or RolloutState(id=1)

    def freeze_state(self) -> FreezeState:
        return FreezeState.of(self._state_row())

    def launch_at(self) -> datetime | None:
        return self._state_row().launch_at

    def status(self) -> RolloutStatus:
        """Every change of flags, freeze or T appends to the decision log, so its head seq
        stamps the whole snapshot: while it is unchanged (on any replica) the last snapshot
        is still true. The stamp is read first, so a snapshot is never older than it.
        A provider whose flags can change outside the bot is read every time."""
        stamp = decision_log.head_seq(self.engine)
        cached = self._status_cache
        if cached and cached[0] == stamp and self.flags.recorded_changes_only:
            return cached[1]
        status = self._read_status()
        self._status_cache = (stamp, status)
        return status

    def _read_status(self) -> RolloutStatus:
        try:
            flags = self.flags.list_flags()
        except FlagProviderError as exc:
            raise DependencyError(
                f"The flag provider ({self.flags.name}) did not answer: {exc.message}",
                "Check the flag service; nothing was changed.",
            ) from None
        names = [f.name for f in flags]
        outside: frozenset[str] = frozenset()
        if not self.flags.recorded_changes_only:
            drift.observe(self.engine, self.flags.name, flags, self.clock.now())
            outside = frozenset(drift.outside_since_last(self.engine, names))
        # the latest change of each flag whoever made it: a person, the council, a
        # rollback's revert, the seed, or a change seen in the provider
        last = decision_log.last_for(self.engine, CHANGE_ACTIONS, names, applied_only=True)
        row = self._state_row()
        return RolloutStatus(
            flags, FreezeState.of(row), row.launch_at, last, self.flags.name, outside
        )

    def history(self, count_text: str | None = None) -> list[DecisionRecord]:
        return decision_log.recent(self.engine, inputs.parse_history_count(count_text))

    # ---- input checks (each refusal names what to type) ------------------------------------
    def resolve_flag(self, text: str) -> str:
        return inputs.resolve_flag(text, self.playbook.flags)

    @staticmethod
    def parse_percent(text: str) -> int:
        return inputs.parse_percent(text)

    def parse_segments(self, text: str) -> list[str]:
        return inputs.parse_segments(text, self.playbook.segments)

    def _refuse_if_frozen(self, freeze: FreezeState | None = None) -> None:
        freeze = freeze or self.freeze_state()
        if freeze.frozen:
            since = self.local(freeze.at) if freeze.at else "?"
            raise Refusal(
                f"The rollout is frozen by {person(freeze.by)} since {since}: {freeze.reason}",
                "Nothing was changed. `/rollout unfreeze` lifts the freeze (sre or oncall).",
            )

    def local(self, instant: datetime) -> str:
        return instant.astimezone(self.playbook.zone).strftime("%Y-%m-%d %H:%M %Z")

    # ---- changes -------------------------------------------------------------------------
    def set_flag(
        self,
        actor: str,
        flag_text: str,
        percent_text: str,
        segments_text: str | None = None,
        reason: str = "",
    ) -> Change:
        flag = self.resolve_flag(flag_text)
        percent = self.parse_percent(percent_text)
        segments = self.parse_segments(segments_text) if segments_text else None
        self.authz.require(actor, "rollout.set")
        self._refuse_if_frozen()
        ensure_state_row(self.engine)
        try:
            before = self._current(flag)
            if before.percent == percent and (segments is None or before.segments == segments):
                raise Unchanged(flag, before)
            self._refuse_if_switched_off(before)
            # the freeze check and the write in one transaction holding the state row: a
            # freeze either committed before (refused here) or waits until this is recorded
            with session_scope(self.engine) as session:
                self._refuse_if_frozen(FreezeState.of(locked_state(session)))
                after = self.flags.set(
                    flag,
                    percent,
                    segments or before.segments,
                    actor,
                    expected_version=before.version,
                )
                record = decision_log.append_in(
                    session,
                    Decision(
                        actor=actor,
                        action="rollout.set",
                        subject=flag,
                        before=before.as_record(),
                        after=after.as_record(),
                        reason=reason,
                    ),
                    self.clock.now(),
                )
        except FlagConflict:
            now = self.flags.get(flag)
            raise Refusal(
                f"`{flag}` changed in {self.flags.name} while you asked: it is now "
                f"{now.percent} % ({', '.join(now.segments) or 'no segment'}). Nothing was changed.",
                "Look at `/rollout status`, then run the command again if it still holds.",
            ) from None
        except FlagProviderError as exc:
            self._record_failed(actor, "rollout.set", flag, percent, segments, reason, exc)
            raise DependencyError(
                f"`{flag}` was not changed: the flag provider ({self.flags.name}) said: "
                f"{exc.message}",
                "Try again in a minute; the failed attempt is in `/rollout history`.",
            ) from None
        self._logged(record)
        return Change(record, self._announce("flag_changed", record=record))

    def _launch_time(self, when_text: str, now: datetime) -> datetime:
        if not when_text.strip():
            raise Refusal(
                "Give the launch time T.",
                "Try `/rollout launch 2026-12-01 10:00` (local) or an ISO-8601 time.",
            )
        when = parse_launch_time(when_text, self.playbook.zone)
        if when <= now:
            example = (now + timedelta(hours=1)).astimezone(self.playbook.zone)
            raise Refusal(
                f"{self.local(when)} is in the past (now {self.local(now)}).",
                f"Give a future time, e.g. `/rollout launch {example:%Y-%m-%d %H}:00`.",
            )
        return when

    def launch(self, actor: str, when_text: str, reason: str = "") -> Change:
        now = self.clock.now()
        when = self._launch_time(when_text, now)
        self.authz.require(actor, "rollout.launch")
        ensure_state_row(self.engine)
        with session_scope(self.engine) as session:
            row = locked_state(session)
            before = row.launch_at.isoformat() if row.launch_at else None
            row.launch_at = when
            session.add(row)
            record = decision_log.append_in(
                session,
                Decision(
                    actor=actor,
                    action="rollout.launch",
                    subject="T",
                    before={"launch_at": before},
                    after={"launch_at": when.isoformat()},
                    reason=reason,
                ),
                now,
            )
        self._logged(record)
        self.on_launch()
        return Change(record, self._announce("launch_set", record=record, launch_at=when))

    def freeze(self, actor: str, reason: str) -> Change:
        if not reason.strip():
            raise Refusal(
                "Say why you freeze the rollout.",
                "Try `/rollout freeze error_rate climbing on checkout`.",
            )
        self.authz.require(actor, "rollout.freeze")
        ensure_state_row(self.engine)
        with session_scope(self.engine) as session:
            record = freeze_in(session, actor, reason.strip(), self.clock.now(), self.local)
        self._logged(record)
        return Change(record, self._announce("frozen", record=record))

    def unfreeze(self, actor: str, reason: str = "", freeze_seq: int | None = None) -> Change:
        """Lift the freeze. A button passes the freeze it was posted for (`freeze_seq`):
        if that freeze is no longer the current one, nothing changes."""
        self.authz.require(actor, "rollout.unfreeze")
        with session_scope(self.engine) as session:
            record = unfreeze_in(session, actor, reason.strip(), freeze_seq, self.clock.now())
        self._logged(record)
        return Change(record, self._announce("unfrozen", record=record))

    def apply_target(
        self, flag: str, percent: int, segments: list[str], reason: str
    ) -> dict[str, Any]:
        """The rollback runbook's revert: past the freeze (the freeze exists to protect this),
        recorded as the bot's decision. Idempotent: a flag already there is left alone."""
        try:
            before = self._current(flag)
            if before.percent == percent and before.segments == segments:
                return before.as_record()
            after = self.flags.set(
                flag, percent, segments, SYSTEM_ACTOR, expected_version=before.version
            )
        except FlagProviderError as exc:
            self._record_failed(
                SYSTEM_ACTOR, "rollback.revert", flag, percent, segments, reason, exc
            )
            raise DependencyError(f"{flag}: the flag provider said: {exc.message}") from None
        self._record(
            Decision(
                actor=SYSTEM_ACTOR,
                action="rollback.revert",
                subject=flag,
                before=before.as_record(),
                after=after.as_record(),
                reason=reason,
            )
        )
        return after.as_record()

    def clear_external_rules(self, flag: str, reason: str) -> int:
        segments = list(self.playbook.external_segments)
        try:
            removed = self.flags.clear_user_rules(flag, segments, SYSTEM_ACTOR)
        except FlagProviderError as exc:
            raise DependencyError(f"{flag}: the flag provider said: {exc.message}") from None
        if removed:
            self._record(
                Decision(
                    actor=SYSTEM_ACTOR,
                    action="rollback.empty_rules",
                    subject=flag,
                    before={"external_rules": removed},
                    after={"external_rules": 0},
                    reason=reason,
                )
            )
        return removed

    def seed_flags(self) -> None:
        """Give every playbook flag its initial state in the embedded provider, recorded once."""
        ensure = getattr(self.flags, "ensure", None)
        if ensure is None:
            return
        initial = self.playbook.initial_state
        for flag in ensure(self.playbook.flags, initial.percent, initial.segments, SYSTEM_ACTOR):
            self._record(
                Decision(
                    actor=SYSTEM_ACTOR,
                    action="flags.seed",
                    subject=flag,
                    before=None,
                    after=initial.model_dump(),
                    reason="initial state from the playbook",
                )
            )

    # ---- helpers -------------------------------------------------------------------------
    def _current(self, flag: str) -> FlagView:
        """The flag as the provider holds it now; a change made outside warroom is recorded
        first, so the decision that follows starts from what really was."""
        view = self.flags.get(flag)
        if not self.flags.recorded_changes_only:
            drift.observe(self.engine, self.flags.name, [view], self.clock.now())
        return view

    def _record_failed(
        self,
        actor: str,
        action: str,
        flag: str,
        percent: int,
        segments: list[str] | None,
        reason: str,
        exc: FlagProviderError,
    ) -> None:
        """A flag change the provider refused is still a record: who tried what, and why
        it did not happen."""
        self._record(
            Decision(
                actor=actor,
                action=action,
                subject=flag,
                reason=reason,
                after={"percent": percent, "segments": segments},
                outcome="failed",
                evidence={"error": exc.message},
            )
        )

    def _record(self, decision: Decision) -> DecisionRecord:
        record = decision_log.append(self.engine, decision, self.clock.now())
        self._logged(record)
        return record

    @staticmethod
    def _logged(record: DecisionRecord) -> None:
        log_event(
            log,
            record.action,
            who=record.actor,
            subject=record.subject,
            outcome=record.outcome,
            seq=record.seq,
        )

    def _refuse_if_switched_off(self, flag: FlagView) -> None:
        if flag.switched_off:
            raise Refusal(
                f"`{flag.name}` is switched off in {self.flags.name} (not by warroom): nobody "
                f"gets it, whatever its {flag.percent} %. Nothing was changed.",
                f"Find out why it was switched off; switch it on in {self.flags.name} first.",
            )

    def _announce(self, kind: str, **data: object) -> str | None:
        return self.announcer.announce(kind, **data)
