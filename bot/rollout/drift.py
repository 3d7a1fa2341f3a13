"""Drift: a flag changed outside warroom (in Unleash's UI, by another tool). warroom compares
what the provider holds with the last state it recorded for each flag; a difference is
recorded once as an observed change (never silently overwritten) and shown as such."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot import decision_log
from bot.decision_log import Decision
from bot.flags.base import FlagView
from storage.models import DecisionRecord

OBSERVED = "flags.observed_change"
# The records whose `after` is a flag's whole state (percent and segments).
STATE_ACTIONS = ("flags.seed", "rollout.set", "rollback.revert", OBSERVED)


def _state(data: Any) -> tuple[int, tuple[str, ...], bool] | None:
    """Percent, segments and on/off (records from before on/off was kept: on when > 0 %)."""
    if not isinstance(data, dict) or "percent" not in data:
        return None
    percent = int(data["percent"])
    enabled = bool(data.get("enabled", percent > 0))
    return percent, tuple(sorted(data.get("segments") or [])), enabled


def recorded_states(engine: Engine, flags: list[str]) -> dict[str, dict[str, Any]]:
    """The last state warroom recorded for each flag (a change applied, or one observed)."""
    latest = (
        select(func.max(DecisionRecord.seq))
        .where(
            col(DecisionRecord.action).in_(STATE_ACTIONS),
            col(DecisionRecord.subject).in_(flags),
            DecisionRecord.outcome == "applied",
        )
        .group_by(DecisionRecord.subject)
    )
    with Session(engine) as session:
        records = session.exec(select(DecisionRecord).where(col(DecisionRecord.seq).in_(latest)))
        return {r.subject: r.after for r in records if _state(r.after) is not None}


def observe(engine: Engine, provider: str, flags: list[FlagView], at: datetime) -> set[str]:
    """The flags whose provider state differs from warroom's record; each difference is
    recorded (once: the next look compares with the observed state)."""
    recorded = recorded_states(engine, [f.name for f in flags])
    drifted: set[str] = set()
    for flag in flags:
        before = recorded.get(flag.name)
        if before is None or _state(before) == _state(flag.as_record()):
            continue
        drifted.add(flag.name)
        decision_log.append(
            engine,
            Decision(
                actor=f"outside:{provider}",
                action=OBSERVED,
                subject=flag.name,
                before=before,
                after=flag.as_record(),
                reason=f"changed outside warroom (seen in {provider}"
                + (f", last changed by {flag.updated_by})" if flag.updated_by else ")"),
            ),
            at,
        )
    return drifted


def outside_since_last(engine: Engine, flags: list[str]) -> set[str]:
    """The flags whose latest recorded state was observed, not made by warroom."""
    latest = (
        select(func.max(DecisionRecord.seq))
        .where(
            col(DecisionRecord.action).in_(STATE_ACTIONS), col(DecisionRecord.subject).in_(flags)
        )
        .group_by(DecisionRecord.subject)
    )
    with Session(engine) as session:
        records = session.exec(select(DecisionRecord).where(col(DecisionRecord.seq).in_(latest)))
        return {r.subject for r in records if r.action == OBSERVED}
