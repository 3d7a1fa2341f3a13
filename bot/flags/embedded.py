"""The default provider: flags, percentages, segments and per-user rules in the bot's database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, func, select

from bot.clock import Clock
from bot.flags.base import FlagConflict, FlagProviderError, FlagView, ProviderHealth
from storage.db import session_scope
from storage.models import FlagState, FlagUserRule
from storage.writes import rows_changed


class EmbeddedFlagProvider:
    name = "embedded"
    recorded_changes_only = True

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def ensure(self, flags: list[str], percent: int, segments: list[str], actor: str) -> list[str]:
        """Create missing flags at their initial state; returns the names created."""
        created = []
        with session_scope(self._engine) as session:
            for name in flags:
                if session.get(FlagState, name) is None:
                    session.add(
                        FlagState(
                            name=name,
                            percent=percent,
                            segments=list(segments),
                            updated_at=self._clock.now(),
                            updated_by=actor,
                        )
                    )
                    created.append(name)
        return created

    @staticmethod
    def _view(session: Session, state: FlagState) -> FlagView:
        rules = session.exec(
            select(func.count()).select_from(FlagUserRule).where(FlagUserRule.flag == state.name)
        ).one()
        return _flag_view(state, rules)

    def list_flags(self) -> list[FlagView]:
        with Session(self._engine) as session:
            counts = dict(
                session.exec(
                    select(FlagUserRule.flag, func.count()).group_by(FlagUserRule.flag)
                ).all()
            )
            states = session.exec(select(FlagState).order_by(col(FlagState.name)))
            return [_flag_view(s, counts.get(s.name, 0)) for s in states]

    def get(self, flag: str) -> FlagView:
        with Session(self._engine) as session:
            state = session.get(FlagState, flag)
            if state is None:
                raise FlagProviderError(f"flag {flag} is not known to the embedded provider", flag)
            return self._view(session, state)

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        with session_scope(self._engine) as session:  # a write transaction: no one in between
            state = session.get(FlagState, flag)
            if state is None:
                raise FlagProviderError(f"flag {flag} is not known to the embedded provider", flag)
            if expected_version is not None and self._view(session, state).version != (
                expected_version
            ):
                raise FlagConflict(f"flag {flag} changed since it was read", flag)
            state.percent = percent
            state.segments = list(segments)
            state.updated_at = self._clock.now()
            state.updated_by = actor
            session.add(state)
            session.flush()
            return self._view(session, state)

    def add_user_rule(self, flag: str, segment: str, user_key: str) -> None:
        with session_scope(self._engine) as session:
            session.add(FlagUserRule(flag=flag, segment=segment, user_key=user_key))

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        with session_scope(self._engine) as session:
            return rows_changed(
                session,
                delete(FlagUserRule).where(
                    col(FlagUserRule.flag) == flag, col(FlagUserRule.segment).in_(segments)
                ),
            )

    def health(self, flags: Sequence[str]) -> ProviderHealth:
        try:
            known = {f.name for f in self.list_flags()}
        except Exception as exc:  # noqa: BLE001 - the database is the provider here
            return ProviderHealth(False, f"the bot's database did not answer: {type(exc).__name__}")
        missing = [f for f in flags if f not in known]
        if missing:
            return ProviderHealth(False, f"embedded: {', '.join(missing)} not seeded", missing)
        return ProviderHealth(True, f"embedded: {len(flags)} of {len(flags)} launch flags")


def _version(state: FlagState, user_rules: int) -> str:
    """A revision of the flag's state: any change to it gives another."""
    at = state.updated_at
    # as stored: SQLite hands datetimes back naive, so compare them in UTC without a zone
    stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat() if at and at.tzinfo else str(at)
    body = [state.percent, sorted(state.segments), user_rules, stamp, state.updated_by]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16]


def _flag_view(state: FlagState, user_rules: int) -> FlagView:
    return FlagView(
        name=state.name,
        percent=state.percent,
        segments=list(state.segments),
        updated_at=state.updated_at,
        updated_by=state.updated_by,
        user_rules=user_rules,
        enabled=state.percent > 0,
        version=_version(state, user_rules),
    )
