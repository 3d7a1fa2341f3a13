"""Plain views of a rollback request for rendering and for callers."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def mttr_seconds(self) -> float | None:
        r = self.request
        if r.recovered_at is None:
            return None
        return (r.recovered_at - (r.breach_started_at or r.opened_at)).total_seconds()
