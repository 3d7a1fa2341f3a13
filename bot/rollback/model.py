"""Plain views of a rollback request for rendering and for callers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bot.playbook import OPS, Playbook
from storage.models import RollbackApproval, RollbackRequest, RunbookStep
from storage.status import StepStatus

STEP_NAMES = (
    "freeze",
    "revert",
    "empty_rules",
    "clear_caches",
    "verify",
    "communicate",
    "post_actions",
)


class ActionState(StrEnum):
    """What became of one action of a step (an email, a banner, a cache)."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


NOT_CONFIGURED = "not configured"


@dataclass(frozen=True)
class ActionOutcome:
    """One action of a step as its record says: `detail` is what was done, or why not;
    `by_hand` what a person does instead when it was not done."""

    action: str
    state: str
    detail: str = ""
    by_hand: str = ""

    @property
    def not_done(self) -> bool:
        return self.state != ActionState.DONE

    def as_record(self) -> dict[str, str]:
        return asdict(self)


def step_actions(step: RunbookStep) -> list[ActionOutcome]:
    """The actions a step recorded in its output, in the order they ran."""
    return actions_from((step.output or {}).get("actions"))


def actions_from(raw: object) -> list[ActionOutcome]:
    """Outcomes from their stored form (a list of dicts); anything else is no outcome."""
    if not isinstance(raw, list):
        return []
    return [
        ActionOutcome(
            str(a.get("action", "")),
            str(a.get("state", "")),
            str(a.get("detail", "")),
            str(a.get("by_hand", "")),
        )
        for a in raw
        if isinstance(a, dict)
    ]


def with_action(output: dict[str, Any] | None, outcome: ActionOutcome) -> list[dict[str, str]]:
    """The step's action list with `outcome` in place of an earlier outcome of that action."""
    kept = [
        a
        for a in ((output or {}).get("actions") or [])
        if isinstance(a, dict) and a.get("action") != outcome.action
    ]
    return [*kept, outcome.as_record()]


def step_fully_done(step: RunbookStep) -> bool:
    """Done, and every action of it done (or a person finished it by hand)."""
    if step.status != StepStatus.DONE:
        return False
    return bool(step.done_by) or not any(a.not_done for a in step_actions(step))


@dataclass(frozen=True)
class MttrGoal:
    """The playbook's MTTR KPI (`kpis: - {metric: mttr, ...}`), in minutes."""

    op: str
    minutes: float

    def met(self, minutes: float) -> bool:
        return OPS[self.op](float(minutes), float(self.minutes))

    @classmethod
    def of(cls, playbook: Playbook) -> MttrGoal | None:
        kpi = next((k for k in playbook.kpis if k.metric == "mttr"), None)
        return cls(kpi.op, kpi.value) if kpi else None


@dataclass(frozen=True)
class RequestView:
    request: RollbackRequest
    approvals: list[RollbackApproval]
    steps: list[RunbookStep]
    sign_off_roles: list[str]
    targets: dict[str, dict[str, Any]]  # flag → {"before": {...}, "after": {...}}
    launch_flags: list[str]  # every flag of the playbook

    @property
    def flags_text(self) -> str:
        """What the request rolls back, said in full: "all flags: A, B" or "A only"."""
        flags = ", ".join(self.request.flags)
        if set(self.launch_flags) <= set(self.request.flags):
            return f"all flags: {flags}"
        return f"{flags} only"

    @property
    def id(self) -> int:
        assert self.request.id is not None
        return self.request.id

    def approval_for(self, role: str) -> RollbackApproval | None:
        return next((a for a in self.approvals if a.role == role), None)

    @property
    def signed(self) -> bool:
        return all(
            (a := self.approval_for(r)) is not None and a.decision == "approve"
            for r in self.sign_off_roles
        )

    def step(self, step_id: int | None) -> RunbookStep:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def current_step(self) -> RunbookStep | None:
        stopped = (StepStatus.RUNNING, StepStatus.FAILED, StepStatus.WAITING)
        return next((s for s in self.steps if s.status in stopped), None)

    def not_done(self) -> list[ActionOutcome]:
        """Every action of the runbook so far that was skipped or failed."""
        return [a for s in self.steps if not s.done_by for a in step_actions(s) if a.not_done]

    @property
    def mttr_seconds(self) -> float | None:
        r = self.request
        if r.recovered_at is None:
            return None
        return (r.recovered_at - (r.breach_started_at or r.opened_at)).total_seconds()
