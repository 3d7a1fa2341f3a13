"""The buttons of a rollback request, each with the confirmation its click deserves."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ButtonElement, ConfirmObject

from bot.ids.rollback import RollbackAction
from bot.rollback.model import RequestView
from storage.status import RollbackStatus, StepStatus

Status = RollbackStatus


def flag_state(state: dict[str, Any] | None) -> str:
    if not state:
        return "?"
    return f"{state['percent']} % ({', '.join(state['segments'])})"


def button(
    text: str,
    action: str,
    value: str,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(text=text, action_id=action, value=value, style=style, confirm=confirm)


def request_buttons(view: RequestView) -> list[ButtonElement]:
    r, rid = view.request, str(view.request.id)
    buttons: list[ButtonElement] = []
    missing = [role for role in view.sign_off_roles if view.approval_for(role) is None]
    if r.status == Status.OPEN:
        buttons.append(
            button("Approve", RollbackAction.APPROVE, rid, "primary", _approve_confirm(view))
        )
        buttons.append(button("Reject", RollbackAction.REJECT, rid, "danger"))
        if r.critical:
            buttons.append(_break_glass_button(rid))
    elif r.status not in (Status.REJECTED, Status.EXPIRED) and missing:
        buttons.append(
            button(f"Sign off ({', '.join(missing)})", RollbackAction.APPROVE, rid, "primary")
        )
    if r.status == Status.FAILED:
        buttons.append(button("Retry step", RollbackAction.RETRY_STEP, rid, "primary"))
        buttons.append(_by_hand_button(rid))
    waiting = any(s.name == "verify" and s.status == StepStatus.WAITING for s in view.steps)
    if r.status == Status.EXECUTING and waiting:
        buttons.append(button("Metrics OK", RollbackAction.CONFIRM_METRICS, rid, "primary"))
    return buttons


def _approve_confirm(view: RequestView) -> ConfirmObject:
    """What a click on Approve does: the last sign-off starts the production rollback."""
    missing = [role for role in view.sign_off_roles if view.approval_for(role) is None]
    if len(missing) > 1:
        return ConfirmObject(
            title="Sign off this rollback?",
            text="This is the first sign-off; the rollback starts with the next one.",
            confirm="Sign off",
            deny="Cancel",
        )
    targets = "; ".join(f"{f} to {flag_state(t['after'])}" for f, t in view.targets.items())
    return ConfirmObject(
        title="Start the production rollback?",
        text=f"This is the last sign-off: the runbook starts now; flags go {targets}."[:300],
        confirm="Approve and roll back",
        deny="Cancel",
    )


def _break_glass_button(rid: str) -> ButtonElement:
    return button(
        "Break glass: execute now",
        RollbackAction.BREAK_GLASS,
        rid,
        "danger",
        ConfirmObject(
            title="Execute the rollback now?",
            text="The runbook starts at once; the sign-offs are collected after.",
            confirm="Execute",
            deny="Wait for sign-off",
        ),
    )


def _by_hand_button(rid: str) -> ButtonElement:
    return button(
        "Done by hand",
        RollbackAction.STEP_BY_HAND,
        rid,
        confirm=ConfirmObject(
            title="Mark the step done by hand?",
            text="Only when you did it yourself; the record says so.",
            confirm="It is done",
            deny="Cancel",
        ),
    )
