"""The runbook steps' rows: a step's status and output, each action's outcome recorded as
soon as it is known, and the one person confirming the metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot import decision_log
from bot.decision_log import Decision
from bot.rollback.model import ActionOutcome, with_action
from storage.db import session_scope
from storage.models import RunbookStep
from storage.status import StepStatus
from storage.writes import rows_changed


class StepRows:
    engine: Engine

    # ---- steps ---------------------------------------------------------------------------
    def save_step(self, step_id: int | None, **values: Any) -> None:
        with session_scope(self.engine) as session:
            step = session.get(RunbookStep, step_id)
            assert step is not None
            for key, value in values.items():
                setattr(step, key, value)
            session.add(step)

    def merge_output(self, step_id: int | None, **values: Any) -> None:
        """Record a sub-action as done at once, so a retry or a restart does not repeat it."""
        with session_scope(self.engine) as session:
            step = session.get(RunbookStep, step_id)
            assert step is not None
            step.output = {**(step.output or {}), **values}
            session.add(step)

    def record_action(
        self, step_id: int | None, outcome: ActionOutcome, **values: Any
    ) -> dict[str, Any]:
        """One action's outcome (and any other output) recorded at once; the new output."""
        with session_scope(self.engine) as session:
            step = session.get(RunbookStep, step_id)
            assert step is not None
            output = dict(step.output or {})
            step.output = {**output, **values, "actions": with_action(output, outcome)}
            session.add(step)
            return dict(step.output)

    def confirm_metrics(
        self, step_id: int | None, user: str, decision: Decision, at: datetime
    ) -> bool:
        """waiting → pending for the one caller that finds the step still waiting, with its
        confirmation and ONE decision in the same transaction (fifty clicks, one record)."""
        with session_scope(self.engine) as session:
            result = rows_changed(
                session,
                update(RunbookStep)
                .where(
                    col(RunbookStep.id) == step_id, col(RunbookStep.status) == StepStatus.WAITING
                )
                .values(status=StepStatus.PENDING),
            )
            if not result:
                return False
            step = session.get(RunbookStep, step_id)
            assert step is not None
            session.refresh(step)
            step.output = {**(step.output or {}), "metrics_confirmed_by": user}
            session.add(step)
            decision_log.append_in(session, decision, at)
        return True
