"""Rollout control: status, set, launch, freeze/unfreeze, history.

Plain data in, plain data out. Every change is authorized, recorded in the decision log
and announced in the war room; every refusal changes nothing and says what to type.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import decision_log
from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import DependencyError, Refusal
from bot.flags.base import FlagProvider, FlagProviderError, FlagView
from bot.observability import log_event
from bot.playbook import Playbook
from bot.timeparse import parse_launch_time
from storage.db import session_scope
from storage.models import DecisionRecord, RolloutState

log = logging.getLogger(__name__)

HISTORY_DEFAULT, HISTORY_MAX = 10, 50


class Announcer(Protocol):
    """Posts to a channel; returns the message ts, or None when the post failed (logged)."""

    def announce(self, kind: str, **data: object) -> str | None: ...


@dataclass(frozen=True)
class FreezeState:
    frozen: bool
    reason: str = ""
    by: str = ""
    at: datetime | None = None
    seq: int | None = None


@dataclass(frozen=True)
class RolloutStatus:
    flags: list[FlagView]
    freeze: FreezeState
    launch_at: datetime | None
    last_changes: dict[str, DecisionRecord]
    provider: str


@dataclass(frozen=True)
class Change:
    record: DecisionRecord
    announced: bool


def closest(name: str, known: list[str]) -> str | None:
    upper = {k.upper(): k for k in known}
    match = difflib.get_close_matches(name.upper(), list(upper), n=1, cutoff=0.5)
    return upper[match[0]] if match else None


class RolloutService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        flags: FlagProvider,
        authz: Authorizer,
        clock: Clock,
        announcer: Announcer,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.flags = flags
        self.authz = authz
        self.clock = clock
        self.announcer = announcer
        self._status_cache: tuple[int, RolloutStatus] | None = None
        self.on_launch: list[Callable[[], None]] = []  # the scheduler re-derives its jobs

    # ---- reading -------------------------------------------------------------------------
    def _state_row(self) -> RolloutState:
        with Session(self.engine) as session:
            return session.get(RolloutState, 1) or RolloutState(id=1)

    @staticmethod
    def _freeze_of(row: RolloutState) -> FreezeState:
        if not row.frozen:
            return FreezeState(False)
        return FreezeState(True, row.frozen_reason, row.frozen_by, row.frozen_at, row.freeze_seq)

    def freeze_state(self) -> FreezeState:
        return self._freeze_of(self._state_row())

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
        last = decision_log.last_for(self.engine, "rollout.set", [f.name for f in flags])
        row = self._state_row()
        return RolloutStatus(flags, self._freeze_of(row), row.launch_at, last, self.flags.name)

    def history(self, count_text: str | None = None) -> list[DecisionRecord]:
        count = HISTORY_DEFAULT
        if count_text:
            if not count_text.isdigit() or not 1 <= int(count_text) <= HISTORY_MAX:
                raise Refusal(
                    f"`{count_text}` is not a number of records between 1 and {HISTORY_MAX}.",
                    "Try `/rollout history 20`.",
                )
            count = int(count_text)
        return decision_log.recent(self.engine, count)

    # ---- input checks (each refusal names what to type) ------------------------------------
    def resolve_flag(self, text: str) -> str:
        known = self.playbook.flags
        for flag in known:
            if flag == text.upper():
                return flag
        guess = closest(text, known)
        hint = f"Did you mean `{guess}`? " if guess else ""
        raise Refusal(
            f"Unknown flag `{text}`. Known flags: {', '.join(f'`{f}`' for f in known)}.",
            f"{hint}Try `/rollout set {guess or known[0]} 25`.",
        )

    @staticmethod
    def parse_percent(text: str) -> int:
        cleaned = text.strip().removesuffix("%")
        if not re.fullmatch(r"\d{1,3}", cleaned) or int(cleaned) > 100:
            raise Refusal(
                f"`{text}` is not a percentage: give a whole number from 0 to 100.",
                "Try `/rollout set SMART_PRICING 25`.",
            )
        return int(cleaned)

    def parse_segments(self, text: str) -> list[str]:
        segments = [s.strip() for s in text.split(",") if s.strip()]
        known = self.playbook.segments
        for segment in segments:
            if segment not in known:
                guess = closest(segment, known)
                raise Refusal(
                    f"Unknown segment `{segment}`. Known segments: "
                    f"{', '.join(f'`{s}`' for s in known)}.",
                    f"Did you mean `{guess}`?" if guess else "",
                )
        if not segments:
            raise Refusal("No segment given.", f"Known segments: {', '.join(known)}.")
        return list(dict.fromkeys(segments))

    def _refuse_if_frozen(self) -> None:
        freeze = self.freeze_state()
        if freeze.frozen:
            since = self.local(freeze.at) if freeze.at else "?"
            raise Refusal(
                f"The rollout is frozen by <@{freeze.by}> since {since}: {freeze.reason}",
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
        try:
            before = self.flags.get(flag)
            after = self.flags.set(flag, percent, segments or before.segments, actor)
        except FlagProviderError as exc:
            self._record_failed(actor, "rollout.set", flag, percent, segments, reason, exc)
            raise DependencyError(
                f"`{flag}` was not changed: the flag provider ({self.flags.name}) said: "
                f"{exc.message}",
                "Try again in a minute; the failed attempt is in `/rollout history`.",
            ) from None
        record = self._record(
            Decision(
                actor=actor,
                action="rollout.set",
                subject=flag,
                before=before.as_record(),
                after=after.as_record(),
                reason=reason,
            )
        )
        return Change(record, self._announce("flag_changed", record=record))

    def launch(self, actor: str, when_text: str, reason: str = "") -> Change:
        if not when_text.strip():
            raise Refusal(
                "Give the launch time T.",
                "Try `/rollout launch 2026-12-01 10:00` (local) or an ISO-8601 time.",
            )
        when = parse_launch_time(when_text, self.playbook.zone)
        now = self.clock.now()
        if when <= now:
            example = (now + timedelta(hours=1)).astimezone(self.playbook.zone)
            raise Refusal(
                f"{self.local(when)} is in the past (now {self.local(now)}).",
                f"Give a future time, e.g. `/rollout launch {example:%Y-%m-%d %H}:00`.",
            )
        self.authz.require(actor, "rollout.launch")
        with session_scope(self.engine) as session:
            row = session.get(RolloutState, 1) or RolloutState(id=1)
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
        for listener in self.on_launch:
            listener()
        return Change(record, self._announce("launch_set", record=record, launch_at=when))

    def freeze(self, actor: str, reason: str) -> Change:
        if not reason.strip():
            raise Refusal(
                "Say why you freeze the rollout.",
                "Try `/rollout freeze error_rate climbing on checkout`.",
            )
        self.authz.require(actor, "rollout.freeze")
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(RolloutState, 1) or RolloutState(id=1)
            if row.frozen:
                raise Refusal(
                    f"Already frozen by <@{row.frozen_by}> since "
                    f"{self.local(row.frozen_at or now)}: {row.frozen_reason}",
                    "Nothing was changed.",
                )
            record = decision_log.append_in(
                session,
                Decision(
                    actor=actor,
                    action="rollout.freeze",
                    subject="rollout",
                    before={"frozen": False},
                    after={"frozen": True},
                    reason=reason.strip(),
                ),
                now,
            )
            row.frozen, row.frozen_reason, row.frozen_by = True, reason.strip(), actor
            row.frozen_at, row.freeze_seq = now, record.seq
            session.add(row)
        self._logged(record)
        return Change(record, self._announce("frozen", record=record))

    def unfreeze(self, actor: str, reason: str = "", freeze_seq: int | None = None) -> Change:
        """Lift the freeze. A button passes the freeze it was posted for (`freeze_seq`):
        if that freeze is no longer the current one, nothing changes."""
        self.authz.require(actor, "rollout.unfreeze")
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(RolloutState, 1)
            if (
                row is None
                or not row.frozen
                or (freeze_seq is not None and row.freeze_seq != freeze_seq)
            ):
                raise Refusal(
                    "That freeze is already lifted."
                    if freeze_seq is not None
                    else "The rollout is not frozen.",
                    "Nothing was changed. `/rollout status` shows the current state.",
                )
            record = decision_log.append_in(
                session,
                Decision(
                    actor=actor,
                    action="rollout.unfreeze",
                    subject="rollout",
                    before={"frozen": True, "reason": row.frozen_reason, "by": row.frozen_by},
                    after={"frozen": False},
                    reason=reason.strip(),
                ),
                now,
            )
            row.frozen, row.frozen_reason, row.frozen_by = False, "", ""
            row.frozen_at, row.freeze_seq = None, None
            session.add(row)
        self._logged(record)
        return Change(record, self._announce("unfrozen", record=record))

    def apply_target(self, flag: str, percent: int, segments: list[str], reason: str) -> dict:
        """The rollback runbook's revert: past the freeze (the freeze exists to protect this),
        recorded as the bot's decision. Idempotent: a flag already there is left alone."""
        try:
            before = self.flags.get(flag)
            if before.percent == percent and before.segments == segments:
                return before.as_record()
            after = self.flags.set(flag, percent, segments, SYSTEM_ACTOR)
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
        after = {"percent": percent, "segments": segments}
        evidence = {"error": exc.message}
        self._record(
            Decision(
                actor=actor,
                action=action,
                subject=flag,
                reason=reason,
                after=after,
                outcome="failed",
                evidence=evidence,
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

    def _announce(self, kind: str, **data: object) -> bool:
        return self.announcer.announce(kind, **data) is not None
