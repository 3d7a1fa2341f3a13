"""Plain views of a rollback request for rendering and for callers."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import RollbackApproval, RollbackRequest, RunbookStep

STEP_NAMES = (
    "freeze",
    "revert",
    "empty_rules",
    "clear_caches",
    "verify",
    "communicate",
    "post_actions",
)
STEP_TITLES = {
    "freeze": "Freeze the rollout and block deployments",
    "revert": "Set each flag to the rollback target",
    "empty_rules": "Empty the external user rules",
    "clear_caches": "Clear caches",
    "verify": "Verify: metrics and the quick e2e test",
    "communicate": "Communicate: war room, support email, maintenance banner",
    "post_actions": "Post-actions: incident in the tracker, post-mortem within 24 h",
}
OPEN, APPROVED, EXECUTING, DONE, FAILED, REJECTED, EXPIRED = (
    "open",
    "approved",
    "executing",
    "done",
    "failed",
    "rejected",
    "expired",
)
CLOSED = (DONE, REJECTED, EXPIRED)


@dataclass(frozen=True)
class RequestView:
    request: RollbackRequest
    approvals: list[RollbackApproval]
    steps: list[RunbookStep]
    sign_off_roles: list[str]
    targets: dict[str, dict]  # flag → {"before": {...}, "after": {...}}

    def approval_for(self, role: str) -> RollbackApproval | None:
        return next((a for a in self.approvals if a.role == role), None)

    @property
    def signed(self) -> bool:
        return all(
            (a := self.approval_for(r)) is not None and a.decision == "approve"
            for r in self.sign_off_roles
        )

    @property
    def current_step(self) -> RunbookStep | None:
        return next((s for s in self.steps if s.status in ("running", "failed", "waiting")), None)

    @property
    def mttr_seconds(self) -> float | None:
        r = self.request
        if r.recovered_at is None:
            return None
        return (r.recovered_at - (r.breach_started_at or r.opened_at)).total_seconds()
