"""The default provider: flags, percentages, segments and per-user rules in the bot's database."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, func, select

from bot.clock import Clock
from bot.flags.base import FlagProviderError, FlagView
from storage.db import session_scope
from storage.models import FlagState, FlagUserRule


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
        return FlagView(
            state.name,
            state.percent,
            list(state.segments),
            state.updated_at,
            state.updated_by,
            rules,
        )

    def list_flags(self) -> list[FlagView]:
        with Session(self._engine) as session:
            counts = dict(
                session.exec(
                    select(FlagUserRule.flag, func.count()).group_by(FlagUserRule.flag)
                ).all()
            )
            states = session.exec(select(FlagState).order_by(col(FlagState.name)))
            return [
                FlagView(
                    s.name,
                    s.percent,
                    list(s.segments),
                    s.updated_at,
                    s.updated_by,
                    counts.get(s.name, 0),
                )
                for s in states
            ]

    def get(self, flag: str) -> FlagView:
        with Session(self._engine) as session:
            state = session.get(FlagState, flag)
            if state is None:
                raise FlagProviderError(f"flag {flag} is not known to the embedded provider", flag)
            return self._view(session, state)

    def set(self, flag: str, percent: int, segments: list[str], actor: str) -> FlagView:
        with session_scope(self._engine) as session:
            state = session.get(FlagState, flag)
            if state is None:
                raise FlagProviderError(f"flag {flag} is not known to the embedded provider", flag)
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
            result = session.exec(
                delete(FlagUserRule).where(
                    col(FlagUserRule.flag) == flag, col(FlagUserRule.segment).in_(segments)
                )
            )
            return result.rowcount or 0
