"""What every runbook step shares: its result, its error, and the kit it works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from bot.clock import Clock
from bot.integrations import IntegrationError
from bot.integrations.metrics import Reading
from bot.playbook import Playbook
from bot.rollback.display import RequestDisplay
from bot.rollback.model import ActionOutcome, ActionState, RequestView, step_actions
from bot.rollback.store import RequestStore
from bot.rollout import RolloutService
from bot.settings import Settings
from storage.models import RunbookStep
from storage.status import StepStatus


class StepError(Exception):
    """A step did not do its job; `message` says what was tried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class StepResult:
    status: StepStatus = StepStatus.DONE  # done | skipped | waiting
    output: dict[str, Any] = field(default_factory=dict)


class Readings(Protocol):
    """Where the verify step reads the metrics (Prometheus); None when there is no data."""

    def read(self, metric: str) -> Reading | None: ...


class Step(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def by_hand(self) -> str:
        """What a person does when the step cannot."""
        ...

    def by_hand_for(self, view: RequestView) -> str:
        """The same for this request: the exact state to set, where a step knows it."""
        ...

    def run(self, view: RequestView, step: RunbookStep) -> StepResult: ...


@dataclass(frozen=True)
class StepKit:
    """The collaborators the steps use, built once by the composition root."""

    playbook: Playbook
    settings: Settings
    clock: Clock
    rollout: RolloutService
    store: RequestStore
    display: RequestDisplay
    metrics: Readings | None = None
    sleep: Callable[[float], None] = lambda seconds: None

    def hook_token(self) -> str | None:
        token = self.settings.warroom_hook_token
        return token.get_secret_value() if token else None

    def postmortem_at(self, view: RequestView) -> datetime:
        since = view.request.executing_since or self.clock.now()
        within = self.playbook.rollback.post_actions.postmortem_within_hours
        return postmortem_time(since, within)

    def target_text(self) -> str:
        target = self.playbook.rollback.target
        return f"{target.percent} % ({', '.join(target.segments)})"


class BaseStep:
    name: ClassVar[str]
    title: ClassVar[str]
    by_hand: ClassVar[str]

    def __init__(self, kit: StepKit) -> None:
        self.kit = kit

    def by_hand_for(self, view: RequestView) -> str:
        return self.by_hand

    def outcome(self, step: RunbookStep, outcome: ActionOutcome, **values: Any) -> dict[str, Any]:
        """Record one action's outcome as soon as it is known; the step's output now."""
        output = self.kit.store.record_action(step.id, outcome, **values)
        step.output = output
        return output

    def attempt(
        self, step: RunbookStep, action: str, by_hand: str, do: Callable[[], Any], **values: Any
    ) -> Any:
        """Run one action; a failure is recorded with its reason before it stops the step
        (the runner retries it; an action done is never repeated)."""
        try:
            result = do()
        except (IntegrationError, StepError) as exc:
            why = getattr(exc, "message", None) or str(exc)
            self.outcome(step, ActionOutcome(action, ActionState.FAILED, why, by_hand))
            raise
        return result

    def skipped(self, step: RunbookStep, action: str, why: str, by_hand: str) -> None:
        self.outcome(step, ActionOutcome(action, ActionState.SKIPPED, why, by_hand))

    def done(self, step: RunbookStep, action: str, detail: str, **values: Any) -> None:
        self.outcome(step, ActionOutcome(action, ActionState.DONE, detail), **values)

    @staticmethod
    def recorded(step: RunbookStep, action: str) -> bool:
        """The action was done, or skipped, in an earlier try: not again."""
        return any(a.action == action and a.state != ActionState.FAILED for a in step_actions(step))


def postmortem_time(executing_since: datetime, within_hours: int) -> datetime:
    """Within the window: the whole hour at or before executing_since + window."""
    return (executing_since + timedelta(hours=within_hours)).replace(
        minute=0, second=0, microsecond=0
    )
